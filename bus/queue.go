package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Defaults applied by Bus.Queue to zero QueueConfig fields.
const (
	// DefaultMaxAttempts is the default QueueConfig.MaxAttempts.
	DefaultMaxAttempts = 5
	// DefaultAckWait is the default QueueConfig.AckWait.
	DefaultAckWait = 30 * time.Second
	// DefaultMaxConcurrent is the default QueueConfig.MaxConcurrent.
	DefaultMaxConcurrent = 1
	// DefaultDedupeWindow is the default QueueConfig.DedupeWindow.
	DefaultDedupeWindow = 2 * time.Minute

	// MinAckWait is the shortest AckWait accepted; in-progress signals are
	// sent every AckWait/3 and must not flood the server.
	MinAckWait = 100 * time.Millisecond

	maxQueueNameLen = 64
	maxJobIDLen     = 256
	// maxHeaderValueLen bounds error texts copied into dead-letter headers.
	maxHeaderValueLen = 2048
	consumerName      = "workers"
	// maxAckPending bounds jobs delivered and not yet acknowledged, across
	// every process consuming one queue.
	maxAckPending = 1000
)

// Headers on dead-letter messages.
const (
	// HeaderJobID carries the job ID given to Publish.
	HeaderJobID = "Timbre-Job-ID"
	// HeaderError carries the last handler error (line breaks replaced,
	// truncated to 2 KiB).
	HeaderError = "Timbre-Error"
	// HeaderAttempts carries how many deliveries the job had.
	HeaderAttempts = "Timbre-Attempts"
	// HeaderQueue carries the queue name.
	HeaderQueue = "Timbre-Queue"
)

// defaultBackoff is used when QueueConfig.Backoff is nil.
func defaultBackoff() []time.Duration {
	return []time.Duration{time.Second, 5 * time.Second, 30 * time.Second}
}

// QueueConfig describes a durable job queue.
type QueueConfig struct {
	// Name is made of letters, digits, '-' and '_' (at most 64), and is
	// case-insensitive: "Ingest" and "ingest" are the same queue.
	Name string
	// MaxAttempts is how many deliveries a job gets before it goes to the
	// dead-letter stream. Default DefaultMaxAttempts.
	MaxAttempts int
	// AckWait is how long a delivered job may go without an acknowledgement
	// or an in-progress signal before JetStream redelivers it (the consumer
	// is presumed dead). At least MinAckWait. Default DefaultAckWait.
	AckWait time.Duration
	// Backoff[i] is the delay before redelivery after the (i+1)th failed
	// attempt; the last value repeats. Nil means 1s, 5s, 30s; an empty
	// non-nil slice means redeliver at once.
	Backoff []time.Duration
	// MaxConcurrent bounds how many handlers one Consume call runs at once.
	// Default DefaultMaxConcurrent.
	MaxConcurrent int
	// DedupeWindow is how long a job ID given to Publish is remembered for
	// de-duplication. Default DefaultDedupeWindow.
	DedupeWindow time.Duration
}

