package worker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/timbre-ai/timbre/bus"
	"github.com/timbre-ai/timbre/bus/bustest"
	"github.com/timbre-ai/timbre/voice/tts"
)

func TestStreamDeliversChunksInOrder(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("A rather long sentence that makes many samples. ", 3)
	tests := []struct {
		name string
		cfg  Config
		text string
	}{
		{"pcm16", Config{}, "One.|Two two.|Three three three.|Four."},
		{"float32", Config{SampleFormat: FormatFloat32}, "One.|Two two.|Three three three.|Four."},
		{"sentences split into frames", Config{MaxFrameBytes: 1024}, "Short.|" + long + "|" + long + "|End."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, c := setup(t, ClientConfig{})
			tt.cfg.ID = "w1"
			startWorker(t, b, newFake(), tt.cfg)
			waitWorkers(t, c, "w1")
			got, err := collect(t, t.Context(), c, tts.Request{Voice: "jenny", Text: tt.text})
			if err != nil {
				t.Fatalf("Stream: %v", err)
			}
			if diff := cmp.Diff(expected(tt.text), got); diff != "" {
				t.Errorf("chunks differ from the engine's (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTwoWorkersShareLoadWithinSlots(t *testing.T) {
	t.Parallel()
	b, c := setup(t, ClientConfig{})
	release := make(chan struct{})
	ea, eb := newFake(), newFake()
	ea.behave, eb.behave = gated(release, 1), gated(release, 1)
	startWorker(t, b, ea, Config{ID: "a", Slots: 2})
	startWorker(t, b, eb, Config{ID: "b", Slots: 2})
	waitWorkers(t, c, "a", "b")

	const text = "First.|Second."
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			got, err := collect(t, t.Context(), c, tts.Request{Voice: "jenny", Text: text})
			if err == nil && len(got) != 2 {
				err = fmt.Errorf("%d chunks, want 2", len(got))
			}
			errs <- err
		}()
	}
	eventually(t, "both workers to run two syntheses", func() bool {
		_, ra, _ := ea.stats()
		_, rb, _ := eb.stats()
		return ra == 2 && rb == 2
	})
	close(release)
	for range 4 {
		if err := receive(t, errs, "a Stream to end"); err != nil {
			t.Errorf("Stream: %v", err)
		}
	}
	for name, e := range map[string]*fakeEngine{"a": ea, "b": eb} {
		if calls, _, maxRunning := e.stats(); calls != 2 || maxRunning > 2 {
			t.Errorf("worker %s ran %d syntheses, at most %d at once; want 2, at most 2", name, calls, maxRunning)
		}
	}
}

func TestFullWorkerTurnsRequestsAway(t *testing.T) {
	t.Parallel()
	// The request waits its turn for QueueWait, then gives up.
	b, c := setup(t, ClientConfig{MaxAttempts: 2, Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, QueueWait: 100 * time.Millisecond})
	release := make(chan struct{})
	e := newFake()
	e.behave = gated(release, 1)
	w, _ := startWorker(t, b, e, Config{ID: "w1", Slots: 1})
	waitWorkers(t, c, "w1")

	first := make(chan error, 1)
	go func() {
		_, err := collect(t, t.Context(), c, tts.Request{Voice: "jenny", Text: "One.|Two."})
		first <- err
	}()
	receive(t, e.started, "the first synthesis to start")

	_, err := collect(t, t.Context(), c, tts.Request{Voice: "jenny", Text: "Other."})
	if !errors.Is(err, ErrBusy) {
		t.Errorf("second Stream while the only slot is taken = %v, want ErrBusy", err)
	}
	if calls, _, maxRunning := e.stats(); calls != 1 || maxRunning != 1 {
		t.Errorf("engine ran %d syntheses, %d at once; want 1, 1", calls, maxRunning)
	}
	// Busy replies do not use up the two attempts: it kept asking.
	busy := testutil.ToFloat64(w.metrics.requests.WithLabelValues(codeBusy))
	if busy < 3 {
		t.Errorf("worker counted %v busy replies, want more than MaxAttempts (2): busy replies must not use up attempts", busy)
	}
	if got := testutil.ToFloat64(c.metrics.retries.WithLabelValues(codeBusy)); got != busy-1 {
		t.Errorf("client counted %v busy retries, want %v", got, busy-1)
	}
	close(release)
	if err := receive(t, first, "the first Stream to end"); err != nil {
		t.Errorf("first Stream: %v", err)
	}
}

func TestBusyRequestGetsTheNextFreeSlot(t *testing.T) {
	t.Parallel()
	// Two attempts, but a busy pool is a queue: the second request waits
	// for the slot however many times it is turned away.
	b, c := setup(t, ClientConfig{MaxAttempts: 2, Backoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	release := make(chan struct{})
	e := newFake()
	e.behave = gated(release, 1)
	w, _ := startWorker(t, b, e, Config{ID: "w1", Slots: 1})
	waitWorkers(t, c, "w1")

	errs := make(chan error, 2)
	go func() {
		_, err := collect(t, t.Context(), c, tts.Request{Voice: "jenny", Text: "One.|Two."})
		errs <- err
	}()
	receive(t, e.started, "the first synthesis to start")
	go func() {
		_, err := collect(t, t.Context(), c, tts.Request{Voice: "jenny", Text: "Three.|Four."})
		errs <- err
	}()
	eventually(t, "the worker to turn the second request away more often than MaxAttempts", func() bool {
		return testutil.ToFloat64(w.metrics.requests.WithLabelValues(codeBusy)) >= 3
	})
	close(release)
	for range 2 {
		if err := receive(t, errs, "a Stream to end"); err != nil {
			t.Errorf("Stream: %v", err)
		}
	}
	if calls, _, maxRunning := e.stats(); calls != 2 || maxRunning != 1 {
		t.Errorf("engine ran %d syntheses, %d at once; want 2, 1", calls, maxRunning)
	}
}

func TestWorkerLostMidStream(t *testing.T) {
	t.Parallel()
	b, c := setup(t, ClientConfig{})
	ea, eb := newFake(), newFake()
	ea.behave = gated(make(chan struct{}), 1) // never released
	// a has more free slots, so the client picks it.
	_, wba := startWorker(t, b, ea, Config{ID: "a", Slots: 4})
	startWorker(t, b, eb, Config{ID: "b", Slots: 1})
	waitWorkers(t, c, "a", "b")

	var got []tts.Chunk
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	err := c.Stream(ctx, tts.Request{Voice: "jenny", Text: "One.|Two.|Three."}, func(ch tts.Chunk) error {
		got = append(got, ch)
		wba.Conn().Close() // worker a's process dies mid-stream
		return nil
	})
	if !errors.Is(err, bus.ErrWorkerLost) {
		t.Fatalf("Stream = %v, want an error wrapping bus.ErrWorkerLost", err)
	}
	if ctx.Err() != nil {
		t.Fatalf("Stream ended with the test's deadline: %v", err)
	}
	if !strings.Contains(err.Error(), "voice worker a stopped responding mid-stream") {
		t.Errorf("error %q does not say which worker stopped mid-stream", err)
	}
	if len(got) != 1 {
		t.Errorf("got %d chunks, want the 1 sent before the worker died", len(got))
	}
	if calls, _, _ := eb.stats(); calls != 0 {
		t.Errorf("worker b ran %d syntheses; audio was already delivered, nothing may be retried", calls)
	}
	if got := testutil.ToFloat64(c.metrics.requests.WithLabelValues(reasonWorkerLost)); got != 1 {
		t.Errorf("client counted %v requests lost mid-stream, want 1", got)
	}
}

func TestWorkerLostBeforeAudioIsRetried(t *testing.T) {
	t.Parallel()
	b, c := setup(t, ClientConfig{})
	var conn atomic.Pointer[bus.Bus]
	ea, eb := newFake(), newFake()
	ea.behave = func(ctx context.Context, _ tts.Request, _ func(tts.Chunk) error) error {
		conn.Load().Conn().Close() // dies after taking the request
		<-ctx.Done()
		return ctx.Err()
	}
	_, wba := startWorker(t, b, ea, Config{ID: "a", Slots: 4})
	conn.Store(wba)
	startWorker(t, b, eb, Config{ID: "b", Slots: 1})
	waitWorkers(t, c, "a", "b")

	const text = "One.|Two."
	got, err := collect(t, t.Context(), c, tts.Request{Voice: "jenny", Text: text})
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	if diff := cmp.Diff(expected(text), got); diff != "" {
		t.Errorf("chunks (-want +got):\n%s", diff)
	}
	if calls, _, _ := eb.stats(); calls != 1 {
		t.Errorf("worker b ran %d syntheses, want 1 (the retry)", calls)
	}
	if got := testutil.ToFloat64(c.metrics.retries.WithLabelValues(reasonWorkerLost)); got != 1 {
		t.Errorf("client counted %v retries after a lost worker, want 1", got)
	}
	for _, w := range c.Workers() {
		if w.ID == "a" {
			t.Errorf("the client still lists lost worker a")
		}
	}
}

func TestDeadWorkerIsSkipped(t *testing.T) {
	t.Parallel()
	b, c := setup(t, ClientConfig{})
	ea, eb := newFake(), newFake()
	// An hour between adverts: the client cannot have forgotten a by the
	// time it sends.
	_, wba := startWorker(t, b, ea, Config{ID: "a", Slots: 4, AdvertiseEvery: time.Hour})
	startWorker(t, b, eb, Config{ID: "b", Slots: 1})
	waitWorkers(t, c, "a", "b")
	wba.Conn().Close()
	// The server drops a's subscriptions once it notices the connection
	// went; a request before that is lost, which another test covers.
	eventually(t, "the server to drop worker a's subscriptions", func() bool {
		_, err := b.Conn().Request(directSubject(DefaultSubject, "a"), nil, time.Second)
		return errors.Is(err, nats.ErrNoResponders)
	})

	if _, err := collect(t, t.Context(), c, tts.Request{Voice: "jenny", Text: "Hi."}); err != nil {
		t.Fatalf("Stream: %v", err)
	}
	if calls, _, _ := eb.stats(); calls != 1 {
		t.Errorf("worker b ran %d syntheses, want 1", calls)
	}
	if got := testutil.ToFloat64(c.metrics.retries.WithLabelValues(reasonNoResponders)); got != 1 {
		t.Errorf("client counted %v retries for no responders, want 1", got)
	}
}

func TestNoWorkers(t *testing.T) {
	t.Parallel()
	_, c := setup(t, ClientConfig{MaxAttempts: 3, Backoff: time.Millisecond})
	_, err := collect(t, t.Context(), c, tts.Request{Voice: "jenny", Text: "Hi."})
	if !errors.Is(err, ErrNoWorkers) {
		t.Errorf("Stream with no workers = %v, want ErrNoWorkers", err)
	}
	if got := testutil.ToFloat64(c.metrics.retries.WithLabelValues(reasonNoResponders)); got != 2 {
		t.Errorf("client counted %v retries, want 2 (3 attempts)", got)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := c.WaitReady(ctx); !errors.Is(err, ErrNoWorkers) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitReady with no workers = %v, want ErrNoWorkers and the deadline", err)
	}
	if len(c.Voices()) != 0 {
		t.Errorf("Voices with no workers = %v, want none", c.Voices())
	}
}

func TestCancellationReachesTheEngine(t *testing.T) {
	t.Parallel()
	errStop := errors.New("listener hung up")
	tests := []struct {
		name string
		// before is how many sentences the engine speaks before it waits.
		before int
		// inChunk is what onChunk does: cancel the context, or fail.
		fail    bool
		wantErr error
	}{
		{"cancelled before any audio", 0, false, context.Canceled},
		{"cancelled after the first sentence (barge-in)", 1, false, context.Canceled},
		{"onChunk fails", 1, true, errStop},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, c := setup(t, ClientConfig{})
			e := newFake()
			engineErr := make(chan error, 1)
			e.behave = func(ctx context.Context, req tts.Request, emit func(tts.Chunk) error) error {
				err := gated(make(chan struct{}), tt.before)(ctx, req, emit)
				engineErr <- err
				return err
			}
			startWorker(t, b, e, Config{ID: "w1"})
			waitWorkers(t, c, "w1")

			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if tt.before == 0 {
				go func() {
					<-e.started
					cancel()
				}()
			}
			done := make(chan error, 1)
			go func() {
				done <- c.Stream(ctx, tts.Request{Voice: "jenny", Text: "One.|Two.|Three."}, func(tts.Chunk) error {
					if tt.fail {
						return errStop
					}
					cancel()
					return nil
				})
			}()
			if err := receive(t, done, "Stream to end"); !errors.Is(err, tt.wantErr) {
				t.Errorf("Stream = %v, want %v", err, tt.wantErr)
			}
			if err := receive(t, engineErr, "the engine to see its context end"); !errors.Is(err, context.Canceled) {
				t.Errorf("engine ended with %v, want context.Canceled", err)
			}
		})
	}
}

func TestErrorsMapToTTSSentinels(t *testing.T) {
	t.Parallel()
	b, c := setup(t, ClientConfig{Backoff: time.Millisecond})
	ea, eb := newFake(jenny, alan), newFake(jenny, alan)
	gpuFailed := errors.New("gpu fell over")
	var failFirst atomic.Bool
	failFirst.Store(true)
	behave := func(ctx context.Context, req tts.Request, emit func(tts.Chunk) error) error {
		switch req.Text {
		case "stale":
			return fmt.Errorf("%w: %q", tts.ErrUnknownVoice, req.Voice)
		case "fail once":
			if failFirst.CompareAndSwap(true, false) {
				return gpuFailed
			}
		case "fail mid|stream":
			if err := emit(fakeChunk(0, "fail mid")); err != nil {
				return err
			}
			return gpuFailed
		}
		return speak(ctx, req, emit)
	}
	ea.behave, eb.behave = behave, behave
	startWorker(t, b, ea, Config{ID: "a"})
	startWorker(t, b, eb, Config{ID: "b"})
	waitWorkers(t, c, "a", "b")

	tests := []struct {
		name      string
		req       tts.Request
		wantErr   error
		wantCalls int
		wantText  string
	}{
		{"voice nobody advertises", tts.Request{Voice: "nobody", Text: "Hi."}, tts.ErrUnknownVoice, 0, ""},
		{"voice the engine no longer has", tts.Request{Voice: "alan", Text: "stale"}, tts.ErrUnknownVoice, 1, ""},
		{"no text", tts.Request{Voice: "jenny", Text: " | "}, tts.ErrNoText, 1, ""},
		{"bad speed", tts.Request{Voice: "jenny", Text: "Hi.", Speed: 9}, tts.ErrBadSpeed, 1, ""},
		{"engine fails before audio: another worker", tts.Request{Voice: "jenny", Text: "fail once"}, nil, 2, ""},
		{"engine fails mid-stream: no retry", tts.Request{Voice: "jenny", Text: "fail mid|stream"}, tts.ErrEngine, 1, "gpu fell over"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ca, _, _ := ea.stats()
			cb, _, _ := eb.stats()
			_, err := collect(t, t.Context(), c, tt.req)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Errorf("Stream = %v, want %v", err, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q does not contain %q", err, tt.wantText)
			}
			na, _, _ := ea.stats()
			nb, _, _ := eb.stats()
			if calls := na - ca + nb - cb; calls != tt.wantCalls {
				t.Errorf("workers ran %d syntheses, want %d", calls, tt.wantCalls)
			}
		})
	}
}

func TestDeadlineTravels(t *testing.T) {
	t.Parallel()
	const defaultTimeout = 45 * time.Second
	b, c := setup(t, ClientConfig{DefaultTimeout: defaultTimeout})
	e := newFake()
	startWorker(t, b, e, Config{ID: "w1"})
	waitWorkers(t, c, "w1")

	// With a deadline: the worker's is the caller's, give or take the
	// transit and clock reading (one clock: same process).
	dl := time.Now().Add(30 * time.Second)
	ctx, cancel := context.WithDeadline(t.Context(), dl)
	defer cancel()
	if err := c.Stream(ctx, tts.Request{Voice: "jenny", Text: "Hi."}, func(tts.Chunk) error { return nil }); err != nil {
		t.Fatalf("Stream: %v", err)
	}
	// Without one: the client's default.
	before := time.Now()
	if err := c.Stream(context.Background(), tts.Request{Voice: "jenny", Text: "Hi."}, func(tts.Chunk) error { return nil }); err != nil {
		t.Fatalf("Stream: %v", err)
	}
	after := time.Now()

	e.mu.Lock()
	got := append([]time.Time(nil), e.deadlines...)
	e.mu.Unlock()
	if len(got) != 2 {
		t.Fatalf("engine saw %d deadlines, want 2", len(got))
	}
	const slack = time.Second
	if got[0].Before(dl.Add(-slack)) || got[0].After(dl.Add(slack)) {
		t.Errorf("engine deadline %s, want about the caller's %s", got[0], dl)
	}
	if got[1].Before(before.Add(defaultTimeout-slack)) || got[1].After(after.Add(defaultTimeout+slack)) {
		t.Errorf("engine deadline %s, want about %s after the call", got[1], defaultTimeout)
	}
}

func TestAdvertsExpire(t *testing.T) {
	t.Parallel()
	b, c := setup(t, ClientConfig{MaxAttempts: 2, Backoff: time.Millisecond})
	_, wb := startWorker(t, b, newFake(jenny, alan), Config{ID: "w1", AdvertiseEvery: 20 * time.Millisecond})
	waitWorkers(t, c, "w1")
	want := []tts.Voice{alan, jenny}
	if diff := cmp.Diff(want, c.Voices()); diff != "" {
		t.Errorf("Voices (-want +got):\n%s", diff)
	}
	wb.Conn().Close()
	waitWorkers(t, c)
	if len(c.Voices()) != 0 {
		t.Errorf("Voices after the only worker stopped advertising = %v, want none", c.Voices())
	}
	eventually(t, "the workers gauge to drop to 0", func() bool { return testutil.ToFloat64(c.metrics.workers) == 0 })
	if _, err := collect(t, t.Context(), c, tts.Request{Voice: "jenny", Text: "Hi."}); !errors.Is(err, ErrNoWorkers) {
		t.Errorf("Stream after the pool emptied = %v, want ErrNoWorkers", err)
	}
}

func TestVoicesAreTheUnionOfTheWorkers(t *testing.T) {
	t.Parallel()
	b, c := setup(t, ClientConfig{})
	ea, eb := newFake(jenny), newFake(alan, jenny)
	startWorker(t, b, ea, Config{ID: "a", Slots: 8})
	startWorker(t, b, eb, Config{ID: "b", Slots: 1})
	waitWorkers(t, c, "a", "b")
	if diff := cmp.Diff([]tts.Voice{alan, jenny}, c.Voices()); diff != "" {
		t.Errorf("Voices (-want +got):\n%s", diff)
	}
	if _, err := collect(t, t.Context(), c, tts.Request{Voice: "alan", Text: "Hi."}); err != nil {
		t.Fatalf("Stream: %v", err)
	}
	ca, _, _ := ea.stats()
	cb, _, _ := eb.stats()
	if ca != 0 || cb != 1 {
		t.Errorf("syntheses of alan: a ran %d, b ran %d; want only b, which speaks alan", ca, cb)
	}
}

func TestDiscoveryOnStart(t *testing.T) {
	t.Parallel()
	b := bustest.New(t)
	// The worker's first advert goes out before the client listens, and the
	// next is an hour away: only discovery can tell the client.
	startWorker(t, b, newFake(), Config{ID: "w1", AdvertiseEvery: time.Hour, Slots: 3})
	c := newClient(t, b, ClientConfig{})
	waitWorkers(t, c, "w1")
	w := c.Workers()[0]
	if w.Slots != 3 || w.Free != 3 || w.Protocol != Protocol || len(w.Voices) != 1 {
		t.Errorf("discovered advert %+v, want 3 free slots and one voice", w.Advert)
	}
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	if err := c.WaitReady(ctx); err != nil {
		t.Errorf("WaitReady: %v", err)
	}
}

func TestStopDrainsAndLeaves(t *testing.T) {
	t.Parallel()
	b, c := setup(t, ClientConfig{MaxAttempts: 2, Backoff: time.Millisecond})
	release := make(chan struct{})
	e := newFake()
	e.behave = gated(release, 1)
	w, _ := startWorker(t, b, e, Config{ID: "w1"})
	waitWorkers(t, c, "w1")

	const text = "One.|Two.|Three."
	first := make(chan error, 1)
	var got []tts.Chunk
	go func() {
		var err error
		got, err = collect(t, t.Context(), c, tts.Request{Voice: "jenny", Text: text})
		first <- err
	}()
	receive(t, e.started, "the synthesis to start")
	stopped := make(chan error, 1)
	go func() { stopped <- w.Stop(t.Context()) }()
	waitWorkers(t, c) // the leaving advert
	if _, err := collect(t, t.Context(), c, tts.Request{Voice: "jenny", Text: "Late."}); !errors.Is(err, ErrNoWorkers) {
		t.Errorf("Stream to a stopping worker = %v, want ErrNoWorkers", err)
	}
	close(release)
	if err := receive(t, first, "the running Stream to end"); err != nil {
		t.Errorf("running Stream: %v", err)
	}
	if diff := cmp.Diff(expected(text), got); diff != "" {
		t.Errorf("the running synthesis was cut (-want +got):\n%s", diff)
	}
	if err := receive(t, stopped, "Stop to return"); err != nil {
		t.Errorf("Stop: %v", err)
	}
	if calls, _, _ := e.stats(); calls != 1 {
		t.Errorf("engine ran %d syntheses, want 1", calls)
	}
}

func TestStopCutsShortAtItsDeadline(t *testing.T) {
	t.Parallel()
	b, c := setup(t, ClientConfig{})
	e := newFake()
	e.behave = gated(make(chan struct{}), 1) // never released
	w, _ := startWorker(t, b, e, Config{ID: "w1"})
	waitWorkers(t, c, "w1")

	done := make(chan error, 1)
	go func() {
		_, err := collect(t, t.Context(), c, tts.Request{Voice: "jenny", Text: "One.|Two."})
		done <- err
	}()
	receive(t, e.started, "the synthesis to start")
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := w.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Stop = %v, want the drain deadline", err)
	}
	// Audio was delivered, so the client reports the cut instead of retrying.
	if err := receive(t, done, "Stream to end"); !errors.Is(err, tts.ErrEngine) {
		t.Errorf("Stream cut by the worker's stop = %v, want tts.ErrEngine", err)
	}
	e.mu.Lock()
	errs := append([]error(nil), e.ctxErrs...)
	e.mu.Unlock()
	if len(errs) != 1 || !errors.Is(errs[0], context.Canceled) {
		t.Errorf("engine contexts ended with %v, want one Canceled", errs)
	}
}

