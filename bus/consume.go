package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const (
	// pullWait bounds one pull request; a pull outstanding when Consume
	// stops may leave one job undelivered until AckWait redelivers it.
	pullWait = 5 * time.Second
	// pullRetryDelay is the pause after an unexpected pull error.
	pullRetryDelay = time.Second
	// settleTimeout bounds acknowledging, dead-lettering and nak-ing a job,
	// which happen even while Consume's context is being cancelled.
	settleTimeout = 5 * time.Second
)

// Job is one delivery of a queued job to a Consume handler.
type Job struct {
	// ID is the id given to Publish.
	ID string
	// Payload is the payload given to Publish.
	Payload []byte
	// Attempt is the delivery count, 1 on the first delivery.
	Attempt int
	// Published is when the job was stored.
	Published time.Time
}

// JobHandler processes a job. A nil error acknowledges it; an error retries it
// after the queue's backoff, or dead-letters it once attempts run out or when
// the error is wrapped with Permanent. The context is cancelled when Consume
// stops.
type JobHandler func(ctx context.Context, job Job) error

// Consume runs handler on the queue's jobs, at most QueueConfig.MaxConcurrent
// at once, until ctx is cancelled; then it waits for running handlers and
// returns nil. It returns an error wrapping ErrClosed if the connection is
// closed. Several Consume calls, in one process or many, share the jobs.
//
// While a handler runs, Consume tells JetStream every AckWait/3 that the job
// is in progress, so only a dead consumer's jobs are redelivered. A panicking
// handler is recovered and counts as a failed attempt.
func (q *Queue) Consume(ctx context.Context, handler JobHandler) error {
	if handler == nil {
		return fmt.Errorf("%w: nil job handler", ErrInvalidArgument)
	}
	if q.bus.closed.Load() {
		return ErrClosed
	}
	slots := make(chan struct{}, q.cfg.MaxConcurrent)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		msg, err := q.next(ctx)
		if err != nil {
			<-slots
			switch {
			case ctx.Err() != nil:
				return nil
			case q.bus.closed.Load() || q.bus.nc.IsClosed() || q.bus.nc.IsDraining() ||
				errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, nats.ErrConnectionDraining):
				return fmt.Errorf("bus: queue %s: consume: %w", q.name, ErrClosed)
			case errors.Is(err, nats.ErrTimeout):
				continue
			}
			q.log.Warn("pull jobs", "error", err)
			select {
			case <-time.After(pullRetryDelay):
			case <-ctx.Done():
				return nil
			}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			q.process(ctx, msg, handler)
		}()
	}
}

// next pulls one job, waiting at most pullWait.
func (q *Queue) next(ctx context.Context) (jetstream.Msg, error) {
	pctx, cancel := context.WithTimeout(ctx, pullWait)
	defer cancel()
	return q.cons.Next(jetstream.FetchContext(pctx))
}

// process runs the handler on one delivery and settles the job.
func (q *Queue) process(ctx context.Context, msg jetstream.Msg, handler JobHandler) {
	meta, err := msg.Metadata()
	if err != nil {
		// Not a JetStream delivery; nothing can be settled.
		q.log.Error("job without metadata", "error", err)
		return
	}
	job := Job{
		ID:        msg.Headers().Get(jetstream.MsgIDHeader),
		Payload:   msg.Data(),
		Attempt:   int(meta.NumDelivered),
		Published: meta.Timestamp,
	}
	log := q.log.With("job_id", job.ID, "attempt", job.Attempt)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()

	if job.Attempt > q.cfg.MaxAttempts {
		// The previous delivery was never settled: its consumer died.
		q.deadLetter(sctx, msg, job, meta.Sequence.Stream,
			"attempts exhausted: the last delivery was never acknowledged", log)
		return
	}

	herr := q.run(ctx, msg, job, handler, log)
	switch {
	case herr == nil:
		if err := msg.DoubleAck(sctx); err != nil {
			log.Warn("acknowledge job; it will be redelivered", "error", err)
		}
	case errors.Is(herr, ErrPermanent):
		q.deadLetter(sctx, msg, job, meta.Sequence.Stream, herr.Error(), log)
	case job.Attempt >= q.cfg.MaxAttempts:
		q.deadLetter(sctx, msg, job, meta.Sequence.Stream, herr.Error(), log)
	case ctx.Err() != nil:
		// Consume is stopping: hand the job to another consumer now.
		if err := msg.Nak(); err != nil {
			log.Warn("return job", "error", err)
		}
	default:
		delay := q.backoff(job.Attempt)
		log.Info("job failed, will retry", "error", herr, "retry_in", delay)
		if err := msg.NakWithDelay(delay); err != nil {
			log.Warn("schedule job retry", "error", err)
		}
	}
}

// run calls handler, signalling progress while it runs and turning a panic
// into an error.
func (q *Queue) run(ctx context.Context, msg jetstream.Msg, job Job, handler JobHandler, log *slog.Logger) (err error) {
	hctx, cancel := context.WithCancel(ctx)
	defer cancel()

	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(q.cfg.AckWait / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if err := msg.InProgress(); err != nil {
					log.Debug("signal job in progress", "error", err)
				}
			}
		}
	}()
	defer func() {
		close(done)
		wg.Wait()
	}()
	defer func() {
		if r := recover(); r != nil {
			log.Error("job handler panicked", "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("%w: %v", ErrHandlerPanic, r)
		}
	}()
	return handler(hctx, job)
}

// backoff is the delay before redelivery after attempt failed.
func (q *Queue) backoff(attempt int) time.Duration {
	if len(q.cfg.Backoff) == 0 {
		return 0
	}
	i := min(max(attempt-1, 0), len(q.cfg.Backoff)-1)
	return q.cfg.Backoff[i]
}

// deadLetter copies the job to the dead-letter stream and removes it from
// the queue. If the copy fails the job is retried later instead, so it is
// never lost.
func (q *Queue) deadLetter(ctx context.Context, msg jetstream.Msg, job Job, streamSeq uint64, reason string, log *slog.Logger) {
	if _, err := q.bus.js.PublishMsg(ctx, q.deadLetterMsg(job, streamSeq, reason), jetstream.WithExpectStream(q.dlqStr)); err != nil {
		log.Error("dead-letter job; it will be redelivered", "error", err, "reason", reason)
		if err := msg.NakWithDelay(q.backoff(job.Attempt)); err != nil {
			log.Warn("schedule job retry", "error", err)
		}
		return
	}
	if err := msg.TermWithReason("dead-lettered"); err != nil {
		log.Warn("remove dead-lettered job", "error", err)
	}
	log.Warn("job dead-lettered", "reason", reason)
}
