package worker

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/timbre-ai/timbre/bus"
	"github.com/timbre-ai/timbre/bus/bustest"
	"github.com/timbre-ai/timbre/voice/tts"
)

// waitLimit bounds every wait of these tests; reaching it fails the test.
// It is far above what anything should take (the bus notices a lost worker
// after 2 s).
const waitLimit = 30 * time.Second

var (
	jenny = tts.Voice{ID: "jenny", Name: "Jenny", Language: "en_GB", Gender: "female", Kind: tts.KindBuiltin, SampleRate: 22050, Engine: "fake"}
	alan  = tts.Voice{ID: "alan", Name: "Alan", Language: "en_GB", Gender: "male", Kind: tts.KindBuiltin, SampleRate: 22050, Engine: "fake"}
)

// fakeEngine speaks the sentences of a text split on '|': sentence i of
// text s has 50·(len(s)+i+1) samples that 16 bits represent exactly. behave,
// when set, replaces that: it gets the same emit and decides the timing and
// failures. The engine records what it saw.
type fakeEngine struct {
	voices []tts.Voice
	behave func(ctx context.Context, req tts.Request, emit func(tts.Chunk) error) error
	// started gets a value as each Stream begins, when there is room.
	started chan struct{}

	mu         sync.Mutex
	calls      int
	running    int
	maxRunning int
	deadlines  []time.Time
	ctxErrs    []error
}

func newFake(voices ...tts.Voice) *fakeEngine {
	if len(voices) == 0 {
		voices = []tts.Voice{jenny}
	}
	return &fakeEngine{voices: voices, started: make(chan struct{}, 64)}
}

func (e *fakeEngine) Voices() []tts.Voice { return e.voices }

func (e *fakeEngine) Close() error { return nil }

func (e *fakeEngine) Stream(ctx context.Context, req tts.Request, onChunk func(tts.Chunk) error) error {
	e.mu.Lock()
	e.calls++
	e.running++
	e.maxRunning = max(e.maxRunning, e.running)
	if dl, ok := ctx.Deadline(); ok {
		e.deadlines = append(e.deadlines, dl)
	}
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		e.running--
		e.ctxErrs = append(e.ctxErrs, ctx.Err())
		e.mu.Unlock()
	}()
	select {
	case e.started <- struct{}{}:
	default:
	}
	known := false
	for _, v := range e.voices {
		known = known || v.ID == req.Voice
	}
	switch {
	case !known:
		return tts.ErrUnknownVoice
	case req.Speed != 0 && (req.Speed < 0.25 || req.Speed > 4):
		return tts.ErrBadSpeed
	case len(sentences(req.Text)) == 0:
		return tts.ErrNoText
	}
	if e.behave != nil {
		return e.behave(ctx, req, onChunk)
	}
	return speak(ctx, req, onChunk)
}

// stats returns what the engine recorded.
func (e *fakeEngine) stats() (calls, running, maxRunning int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.calls, e.running, e.maxRunning
}

func sentences(text string) []string {
	var out []string
	for _, s := range strings.Split(text, "|") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// fakeChunk is sentence i of the fake engine.
func fakeChunk(i int, s string) tts.Chunk {
	return tts.Chunk{Seq: i, Text: s, SampleRate: 22050, Samples: ramp(50*(len(s)+i+1), i)}
}

// speak is the fake engine's plain behaviour.
func speak(ctx context.Context, req tts.Request, emit func(tts.Chunk) error) error {
	for i, s := range sentences(req.Text) {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := emit(fakeChunk(i, s)); err != nil {
			return err
		}
	}
	return nil
}

// expected is what the fake engine says for text.
func expected(text string) []tts.Chunk {
	var out []tts.Chunk
	for i, s := range sentences(text) {
		out = append(out, fakeChunk(i, s))
	}
	return out
}

// gated speaks the first `before` sentences, then waits for release (or
// ctx) before the rest.
func gated(release <-chan struct{}, before int) func(context.Context, tts.Request, func(tts.Chunk) error) error {
	return func(ctx context.Context, req tts.Request, emit func(tts.Chunk) error) error {
		for i, s := range sentences(req.Text) {
			if i == before {
				select {
				case <-release:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			if err := emit(fakeChunk(i, s)); err != nil {
				return err
			}
		}
		return nil
	}
}

// dial opens another connection to b's server: another process, as far as
// NATS can tell.
func dial(t *testing.T, b *bus.Bus) *bus.Bus {
	t.Helper()
	d, err := b.Dial(t.Context())
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = d.Close(ctx)
	})
	return d
}

// startWorker starts a worker on its own connection to b's server.
func startWorker(t *testing.T, b *bus.Bus, engine tts.Engine, cfg Config) (*Worker, *bus.Bus) {
	t.Helper()
	wb := dial(t, b)
	w, err := Start(context.Background(), wb, engine, cfg, nil)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = w.Stop(ctx)
	})
	return w, wb
}

func newClient(t *testing.T, b *bus.Bus, cfg ClientConfig) *Client {
	t.Helper()
	c, err := NewClient(b, cfg, nil)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// setup opens a bus and a client on it.
func setup(t *testing.T, cfg ClientConfig) (*bus.Bus, *Client) {
	t.Helper()
	b := bustest.New(t)
	return b, newClient(t, b, cfg)
}

// eventually fails the test when cond has not held within waitLimit.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", waitLimit, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitWorkers waits until the client knows exactly the workers ids.
func waitWorkers(t *testing.T, c *Client, ids ...string) {
	t.Helper()
	eventually(t, "the client to know workers "+strings.Join(ids, ", "), func() bool {
		ws := c.Workers()
		if len(ws) != len(ids) {
			return false
		}
		for i, w := range ws {
			if w.ID != ids[i] {
				return false
			}
		}
		return true
	})
}

// collect runs a Stream and returns the chunks it delivered.
func collect(t *testing.T, ctx context.Context, c *Client, req tts.Request) ([]tts.Chunk, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, waitLimit)
	defer cancel()
	var chunks []tts.Chunk
	err := c.Stream(ctx, req, func(ch tts.Chunk) error {
		chunks = append(chunks, ch)
		return nil
	})
	if ctx.Err() == context.DeadlineExceeded {
		t.Fatalf("Stream did not end within %s", waitLimit)
	}
	return chunks, err
}

// receive waits for a value on ch.
func receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitLimit):
		t.Fatalf("waited %s for %s", waitLimit, what)
		panic("unreachable")
	}
}