func TestMalformedRequestLeavesWorkerServing(t *testing.T) {
	t.Parallel()
	b, c := setup(t, ClientConfig{})
	w, _ := startWorker(t, b, newFake(), Config{ID: "w1"})
	waitWorkers(t, c, "w1")
	for _, payload := range []string{"not json", `{"protocol":2,"voice":"jenny","text":"Hi."}`, ""} {
		ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
		rs, err := b.RequestStream(ctx, anySubject(DefaultSubject), []byte(payload))
		if err != nil {
			cancel()
			t.Fatalf("RequestStream: %v", err)
		}
		_, err = rs.Next(ctx)
		_ = rs.Close()
		cancel()
		var remote *bus.RemoteError
		if !errors.As(err, &remote) || parseWireError(remote.Message).Code != codeBadRequest {
			t.Errorf("reply to %q = %v, want a bad_request error", payload, err)
		}
	}
	if _, err := collect(t, t.Context(), c, tts.Request{Voice: "jenny", Text: "Still here?"}); err != nil {
		t.Errorf("Stream after malformed requests: %v", err)
	}
	if got := testutil.ToFloat64(w.metrics.requests.WithLabelValues(codeBadRequest)); got != 3 {
		t.Errorf("worker counted %v bad requests, want 3", got)
	}
}

