package worker

import (
	"context"
	"math"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/timbre-ai/timbre/bus/bustest"
	"github.com/timbre-ai/timbre/voice/tts"
	"github.com/timbre-ai/timbre/voice/tts/ttstest"
)

// recorder passes an engine through and keeps what it made: Piper's
// synthesis is random (its noise scales), so the audio that crossed the bus
// is compared with what the engine produced for that very request.
type recorder struct {
	tts.Engine
	mu     sync.Mutex
	chunks []tts.Chunk
}

func (r *recorder) Stream(ctx context.Context, req tts.Request, onChunk func(tts.Chunk) error) error {
	return r.Engine.Stream(ctx, req, func(c tts.Chunk) error {
		r.mu.Lock()
		r.chunks = append(r.chunks, tts.Chunk{Seq: c.Seq, Text: c.Text, SampleRate: c.SampleRate, Samples: slices.Clone(c.Samples)})
		r.mu.Unlock()
		return onChunk(c)
	})
}

// Close leaves the shared engine open for the other tests.
func (r *recorder) Close() error { return nil }

func TestPiperThroughTheBus(t *testing.T) {
	t.Parallel()
	piper := ttstest.Piper(t)
	b := bustest.New(t)
	rec := &recorder{Engine: piper}
	startWorker(t, b, rec, Config{ID: "cpu-1", Slots: 2})
	c := newClient(t, b, ClientConfig{})
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	if err := c.WaitReady(ctx); err != nil {
		t.Fatalf("WaitReady: %v", err)
	}
	if diff := cmp.Diff(piper.Voices(), c.Voices()); diff != "" {
		t.Errorf("voices through the pool differ from the engine's (-engine +client):\n%s", diff)
	}
	if ws := c.Workers(); len(ws) != 1 || ws[0].Device != "cpu" || !slices.Equal(ws[0].Engines, []string{"piper"}) {
		t.Errorf("Workers = %+v, want one cpu worker running piper", ws)
	}

	req := tts.Request{Voice: "jenny", Text: "Hello there. How are you today?"}
	got, err := collect(t, t.Context(), c, req)
	if err != nil {
		t.Fatalf("Stream through the bus: %v", err)
	}
	rec.mu.Lock()
	made := rec.chunks
	rec.mu.Unlock()
	// PCM16 on the wire: each sample within one 16-bit step.
	approx := cmp.Comparer(func(a, b float32) bool { return math.Abs(float64(a)-float64(b)) <= 1.0/32768 })
	if diff := cmp.Diff(made, got, approx); diff != "" {
		t.Errorf("audio through the bus differs from the engine's (-engine +client):\n%s", diff)
	}

	// The engine called directly speaks the same sentences, at the same
	// rate, for about as long (the durations are random too).
	var direct []tts.Chunk
	if err := piper.Stream(t.Context(), req, func(c tts.Chunk) error {
		direct = append(direct, c)
		return nil
	}); err != nil {
		t.Fatalf("Stream directly: %v", err)
	}
	if len(direct) != len(got) || len(got) != 2 {
		t.Fatalf("direct call made %d sentences, through the bus %d; want 2", len(direct), len(got))
	}
	for i := range got {
		d, g := direct[i], got[i]
		if d.Seq != g.Seq || d.Text != g.Text || d.SampleRate != g.SampleRate {
			t.Errorf("sentence %d: direct %d %q at %d Hz, through the bus %d %q at %d Hz", i, d.Seq, d.Text, d.SampleRate, g.Seq, g.Text, g.SampleRate)
		}
		if ratio := float64(len(g.Samples)) / float64(len(d.Samples)); ratio < 0.7 || ratio > 1.4 {
			t.Errorf("sentence %d: %d samples through the bus, %d directly", i, len(g.Samples), len(d.Samples))
		}
	}
}
