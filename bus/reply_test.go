package bus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
)

// serve registers handler on subject and stops it when the test ends.
func serve(t *testing.T, b *Bus, subject string, handler StreamHandler) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	stop, err := b.Serve(ctx, subject, "workers", handler)
	if err != nil {
		t.Fatalf("Serve: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		stop()
	})
}

// request starts a streamed request that is closed when the test ends.
func request(t *testing.T, b *Bus, ctx context.Context, subject, req string) *ReplyStream {
	t.Helper()
	rs, err := b.RequestStream(ctx, subject, []byte(req))
	if err != nil {
		t.Fatalf("RequestStream: %v", err)
	}
	t.Cleanup(func() { _ = rs.Close() })
	return rs
}

// next calls rs.Next with a guard against hanging.
func next(t *testing.T, rs *ReplyStream) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	chunk, err := rs.Next(ctx)
	if ctx.Err() != nil {
		t.Fatalf("Next did not return within %s", waitLimit)
	}
	return chunk, err
}

// readAll collects chunks until Next fails and returns them with the error.
func readAll(t *testing.T, rs *ReplyStream) ([]string, error) {
	t.Helper()
	var chunks []string
	for {
		chunk, err := next(t, rs)
		if err != nil {
			return chunks, err
		}
		chunks = append(chunks, string(chunk))
	}
}

func TestRequestStreamReplies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		handler    StreamHandler
		wantChunks []string
		wantErr    error
		wantRemote string
	}{
		{
			name: "chunks in order then end",
			handler: func(_ context.Context, req []byte, w *StreamWriter) error {
				for _, word := range strings.Fields(string(req)) {
					if err := w.Send([]byte(word)); err != nil {
						return err
					}
				}
				return nil
			},
			wantChunks: []string{"one", "two", "three", "four"},
			wantErr:    io.EOF,
		},
		{
			name: "io.Writer chunks",
			handler: func(_ context.Context, _ []byte, w *StreamWriter) error {
				_, err := fmt.Fprintf(w, "hello")
				return err
			},
			wantChunks: []string{"hello"},
			wantErr:    io.EOF,
		},
		{
			name: "worker error after a chunk",
			handler: func(_ context.Context, _ []byte, w *StreamWriter) error {
				if err := w.Send([]byte("partial")); err != nil {
					return err
				}
				return errors.New("voice model not loaded")
			},
			wantChunks: []string{"partial"},
			wantRemote: "voice model not loaded",
		},
		{
			name: "worker panic",
			handler: func(context.Context, []byte, *StreamWriter) error {
				panic("index out of range")
			},
			wantRemote: "bus: handler panicked: index out of range",
		},
		{
			name: "slow worker kept alive by heartbeats",
			handler: func(_ context.Context, _ []byte, w *StreamWriter) error {
				// Silent for several idle timeouts: only heartbeats flow.
				time.Sleep(3 * testIdleTimeout)
				return w.Send([]byte("late"))
			},
			wantChunks: []string{"late"},
			wantErr:    io.EOF,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := newTestBus(t)
			serve(t, b, "test.reply", tt.handler)
			rs := request(t, b, t.Context(), "test.reply", "one two three four")
			chunks, err := readAll(t, rs)
			if diff := cmp.Diff(tt.wantChunks, chunks); diff != "" {
				t.Errorf("chunks (-want +got):\n%s", diff)
			}
			if tt.wantRemote != "" {
				var re *RemoteError
				if !errors.As(err, &re) {
					t.Fatalf("error = %v, want *RemoteError", err)
				}
				if re.Message != tt.wantRemote || re.Subject != "test.reply" {
					t.Fatalf("RemoteError = %+v, want message %q", re, tt.wantRemote)
				}
			} else if err != tt.wantErr {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			// The end of a stream is sticky.
			if _, again := next(t, rs); !errors.Is(again, err) {
				t.Fatalf("Next after the end = %v, want %v again", again, err)
			}
		})
	}
}

func TestRequestStreamNoResponders(t *testing.T) {
	t.Parallel()
	b := newTestBus(t)
	rs := request(t, b, t.Context(), "nobody.here", "hi")
	if _, err := next(t, rs); !errors.Is(err, ErrNoResponders) {
		t.Fatalf("Next error = %v, want ErrNoResponders", err)
	}
}

