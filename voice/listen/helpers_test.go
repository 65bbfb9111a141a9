package listen

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/timbre-ai/timbre/voice/audio"
	"github.com/timbre-ai/timbre/voice/clone"
	"github.com/timbre-ai/timbre/voice/tts/ttstest"
)

// Texts the tests speak. Piper's synthesis is stochastic, so no test
// depends on exact samples.
const (
	textHello   = "Hello, can you hear me?"
	textWeather = "What is the weather like tomorrow?"
	textStory   = "Tell me a story about a dragon who was afraid of the dark."
	textOkay    = "Okay, thanks."
)

// piperRate is the rate of the Piper voices.
const piperRate = ttstest.Rate

// utterance is voice saying text (synthesised once per test binary),
// resampled to SampleRate.
func utterance(t testing.TB, voice, text string) []float32 {
	t.Helper()
	out, err := audio.Resample(audio.Frame{Format: audio.Format{SampleRate: piperRate, Channels: 1}, Samples: ttstest.Say(t, voice, text)}, SampleRate, audio.QualityDefault)
	if err != nil {
		t.Fatal(err)
	}
	return out.Samples
}

// modelPath is the Silero model under $TIMBRE_DATA_DIR or the
// repository's .data.
func modelPath() string {
	dir := os.Getenv("TIMBRE_DATA_DIR")
	if dir == "" {
		_, file, _, _ := runtime.Caller(0)
		dir = filepath.Join(filepath.Dir(file), "..", "..", ".data")
	}
	return clone.VADModelPath(dir)
}

// newDetector opens a detector closed at the end of the test, failing the
// test, saying how to get the model, when it is missing.
func newDetector(t testing.TB, cfg Config) *Detector {
	t.Helper()
	d, err := NewDetector(modelPath(), cfg)
	if err != nil {
		t.Fatalf("the Silero VAD model is not in place: run scripts/setup-vad (or `make setup`): %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// n is d in samples at SampleRate.
func n(d time.Duration) int { return int(samples(d)) }

// dur is n samples at SampleRate.
func dur(n int) time.Duration { return samplesDuration(int64(n)) }

// silence is d of digital silence.
func silence(d time.Duration) []float32 { return make([]float32, n(d)) }

// noise is d of Gaussian white noise of the given RMS.
func noise(seed uint64, d time.Duration, rms float64) []float32 {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	out := make([]float32, n(d))
	for i := range out {
		out[i] = float32(r.NormFloat64() * rms)
	}
	return out
}

// stream is a timeline being assembled; marks records where each piece
// starts.
type stream struct {
	samples []float32
}

// add appends s and returns where it starts.
func (st *stream) add(s []float32) int {
	at := len(st.samples)
	st.samples = append(st.samples, s...)
	return at
}

// audibleSpan is where x is audible: the start of the first and the end of
// the last 5 ms frame whose RMS is above −40 dBFS. Piper leaves a varying
// stretch of quiet at either end of its output.
func audibleSpan(x []float32) (start, end int) {
	const frame = SampleRate / 200
	start, end = -1, -1
	for i := 0; i+frame <= len(x); i += frame {
		if audio.RMS(x[i:i+frame]) > 0.01 {
			if start < 0 {
				start = i
			}
			end = i + frame
		}
	}
	return start, end
}

// run pushes x in pieces of chunk samples and returns the events, and the
// audio a caller following the documented contract hands its recogniser
// for each turn: SpeechStart's Audio, then every later chunk until the
// turn ends.
func run(d *Detector, x []float32, chunk int) (events []Event, forwarded [][]float32) {
	var cur []float32
	open := false
	for i := 0; i < len(x); i += chunk {
		c := x[i:min(i+chunk, len(x))]
		if open {
			cur = append(cur, c...)
		}
		for _, e := range d.Push(c) {
			events = append(events, e)
			switch e.Kind {
			case SpeechStart:
				cur, open = append([]float32(nil), e.Audio...), true
			case SpeechEnd, SpeechDiscarded:
				if open {
					forwarded = append(forwarded, cur)
				}
				cur, open = nil, false
			}
		}
	}
	return events, forwarded
}

// kinds lists the kinds of events.
func kinds(events []Event) []EventKind {
	var out []EventKind
	for _, e := range events {
		out = append(out, e.Kind)
	}
	return out
}
