package bus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// ignorePublished drops the store timestamp from Job comparisons.
var ignorePublished = cmpopts.IgnoreFields(Job{}, "Published")

// ignoreDeadLetterMeta drops the stream sequence and timestamp.
var ignoreDeadLetterMeta = cmpopts.IgnoreFields(DeadLetter{}, "Seq", "Time")

// runConsume runs q.Consume in the background until the test calls the
// returned stop, which checks that Consume returned nil.
func runConsume(t *testing.T, q *Queue, handler JobHandler) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- q.Consume(ctx, handler) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := receive(t, "Consume to return", done); err != nil {
				t.Errorf("Consume returned %v, want nil", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// consumeN consumes until n jobs succeeded and the queue is empty, and
// returns them in ID order.
func consumeN(t *testing.T, q *Queue, n int) []Job {
	t.Helper()
	var (
		mu  sync.Mutex
		got []Job
	)
	stop := runConsume(t, q, func(_ context.Context, job Job) error {
		mu.Lock()
		got = append(got, job)
		mu.Unlock()
		return nil
	})
	eventually(t, fmt.Sprintf("%d jobs handled", n), func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) >= n && pending(t, q) == 0
	})
	stop()
	slices.SortFunc(got, func(a, b Job) int { return strings.Compare(a.ID, b.ID) })
	return got
}

func pending(t *testing.T, q *Queue) uint64 {
	t.Helper()
	n, err := q.Pending(t.Context())
	if err != nil {
		t.Fatalf("Pending: %v", err)
	}
	return n
}

func deadLetters(t *testing.T, q *Queue) []DeadLetter {
	t.Helper()
	dls, err := q.DeadLetters(t.Context(), 100)
	if err != nil {
		t.Fatalf("DeadLetters: %v", err)
	}
	return dls
}

func TestQueueHandlerOutcomes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		maxAttempts int
		// outcome is what the handler does on each attempt.
		outcome      func(attempt int) error
		wantAttempts []int
		wantSuccess  bool
		wantDead     []DeadLetter
	}{
		{
			name:         "ack on first attempt",
			maxAttempts:  3,
			outcome:      func(int) error { return nil },
			wantAttempts: []int{1},
			wantSuccess:  true,
		},
		{
			name:        "error then success on attempt 2",
			maxAttempts: 3,
			outcome: func(attempt int) error {
				if attempt == 1 {
					return errors.New("flaky")
				}
				return nil
			},
			wantAttempts: []int{1, 2},
			wantSuccess:  true,
		},
		{
			name:         "attempts exhausted go to the dead-letter stream",
			maxAttempts:  3,
			outcome:      func(attempt int) error { return fmt.Errorf("boom %d", attempt) },
			wantAttempts: []int{1, 2, 3},
			wantDead:     []DeadLetter{{ID: "job-1", Payload: []byte("payload"), Attempts: 3, Error: "boom 3"}},
		},
		{
			name:         "permanent error goes to the dead-letter stream at once",
			maxAttempts:  5,
			outcome:      func(int) error { return fmt.Errorf("decode: %w", Permanent(errors.New("bad payload"))) },
			wantAttempts: []int{1},
			wantDead:     []DeadLetter{{ID: "job-1", Payload: []byte("payload"), Attempts: 1, Error: "decode: bad payload"}},
		},
		{
			name:        "panic is an error and the job is retried",
			maxAttempts: 3,
			outcome: func(attempt int) error {
				if attempt == 1 {
					panic("nil map")
				}
				return nil
			},
			wantAttempts: []int{1, 2},
			wantSuccess:  true,
		},
		{
			name:         "panic on the last attempt goes to the dead-letter stream",
			maxAttempts:  1,
			outcome:      func(int) error { panic("nil map") },
			wantAttempts: []int{1},
			wantDead:     []DeadLetter{{ID: "job-1", Payload: []byte("payload"), Attempts: 1, Error: "bus: handler panicked: nil map"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := newTestBus(t)
			q, err := b.Queue(t.Context(), QueueConfig{
				Name:        "outcomes",
				MaxAttempts: tt.maxAttempts,
				AckWait:     5 * time.Second,
				Backoff:     []time.Duration{10 * time.Millisecond},
			})
			if err != nil {
				t.Fatalf("Queue: %v", err)
			}
			if err := q.Publish(t.Context(), "job-1", []byte("payload")); err != nil {
				t.Fatalf("Publish: %v", err)
			}
			var (
				mu        sync.Mutex
				attempts  []int
				succeeded bool
			)
			stop := runConsume(t, q, func(_ context.Context, job Job) error {
				mu.Lock()
				attempts = append(attempts, job.Attempt)
				mu.Unlock()
				if job.ID != "job-1" || string(job.Payload) != "payload" {
					return Permanent(fmt.Errorf("unexpected job %q %q", job.ID, job.Payload))
				}
				err := tt.outcome(job.Attempt)
				if err == nil {
					mu.Lock()
					succeeded = true
					mu.Unlock()
				}
				return err
			})
			eventually(t, "job settled", func() bool {
				mu.Lock()
				done := succeeded
				mu.Unlock()
				return pending(t, q) == 0 && (done || len(deadLetters(t, q)) > 0)
			})
			stop()

			mu.Lock()
			defer mu.Unlock()
			if diff := cmp.Diff(tt.wantAttempts, attempts); diff != "" {
				t.Errorf("attempts (-want +got):\n%s", diff)
			}
			if succeeded != tt.wantSuccess {
				t.Errorf("succeeded = %v, want %v", succeeded, tt.wantSuccess)
			}
			if diff := cmp.Diff(tt.wantDead, deadLetters(t, q), ignoreDeadLetterMeta, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("dead letters (-want +got):\n%s", diff)
			}
		})
	}
}

