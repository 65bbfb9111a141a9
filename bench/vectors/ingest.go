package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/timbre-ai/timbre/bus"
	"github.com/timbre-ai/timbre/knowledge"
	"github.com/timbre-ai/timbre/knowledge/embed"
)

// Ingestion waiting.
const (
	pollEvery     = 200 * time.Millisecond
	progressEvery = 5 * time.Second
	// stallAfter is how long ingestion may go without finishing a
	// document before the run is abandoned.
	stallAfter = 3 * time.Minute
)

// ingestRun is one ingestion of the whole corpus through the service.
type ingestRun struct {
	Workers   int
	Documents int
	Bytes     int64
	// Chunks and Vectors are the rows the service wrote; Failed counts
	// documents that ended failed, FirstError says why.
	Chunks, Vectors int
	Failed          int
	FirstError      string
	// Queued is how long the AddFile calls took, one after another (they
	// overlap with the workers); Wall runs from the first AddFile until
	// every document is ready or failed.
	Queued, Wall time.Duration
	CPU          cpuUse
	Mem          *memPeak
}

// ChunksPerSecond is the ingestion throughput.
func (r ingestRun) ChunksPerSecond() float64 { return float64(r.Chunks) / r.Wall.Seconds() }

// session is a knowledge service on its own bus, its workers running.
type session struct {
	svc   *knowledge.Service
	bus   *bus.Bus
	base  knowledge.Base
	owner string
	stop  func()
}

// close stops the workers and closes the bus.
func (s *session) close() {
	s.stop()
	_ = s.bus.Close(context.Background())
}

// startSession builds knowledge.New on a fresh bus with the ngram embedder
// and cfg.Workers workers, starts its consumer and creates a knowledge base.
func startSession(ctx context.Context, d deps, owner string, workers int) (*session, error) {
	b, err := d.openBus(ctx)
	if err != nil {
		return nil, fmt.Errorf("open the embedded bus: %w", err)
	}
	svc, err := knowledge.New(ctx, knowledge.Params{
		Pool:      d.pool,
		Bus:       b,
		Embedders: []knowledge.Embedder{embed.NewNgram()},
		Config:    knowledge.Config{Workers: workers},
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		_ = b.Close(context.Background())
		return nil, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = svc.Start(runCtx)
	}()
	var once sync.Once
	s := &session{svc: svc, bus: b, owner: owner, stop: func() { once.Do(func() { cancel(); <-done }) }}
	name := "Go distribution"
	if s.base, err = svc.Create(ctx, owner, knowledge.BaseInput{Name: &name}); err != nil {
		s.close()
		return nil, fmt.Errorf("create the knowledge base: %w", err)
	}
	return s, nil
}

// ingest adds every corpus document with AddFile, one after another, while
// the session's workers ingest them, and waits until all are ready or
// failed.
func ingest(ctx context.Context, pool *pgxpool.Pool, s *session, c *corpus, workers int, progress io.Writer) (run ingestRun, err error) {
	run = ingestRun{Workers: workers, Documents: len(c.Docs), Bytes: c.Bytes}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	mem := startMemPeak()
	defer func() {
		if run.Mem == nil {
			mem.finish()
		}
	}()
	cpu := startCPU()
	started := time.Now()

	addErr := make(chan error, 1)
	queued := make(chan time.Duration, 1)
	go func() {
		for _, doc := range c.Docs {
			data, err := os.ReadFile(doc.Path)
			if err != nil {
				addErr <- fmt.Errorf("read %s: %w", doc.Name, err)
				return
			}
			_, created, err := s.svc.AddFile(ctx, s.owner, s.base.ID, knowledge.Upload{Filename: doc.Name, ContentType: doc.ContentType, Data: data})
			if err != nil {
				addErr <- fmt.Errorf("add %s: %w", doc.Name, err)
				return
			}
			if !created {
				addErr <- fmt.Errorf("add %s: the service took it for a duplicate, which the corpus should not hold", doc.Name)
				return
			}
		}
		queued <- time.Since(started)
	}()

	lastDone, lastChange, lastPrint := -1, time.Now(), time.Now()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return run, ctx.Err()
		case err := <-addErr:
			return run, err
		case d := <-queued:
			run.Queued = d
		case <-tick.C:
		}
		var ready, failed, chunks int
		var firstErr string
		err := pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE status = 'ready'), count(*) FILTER (WHERE status = 'failed'),
				coalesce(sum(chunks) FILTER (WHERE status = 'ready'), 0), coalesce(min(error) FILTER (WHERE status = 'failed'), '')
			FROM documents WHERE kb_id = $1`, s.base.ID).Scan(&ready, &failed, &chunks, &firstErr)
		if err != nil {
			return run, fmt.Errorf("ingestion progress: %w", err)
		}
		if ready+failed != lastDone {
			lastDone, lastChange = ready+failed, time.Now()
		}
		if time.Since(lastPrint) >= progressEvery {
			lastPrint = time.Now()
			el := time.Since(started)
			fmt.Fprintf(progress, "  ingest (workers=%d): %d/%d chunks, %d/%d documents done, %.0f chunks/s, %s\n",
				workers, chunks, c.Chunks, ready+failed, len(c.Docs), float64(chunks)/el.Seconds(), el.Round(time.Second))
		}
		if run.Queued > 0 && ready+failed == len(c.Docs) {
			run.Wall = time.Since(started)
			run.Chunks, run.Failed, run.FirstError = chunks, failed, firstErr
			break
		}
		if time.Since(lastChange) > stallAfter {
			return run, fmt.Errorf("ingestion stalled: no document finished for %s (%d of %d done)", stallAfter, ready+failed, len(c.Docs))
		}
	}
	run.CPU = cpu.stop()
	mem.finish()
	run.Mem = mem
	s.stop()
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM chunk_vectors WHERE kb_id = $1`, s.base.ID).Scan(&run.Vectors); err != nil {
		return run, fmt.Errorf("count vectors: %w", err)
	}
	return run, nil
}

// embedderSpeed is the ngram embedder alone on every chunk of the corpus.
type embedderSpeed struct {
	Chunks int
	// One and Two are the wall times with one goroutine and with two
	// goroutines each embedding half.
	One, Two time.Duration
}

// measureEmbedder embeds every input in batches of the embedder's
// MaxBatch, once on one goroutine and once split over two.
func measureEmbedder(ctx context.Context, inputs []string) (embedderSpeed, error) {
	e := embed.NewNgram()
	all := func(part []string) error {
		for i := 0; i < len(part); i += e.MaxBatch() {
			if _, err := e.Embed(ctx, part[i:min(i+e.MaxBatch(), len(part))]); err != nil {
				return err
			}
		}
		return nil
	}
	sp := embedderSpeed{Chunks: len(inputs)}
	t := time.Now()
	if err := all(inputs); err != nil {
		return sp, fmt.Errorf("embed the corpus: %w", err)
	}
	sp.One = time.Since(t)
	t = time.Now()
	half := len(inputs) / 2
	errs := make(chan error, 2)
	go func() { errs <- all(inputs[:half]) }()
	go func() { errs <- all(inputs[half:]) }()
	if err := errors.Join(<-errs, <-errs); err != nil {
		return sp, fmt.Errorf("embed the corpus: %w", err)
	}
	sp.Two = time.Since(t)
	return sp, nil
}