// withDefaults validates c and fills in zero fields.
func (c QueueConfig) withDefaults() (QueueConfig, error) {
	if err := validateQueueName(c.Name); err != nil {
		return c, err
	}
	switch {
	case c.MaxAttempts < 0:
		return c, fmt.Errorf("%w: queue %q: MaxAttempts %d is negative", ErrInvalidConfig, c.Name, c.MaxAttempts)
	case c.AckWait < 0:
		return c, fmt.Errorf("%w: queue %q: AckWait %s is negative", ErrInvalidConfig, c.Name, c.AckWait)
	case c.AckWait > 0 && c.AckWait < MinAckWait:
		return c, fmt.Errorf("%w: queue %q: AckWait %s is shorter than %s", ErrInvalidConfig, c.Name, c.AckWait, MinAckWait)
	case c.MaxConcurrent < 0:
		return c, fmt.Errorf("%w: queue %q: MaxConcurrent %d is negative", ErrInvalidConfig, c.Name, c.MaxConcurrent)
	case c.DedupeWindow < 0:
		return c, fmt.Errorf("%w: queue %q: DedupeWindow %s is negative", ErrInvalidConfig, c.Name, c.DedupeWindow)
	}
	for i, d := range c.Backoff {
		if d < 0 {
			return c, fmt.Errorf("%w: queue %q: Backoff[%d] %s is negative", ErrInvalidConfig, c.Name, i, d)
		}
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.AckWait == 0 {
		c.AckWait = DefaultAckWait
	}
	if c.MaxConcurrent == 0 {
		c.MaxConcurrent = DefaultMaxConcurrent
	}
	if c.DedupeWindow == 0 {
		c.DedupeWindow = DefaultDedupeWindow
	}
	if c.Backoff == nil {
		c.Backoff = defaultBackoff()
	} else {
		c.Backoff = append([]time.Duration(nil), c.Backoff...)
	}
	return c, nil
}

func validateQueueName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty queue name", ErrInvalidName)
	}
	if len(name) > maxQueueNameLen {
		return fmt.Errorf("%w: queue name longer than %d characters", ErrInvalidName, maxQueueNameLen)
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_'
		if !ok {
			return fmt.Errorf("%w: queue name %q: only letters, digits, '-' and '_' are allowed", ErrInvalidName, name)
		}
	}
	return nil
}

func validateJobID(id string) error {
	if id == "" {
		return fmt.Errorf("%w: empty job ID", ErrInvalidArgument)
	}
	if len(id) > maxJobIDLen {
		return fmt.Errorf("%w: job ID longer than %d bytes", ErrInvalidArgument, maxJobIDLen)
	}
	if !utf8.ValidString(id) {
		return fmt.Errorf("%w: job ID is not valid UTF-8", ErrInvalidArgument)
	}
	for _, r := range id {
		// The ID travels in a header line: control characters would break it.
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w: job ID %q contains a control character", ErrInvalidArgument, id)
		}
	}
	if strings.TrimSpace(id) != id {
		return fmt.Errorf("%w: job ID %q has leading or trailing space", ErrInvalidArgument, id)
	}
	return nil
}

// headerValue makes s safe for a header line: no line breaks, bounded length.
func headerValue(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > maxHeaderValueLen {
		cut := maxHeaderValueLen
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// Queue is a durable job queue: a JetStream work-queue stream, its durable
// consumer, and a dead-letter stream.
type Queue struct {
	bus     *Bus
	cfg     QueueConfig
	name    string
	subject string
	dlqSubj string
	jobsStr string
	dlqStr  string
	jobs    jetstream.Stream
	dlq     jetstream.Stream
	cons    jetstream.Consumer
	log     *slog.Logger
}

// Queue creates, or updates to cfg, the streams and consumer of a job queue
// and returns a handle to publish and consume its jobs. Every process that
// uses the queue should pass the same cfg.
func (b *Bus) Queue(ctx context.Context, cfg QueueConfig) (*Queue, error) {
	if b.closed.Load() {
		return nil, ErrClosed
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	name := strings.ToLower(cfg.Name)
	q := &Queue{
		bus:     b,
		cfg:     cfg,
		name:    name,
		subject: "jobs." + name,
		dlqSubj: "dlq." + name,
		jobsStr: "JOBS_" + strings.ToUpper(name),
		dlqStr:  "DLQ_" + strings.ToUpper(name),
		log:     b.log.With("queue", name),
	}
	jobsName, dlqName := q.jobsStr, q.dlqStr

	q.jobs, err = b.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        jobsName,
		Description: "Timbre job queue " + name,
		Subjects:    []string{q.subject},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Duplicates:  cfg.DedupeWindow,
	})
	if err != nil {
		return nil, fmt.Errorf("bus: queue %s: create stream %s: %w", name, jobsName, err)
	}
	q.dlq, err = b.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        dlqName,
		Description: "Timbre dead letters of job queue " + name,
		Subjects:    []string{q.dlqSubj},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		Duplicates:  cfg.DedupeWindow,
	})
	if err != nil {
		return nil, fmt.Errorf("bus: queue %s: create stream %s: %w", name, dlqName, err)
	}
	q.cons, err = b.js.CreateOrUpdateConsumer(ctx, jobsName, jetstream.ConsumerConfig{
		Durable:       consumerName,
		Description:   "Timbre workers of job queue " + name,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       cfg.AckWait,
		// Unlimited: Consume counts attempts itself so that a job whose last
		// delivery died unacknowledged still reaches the dead-letter stream
		// instead of staying in the work queue forever.
		MaxDeliver:    -1,
		MaxAckPending: maxAckPending,
		FilterSubject: q.subject,
	})
	if err != nil {
		return nil, fmt.Errorf("bus: queue %s: create consumer: %w", name, err)
	}
	return q, nil
}

