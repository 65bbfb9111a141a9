package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats-server/v2/server"
)

// Test timings: short, so that the package runs in seconds, and far enough
// apart that a loaded machine does not blur them.
const (
	testIdleTimeout = 400 * time.Millisecond
	testHeartbeat   = 50 * time.Millisecond
	// waitLimit bounds every wait for something that should happen; it is
	// a guard against hanging, never an assertion on speed.
	waitLimit = 15 * time.Second
)

// testLogger writes warnings and errors to stderr under -v, nothing otherwise.
func testLogger() *slog.Logger {
	if !testing.Verbose() {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// testConfig is an embedded-server Config in a fresh directory.
func testConfig(t *testing.T) Config {
	t.Helper()
	return Config{
		DataDir:           t.TempDir(),
		StreamIdleTimeout: testIdleTimeout,
		StreamHeartbeat:   testHeartbeat,
	}
}

// openBus opens cfg and closes it when the test ends.
func openBus(t *testing.T, cfg Config) *Bus {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	b, err := Open(ctx, cfg, testLogger())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return b
}

// newTestBus starts an embedded Bus of its own for the test.
func newTestBus(t *testing.T) *Bus {
	t.Helper()
	return openBus(t, testConfig(t))
}

// dial opens a second connection to b's server, closed when the test ends
// (before b, as cleanups run last-in first-out).
func dial(t *testing.T, b *Bus) *Bus {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	peer, err := b.Dial(ctx)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() {
		if err := peer.Close(context.Background()); err != nil {
			t.Errorf("Close peer: %v", err)
		}
	})
	return peer
}

// eventually polls cond until it holds, failing the test after waitLimit.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// receive waits for a value on ch, failing the test after waitLimit.
func receive[T any](t *testing.T, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitLimit):
		t.Fatalf("gave up waiting for %s", what)
		var zero T
		return zero
	}
}

// An embedded server with Listen set takes TCP clients: a worker process
// elsewhere joins it and the two exchange a streamed request.
func TestEmbeddedListen(t *testing.T) {
	t.Parallel()
	host := openBus(t, Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", StreamIdleTimeout: testIdleTimeout, StreamHeartbeat: testHeartbeat})
	url := host.ListenURL()
	if !strings.HasPrefix(url, "nats://127.0.0.1:") || strings.HasSuffix(url, ":0") {
		t.Fatalf("ListenURL = %q, want nats://127.0.0.1:<port>", url)
	}
	remote := openBus(t, Config{URL: url, StreamIdleTimeout: testIdleTimeout, StreamHeartbeat: testHeartbeat})
	if remote.ListenURL() != "" {
		t.Fatalf("a client bus reports ListenURL %q", remote.ListenURL())
	}
	stop, err := remote.Serve(t.Context(), "echo.tcp", "workers", func(_ context.Context, req []byte, w *StreamWriter) error {
		return w.Send(append([]byte("re: "), req...))
	})
	if err != nil {
		t.Fatalf("Serve: %v", err)
	}
	defer stop()
	rs, err := host.RequestStream(t.Context(), "echo.tcp", []byte("hi"))
	if err != nil {
		t.Fatalf("RequestStream: %v", err)
	}
	defer rs.Close()
	got, err := rs.Next(t.Context())
	if err != nil || string(got) != "re: hi" {
		t.Fatalf("Next = %q, %v; want \"re: hi\"", got, err)
	}
	if plain := openBus(t, Config{DataDir: t.TempDir()}); plain.ListenURL() != "" {
		t.Fatalf("an embedded bus without Listen reports ListenURL %q", plain.ListenURL())
	}
}

func TestOpenInvalidConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
	}{
		{"embedded without data dir", Config{}},
		{"negative idle timeout", Config{DataDir: "x", StreamIdleTimeout: -time.Second}},
		{"negative heartbeat", Config{DataDir: "x", StreamHeartbeat: -time.Second}},
		{"heartbeat not shorter than idle timeout", Config{DataDir: "x", StreamIdleTimeout: time.Second, StreamHeartbeat: time.Second}},
		{"default idle timeout under heartbeat", Config{DataDir: "x", StreamHeartbeat: 5 * time.Second}},
		{"listen address without port", Config{DataDir: "x", Listen: "127.0.0.1"}},
		{"listen address with a bad port", Config{DataDir: "x", Listen: "127.0.0.1:99999"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := Open(t.Context(), tt.cfg, testLogger())
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("Open error = %v, want ErrInvalidConfig", err)
			}
			if b != nil {
				t.Fatalf("Open returned a Bus with an error")
			}
		})
	}
}

