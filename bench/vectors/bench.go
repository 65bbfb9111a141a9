package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/timbre-ai/timbre/bus"
	"github.com/timbre-ai/timbre/knowledge/embed"
)

// deps are what the benchmark needs from outside: a pool on a migrated,
// empty database, that database's URL, and a way to open a fresh bus.
type deps struct {
	pool    *pgxpool.Pool
	dbURL   string
	openBus func(context.Context) (*bus.Bus, error)
}

// report is everything one run measured.
type report struct {
	Started                 time.Time
	Total                   time.Duration
	GoVersion, GoRoot, Arch string
	CPUs                    int
	Server                  serverInfo
	Chunks                  int
	// Dim is the vectors' dimension.
	Dim      int
	Corpus   *corpus
	Embedder embedderSpeed
	Ingest   []ingestRun
	Vacuum   time.Duration
	Search   searchReport
	// Ours and Theirs describe the stored vectors.
	Ours, Theirs storage
	OurIndex     indexBuild
	Langchaingo  *lcReport
	// Phases is where the run's time went.
	Phases []phase
}

// phase is one step of the run and how long it took.
type phase struct {
	Name string
	Took time.Duration
}

// timed runs one phase, announcing it on progress and recording its
// duration.
func (r *report) timed(progress io.Writer, name string, f func() error) error {
	fmt.Fprintf(progress, "[%s] %s\n", time.Since(r.Started).Round(time.Second), name)
	start := time.Now()
	err := f()
	r.Phases = append(r.Phases, phase{Name: name, Took: time.Since(start)})
	return err
}

// bench runs every phase in order: corpus, embedder alone, ingestion with
// each worker count, search and recall, langchaingo, index builds.
func bench(ctx context.Context, d deps, o options, progress io.Writer) (*report, error) {
	rep := &report{Started: time.Now(), GoVersion: runtime.Version(), GoRoot: o.goroot, Arch: runtime.GOOS + "/" + runtime.GOARCH,
		CPUs: runtime.NumCPU(), Chunks: o.chunks}
	var err error
	if rep.Server, err = readServerInfo(ctx, d.pool); err != nil {
		return nil, err
	}

	var c *corpus
	err = rep.timed(progress, fmt.Sprintf("corpus: files of %s until %d chunks", o.goroot, o.chunks), func() (err error) {
		c, err = buildCorpus(ctx, o.goroot, o.chunks, o.queries)
		return err
	})
	if err != nil {
		return nil, err
	}
	rep.Corpus = c
	fmt.Fprintf(progress, "  %d documents, %d chunks, %.1f MB, %d queries\n", len(c.Docs), c.Chunks, float64(c.Bytes)/1e6, len(c.Queries))

	err = rep.timed(progress, fmt.Sprintf("embedder: %s alone on %d chunks", embed.NgramName, len(c.Inputs)), func() (err error) {
		rep.Embedder, err = measureEmbedder(ctx, c.Inputs)
		return err
	})
	if err != nil {
		return nil, err
	}
	// The inputs are not needed any more: give their memory back to the
	// system so that it does not count in the ingestion's RSS.
	c.Inputs = nil
	debug.FreeOSMemory()

	owner, err := newOwner(ctx, d.pool)
	if err != nil {
		return nil, err
	}
	var s *session
	defer func() {
		if s != nil {
			s.close()
		}
	}()
	for i, w := range o.workers {
		if s != nil {
			s.close()
			s = nil
		}
		if i > 0 {
			if err := clearKnowledge(ctx, d.pool); err != nil {
				return nil, err
			}
		}
		err := rep.timed(progress, fmt.Sprintf("ingest: %d documents with Workers=%d", len(c.Docs), w), func() error {
			var err error
			if s, err = startSession(ctx, d, owner, w); err != nil {
				return err
			}
			run, err := ingest(ctx, d.pool, s, c, w, progress)
			if err != nil {
				return err
			}
			fmt.Fprintf(progress, "  %d chunks in %s, %.0f chunks/s, %d failed\n",
				run.Chunks, run.Wall.Round(time.Millisecond), run.ChunksPerSecond(), run.Failed)
			rep.Ingest = append(rep.Ingest, run)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	base := s.base
	rep.Dim = base.Dim

	err = rep.timed(progress, "vacuum analyze", func() error {
		start := time.Now()
		if _, err := d.pool.Exec(ctx, `VACUUM ANALYZE chunk_vectors, chunks, documents`); err != nil {
			return fmt.Errorf("vacuum: %w", err)
		}
		rep.Vacuum = time.Since(start)
		return nil
	})
	if err != nil {
		return nil, err
	}

	var qs []queryVec
	err = rep.timed(progress, fmt.Sprintf("search: exact scans of %d queries", len(c.Queries)), func() error {
		var err error
		qs, rep.Search.Exact, rep.Search.ExactPlan, err = prepareQueries(ctx, d.pool, base, c.Queries, resultsK)
		rep.Search.Queries = len(qs)
		return err
	})
	if err != nil {
		return nil, err
	}
	err = rep.timed(progress, fmt.Sprintf("search: SearchBases, vector and hybrid, at ef_search %v", o.efSearch), func() error {
		var err error
		rep.Search.Rows, err = measureSearch(ctx, d.pool, s.svc, base, qs, o.efSearch, true, progress)
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(o.efVectorOnly) > 0 {
		err = rep.timed(progress, fmt.Sprintf("search: SearchBases, vector only, at ef_search %v", o.efVectorOnly), func() error {
			rows, err := measureSearch(ctx, d.pool, s.svc, base, qs, o.efVectorOnly, false, progress)
			rep.Search.Rows = append(rep.Search.Rows, rows...)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	if rep.Ours, err = vectorStorage(ctx, d.pool, "chunk_vectors", "embedding"); err != nil {
		return nil, err
	}

	if o.skipLangchaingo {
		rep.Langchaingo = &lcReport{Skipped: "-skip-langchaingo"}
	} else {
		err = rep.timed(progress, "langchaingo: AddDocuments, SimilaritySearch, exact scans", func() (err error) {
			rep.Langchaingo, err = compareLangchaingo(ctx, d, base, qs, o.lcBatch, progress)
			return err
		})
		if err != nil {
			return nil, err
		}
	}

	index := fmt.Sprintf("chunk_vectors_hnsw_%d", base.Dim)
	err = rep.timed(progress, "index: rebuild "+index, func() (err error) {
		rep.OurIndex, err = rebuildIndex(ctx, d.dbURL, index, "chunk_vectors")
		return err
	})
	if err != nil {
		return nil, err
	}
	err = rep.timed(progress, "search: SearchBases, vector only, on the rebuilt index", func() (err error) {
		rep.Search.Rebuilt, err = measureSearch(ctx, d.pool, s.svc, base, qs, slices.Concat(o.efSearch, o.efVectorOnly), false, progress)
		return err
	})
	if err != nil {
		return nil, err
	}
	if lc := rep.Langchaingo; lc.Skipped == "" {
		err = rep.timed(progress, "index: rebuild "+lcIndex, func() (err error) {
			lc.Index, err = rebuildIndex(ctx, d.dbURL, lcIndex, lcTable)
			return err
		})
		if err != nil {
			return nil, err
		}
		if rep.Theirs, err = vectorStorage(ctx, d.pool, lcTable, "embedding"); err != nil {
			return nil, err
		}
	}
	return rep, nil
}
