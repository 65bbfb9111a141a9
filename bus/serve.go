package bus

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// flushTimeout bounds the wait for the server to confirm a subscription.
const flushTimeout = 5 * time.Second

// StreamHandler answers one request by sending chunks on w. Returning nil
// sends the end marker; returning an error sends an error marker carrying
// err.Error() to the caller. ctx is cancelled when the caller cancels (or
// closes its stream), when the caller's deadline passes, or when the Serve
// context ends.
type StreamHandler func(ctx context.Context, req []byte, w *StreamWriter) error

// Serve answers requests on subject with handler, one goroutine per request.
// Workers that serve the same subject with the same queueGroup share the
// requests: each request reaches one of them. subject may contain wildcards.
//
// Cancelling ctx cancels the running handlers and stops taking requests. The
// returned stop stops taking requests and waits for the running handlers to
// return; it is safe to call more than once.
func (b *Bus) Serve(ctx context.Context, subject, queueGroup string, handler StreamHandler) (stop func(), err error) {
	if b.closed.Load() {
		return nil, ErrClosed
	}
	if err := ValidateSubject(subject, true); err != nil {
		return nil, err
	}
	if err := validateQueueGroup(queueGroup); err != nil {
		return nil, err
	}
	if handler == nil {
		return nil, fmt.Errorf("%w: nil stream handler", ErrInvalidArgument)
	}
	sctx, cancel := context.WithCancel(ctx)
	log := b.log.With("subject", subject, "queue_group", queueGroup)

	var (
		mu      sync.Mutex
		stopped bool
		wg      sync.WaitGroup
	)
	sub, err := b.nc.QueueSubscribe(subject, queueGroup, func(m *nats.Msg) {
		if m.Reply == "" {
			log.Warn("request without reply subject dropped")
			return
		}
		mu.Lock()
		if stopped {
			mu.Unlock()
			// Arrived between stop and the unsubscribe taking effect.
			w := newStreamWriter(b.nc, m.Reply)
			_ = w.finish(KindError, []byte("worker stopping"))
			return
		}
		wg.Add(1)
		mu.Unlock()
		go func() {
			defer wg.Done()
			b.serveOne(sctx, m, handler, log)
		}()
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("bus: serve %s: subscribe: %w", subject, err)
	}
	// Once Serve returns, requests from any connection must find this worker.
	fctx, fcancel := context.WithTimeout(ctx, flushTimeout)
	err = b.nc.FlushWithContext(fctx)
	fcancel()
	if err != nil {
		_ = sub.Unsubscribe()
		cancel()
		return nil, fmt.Errorf("bus: serve %s: flush subscription: %w", subject, err)
	}
	unsubscribe := func() {
		if err := sub.Unsubscribe(); err != nil && !b.nc.IsClosed() {
			log.Debug("unsubscribe worker", "error", err)
		}
	}
	stopOnCancel := context.AfterFunc(sctx, unsubscribe)

	var once sync.Once
	stop = func() {
		once.Do(func() {
			stopOnCancel()
			unsubscribe()
			mu.Lock()
			stopped = true
			mu.Unlock()
			wg.Wait()
			cancel()
		})
	}
	return stop, nil
}

// serveOne runs the handler for one request and sends the final marker.
func (b *Bus) serveOne(ctx context.Context, m *nats.Msg, handler StreamHandler, log *slog.Logger) {
	w := newStreamWriter(b.nc, m.Reply)
	hctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if t := m.Header.Get(HeaderTimeout); t != "" {
		d, err := time.ParseDuration(t)
		if err != nil {
			_ = w.finish(KindError, []byte(fmt.Sprintf("invalid %s header %q", HeaderTimeout, t)))
			return
		}
		var cancelTimeout context.CancelFunc
		hctx, cancelTimeout = context.WithTimeout(hctx, d)
		defer cancelTimeout()
	}
	if cs := m.Header.Get(HeaderCancelSubject); cs != "" {
		if err := ValidateSubject(cs, false); err != nil {
			_ = w.finish(KindError, []byte(fmt.Sprintf("invalid %s header: %v", HeaderCancelSubject, err)))
			return
		}
		csub, err := b.nc.Subscribe(cs, func(*nats.Msg) { cancel() })
		if err != nil {
			log.Warn("subscribe to cancel subject", "error", err)
			_ = w.finish(KindError, []byte("worker cannot listen for cancellation"))
			return
		}
		defer func() { _ = csub.Unsubscribe() }()
	}
	// Sent after the cancel subscription, on the same connection, so once the
	// caller sees it a cancel is sure to be heard.
	if err := w.publish(KindHeartbeat, nil); err != nil {
		log.Debug("send first heartbeat", "error", err)
	}

	done := make(chan struct{})
	var hb sync.WaitGroup
	hb.Add(1)
	go func() {
		defer hb.Done()
		w.heartbeats(done, b.cfg.StreamHeartbeat, log)
	}()

	err := callStreamHandler(hctx, m.Data, w, handler, log)
	close(done)
	hb.Wait()

	if err != nil {
		err = w.finish(KindError, []byte(err.Error()))
	} else {
		err = w.finish(KindEnd, nil)
	}
	if err != nil {
		log.Debug("send final reply marker", "error", err)
	}
}

// callStreamHandler runs handler, turning a panic into an error.
func callStreamHandler(ctx context.Context, req []byte, w *StreamWriter, handler StreamHandler, log *slog.Logger) (err error) {
	defer func() {
		if r := recover(); r != nil {
			log.Error("stream handler panicked", "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("%w: %v", ErrHandlerPanic, r)
		}
	}()
	return handler(ctx, req, w)
}

// StreamWriter sends one request's reply chunks to the caller. It is safe
// for concurrent use; chunks keep the order of the Send calls.
type StreamWriter struct {
	nc    *nats.Conn
	reply string

	mu       sync.Mutex
	seq      uint64
	ended    bool
	lastSent time.Time
}

func newStreamWriter(nc *nats.Conn, reply string) *StreamWriter {
	return &StreamWriter{nc: nc, reply: reply}
}

// Send sends chunk to the caller as one message. It fails with
// ErrStreamEnded once the handler has returned, and with the NATS error when
// the chunk is larger than the server's maximum payload.
func (w *StreamWriter) Send(chunk []byte) error {
	if err := w.publish(KindChunk, chunk); err != nil {
		return fmt.Errorf("bus: send chunk: %w", err)
	}
	return nil
}

// Write sends p as one chunk; it lets a StreamWriter be used as an io.Writer.
func (w *StreamWriter) Write(p []byte) (int, error) {
	if err := w.Send(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// publish sends one reply message with the next sequence number.
func (w *StreamWriter) publish(kind string, data []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.publishLocked(kind, data)
}

func (w *StreamWriter) publishLocked(kind string, data []byte) error {
	if w.ended {
		return ErrStreamEnded
	}
	m := nats.NewMsg(w.reply)
	m.Header.Set(HeaderKind, kind)
	m.Header.Set(HeaderSeq, strconv.FormatUint(w.seq+1, 10))
	m.Data = data
	if err := w.nc.PublishMsg(m); err != nil {
		// Nothing went out: keep the sequence without a gap.
		return err
	}
	w.seq++
	w.lastSent = time.Now()
	return nil
}

// finish sends the end or error marker; nothing can be sent after it.
func (w *StreamWriter) finish(kind string, data []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	err := w.publishLocked(kind, data)
	w.ended = true
	return err
}

// heartbeats sends a heartbeat every interval in which nothing else was
// sent, until done is closed.
func (w *StreamWriter) heartbeats(done <-chan struct{}, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval / 2)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			w.mu.Lock()
			var err error
			if time.Since(w.lastSent) >= interval/2 {
				err = w.publishLocked(KindHeartbeat, nil)
			}
			w.mu.Unlock()
			if err != nil {
				log.Debug("send heartbeat", "error", err)
			}
		}
	}
}
