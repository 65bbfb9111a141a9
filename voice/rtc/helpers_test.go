package rtc_test

import (
	"bytes"
	"context"
	"log/slog"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/timbre-ai/timbre/voice/audio"
	"github.com/timbre-ai/timbre/voice/rtc"
	"github.com/timbre-ai/timbre/voice/rtc/rtctest"
)

// testTimeout bounds every wait: far above what loopback takes, so a
// slow machine does not fail a test, and a hang does.
const testTimeout = 20 * time.Second

// logBuffer keeps a test's logs and prints them only if it failed: pion
// logs from its own goroutines, possibly after the test returned.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func testLogger(t testing.TB) *slog.Logger {
	var b logBuffer
	t.Cleanup(func() {
		if t.Failed() {
			b.mu.Lock()
			t.Logf("logs:\n%s", b.buf.String())
			b.mu.Unlock()
		}
	})
	return slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func newTransport(t testing.TB, cfg rtc.Config) *rtc.Transport {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	tr, err := rtc.NewTransport(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	return tr
}

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// dial connects an rtctest client to tr, with h as the call's handlers.
// before, if set, runs on the new peer before the answer goes back.
func dial(t testing.TB, tr *rtc.Transport, h rtc.Handlers, before func(*rtc.Peer), opts ...rtctest.Option) (*rtc.Peer, *rtctest.Client) {
	t.Helper()
	ctx := testContext(t)
	var peer *rtc.Peer
	c, err := rtctest.Dial(ctx, func(offer string) (string, error) {
		p, answer, err := tr.Accept(ctx, offer, h)
		if err != nil {
			return "", err
		}
		peer = p
		if before != nil {
			before(p)
		}
		return answer, nil
	}, opts...)
	if err != nil {
		if peer != nil {
			_ = peer.Close()
		}
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Close()
		_ = peer.Close()
		select {
		case <-peer.Done():
		case <-time.After(testTimeout):
			t.Error("the peer did not finish closing")
		}
	})
	return peer, c
}

// recorder records a call's handler calls.
type recorder struct {
	mu       sync.Mutex
	frames   []audio.Frame
	messages []string
	calls    []string // "open", "message", "closed", and "audio" after closed
	reasons  []error
	changed  chan struct{}
}

func newRecorder() *recorder { return &recorder{changed: make(chan struct{})} }

func (r *recorder) note(f func()) {
	r.mu.Lock()
	f()
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
}

func (r *recorder) handlers() rtc.Handlers {
	return rtc.Handlers{
		Audio: func(f audio.Frame) {
			r.note(func() {
				r.frames = append(r.frames, f)
				if len(r.reasons) > 0 {
					r.calls = append(r.calls, "audio")
				}
			})
		},
		Message: func(b []byte) {
			r.note(func() { r.messages = append(r.messages, string(b)); r.calls = append(r.calls, "message") })
		},
		Open: func() { r.note(func() { r.calls = append(r.calls, "open") }) },
		Closed: func(err error) {
			r.note(func() { r.reasons = append(r.reasons, err); r.calls = append(r.calls, "closed") })
		},
	}
}

// wait waits until cond, checked under the recorder's lock, holds.
func (r *recorder) wait(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(testTimeout)
	for {
		r.mu.Lock()
		ok := cond()
		ch := r.changed
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// samples returns the audio received so far, joined.
func (r *recorder) samples() []float32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var x []float32
	for _, f := range r.frames {
		x = append(x, f.Samples...)
	}
	return x
}

// tone is amp·sin(2π·freq·t) for d at rate.
func tone(rate int, freq, amp float64, d time.Duration) []float32 {
	n := audio.Format{SampleRate: rate, Channels: 1}.Frames(d)
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(amp * math.Sin(2*math.Pi*freq*float64(i)/float64(rate)))
	}
	return x
}

// windowRMS is the RMS of each window of w samples.
func windowRMS(x []float32, w int) []float64 {
	var out []float64
	for i := 0; i+w <= len(x); i += w {
		out = append(out, audio.RMS(x[i:i+w]))
	}
	return out
}

// toneSpan finds the first and last 5 ms windows louder than threshold
// and returns their sample range; ok is false when there are none.
func toneSpan(x []float32, rate int, threshold float64) (start, end int, ok bool) {
	w := rate / 200
	first, last := -1, -1
	for i, v := range windowRMS(x, w) {
		if v > threshold {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		return 0, 0, false
	}
	return first * w, (last + 1) * w, true
}

// zeroCrossFreq estimates the frequency of a tone from its rising zero
// crossings, interpolated between samples.
func zeroCrossFreq(x []float32, rate int) float64 {
	var firstT, lastT float64
	n := 0
	for i := 1; i < len(x); i++ {
		if x[i-1] < 0 && x[i] >= 0 {
			t := float64(i-1) + float64(-x[i-1])/float64(x[i]-x[i-1])
			if n == 0 {
				firstT = t
			}
			lastT = t
			n++
		}
	}
	if n < 2 {
		return 0
	}
	return float64(n-1) * float64(rate) / (lastT - firstT)
}

// maxStep is the largest difference between neighbouring samples: a
// click or a gap in a sine shows as a step far above 2π·f·amp/rate.
func maxStep(x []float32) (float64, int) {
	var m float64
	at := 0
	for i := 1; i < len(x); i++ {
		if d := math.Abs(float64(x[i] - x[i-1])); d > m {
			m, at = d, i
		}
	}
	return m, at
}

// dropouts counts the 5 ms windows of x quieter than half of rms.
func dropouts(x []float32, rate int, rms float64) int {
	n := 0
	for _, v := range windowRMS(x, rate/200) {
		if v < rms/2 {
			n++
		}
	}
	return n
}

// waitFor polls cond every 5 ms until it holds.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
