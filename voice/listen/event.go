package listen

import (
	"fmt"
	"time"
)

// EventKind says what an Event reports.
type EventKind int

// Kinds of event. Every SpeechStart is followed, in a later or the same
// Push, by exactly one SpeechEnd or SpeechDiscarded.
const (
	// SpeechStart is the user starting to speak (possibly: a burst shorter
	// than MinSpeech is retracted by SpeechDiscarded). It is the cue for
	// barge-in and for starting a streaming recogniser.
	SpeechStart EventKind = iota + 1
	// SpeechEnd is the end of the user's turn: Silence of non-speech after
	// at least MinSpeech of speech, or MaxTurn reached (Forced).
	SpeechEnd
	// SpeechDiscarded retracts a SpeechStart: the burst held less than
	// MinSpeech of speech before Silence of non-speech.
	SpeechDiscarded
)

// String names k.
func (k EventKind) String() string {
	switch k {
	case SpeechStart:
		return "speech_start"
	case SpeechEnd:
		return "speech_end"
	case SpeechDiscarded:
		return "speech_discarded"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is something a Detector noticed. Times are stream times: the
// duration of audio pushed since NewDetector or Reset, in whole samples.
type Event struct {
	Kind EventKind
	// At is where it happened: for SpeechStart and SpeechDiscarded, where
	// the speech began (about one window before the model was sure); for
	// SpeechEnd, where the last window the model called speech ends, or,
	// when Forced, where the turn was cut.
	At time.Duration
	// Decided is the end of the model window at which the detector
	// decided: At plus the detection delay. The Push that returns the
	// event may have carried audio past Decided, less than one push's
	// length (under 20 ms for a WebRTC call's pushes).
	Decided time.Duration
	// Forced marks a SpeechEnd at MaxTurn. When the user is still
	// speaking, a new SpeechStart follows a window later, its At at the
	// cut; that turn is not held to MinSpeech.
	Forced bool
	// Audio is 16 kHz mono audio the caller owns.
	//
	// SpeechStart: from PreRoll before At to the end of the audio given to
	// the Push that returned the event. Together with every sample pushed
	// afterwards, up to the Push that returns the matching SpeechEnd or
	// SpeechDiscarded, it is the stream without a gap or a repeat, so a
	// streaming recogniser can be fed Audio and then each later chunk.
	// When the turn ends in the same Push, Audio is the turn's audio, as in
	// SpeechEnd.
	//
	// SpeechEnd: the whole turn, from PreRoll before its SpeechStart's At
	// to TrailingSilence after this At (or to the cut, when Forced).
	//
	// SpeechDiscarded: nil.
	Audio []float32
}

// String describes e briefly, e.g. "speech_end at 2.3s (decided 2.812s, 1.9s of audio)".
func (e Event) String() string {
	s := fmt.Sprintf("%v at %v (decided %v", e.Kind, e.At, e.Decided)
	if e.Forced {
		s += ", forced"
	}
	if e.Audio != nil {
		s += fmt.Sprintf(", %v of audio", samplesDuration(int64(len(e.Audio))))
	}
	return s + ")"
}