func TestOpenPingClose(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	b, err := Open(t.Context(), cfg, testLogger())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := b.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, "nats")); err != nil {
		t.Fatalf("store dir not created: %v", err)
	}
	if b.Conn() == nil || b.JetStream() == nil {
		t.Fatalf("Conn or JetStream accessor is nil")
	}
	if err := b.Close(t.Context()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := b.Close(t.Context()); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if !b.Conn().IsClosed() {
		t.Fatalf("connection still open after Close")
	}
	if err := b.Ping(t.Context()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Ping after Close = %v, want ErrClosed", err)
	}
	if _, err := b.Queue(t.Context(), QueueConfig{Name: "q"}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Queue after Close = %v, want ErrClosed", err)
	}
	if _, err := b.RequestStream(t.Context(), "s", nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("RequestStream after Close = %v, want ErrClosed", err)
	}
	if _, err := b.Dial(t.Context()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Dial after Close = %v, want ErrClosed", err)
	}
}

// recordingHandler keeps the slog records it gets.
type recordingHandler struct {
	mu      *sync.Mutex
	records *[]string
	attrs   []slog.Attr
}

func (h recordingHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h recordingHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	for _, a := range h.attrs {
		fmt.Fprintf(&b, "%s=%v ", a.Key, a.Value)
	}
	b.WriteString(r.Message)
	h.mu.Lock()
	*h.records = append(*h.records, b.String())
	h.mu.Unlock()
	return nil
}

func (h recordingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	h.attrs = append(append([]slog.Attr(nil), h.attrs...), attrs...)
	return h
}

func (h recordingHandler) WithGroup(string) slog.Handler { return h }

