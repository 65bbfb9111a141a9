package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/timbre-ai/timbre/bus"
	"github.com/timbre-ai/timbre/voice/tts"
)

// Reasons a request is sent again, as timbre_tts_client_retries_total counts
// them (besides the worker's codes: busy, stopping, engine, …).
const (
	reasonNoResponders = "no_responders"
	reasonWorkerLost   = "worker_lost"
	reasonProtocol     = "protocol"
)

// Stream implements tts.Engine: it sends req to a worker and calls onChunk
// with each sentence's audio, in order, as it arrives. The deadline of ctx
// (DefaultTimeout when it has none) travels to the worker; ending ctx
// cancels the synthesis there. A request that never started is sent again
// (see the package documentation); once audio has been delivered, a worker
// that fails or falls silent ends Stream with its error — one wrapping
// bus.ErrWorkerLost for silence — and nothing is retried. onChunk's error
// stops the synthesis and is returned as it is.
func (c *Client) Stream(ctx context.Context, req tts.Request, onChunk func(tts.Chunk) error) error {
	return c.StreamConverted(ctx, req, nil, onChunk)
}

// StreamConverted is Stream with the voice converted on the worker toward
// conv.To (nil: not converted), by one of the workers that advertise
// FeatureConvert (see CanConvert). The converter's tail arrives as a last
// chunk without text.
func (c *Client) StreamConverted(ctx context.Context, req tts.Request, conv *Conversion, onChunk func(tts.Chunk) error) error {
	if c.isClosed() {
		return ErrClosed
	}
	body, err := encodeRequest(req, conv)
	if err != nil {
		return err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.cfg.DefaultTimeout)
		defer cancel()
	}
	s := &stream{c: c, voice: req.Voice, convert: conv != nil, body: body, onChunk: onChunk, start: time.Now(), excluded: map[string]bool{}}
	c.metrics.queueDepth.Inc()
	defer s.answer()
	err = s.run(ctx)
	c.metrics.requests.WithLabelValues(s.result(err)).Inc()
	return err
}

// stream is one Stream call.
type stream struct {
	c     *Client
	voice string
	// convert says the request needs a worker with FeatureConvert.
	convert bool
	body    []byte
	onChunk func(tts.Chunk) error
	start   time.Time

	// excluded holds the workers this request must not go back to.
	excluded map[string]bool
	// sentences counts the chunks delivered; after the first one nothing
	// is retried.
	sentences int
	answered  bool
	// aborted says onChunk's error ended the stream.
	aborted bool
}

// attempt is how one send of the request ended.
type attempt struct {
	err error
	// retry says the request never started and may go to another worker;
	// reason says why, for the retries metric.
	retry  bool
	reason string
}

// answer takes the request off the queue depth, once.
func (s *stream) answer() {
	if !s.answered {
		s.answered = true
		s.c.metrics.queueDepth.Dec()
	}
}

func (s *stream) run(ctx context.Context) error {
	backoff := s.c.cfg.Backoff
	var last attempt
	var queued time.Time // when the first busy reply came
	for n := 1; ; n++ {
		id, subject, err := s.c.pick(s.voice, s.convert, s.excluded)
		if errors.Is(err, errNoCandidate) {
			return s.giveUp(n-1, last)
		}
		if err != nil {
			return err
		}
		a := s.send(ctx, id, subject)
		s.c.finished(id)
		if a.err == nil || !a.retry {
			return a.err
		}
		last = a
		if a.reason == codeBusy {
			// A full pool is a queue, not a failure: wait for a slot.
			if queued.IsZero() {
				queued = time.Now()
			}
			if time.Since(queued) >= s.c.cfg.QueueWait {
				return fmt.Errorf("worker: waited %s for a free slot: %w", s.c.cfg.QueueWait, a.err)
			}
			n--
		}
		if n == s.c.cfg.MaxAttempts {
			return s.giveUp(n, last)
		}
		s.c.metrics.retries.WithLabelValues(a.reason).Inc()
		s.c.log.Debug("synthesis did not start; sending again", "worker_id", id, "attempt", n, "reason", a.reason, "error", a.err)
		// ±20 % spreads the retries of requests that failed together.
		wait := time.Duration(float64(backoff) * (0.8 + 0.4*rand.Float64()))
		if err := s.c.wait(ctx, wait); err != nil {
			return fmt.Errorf("worker: synthesis, waiting to send again after: %w: %w", a.err, err)
		}
		backoff = min(2*backoff, s.c.cfg.MaxBackoff)
	}
}

// giveUp is the error of a request that never started after n sends.
func (s *stream) giveUp(n int, last attempt) error {
	switch {
	case last.err == nil:
		return fmt.Errorf("worker: voice %q: %w", s.voice, ErrNoWorkers)
	case errors.Is(last.err, ErrBusy):
		return fmt.Errorf("worker: gave up after %d attempts: %w", n, last.err)
	case errors.Is(last.err, tts.ErrEngine):
		return fmt.Errorf("worker: gave up after %d attempts, no other worker to try: %w", n, last.err)
	default:
		return fmt.Errorf("%w: gave up after %d attempts: %w", ErrNoWorkers, n, last.err)
	}
}