func TestQueuePublishDeduplicates(t *testing.T) {
	t.Parallel()
	b := newTestBus(t)
	q, err := b.Queue(t.Context(), QueueConfig{Name: "dedupe", AckWait: 5 * time.Second})
	if err != nil {
		t.Fatalf("Queue: %v", err)
	}
	for _, id := range []string{"a", "a", "b", "a"} {
		if err := q.Publish(t.Context(), id, []byte("payload "+id)); err != nil {
			t.Fatalf("Publish %s: %v", id, err)
		}
	}
	if n := pending(t, q); n != 2 {
		t.Fatalf("Pending = %d, want 2", n)
	}
	got := consumeN(t, q, 2)
	want := []Job{
		{ID: "a", Payload: []byte("payload a"), Attempt: 1},
		{ID: "b", Payload: []byte("payload b"), Attempt: 1},
	}
	if diff := cmp.Diff(want, got, ignorePublished); diff != "" {
		t.Fatalf("jobs (-want +got):\n%s", diff)
	}
	// Still inside the dedupe window: a handled job is not enqueued again.
	if err := q.Publish(t.Context(), "a", []byte("again")); err != nil {
		t.Fatalf("Publish again: %v", err)
	}
	if n := pending(t, q); n != 0 {
		t.Fatalf("Pending after republishing a handled id = %d, want 0", n)
	}
}

