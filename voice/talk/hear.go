package talk

import (
	"errors"
	"time"

	"github.com/timbre-ai/timbre/voice/asr"
	"github.com/timbre-ai/timbre/voice/audio"
	"github.com/timbre-ai/timbre/voice/listen"
)

// hearRate is the rate the call's audio arrives at (voice/rtc decodes to
// it) and the detector and recognisers take.
const hearRate = 16000

// partialEvery spaces partial transcripts.
const partialEvery = 300 * time.Millisecond

// hear takes the call's audio, 20 ms at a time, from one goroutine (not
// the RTP read loop): it finds the user's utterances and feeds them to
// speech recognition while they last.
func (s *Session) hear(f audio.Frame) {
	if s.ctx.Err() != nil || f.SampleRate != hearRate || f.Channels != 1 {
		return
	}
	fed := false
	for _, ev := range s.det.Push(f.Samples) {
		now := time.Now()
		switch ev.Kind {
		case listen.SpeechStart:
			s.abandonUtterance()
			id := newID("turn")
			s.utt = s.startUtterance(id)
			s.utt.write(ev.Audio)
			fed = true
			s.post(evSpeechStart{id: id, start: now.Add(-(ev.Decided - ev.At))})
		case listen.SpeechEnd:
			if u := s.utt; u != nil {
				s.utt = nil
				u.end(ev, now)
			}
		case listen.SpeechDiscarded:
			if u := s.utt; u != nil {
				s.abandonUtterance()
				s.post(evDiscarded{id: u.id})
			}
		}
	}
	if s.utt != nil && !fed {
		s.utt.write(f.Samples)
	}
}

// closeHearing stops the detector and any utterance; run calls it once the
// call is closed, so hear is not running.
func (s *Session) closeHearing() {
	s.abandonUtterance()
	_ = s.det.Close()
}

func (s *Session) abandonUtterance() {
	if s.utt != nil {
		s.utt.abandon()
		s.utt = nil
	}
}

// utterance is one user utterance being transcribed: audio goes to a
// goroutine that streams it to the recogniser when it can stream, or
// transcribes it whole at the end.
type utterance struct {
	s     *Session
	id    string
	audio chan []float32
	fin   chan listen.Event
	quit  chan struct{}
	at    time.Time // when the decision to end it was taken
}

func (s *Session) startUtterance(id string) *utterance {
	u := &utterance{s: s, id: id, audio: make(chan []float32, 1024), fin: make(chan listen.Event, 1), quit: make(chan struct{})}
	go u.run()
	return u
}

func (u *utterance) write(samples []float32) {
	select {
	case u.audio <- samples:
	default:
		// The recogniser is far behind: its stream will miss this piece,
		// and the whole utterance is transcribed at the end instead.
		u.s.m.logger.Warn("speech recognition behind; audio dropped from its stream", "session_id", u.s.id)
	}
}

func (u *utterance) end(ev listen.Event, at time.Time) {
	u.at = at
	u.fin <- ev
}

func (u *utterance) abandon() { close(u.quit) }

func (u *utterance) run() {
	rec := u.s.m.p.ASR
	var stream asr.Stream
	dropped := false
	if st, ok := rec.(asr.Streamer); ok {
		var err error
		stream, err = st.NewStream(u.s.ctx, hearRate)
		if err != nil && !errors.Is(err, asr.ErrBusy) {
			u.s.m.logger.Warn("speech recognition stream not started", "session_id", u.s.id, "error", err)
		}
	}
	defer func() {
		if stream != nil {
			_ = stream.Close()
		}
	}()
	lastPartial, lastText := time.Time{}, ""
	for {
		select {
		case <-u.quit:
			return
		case <-u.s.ctx.Done():
			return
		case x := <-u.audio:
			if stream == nil || dropped {
				continue
			}
			if err := stream.Write(x); err != nil {
				dropped = true
				continue
			}
			if now := time.Now(); now.Sub(lastPartial) >= partialEvery {
				if p := stream.Partial(); p != "" && p != lastText {
					lastPartial, lastText = now, p
					select {
					case u.s.events <- evPartial{id: u.id, text: p}:
					default: // a partial can be skipped
					}
				}
			}
		case ev := <-u.fin:
			// Audio written before the end is still queued: feed it first.
			for len(u.audio) > 0 && stream != nil && !dropped {
				if err := stream.Write(<-u.audio); err != nil {
					dropped = true
				}
			}
			if len(u.audio) > 0 || stream == nil {
				dropped = true
			}
			var res asr.Result
			var err error
			if stream != nil && !dropped {
				res, err = stream.Finish()
			} else {
				res, err = rec.Transcribe(u.s.ctx, ev.Audio, hearRate)
			}
			speechEnd := u.at.Add(-(ev.Decided - ev.At))
			u.s.post(evUtterance{id: u.id, text: res.Text, err: err, audio: audio.Format{SampleRate: hearRate, Channels: 1}.Duration(len(ev.Audio)),
				end: speechEnd, decided: u.at, transcribed: time.Now()})
			return
		}
	}
}