// Name returns the queue's (lower-case) name.
func (q *Queue) Name() string { return q.name }

// Publish enqueues a job. id de-duplicates: publishing an id again within
// QueueConfig.DedupeWindow enqueues nothing and returns nil.
func (q *Queue) Publish(ctx context.Context, id string, payload []byte) error {
	if q.bus.closed.Load() {
		return ErrClosed
	}
	if err := validateJobID(id); err != nil {
		return err
	}
	_, err := q.bus.js.Publish(ctx, q.subject, payload,
		jetstream.WithMsgID(id), jetstream.WithExpectStream(q.jobsStr))
	if err != nil {
		return fmt.Errorf("bus: queue %s: publish job %q: %w", q.name, id, err)
	}
	return nil
}

// Pending returns how many jobs the queue holds: waiting, scheduled for a
// retry, or being handled right now.
func (q *Queue) Pending(ctx context.Context) (uint64, error) {
	if q.bus.closed.Load() {
		return 0, ErrClosed
	}
	info, err := q.jobs.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("bus: queue %s: stream info: %w", q.name, err)
	}
	return info.State.Msgs, nil
}

// DeadLetter is a job that failed for good.
type DeadLetter struct {
	// Seq is the message's sequence in the dead-letter stream.
	Seq uint64
	// ID is the job ID given to Publish.
	ID string
	// Payload is the job's payload.
	Payload []byte
	// Attempts is how many deliveries the job had.
	Attempts int
	// Error is the last handler error.
	Error string
	// Time is when the job was dead-lettered.
	Time time.Time
}

// DeadLetters returns up to limit dead letters of the queue, oldest first.
func (q *Queue) DeadLetters(ctx context.Context, limit int) ([]DeadLetter, error) {
	if q.bus.closed.Load() {
		return nil, ErrClosed
	}
	if limit <= 0 {
		return nil, fmt.Errorf("%w: dead letter limit %d must be positive", ErrInvalidArgument, limit)
	}
	var out []DeadLetter
	for seq := uint64(1); len(out) < limit; {
		m, err := q.dlq.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(q.dlqSubj))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("bus: queue %s: read dead letter at %d: %w", q.name, seq, err)
		}
		attempts, _ := strconv.Atoi(m.Header.Get(HeaderAttempts))
		out = append(out, DeadLetter{
			Seq:      m.Sequence,
			ID:       m.Header.Get(HeaderJobID),
			Payload:  m.Data,
			Attempts: attempts,
			Error:    m.Header.Get(HeaderError),
			Time:     m.Time,
		})
		seq = m.Sequence + 1
	}
	return out, nil
}

// deadLetterMsg builds the dead-letter copy of a job.
func (q *Queue) deadLetterMsg(job Job, streamSeq uint64, reason string) *nats.Msg {
	m := nats.NewMsg(q.dlqSubj)
	m.Data = job.Payload
	m.Header.Set(HeaderJobID, job.ID)
	m.Header.Set(HeaderError, headerValue(reason))
	m.Header.Set(HeaderAttempts, strconv.Itoa(job.Attempt))
	m.Header.Set(HeaderQueue, q.name)
	// A retry after a failed Term must not dead-letter the job twice.
	m.Header.Set(jetstream.MsgIDHeader, q.name+"-"+strconv.FormatUint(streamSeq, 10))
	return m
}