func TestQueueRedeliversWhenConsumerDies(t *testing.T) {
	t.Parallel()
	b := newTestBus(t)
	peer := dial(t, b)
	cfg := QueueConfig{Name: "crash", AckWait: 300 * time.Millisecond, MaxAttempts: 5, Backoff: []time.Duration{0}}
	qa, err := peer.Queue(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Queue on peer: %v", err)
	}
	qb, err := b.Queue(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Queue: %v", err)
	}
	if err := qb.Publish(t.Context(), "job-1", []byte("payload")); err != nil {
		t.Fatalf("Publish: %v", err)
	}

	// Consumer A takes the job and never settles it: its process "dies"
	// (the connection drops) while the handler is still running.
	var (
		mu        sync.Mutex
		successes []Job
	)
	received := make(chan Job, 1)
	actx, acancel := context.WithCancel(t.Context())
	aDone := make(chan error, 1)
	go func() {
		aDone <- qa.Consume(actx, func(ctx context.Context, job Job) error {
			received <- job
			<-ctx.Done()
			return ctx.Err()
		})
	}()
	gotA := receive(t, "consumer A to receive the job", received)
	peer.Conn().Close()
	acancel()
	if err := receive(t, "consumer A to stop", aDone); err != nil && !errors.Is(err, ErrClosed) {
		t.Fatalf("consumer A returned %v", err)
	}

	stop := runConsume(t, qb, func(_ context.Context, job Job) error {
		mu.Lock()
		successes = append(successes, job)
		mu.Unlock()
		return nil
	})
	eventually(t, "job redelivered to consumer B", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(successes) > 0 && pending(t, qb) == 0
	})
	stop()

	if diff := cmp.Diff(Job{ID: "job-1", Payload: []byte("payload"), Attempt: 1}, gotA, ignorePublished); diff != "" {
		t.Errorf("consumer A's job (-want +got):\n%s", diff)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []Job{{ID: "job-1", Payload: []byte("payload"), Attempt: 2}}
	if diff := cmp.Diff(want, successes, ignorePublished); diff != "" {
		t.Errorf("successful handlings (-want +got):\n%s", diff)
	}
	if dls := deadLetters(t, qb); len(dls) != 0 {
		t.Errorf("dead letters = %+v, want none", dls)
	}
}

func TestQueueUnackedLastAttemptIsDeadLettered(t *testing.T) {
	t.Parallel()
	b := newTestBus(t)
	peer := dial(t, b)
	cfg := QueueConfig{Name: "lastcrash", AckWait: 200 * time.Millisecond, MaxAttempts: 1}
	qa, err := peer.Queue(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Queue on peer: %v", err)
	}
	qb, err := b.Queue(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Queue: %v", err)
	}
	if err := qb.Publish(t.Context(), "job-1", []byte("payload")); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	received := make(chan struct{})
	actx, acancel := context.WithCancel(t.Context())
	aDone := make(chan error, 1)
	go func() {
		aDone <- qa.Consume(actx, func(ctx context.Context, _ Job) error {
			close(received)
			<-ctx.Done()
			return ctx.Err()
		})
	}()
	receive(t, "consumer A to receive the job", received)
	peer.Conn().Close()
	acancel()
	receive(t, "consumer A to stop", aDone)

	var (
		mu    sync.Mutex
		calls int
	)
	stop := runConsume(t, qb, func(context.Context, Job) error {
		mu.Lock()
		calls++
		mu.Unlock()
		return nil
	})
	eventually(t, "job dead-lettered", func() bool {
		return pending(t, qb) == 0 && len(deadLetters(t, qb)) == 1
	})
	stop()
	mu.Lock()
	defer mu.Unlock()
	if calls != 0 {
		t.Errorf("handler ran %d times for a job past MaxAttempts, want 0", calls)
	}
	dl := deadLetters(t, qb)[0]
	if dl.ID != "job-1" || dl.Attempts != 2 || !strings.Contains(dl.Error, "never acknowledged") {
		t.Errorf("dead letter = %+v, want job-1 after 2 deliveries, never acknowledged", dl)
	}
}

func TestQueueInProgressPreventsRedelivery(t *testing.T) {
	t.Parallel()
	b := newTestBus(t)
	q, err := b.Queue(t.Context(), QueueConfig{Name: "slow", AckWait: 200 * time.Millisecond, MaxConcurrent: 2})
	if err != nil {
		t.Fatalf("Queue: %v", err)
	}
	if err := q.Publish(t.Context(), "job-1", nil); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	var (
		mu       sync.Mutex
		attempts []int
		done     bool
	)
	stop := runConsume(t, q, func(_ context.Context, job Job) error {
		mu.Lock()
		attempts = append(attempts, job.Attempt)
		mu.Unlock()
		// Several AckWaits: without in-progress signals the job would be
		// redelivered to the free second slot meanwhile.
		time.Sleep(4 * 200 * time.Millisecond)
		mu.Lock()
		done = true
		mu.Unlock()
		return nil
	})
	eventually(t, "slow job done", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return done && pending(t, q) == 0
	})
	stop()
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff([]int{1}, attempts); diff != "" {
		t.Fatalf("attempts (-want +got):\n%s", diff)
	}
}