func TestRequestStreamWorkerLost(t *testing.T) {
	t.Parallel()
	b := newTestBus(t)
	worker := dial(t, b)
	started := make(chan struct{})
	serve(t, worker, "test.lost", func(ctx context.Context, _ []byte, w *StreamWriter) error {
		if err := w.Send([]byte("first")); err != nil {
			return err
		}
		close(started)
		<-ctx.Done()
		return ctx.Err()
	})
	rs := request(t, b, t.Context(), "test.lost", "")
	chunk, err := next(t, rs)
	if err != nil || string(chunk) != "first" {
		t.Fatalf("first Next = %q, %v; want \"first\"", chunk, err)
	}
	receive(t, "handler to start", started)
	// The worker process dies: its connection drops without a word, its
	// heartbeats stop.
	worker.Conn().Close()
	if _, err := next(t, rs); !errors.Is(err, ErrWorkerLost) {
		t.Fatalf("Next error = %v, want ErrWorkerLost", err)
	}
}

func TestRequestStreamCancelReachesWorker(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// readFirst reads the first chunk before cancelling.
		readFirst bool
		cancel    func(rs *ReplyStream, cancelCtx context.CancelFunc)
		wantErr   error
	}{
		{
			name:      "Close mid-stream",
			readFirst: true,
			cancel:    func(rs *ReplyStream, _ context.CancelFunc) { _ = rs.Close() },
			wantErr:   ErrStreamClosed,
		},
		{
			name:      "context cancelled mid-stream",
			readFirst: true,
			cancel:    func(_ *ReplyStream, cancel context.CancelFunc) { cancel() },
			wantErr:   context.Canceled,
		},
		{
			name:    "Close before the worker answered",
			cancel:  func(rs *ReplyStream, _ context.CancelFunc) { _ = rs.Close() },
			wantErr: ErrStreamClosed,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := newTestBus(t)
			observed := make(chan error, 1)
			serve(t, b, "test.cancel", func(ctx context.Context, _ []byte, w *StreamWriter) error {
				if err := w.Send([]byte("first")); err != nil {
					return err
				}
				<-ctx.Done()
				observed <- ctx.Err()
				return ctx.Err()
			})
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			rs := request(t, b, ctx, "test.cancel", "")
			if tt.readFirst {
				if chunk, err := next(t, rs); err != nil || string(chunk) != "first" {
					t.Fatalf("first Next = %q, %v; want \"first\"", chunk, err)
				}
			}
			tt.cancel(rs, cancel)
			if err := receive(t, "handler to observe cancellation", observed); !errors.Is(err, context.Canceled) {
				t.Fatalf("handler ctx error = %v, want context.Canceled", err)
			}
			if _, err := next(t, rs); !errors.Is(err, tt.wantErr) {
				t.Fatalf("Next after cancel = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestRequestStreamDeadlineReachesWorker(t *testing.T) {
	t.Parallel()
	b := newTestBus(t)
	serve(t, b, "test.deadline", func(ctx context.Context, _ []byte, w *StreamWriter) error {
		dl, ok := ctx.Deadline()
		if !ok {
			return w.Send([]byte("none"))
		}
		return w.Send([]byte(dl.UTC().Format(time.RFC3339Nano)))
	})

	t.Run("with deadline", func(t *testing.T) {
		callerDeadline := time.Now().Add(time.Hour)
		ctx, cancel := context.WithDeadline(t.Context(), callerDeadline)
		defer cancel()
		rs := request(t, b, ctx, "test.deadline", "")
		chunk, err := next(t, rs)
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		got, err := time.Parse(time.RFC3339Nano, string(chunk))
		if err != nil {
			t.Fatalf("handler had no deadline: %q", chunk)
		}
		// The worker rebuilds the deadline from a relative timeout; the two
		// only differ by the time the request spent in transit.
		if d := got.Sub(callerDeadline).Abs(); d > time.Minute {
			t.Fatalf("handler deadline %s is %s away from the caller's %s", got, d, callerDeadline)
		}
	})
	t.Run("without deadline", func(t *testing.T) {
		rs := request(t, b, t.Context(), "test.deadline", "")
		chunk, err := next(t, rs)
		if err != nil || string(chunk) != "none" {
			t.Fatalf("Next = %q, %v; want \"none\"", chunk, err)
		}
	})
}

func TestServeQueueGroupSharesLoad(t *testing.T) {
	t.Parallel()
	b := newTestBus(t)
	for _, name := range []string{"w1", "w2"} {
		worker := dial(t, b)
		serve(t, worker, "test.shared", func(_ context.Context, _ []byte, w *StreamWriter) error {
			return w.Send([]byte(name))
		})
	}
	counts := map[string]int{}
	const requests = 40
	for range requests {
		rs := request(t, b, t.Context(), "test.shared", "")
		chunks, err := readAll(t, rs)
		if err != io.EOF || len(chunks) != 1 {
			t.Fatalf("reply = %q, %v; want one chunk then EOF", chunks, err)
		}
		counts[chunks[0]]++
	}
	if counts["w1"] == 0 || counts["w2"] == 0 || counts["w1"]+counts["w2"] != requests {
		t.Fatalf("requests per worker = %v, want both workers used, %d in all", counts, requests)
	}
}

func TestServeStop(t *testing.T) {
	t.Parallel()
	b := newTestBus(t)
	release := make(chan struct{})
	started := make(chan struct{})
	stop, err := b.Serve(t.Context(), "test.stop", "workers", func(ctx context.Context, _ []byte, w *StreamWriter) error {
		close(started)
		<-release
		return w.Send([]byte("finished"))
	})
	if err != nil {
		t.Fatalf("Serve: %v", err)
	}
	rs := request(t, b, t.Context(), "test.stop", "")
	receive(t, "handler to start", started)

	stopped := make(chan struct{})
	go func() {
		stop()
		stop() // idempotent
		close(stopped)
	}()
	select {
	case <-stopped:
		t.Fatalf("stop returned while a handler was running")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	receive(t, "stop to return", stopped)

	// The running request was allowed to finish.
	chunks, err := readAll(t, rs)
	if err != io.EOF || !cmp.Equal(chunks, []string{"finished"}) {
		t.Fatalf("reply = %q, %v; want [finished] then EOF", chunks, err)
	}
	// New requests find nobody.
	rs2 := request(t, b, t.Context(), "test.stop", "")
	if _, err := next(t, rs2); !errors.Is(err, ErrNoResponders) {
		t.Fatalf("Next after stop = %v, want ErrNoResponders", err)
	}
}

func TestStreamWriterAfterEnd(t *testing.T) {
	t.Parallel()
	b := newTestBus(t)
	leaked := make(chan *StreamWriter, 1)
	serve(t, b, "test.after", func(_ context.Context, _ []byte, w *StreamWriter) error {
		leaked <- w
		return nil
	})
	rs := request(t, b, t.Context(), "test.after", "")
	if _, err := next(t, rs); err != io.EOF {
		t.Fatalf("Next = %v, want io.EOF", err)
	}
	w := receive(t, "the writer", leaked)
	if err := w.Send([]byte("too late")); !errors.Is(err, ErrStreamEnded) {
		t.Fatalf("Send after end = %v, want ErrStreamEnded", err)
	}
}

// TestReplySequenceErrors plays a misbehaving worker with raw NATS messages.
func TestReplySequenceErrors(t *testing.T) {
	t.Parallel()
	type reply struct {
		kind, seq string
	}
	tests := []struct {
		name    string
		replies []reply
		// wantChunks is how many chunks arrive before the error.
		wantChunks int
		wantErr    error
	}{
		{"duplicate", []reply{{KindChunk, "1"}, {KindChunk, "1"}}, 1, ErrSequence},
		{"gap", []reply{{KindChunk, "1"}, {KindChunk, "3"}}, 1, ErrSequence},
		{"out of order", []reply{{KindChunk, "2"}, {KindChunk, "1"}}, 0, ErrSequence},
		{"missing sequence", []reply{{KindChunk, ""}}, 0, ErrProtocol},
		{"unknown kind", []reply{{KindHeartbeat, "1"}, {"banana", "2"}}, 0, ErrProtocol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := newTestBus(t)
			subject := "test.raw"
			sub, err := b.Conn().Subscribe(subject, func(m *nats.Msg) {
				for _, r := range tt.replies {
					out := nats.NewMsg(m.Reply)
					out.Header.Set(HeaderKind, r.kind)
					if r.seq != "" {
						out.Header.Set(HeaderSeq, r.seq)
					}
					out.Data = []byte("chunk " + r.seq)
					_ = b.Conn().PublishMsg(out)
				}
			})
			if err != nil {
				t.Fatalf("Subscribe: %v", err)
			}
			t.Cleanup(func() { _ = sub.Unsubscribe() })
			rs := request(t, b, t.Context(), subject, "")
			chunks, err := readAll(t, rs)
			if len(chunks) != tt.wantChunks {
				t.Errorf("chunks = %q, want %d", chunks, tt.wantChunks)
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestStreamInvalidInput(t *testing.T) {
	t.Parallel()
	b := newTestBus(t)
	noop := func(context.Context, []byte, *StreamWriter) error { return nil }
	serves := []struct {
		name, subject, group string
		handler              StreamHandler
		want                 error
	}{
		{"empty subject", "", "g", noop, ErrInvalidName},
		{"empty token", "a..b", "g", noop, ErrInvalidName},
		{"space in subject", "a b", "g", noop, ErrInvalidName},
		{"'>' not last", "a.>.b", "g", noop, ErrInvalidName},
		{"empty group", "a", "", noop, ErrInvalidName},
		{"space in group", "a", "g h", noop, ErrInvalidName},
		{"nil handler", "a", "g", nil, ErrInvalidArgument},
	}
	for _, tt := range serves {
		t.Run("Serve "+tt.name, func(t *testing.T) {
			stop, err := b.Serve(t.Context(), tt.subject, tt.group, tt.handler)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Serve error = %v, want %v", err, tt.want)
			}
			if stop != nil {
				t.Fatalf("Serve returned a stop func with an error")
			}
		})
	}
	for _, subject := range []string{"", "a.*", "a.>", "a..b", "a\nb"} {
		t.Run("RequestStream "+strconv.Quote(subject), func(t *testing.T) {
			if _, err := b.RequestStream(t.Context(), subject, nil); !errors.Is(err, ErrInvalidName) {
				t.Fatalf("RequestStream error = %v, want ErrInvalidName", err)
			}
		})
	}
	t.Run("RequestStream with a done context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := b.RequestStream(ctx, "a", nil); !errors.Is(err, context.Canceled) {
			t.Fatalf("RequestStream error = %v, want context.Canceled", err)
		}
	})
	t.Run("worker rejects a bad timeout header", func(t *testing.T) {
		serve(t, b, "test.badheader", noop)
		inbox := b.Conn().NewInbox()
		sub, err := b.Conn().SubscribeSync(inbox)
		if err != nil {
			t.Fatalf("SubscribeSync: %v", err)
		}
		m := nats.NewMsg("test.badheader")
		m.Reply = inbox
		m.Header.Set(HeaderTimeout, "soon")
		if err := b.Conn().PublishMsg(m); err != nil {
			t.Fatalf("PublishMsg: %v", err)
		}
		got, err := sub.NextMsg(waitLimit)
		if err != nil {
			t.Fatalf("NextMsg: %v", err)
		}
		if got.Header.Get(HeaderKind) != KindError || !strings.Contains(string(got.Data), HeaderTimeout) {
			t.Fatalf("reply = %s %q, want an error naming %s", got.Header.Get(HeaderKind), got.Data, HeaderTimeout)
		}
	})
}

// TestNextContextDoesNotEndStream checks that Next's own context only bounds
// one wait.
func TestNextContextDoesNotEndStream(t *testing.T) {
	t.Parallel()
	b := newTestBus(t)
	release := make(chan struct{})
	var once sync.Once
	serve(t, b, "test.nextctx", func(ctx context.Context, _ []byte, w *StreamWriter) error {
		select {
		case <-release:
		case <-ctx.Done():
			return ctx.Err()
		}
		return w.Send([]byte("after wait"))
	})
	rs := request(t, b, t.Context(), "test.nextctx", "")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := rs.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next with a done context = %v, want context.Canceled", err)
	}
	once.Do(func() { close(release) })
	chunks, err := readAll(t, rs)
	if err != io.EOF || !cmp.Equal(chunks, []string{"after wait"}) {
		t.Fatalf("reply = %q, %v; want [after wait] then EOF", chunks, err)
	}
}
