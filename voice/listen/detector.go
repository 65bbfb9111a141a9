package listen

import (
	"fmt"
	"math"
	"slices"
	"time"

	sherpa "github.com/k2-fsa/sherpa-onnx-go-linux"
)

// SampleRate is the only rate a Detector takes: 16 kHz mono.
const SampleRate = 16000

// Window is how much audio the model judges at a time: Silero VAD v5
// reads 512 samples (plus 64 of context) at 16 kHz.
const Window = windowSamples * time.Second / SampleRate

// TrailingSilence is how much audio after the end of speech a SpeechEnd's
// Audio keeps.
const TrailingSilence = 200 * time.Millisecond

const (
	windowSamples  = 512
	contextSamples = 64 // v5 sees each window with the 64 samples before it
	// sherpa-onnx's own segment buffer; Push flushes it at every window,
	// so it never holds more than a few windows.
	sherpaBufferSeconds = 1
	// A duration sherpa-onnx takes as given (it is not 0) and turns
	// into 0 samples.
	sherpaNoDuration = 1e-5
)

// Detector finds where a user's speech starts and where their turn ends in
// a stream of 16 kHz mono audio. It holds its own Silero model (about
// 8–10 MiB; the package doc gives its cost) and is not safe for concurrent
// use: one per call session, reused across calls with Reset if wanted.
type Detector struct {
	cfg                          Config
	silence, minSpeech, preRoll  int64                         // in samples
	maxTurn, trail               int64                         // in samples
	vad                          *sherpa.VoiceActivityDetector // nil once closed
	win                          []float32                     // the window being filled
	winStart                     int64                         // stream index of win[0]
	buf                          []float32                     // the stream from bufStart on
	bufStart                     int64
	speaking                     bool
	turnStart, speechStart, last int64 // turn audio start, At of SpeechStart, end of last speech window
	voiced                       int64 // samples of speech windows in the turn
	floor                        int64 // no onset before this (a forced cut)
}

// NewDetector loads the Silero VAD v5 model at modelPath (see
// clone.VADModelPath) for one stream. cfg's zero fields take the defaults;
// an invalid cfg is an error wrapping ErrConfig, a missing file, or one
// that is not a whole Silero VAD v5 ONNX model, one wrapping ErrNoModel.
func NewDetector(modelPath string, cfg Config) (*Detector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if err := checkModel(modelPath); err != nil {
		return nil, err
	}
	vc := sherpa.VadModelConfig{
		SileroVad: sherpa.SileroVadModelConfig{
			Model:     modelPath,
			Threshold: cfg.Threshold,
			// Each window's decision is wanted as it comes: the turn
			// logic (Silence, MinSpeech) lives in Push. sherpa-onnx's
			// C API reads 0 as "the default" (0.5 s and 0.25 s, which
			// delay every decision by that much); this rounds to 0
			// samples.
			MinSilenceDuration: sherpaNoDuration,
			MinSpeechDuration:  sherpaNoDuration,
			WindowSize:         windowSamples,
			// sherpa-onnx raises its threshold once its buffer holds
			// this much; the buffer is flushed at every window, so it
			// never does.
			MaxSpeechDuration: 3600,
		},
		SampleRate: SampleRate,
		NumThreads: 1,
		Provider:   "cpu",
	}
	vad := sherpa.NewVoiceActivityDetector(&vc, sherpaBufferSeconds)
	if vad == nil {
		return nil, fmt.Errorf("%w: sherpa-onnx could not load %s as a Silero VAD model", ErrNoModel, modelPath)
	}
	d := &Detector{
		cfg:       cfg,
		silence:   ceilWindows(samples(cfg.Silence)),
		minSpeech: samples(cfg.MinSpeech),
		preRoll:   samples(cfg.PreRoll),
		maxTurn:   ceilWindows(samples(cfg.MaxTurn)),
		trail:     samples(TrailingSilence),
		vad:       vad,
		win:       make([]float32, 0, windowSamples),
	}
	d.Reset()
	return d, nil
}

// Config is the detector's configuration, defaults filled in.
func (d *Detector) Config() Config { return d.cfg }

// Push feeds the next samples of the stream (16 kHz mono, any length, 0
// included) and returns what they made happen, in order. Non-finite
// samples count as silence for the model (Audio keeps them as given). Push
// after Close returns nil.
//
// The model judges whole windows, so an event is decided in the Push that
// completes its window: how the stream is cut into pushes does not change
// the events.
func (d *Detector) Push(samples []float32) []Event {
	if d.vad == nil || len(samples) == 0 {
		return nil
	}
	d.buf = append(d.buf, samples...)
	var events []Event
	start := -1 // index in events of a SpeechStart whose Audio is not set yet
	for len(samples) > 0 {
		n := min(cap(d.win)-len(d.win), len(samples))
		for _, v := range samples[:n] {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				v = 0
			}
			d.win = append(d.win, v)
		}
		samples = samples[n:]
		if len(d.win) < cap(d.win) {
			break
		}
		d.vad.AcceptWaveform(d.win)
		speech := d.vad.IsSpeech()
		// Flushing keeps sherpa-onnx from holding (and copying at every
		// window) the whole speech stretch; it does not touch the
		// model's state.
		d.vad.Flush()
		d.vad.Clear()
		d.win = d.win[:0]
		d.winStart += windowSamples
		events = d.step(events, speech, &start)
	}
	if start >= 0 {
		events[start].Audio = slices.Clone(d.buf[d.turnStart-d.bufStart:])
	}
	if !d.speaking {
		d.trim()
	}
	return events
}