func TestQueueMaxConcurrent(t *testing.T) {
	t.Parallel()
	b := newTestBus(t)
	const limit, jobs = 2, 6
	q, err := b.Queue(t.Context(), QueueConfig{Name: "parallel", AckWait: 5 * time.Second, MaxConcurrent: limit})
	if err != nil {
		t.Fatalf("Queue: %v", err)
	}
	for i := range jobs {
		if err := q.Publish(t.Context(), fmt.Sprintf("job-%d", i), nil); err != nil {
			t.Fatalf("Publish: %v", err)
		}
	}
	var (
		mu                   sync.Mutex
		running, most, total int
	)
	full := make(chan struct{})
	var fullOnce sync.Once
	stop := runConsume(t, q, func(ctx context.Context, _ Job) error {
		mu.Lock()
		running++
		most = max(most, running)
		if running == limit {
			fullOnce.Do(func() { close(full) })
		}
		mu.Unlock()
		defer func() {
			mu.Lock()
			running--
			total++
			mu.Unlock()
		}()
		// The first handlers wait until the limit is reached, which proves
		// that handlers do run side by side.
		select {
		case <-full:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	eventually(t, "all jobs handled", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return total >= jobs && pending(t, q) == 0
	})
	stop()
	mu.Lock()
	defer mu.Unlock()
	if most != limit {
		t.Fatalf("most handlers at once = %d, want %d", most, limit)
	}
}

func TestQueueDeadLettersLimit(t *testing.T) {
	t.Parallel()
	b := newTestBus(t)
	q, err := b.Queue(t.Context(), QueueConfig{Name: "dlq-limit", AckWait: 5 * time.Second, MaxConcurrent: 3})
	if err != nil {
		t.Fatalf("Queue: %v", err)
	}
	for _, id := range []string{"a", "b", "c"} {
		if err := q.Publish(t.Context(), id, nil); err != nil {
			t.Fatalf("Publish: %v", err)
		}
	}
	stop := runConsume(t, q, func(_ context.Context, job Job) error {
		return Permanent(errors.New("no " + job.ID))
	})
	eventually(t, "all jobs dead-lettered", func() bool {
		return pending(t, q) == 0 && len(deadLetters(t, q)) == 3
	})
	stop()
	got, err := q.DeadLetters(t.Context(), 2)
	if err != nil {
		t.Fatalf("DeadLetters: %v", err)
	}
	if len(got) != 2 {
		t.Fatalf("DeadLetters(2) returned %d", len(got))
	}
	if got[0].Seq >= got[1].Seq {
		t.Fatalf("dead letters not oldest first: seq %d then %d", got[0].Seq, got[1].Seq)
	}
	if _, err := q.DeadLetters(t.Context(), 0); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("DeadLetters(0) error = %v, want ErrInvalidArgument", err)
	}
}

func TestQueueInvalidInput(t *testing.T) {
	t.Parallel()
	b := newTestBus(t)
	configs := []struct {
		name string
		cfg  QueueConfig
		want error
	}{
		{"empty name", QueueConfig{}, ErrInvalidName},
		{"dot in name", QueueConfig{Name: "a.b"}, ErrInvalidName},
		{"wildcard in name", QueueConfig{Name: "a*"}, ErrInvalidName},
		{"space in name", QueueConfig{Name: "a b"}, ErrInvalidName},
		{"non-ASCII name", QueueConfig{Name: "tâche"}, ErrInvalidName},
		{"long name", QueueConfig{Name: strings.Repeat("x", 65)}, ErrInvalidName},
		{"negative attempts", QueueConfig{Name: "q", MaxAttempts: -1}, ErrInvalidConfig},
		{"negative ack wait", QueueConfig{Name: "q", AckWait: -time.Second}, ErrInvalidConfig},
		{"tiny ack wait", QueueConfig{Name: "q", AckWait: time.Millisecond}, ErrInvalidConfig},
		{"negative concurrency", QueueConfig{Name: "q", MaxConcurrent: -1}, ErrInvalidConfig},
		{"negative backoff", QueueConfig{Name: "q", Backoff: []time.Duration{time.Second, -time.Second}}, ErrInvalidConfig},
		{"negative dedupe window", QueueConfig{Name: "q", DedupeWindow: -time.Second}, ErrInvalidConfig},
	}
	for _, tt := range configs {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := b.Queue(t.Context(), tt.cfg); !errors.Is(err, tt.want) {
				t.Fatalf("Queue error = %v, want %v", err, tt.want)
			}
		})
	}

	q, err := b.Queue(t.Context(), QueueConfig{Name: "Valid_Name-1"})
	if err != nil {
		t.Fatalf("Queue: %v", err)
	}
	if q.Name() != "valid_name-1" {
		t.Fatalf("Name = %q, want lower case", q.Name())
	}
	ids := []struct {
		name string
		id   string
	}{
		{"empty", ""},
		{"newline", "a\nb"},
		{"carriage return", "a\rb"},
		{"leading space", " a"},
		{"too long", strings.Repeat("x", 257)},
		{"invalid UTF-8", "a\xffb"},
	}
	for _, tt := range ids {
		t.Run("job id "+tt.name, func(t *testing.T) {
			if err := q.Publish(t.Context(), tt.id, nil); !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("Publish error = %v, want ErrInvalidArgument", err)
			}
		})
	}
	if err := q.Consume(t.Context(), nil); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("Consume(nil) error = %v, want ErrInvalidArgument", err)
	}
	if n := pending(t, q); n != 0 {
		t.Fatalf("Pending after rejected publishes = %d, want 0", n)
	}
}