func TestEmbeddedServerLogsToSlog(t *testing.T) {
	t.Parallel()
	var (
		mu      sync.Mutex
		records []string
	)
	logger := slog.New(recordingHandler{mu: &mu, records: &records})
	b, err := Open(t.Context(), testConfig(t), logger)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := b.Close(t.Context()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	found := false
	for _, r := range records {
		if strings.Contains(r, "component=nats-server") && strings.Contains(r, "Starting nats-server") {
			found = true
		}
	}
	if !found {
		t.Fatalf("no nats-server start notice among %d slog records: %q", len(records), records)
	}
}

func TestDurableAcrossRestart(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	qcfg := QueueConfig{Name: "durable", AckWait: time.Second}

	first, err := Open(t.Context(), cfg, testLogger())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	q, err := first.Queue(t.Context(), qcfg)
	if err != nil {
		t.Fatalf("Queue: %v", err)
	}
	for _, id := range []string{"job-1", "job-2"} {
		if err := q.Publish(t.Context(), id, []byte("payload of "+id)); err != nil {
			t.Fatalf("Publish %s: %v", id, err)
		}
	}
	if err := first.Close(t.Context()); err != nil {
		t.Fatalf("Close: %v", err)
	}

	second := openBus(t, cfg)
	q, err = second.Queue(t.Context(), qcfg)
	if err != nil {
		t.Fatalf("Queue after restart: %v", err)
	}
	n, err := q.Pending(t.Context())
	if err != nil {
		t.Fatalf("Pending: %v", err)
	}
	if n != 2 {
		t.Fatalf("Pending after restart = %d, want 2", n)
	}
	got := consumeN(t, q, 2)
	want := []Job{
		{ID: "job-1", Payload: []byte("payload of job-1"), Attempt: 1},
		{ID: "job-2", Payload: []byte("payload of job-2"), Attempt: 1},
	}
	if diff := cmp.Diff(want, got, ignorePublished); diff != "" {
		t.Fatalf("jobs after restart (-want +got):\n%s", diff)
	}
}

// startExternalServer runs a nats-server listening on a free local port, as
// an external NATS would, and returns its URL.
func startExternalServer(t *testing.T, jetStream bool) string {
	t.Helper()
	srv, err := server.NewServer(&server.Options{
		Host:      "127.0.0.1",
		Port:      server.RANDOM_PORT,
		JetStream: jetStream,
		StoreDir:  t.TempDir(),
		NoSigs:    true,
		NoLog:     true,
	})
	if err != nil {
		t.Fatalf("new server: %v", err)
	}
	srv.Start()
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	if !srv.ReadyForConnections(waitLimit) {
		t.Fatalf("external server not ready")
	}
	return srv.ClientURL()
}

func TestOpenExternal(t *testing.T) {
	t.Parallel()
	t.Run("with JetStream", func(t *testing.T) {
		t.Parallel()
		url := startExternalServer(t, true)
		b := openBus(t, Config{URL: url, StreamIdleTimeout: testIdleTimeout, StreamHeartbeat: testHeartbeat})
		if err := b.Ping(t.Context()); err != nil {
			t.Fatalf("Ping: %v", err)
		}
		q, err := b.Queue(t.Context(), QueueConfig{Name: "ext", AckWait: time.Second})
		if err != nil {
			t.Fatalf("Queue: %v", err)
		}
		if err := q.Publish(t.Context(), "ext-1", []byte("x")); err != nil {
			t.Fatalf("Publish: %v", err)
		}
		got := consumeN(t, q, 1)
		if diff := cmp.Diff([]Job{{ID: "ext-1", Payload: []byte("x"), Attempt: 1}}, got, ignorePublished); diff != "" {
			t.Fatalf("jobs (-want +got):\n%s", diff)
		}
	})
	t.Run("without JetStream", func(t *testing.T) {
		t.Parallel()
		url := startExternalServer(t, false)
		b, err := Open(t.Context(), Config{URL: url}, testLogger())
		if !errors.Is(err, ErrNoJetStream) {
			t.Fatalf("Open error = %v, want ErrNoJetStream", err)
		}
		if b != nil {
			t.Fatalf("Open returned a Bus with an error")
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		t.Parallel()
		// Port 1 on loopback: nothing listens there, the dial is refused.
		b, err := Open(t.Context(), Config{URL: "nats://127.0.0.1:1"}, testLogger())
		if err == nil {
			t.Fatalf("Open to an unreachable URL succeeded")
		}
		if b != nil {
			t.Fatalf("Open returned a Bus with an error")
		}
	})
}

func TestBroadcastReachesEverySubscriber(t *testing.T) {
	t.Parallel()
	b := newTestBus(t)
	other, err := b.Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Close(context.Background()) })

	got := make(chan string, 4)
	for _, bb := range []*Bus{b, other} {
		c, err := bb.Broadcast("timbre.test.changed")
		if err != nil {
			t.Fatal(err)
		}
		stop, err := c.Subscribe(func(msg string) { got <- msg })
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(stop)
	}
	c, _ := b.Broadcast("timbre.test.changed")
	if err := c.Notify("agt_1"); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		select {
		case m := <-got:
			if m != "agt_1" {
				t.Fatalf("got %q", m)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a subscriber missed the broadcast")
		}
	}
	if _, err := b.Broadcast("bad subject"); err == nil {
		t.Fatal("invalid subject accepted")
	}
}