// send sends the request once, to worker id (or to any worker on subject
// when id is empty), and delivers its chunks.
func (s *stream) send(ctx context.Context, id, subject string) attempt {
	who := "voice worker " + id
	if id == "" {
		who = "voice worker on " + subject
	}
	rs, err := s.c.b.RequestStream(ctx, subject, s.body)
	if err != nil {
		if ctx.Err() != nil {
			return attempt{err: fmt.Errorf("worker: synthesis: %w", ctx.Err())}
		}
		return attempt{err: fmt.Errorf("worker: send request to %s: %w", who, err)}
	}
	defer func() { _ = rs.Close() }()
	var asm assembler
	for {
		data, err := rs.Next(ctx)
		if err == nil {
			chunk, done, err := asm.add(data)
			if err != nil {
				return s.broken(id, reasonProtocol, fmt.Errorf("%s: %w", who, err))
			}
			if !done {
				continue
			}
			if s.sentences == 0 {
				s.c.metrics.firstAudio.Observe(time.Since(s.start).Seconds())
				s.answer()
			}
			s.sentences++
			if err := s.onChunk(chunk); err != nil {
				s.aborted = true
				return attempt{err: err}
			}
			continue
		}
		var remote *bus.RemoteError
		switch {
		case errors.Is(err, io.EOF):
			if asm.open {
				return s.broken(id, reasonProtocol, fmt.Errorf("%s: %w: reply ended inside sentence %d", who, ErrProtocol, asm.cur.Seq))
			}
			return attempt{}
		case ctx.Err() != nil:
			return attempt{err: fmt.Errorf("worker: synthesis: %w", ctx.Err())}
		case errors.Is(err, bus.ErrNoResponders):
			// Nobody got the request: safe to send again even after audio,
			// but that cannot happen.
			s.c.forget(id)
			s.exclude(id)
			return attempt{err: fmt.Errorf("%s: %w", who, err), retry: true, reason: reasonNoResponders}
		case errors.Is(err, bus.ErrWorkerLost):
			s.c.forget(id)
			if s.sentences > 0 {
				return attempt{err: fmt.Errorf("%s stopped responding mid-stream (%d sentences delivered): %w", who, s.sentences, err)}
			}
			s.exclude(id)
			return attempt{err: fmt.Errorf("%s stopped responding before any audio: %w", who, err), retry: true, reason: reasonWorkerLost}
		case errors.As(err, &remote):
			return s.failed(id, who, parseWireError(remote.Message))
		case errors.Is(err, bus.ErrSequence), errors.Is(err, bus.ErrProtocol):
			return s.broken(id, reasonProtocol, fmt.Errorf("%s: %w", who, err))
		default:
			return attempt{err: fmt.Errorf("%s: %w", who, err)}
		}
	}
}

// failed handles a worker's error reply.
func (s *stream) failed(id, who string, we wireError) attempt {
	err := fmt.Errorf("%s: %w", who, &remoteError{code: we.Code, message: we.Message, sentinel: sentinelOf(we.Code)})
	switch {
	case callerFault(we.Code), s.sentences > 0, we.Code == codeDeadline:
		return attempt{err: err}
	case we.Code == codeBusy:
		s.c.markBusy(id)
		return attempt{err: err, retry: true, reason: we.Code}
	case we.Code == codeStopping:
		s.c.forget(id)
		s.exclude(id)
		return attempt{err: err, retry: true, reason: we.Code}
	default:
		// The engine failed, or the worker cancelled (it is shutting down),
		// before any audio: another worker may do better.
		s.exclude(id)
		return attempt{err: err, retry: true, reason: we.Code}
	}
}

// broken handles a reply that does not follow the protocol: another worker
// (another build) may do better, if nothing was delivered yet.
func (s *stream) broken(id, reason string, err error) attempt {
	if s.sentences > 0 {
		return attempt{err: err}
	}
	s.exclude(id)
	return attempt{err: err, retry: true, reason: reason}
}

func (s *stream) exclude(id string) {
	if id != "" {
		s.excluded[id] = true
	}
}

// result labels err for timbre_tts_client_requests_total.
func (s *stream) result(err error) string {
	var remote *remoteError
	switch {
	case err == nil:
		return resultOK
	case s.aborted:
		return "aborted"
	case errors.Is(err, context.Canceled):
		return codeCanceled
	case errors.Is(err, context.DeadlineExceeded):
		return codeDeadline
	case errors.Is(err, ErrBusy):
		return codeBusy
	case errors.Is(err, bus.ErrWorkerLost) && s.sentences > 0:
		return reasonWorkerLost
	case errors.Is(err, ErrNoWorkers):
		return "no_workers"
	case errors.Is(err, tts.ErrUnknownVoice):
		return codeUnknownVoice
	case errors.As(err, &remote):
		return remote.code
	default:
		return "error"
	}
}