func TestConfigRejects(t *testing.T) {
	t.Parallel()
	b := bustest.New(t)
	for name, cfg := range map[string]Config{
		"ID with a dot":      {ID: "a.b"},
		"wildcard subject":   {Subject: "voice.*"},
		"empty token":        {AdvertSubject: "voice..workers"},
		"unknown format":     {SampleFormat: 7},
		"negative slots":     {Slots: -1},
		"negative advertise": {AdvertiseEvery: -time.Second},
	} {
		if w, err := Start(t.Context(), b, newFake(), cfg, nil); !errors.Is(err, ErrInvalidConfig) {
			if w != nil {
				_ = w.Close()
			}
			t.Errorf("Start with %s = %v, want ErrInvalidConfig", name, err)
		}
	}
	for name, cfg := range map[string]ClientConfig{
		"subject with a space": {Subject: "voice tts"},
		"negative attempts":    {MaxAttempts: -1},
	} {
		if c, err := NewClient(b, cfg, nil); !errors.Is(err, ErrInvalidConfig) {
			if c != nil {
				_ = c.Close()
			}
			t.Errorf("NewClient with %s = %v, want ErrInvalidConfig", name, err)
		}
	}
}

func TestDefaultID(t *testing.T) {
	t.Parallel()
	a, b := defaultID(), defaultID()
	if !validToken(a) || a == b {
		t.Errorf("defaultID gave %q and %q, want two different subject tokens", a, b)
	}
}

func TestClosedClient(t *testing.T) {
	t.Parallel()
	b, c := setup(t, ClientConfig{})
	startWorker(t, b, newFake(), Config{ID: "w1"})
	waitWorkers(t, c, "w1")
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Stream(t.Context(), tts.Request{Voice: "jenny", Text: "Hi."}, func(tts.Chunk) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Errorf("Stream after Close = %v, want ErrClosed", err)
	}
	if err := c.WaitReady(t.Context()); !errors.Is(err, ErrClosed) {
		t.Errorf("WaitReady after Close = %v, want ErrClosed", err)
	}
	if len(c.Workers()) != 0 {
		t.Errorf("Workers after Close = %v, want none", c.Workers())
	}
}
