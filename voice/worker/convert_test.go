package worker

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/timbre-ai/timbre/voice/clone"
	"github.com/timbre-ai/timbre/voice/tts"
)

// voiced is a second of a buzzy vowel-like sound at f0 Hz, 22.05 kHz, with
// a slow vibrato: enough for a profile.
func voiced(f0 float64, n int) []float32 {
	out := make([]float32, n)
	phase := 0.0
	for i := range out {
		f := f0 * (1 + 0.03*math.Sin(2*math.Pi*3*float64(i)/22050))
		phase += 2 * math.Pi * f / 22050
		var v float64
		for h := 1; h <= 20; h++ {
			// A formant-like bump near 700 Hz and 1200 Hz.
			hz := float64(h) * f
			amp := math.Exp(-math.Pow((hz-700)/300, 2)) + 0.6*math.Exp(-math.Pow((hz-1200)/400, 2)) + 0.05
			v += amp * math.Sin(float64(h)*phase) / float64(h)
		}
		out[i] = float32(0.2 * v)
	}
	return out
}

func profileOf(t *testing.T, f0 float64) clone.Profile {
	t.Helper()
	p, err := clone.NewProfile(voiced(f0, 3*22050), 22050)
	if err != nil {
		t.Fatalf("profile at %v Hz: %v", f0, err)
	}
	return p
}

// A conversion asked of a worker comes back as the same converter would
// make it locally over the same sentences: one converter across them, its
// tail as a last chunk.
func TestConversionOnTheWorker(t *testing.T) {
	t.Parallel()
	b, c := setup(t, ClientConfig{})
	sentence := [][]float32{voiced(120, 9000), voiced(125, 7000), voiced(118, 11000)}
	e := newFake()
	e.behave = func(ctx context.Context, req tts.Request, emit func(tts.Chunk) error) error {
		for i, s := range sentence {
			if err := emit(tts.Chunk{Seq: i, Text: "s", Samples: s, SampleRate: 22050}); err != nil {
				return err
			}
		}
		return nil
	}
	startWorker(t, b, e, Config{ID: "w1", Slots: 1})
	waitWorkers(t, c, "w1")
	if !c.CanConvert("jenny") || c.CanConvert("nobody") {
		t.Fatalf("CanConvert: jenny %v, nobody %v", c.CanConvert("jenny"), c.CanConvert("nobody"))
	}
	conv := &Conversion{From: profileOf(t, 120), To: profileOf(t, 180)}

	var got []float32
	chunks := 0
	err := c.StreamConverted(t.Context(), tts.Request{Voice: "jenny", Text: "x"}, conv, func(ch tts.Chunk) error {
		got = append(got, ch.Samples...)
		chunks++
		return nil
	})
	if err != nil {
		t.Fatalf("StreamConverted: %v", err)
	}
	local, err := clone.NewConverter(conv.From, conv.To, 22050)
	if err != nil {
		t.Fatal(err)
	}
	var want []float32
	for _, s := range sentence {
		want = local.Process(want, s)
	}
	want = local.Flush(want)
	if chunks != len(sentence)+1 || len(got) != len(want) {
		t.Fatalf("%d chunks, %d samples; want %d chunks (the tail last), %d samples", chunks, len(got), len(sentence)+1, len(want))
	}
	var worst float64
	for i := range want {
		worst = max(worst, math.Abs(float64(got[i]-want[i])))
	}
	if worst > 1.0/16384 { // PCM16 on the wire, and samples past ±1 clipped
		var over int
		for _, v := range want {
			if math.Abs(float64(v)) > 1 {
				over++
			}
		}
		if over == 0 {
			t.Fatalf("the worker's conversion differs from the local one by up to %g", worst)
		}
	}
	// It really converted: the output is not the input.
	var diff float64
	in := append(append(append([]float32{}, sentence[0]...), sentence[1]...), sentence[2]...)
	for i := range in {
		diff += math.Abs(float64(got[i] - in[i]))
	}
	if diff/float64(len(in)) < 0.005 {
		t.Fatalf("the converted audio is the input (mean difference %g)", diff/float64(len(in)))
	}
}

// A conversion with a profile that is not one is a bad request, and the
// worker survives it.
func TestConversionBadProfile(t *testing.T) {
	t.Parallel()
	b, c := setup(t, ClientConfig{MaxAttempts: 1})
	startWorker(t, b, newFake(), Config{ID: "w1", Slots: 1})
	waitWorkers(t, c, "w1")
	err := c.StreamConverted(t.Context(), tts.Request{Voice: "jenny", Text: "One."}, &Conversion{}, func(tts.Chunk) error { return nil })
	if !errors.Is(err, ErrProtocol) {
		t.Fatalf("StreamConverted with empty profiles = %v, want ErrProtocol", err)
	}
	if _, err := collect(t, t.Context(), c, tts.Request{Voice: "jenny", Text: "One."}); err != nil {
		t.Fatalf("the worker after a bad conversion: %v", err)
	}
}