// step applies the model's decision on the window that ends at d.winStart.
func (d *Detector) step(events []Event, speech bool, start *int) []Event {
	end := d.winStart
	if !d.speaking {
		if !speech {
			return events
		}
		// sherpa-onnx calls a stretch speech at its second window above
		// the threshold: the speech began a window earlier.
		at := max(end-2*windowSamples, d.floor, 0)
		d.speaking = true
		d.speechStart, d.last, d.voiced = at, end, end-at
		if at == d.floor && at > 0 {
			// The speech goes on past a forced end: the rest of it
			// is a turn however short it is.
			d.voiced = max(d.voiced, d.minSpeech)
		}
		d.turnStart = max(at-d.preRoll, d.bufStart)
		*start = len(events)
		return append(events, Event{Kind: SpeechStart, At: samplesDuration(at), Decided: samplesDuration(end)})
	}
	if speech {
		d.last = end
		d.voiced += windowSamples
	}
	var ev Event
	switch {
	case end-d.speechStart >= d.maxTurn:
		ev = Event{Kind: SpeechEnd, At: samplesDuration(end), Forced: true, Audio: d.audio(end)}
		d.floor = end
	case !speech && end-d.last >= d.silence && d.voiced >= d.minSpeech:
		ev = Event{Kind: SpeechEnd, At: samplesDuration(d.last), Audio: d.audio(min(d.last+d.trail, end))}
	case !speech && end-d.last >= d.silence:
		ev = Event{Kind: SpeechDiscarded, At: samplesDuration(d.speechStart)}
	default:
		return events
	}
	ev.Decided = samplesDuration(end)
	d.speaking = false
	if *start >= 0 {
		events[*start].Audio = slices.Clone(ev.Audio)
		*start = -1
	}
	return append(events, ev)
}

// audio is a copy of the turn's audio up to stream index end.
func (d *Detector) audio(end int64) []float32 {
	return slices.Clone(d.buf[d.turnStart-d.bufStart : end-d.bufStart])
}

// trim drops the audio no future turn can include: an onset is decided at
// the end of a window not yet complete and begins a window before it.
func (d *Detector) trim() {
	keep := max(d.winStart-windowSamples-d.preRoll, d.bufStart)
	drop := int(keep - d.bufStart)
	// Move the tail down only when most of the buffer goes, so that a
	// stream of small pushes costs a copy now and then, not every time.
	if drop < len(d.buf)/2 || drop < 4*windowSamples {
		return
	}
	n := copy(d.buf, d.buf[drop:])
	d.buf = d.buf[:n]
	d.bufStart = keep
}

// Speaking reports whether the user is inside a (possible) turn: a
// SpeechStart has been returned and its SpeechEnd or SpeechDiscarded not
// yet.
func (d *Detector) Speaking() bool { return d.speaking }

// Reset forgets the stream: the model's state, any turn in progress
// (without an event) and the stream time, which starts again from zero.
func (d *Detector) Reset() {
	if d.vad == nil {
		return
	}
	d.vad.Reset()
	// sherpa-onnx shows the model each window with the 64 samples before
	// it, which it keeps from the previous call. Silence before the first
	// window lets each 512 samples pushed complete a window.
	d.vad.AcceptWaveform(make([]float32, contextSamples))
	d.win = d.win[:0]
	d.winStart, d.bufStart = 0, 0
	d.buf = d.buf[:0]
	d.speaking = false
	d.turnStart, d.speechStart, d.last, d.voiced, d.floor = 0, 0, 0, 0, 0
}

// Close frees the model. It is idempotent; Push after Close returns nil.
func (d *Detector) Close() error {
	if d.vad != nil {
		sherpa.DeleteVoiceActivityDetector(d.vad)
		d.vad = nil
		d.buf = nil
		d.speaking = false
	}
	return nil
}

// samples is d in whole samples at SampleRate.
func samples(d time.Duration) int64 {
	return int64(d/time.Second*SampleRate) + int64(d%time.Second)*SampleRate/int64(time.Second)
}

// ceilWindows is n rounded up to whole windows.
func ceilWindows(n int64) int64 {
	return (n + windowSamples - 1) / windowSamples * windowSamples
}

// samplesDuration is n samples at SampleRate as a duration (exact: a
// sample is 62.5 µs).
func samplesDuration(n int64) time.Duration {
	return time.Duration(n) * time.Second / SampleRate
}