func TestPermanent(t *testing.T) {
	t.Parallel()
	base := errors.New("bad input")
	err := fmt.Errorf("job: %w", Permanent(base))
	if !errors.Is(err, ErrPermanent) {
		t.Errorf("errors.Is(err, ErrPermanent) = false")
	}
	if !errors.Is(err, base) {
		t.Errorf("Permanent hides the wrapped error")
	}
	if err.Error() != "job: bad input" {
		t.Errorf("Error() = %q", err.Error())
	}
	if Permanent(nil) != nil {
		t.Errorf("Permanent(nil) != nil")
	}
	if errors.Is(errors.New("other"), ErrPermanent) {
		t.Errorf("an ordinary error is permanent")
	}
}

func TestHeaderValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
	}{
		{"plain", "plain"},
		{"line1\nline2\r\n", "line1 line2  "},
		{strings.Repeat("é", 2000), strings.Repeat("é", 1024) + "…"},
	}
	for _, tt := range tests {
		if got := headerValue(tt.in); got != tt.want {
			t.Errorf("headerValue(%.20q…) = %.20q… (len %d), want len %d", tt.in, got, len(got), len(tt.want))
		}
	}
}

func TestConsumeStopsWhenBusCloses(t *testing.T) {
	t.Parallel()
	b, err := Open(t.Context(), testConfig(t), testLogger())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	q, err := b.Queue(t.Context(), QueueConfig{Name: "closing", AckWait: time.Second})
	if err != nil {
		t.Fatalf("Queue: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		done <- q.Consume(t.Context(), func(context.Context, Job) error { return nil })
	}()
	if err := b.Close(t.Context()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := receive(t, "Consume to return", done); !errors.Is(err, ErrClosed) {
		t.Fatalf("Consume after Close = %v, want ErrClosed", err)
	}
	if err := q.Publish(t.Context(), "late", nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Publish after Close = %v, want ErrClosed", err)
	}
}
