package bus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// ReplyStream is the caller's side of one streamed request. Next must not be
// called from several goroutines at once; Close may be called at any time.
type ReplyStream struct {
	b          *Bus
	subject    string
	sub        *nats.Subscription
	cancelSubj string
	idle       time.Duration

	// ctx ends with the stream: on Close, on a terminal reply, or when the
	// RequestStream context ends. Its cause is the terminal error.
	ctx    context.Context
	cancel context.CancelCauseFunc

	mu       sync.Mutex
	nextSeq  uint64
	lastRecv time.Time
	gotAny   bool
	ended    bool
	err      error

	once sync.Once
}

// RequestStream sends req to a worker serving subject and returns the
// stream of its reply. The deadline of ctx, if any, travels to the worker;
// cancelling ctx cancels the request at the worker, as Close does.
func (b *Bus) RequestStream(ctx context.Context, subject string, req []byte) (*ReplyStream, error) {
	if b.closed.Load() {
		return nil, ErrClosed
	}
	if err := ValidateSubject(subject, false); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("bus: request %s: %w", subject, err)
	}
	inbox := b.nc.NewInbox()
	sub, err := b.nc.SubscribeSync(inbox)
	if err != nil {
		return nil, fmt.Errorf("bus: request %s: subscribe to reply inbox: %w", subject, err)
	}
	rs := &ReplyStream{
		b:          b,
		subject:    subject,
		sub:        sub,
		cancelSubj: b.nc.NewInbox(),
		idle:       b.cfg.StreamIdleTimeout,
		nextSeq:    1,
	}
	m := nats.NewMsg(subject)
	m.Reply = inbox
	m.Data = req
	m.Header.Set(HeaderCancelSubject, rs.cancelSubj)
	if dl, ok := ctx.Deadline(); ok {
		m.Header.Set(HeaderTimeout, time.Until(dl).String())
	}
	if err := b.nc.PublishMsg(m); err != nil {
		_ = sub.Unsubscribe()
		return nil, fmt.Errorf("bus: request %s: publish: %w", subject, err)
	}
	rs.lastRecv = time.Now()
	rs.ctx, rs.cancel = context.WithCancelCause(ctx)
	context.AfterFunc(rs.ctx, func() {
		rs.terminate(context.Cause(rs.ctx), false)
	})
	return rs, nil
}

// Next returns the next chunk of the reply. At the end of the reply it
// returns io.EOF; when the worker failed, a *RemoteError; when nobody serves
// the subject, ErrNoResponders; when the worker sent nothing for the idle
// timeout, ErrWorkerLost; on a gap or repetition in the sequence,
// ErrSequence. These errors, and the RequestStream context's error, end the
// stream and are returned again by later calls. When only ctx (Next's own)
// ends, Next returns its error and the stream goes on.
func (rs *ReplyStream) Next(ctx context.Context) ([]byte, error) {
	for {
		rs.mu.Lock()
		if rs.err != nil {
			err := rs.err
			rs.mu.Unlock()
			return nil, err
		}
		idleDeadline := rs.lastRecv.Add(rs.idle)
		rs.mu.Unlock()

		wctx, cancel := context.WithDeadline(ctx, idleDeadline)
		stop := context.AfterFunc(rs.ctx, cancel)
		m, err := rs.sub.NextMsgWithContext(wctx)
		stop()
		cancel()
		if err != nil {
			switch {
			case rs.ctx.Err() != nil:
				return nil, rs.terminate(context.Cause(rs.ctx), false)
			case ctx.Err() != nil:
				return nil, ctx.Err()
			case errors.Is(err, nats.ErrNoResponders):
				return nil, rs.terminate(fmt.Errorf("bus: request %s: %w", rs.subject, ErrNoResponders), true)
			case errors.Is(err, context.DeadlineExceeded):
				return nil, rs.terminate(fmt.Errorf("bus: request %s: nothing for %s: %w", rs.subject, rs.idle, ErrWorkerLost), false)
			default:
				return nil, rs.terminate(fmt.Errorf("bus: request %s: receive: %w", rs.subject, err), false)
			}
		}
		chunk, more, err := rs.handle(m)
		if err != nil {
			return nil, err
		}
		if more {
			continue
		}
		return chunk, nil
	}
}

// handle interprets one reply message: a chunk, a heartbeat (more is true)
// or a terminal marker (err is set).
func (rs *ReplyStream) handle(m *nats.Msg) (chunk []byte, more bool, err error) {
	if m.Header.Get(natsStatusHeader) == natsNoResponders && len(m.Data) == 0 {
		return nil, false, rs.terminate(fmt.Errorf("bus: request %s: %w", rs.subject, ErrNoResponders), true)
	}
	seq, perr := strconv.ParseUint(m.Header.Get(HeaderSeq), 10, 64)
	if perr != nil {
		return nil, false, rs.terminate(fmt.Errorf("bus: request %s: %w: bad %s header %q", rs.subject, ErrProtocol, HeaderSeq, m.Header.Get(HeaderSeq)), false)
	}
	rs.mu.Lock()
	want := rs.nextSeq
	if seq == want {
		rs.nextSeq++
		rs.lastRecv = time.Now()
		rs.gotAny = true
	}
	rs.mu.Unlock()
	if seq != want {
		return nil, false, rs.terminate(fmt.Errorf("bus: request %s: %w: got %d, want %d", rs.subject, ErrSequence, seq, want), false)
	}
	switch kind := m.Header.Get(HeaderKind); kind {
	case KindHeartbeat:
		return nil, true, nil
	case KindChunk:
		return m.Data, false, nil
	case KindEnd:
		return nil, false, rs.terminate(io.EOF, true)
	case KindError:
		return nil, false, rs.terminate(&RemoteError{Subject: rs.subject, Message: string(m.Data)}, true)
	default:
		return nil, false, rs.terminate(fmt.Errorf("bus: request %s: %w: unknown %s %q", rs.subject, ErrProtocol, HeaderKind, kind), false)
	}
}

// Close ends the stream: if the worker has not finished, it is sent a cancel
// message. Close is idempotent and safe to call concurrently with Next.
func (rs *ReplyStream) Close() error {
	rs.terminate(ErrStreamClosed, false)
	return nil
}

// terminate records the stream's terminal error (the first one wins) and
// returns it. ended says the worker finished (or never existed), so there is
// nothing to cancel.
func (rs *ReplyStream) terminate(err error, ended bool) error {
	rs.mu.Lock()
	if rs.err == nil {
		rs.err = err
	}
	if ended {
		rs.ended = true
	}
	err = rs.err
	ended, gotAny := rs.ended, rs.gotAny
	rs.mu.Unlock()

	rs.once.Do(func() {
		rs.cancel(err)
		if ended {
			_ = rs.sub.Unsubscribe()
			return
		}
		rs.sendCancel()
		if gotAny {
			_ = rs.sub.Unsubscribe()
			return
		}
		// The worker may not have subscribed to the cancel subject yet; its
		// first message (a heartbeat) says it has. Wait for it in the
		// background and cancel again.
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), rs.idle)
			defer cancel()
			if _, err := rs.sub.NextMsgWithContext(ctx); err == nil {
				rs.sendCancel()
			}
			_ = rs.sub.Unsubscribe()
		}()
	})
	return err
}

func (rs *ReplyStream) sendCancel() {
	if err := rs.b.nc.Publish(rs.cancelSubj, nil); err != nil {
		rs.b.log.Debug("send cancel", "subject", rs.subject, "error", err)
	}
}
