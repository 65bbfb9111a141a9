package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pgvector/pgvector-go"

	"github.com/timbre-ai/timbre/knowledge"
	"github.com/timbre-ai/timbre/knowledge/embed"
)

// langchaingo's defaults, which the comparison keeps: its tables, and the
// name its HNSW option gives the index.
const (
	lcTable      = "langchain_pg_embedding"
	lcCollTable  = "langchain_pg_collection"
	lcIndex      = lcTable + "_embedding_hnsw"
	lcCollection = "timbre_bench"
	// lcHNSWM and lcHNSWEfConstruction are pgvector's defaults, which the
	// service's index uses too (it sets neither).
	lcHNSWM              = 16
	lcHNSWEfConstruction = 64
)

// vectorStore is what the comparison needs of langchaingo's store; the
// file built with the langchaingo tag implements it.
type vectorStore interface {
	// add stores texts, each with its chunk id as metadata, and returns
	// the ids langchaingo gave them.
	add(ctx context.Context, texts []string, chunkIDs []int64) ([]string, error)
	// search runs SimilaritySearch and returns the chunk ids found with
	// their cosine distance (1 − score).
	search(ctx context.Context, text string, k int) ([]hit, error)
}

// ngramEmbeddings adapts the ngram embedder to langchaingo's
// embeddings.Embedder.
type ngramEmbeddings struct{ e *embed.Ngram }

// EmbedDocuments embeds texts in batches of the embedder's MaxBatch.
func (a ngramEmbeddings) EmbedDocuments(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, 0, len(texts))
	for i := 0; i < len(texts); i += a.e.MaxBatch() {
		v, err := a.e.Embed(ctx, texts[i:min(i+a.e.MaxBatch(), len(texts))])
		if err != nil {
			return nil, err
		}
		out = append(out, v...)
	}
	return out, nil
}

// EmbedQuery embeds one text.
func (a ngramEmbeddings) EmbedQuery(ctx context.Context, text string) ([]float32, error) {
	v, err := a.e.Embed(ctx, []string{text})
	if err != nil {
		return nil, err
	}
	return v[0], nil
}

// lastQuery is a pgx tracer that keeps the SQL and arguments of the last
// query, to EXPLAIN what langchaingo sent.
type lastQuery struct {
	sql  string
	args []any
}

// TraceQueryStart records the query.
func (l *lastQuery) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	l.sql, l.args = d.SQL, d.Args
	return ctx
}

// TraceQueryEnd does nothing.
func (l *lastQuery) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// lcReport is langchaingo's side of the comparison.
type lcReport struct {
	// Skipped says why the comparison did not run, when it did not.
	Skipped string
	Chunks  int
	Batch   int
	// Wall is the time of every AddDocuments call together.
	Wall time.Duration
	CPU  cpuUse
	Mem  *memPeak
	// Search is SimilaritySearch's latency; Recall, Strict and Worst score
	// it as efRow does, against Exact, an exact scan of its own vectors.
	Search                latency
	Recall, Strict, Worst float64
	Exact                 latency
	// Plan is SimilaritySearch's query plan; UsesIndex says whether the
	// HNSW index appears in it.
	Plan      []string
	UsesIndex bool
	Index     indexBuild
}

// ChunksPerSecond is the AddDocuments throughput.
func (r *lcReport) ChunksPerSecond() float64 { return float64(r.Chunks) / r.Wall.Seconds() }

// compareLangchaingo stores the chunks the service wrote in langchaingo's
// pgvector store, with the same embedding inputs and embedder, in the same
// database, and measures it as the service was measured.
func compareLangchaingo(ctx context.Context, d deps, base knowledge.Base, qs []queryVec, batch int, progress io.Writer) (*lcReport, error) {
	rep := &lcReport{Batch: batch}
	cfg, err := pgx.ParseConfig(d.dbURL)
	if err != nil {
		return nil, fmt.Errorf("langchaingo: %w", err)
	}
	trace := &lastQuery{}
	cfg.Tracer = trace
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("langchaingo: connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	store, err := openLangchaingo(ctx, conn, base.Dim)
	if err != nil {
		return nil, fmt.Errorf("langchaingo: %w", err)
	}
	texts, chunkIDs, err := storedChunks(ctx, d.pool, base.ID)
	if err != nil {
		return nil, err
	}

	fmt.Fprintf(progress, "langchaingo: AddDocuments of %d chunks in batches of %d\n", len(texts), batch)
	uuidToChunk := make(map[string]int64, len(texts))
	mem := startMemPeak()
	cpu := startCPU()
	start := time.Now()
	lastPrint := start
	for i := 0; i < len(texts); i += batch {
		end := min(i+batch, len(texts))
		ids, err := store.add(ctx, texts[i:end], chunkIDs[i:end])
		if err != nil {
			mem.finish()
			return nil, fmt.Errorf("langchaingo: AddDocuments: %w", err)
		}
		for j, id := range ids {
			uuidToChunk[id] = chunkIDs[i+j]
		}
		if time.Since(lastPrint) >= progressEvery {
			lastPrint = time.Now()
			fmt.Fprintf(progress, "  langchaingo: %d/%d chunks, %.0f chunks/s\n", end, len(texts), float64(end)/time.Since(start).Seconds())
		}
	}
	rep.Wall = time.Since(start)
	rep.CPU = cpu.stop()
	mem.finish()
	rep.Mem = mem
	rep.Chunks = len(texts)
	if _, err := d.pool.Exec(ctx, `VACUUM ANALYZE `+lcTable); err != nil {
		return nil, fmt.Errorf("langchaingo: vacuum: %w", err)
	}

	var collection string
	if err := d.pool.QueryRow(ctx, `SELECT uuid::text FROM `+lcCollTable+` WHERE name = $1`, lcCollection).Scan(&collection); err != nil {
		return nil, fmt.Errorf("langchaingo: find the collection: %w", err)
	}
	fmt.Fprintf(progress, "langchaingo: exact scans and SimilaritySearch of %d queries\n", len(qs))
	exact := make([][]hit, len(qs))
	var exactTimes, times []time.Duration
	for i, q := range qs {
		hits, took, err := lcExact(ctx, d.pool, collection, q.Vec, uuidToChunk)
		if err != nil {
			return nil, err
		}
		exact[i] = hits
		exactTimes = append(exactTimes, took)
	}
	rep.Exact = summarize(exactTimes)
	// One unmeasured search first: each one reads the whole table, so one
	// is enough to bring it into the cache.
	if _, err := store.search(ctx, qs[0].Text, resultsK); err != nil {
		return nil, fmt.Errorf("langchaingo: SimilaritySearch: %w", err)
	}
	var sumRecall, sumStrict float64
	rep.Worst = 1
	for i, q := range qs {
		start := time.Now()
		hits, err := store.search(ctx, q.Text, resultsK)
		if err != nil {
			return nil, fmt.Errorf("langchaingo: SimilaritySearch: %w", err)
		}
		times = append(times, time.Since(start))
		r, s := recallAt(hits, exact[i], resultsK)
		sumRecall += r
		sumStrict += s
		rep.Worst = min(rep.Worst, r)
	}
	rep.Search = summarize(times)
	rep.Recall, rep.Strict = sumRecall/float64(len(qs)), sumStrict/float64(len(qs))

	// What the last SimilaritySearch sent, explained with its arguments.
	rows, err := conn.Query(ctx, `EXPLAIN (COSTS OFF) `+trace.sql, trace.args...)
	if err != nil {
		return nil, fmt.Errorf("langchaingo: explain SimilaritySearch: %w", err)
	}
	plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("langchaingo: explain SimilaritySearch: %w", err)
	}
	rep.Plan = plan
	for _, l := range plan {
		if strings.Contains(l, lcIndex) {
			rep.UsesIndex = true
		}
	}
	return rep, nil
}

// storedChunks reads back the chunks the service wrote, in id order, as
// the texts the service embedded.
func storedChunks(ctx context.Context, pool *pgxpool.Pool, kbID string) ([]string, []int64, error) {
	rows, err := pool.Query(ctx, `SELECT id, headings, body FROM chunks WHERE kb_id = $1 ORDER BY id`, kbID)
	if err != nil {
		return nil, nil, fmt.Errorf("read the stored chunks: %w", err)
	}
	defer rows.Close()
	var texts []string
	var ids []int64
	for rows.Next() {
		var id int64
		var headings []string
		var body string
		if err := rows.Scan(&id, &headings, &body); err != nil {
			return nil, nil, fmt.Errorf("read the stored chunks: %w", err)
		}
		texts = append(texts, embeddingInput(headings, body))
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("read the stored chunks: %w", err)
	}
	return texts, ids, nil
}

// lcExact returns the exact nearest neighbours among langchaingo's vectors
// of a collection, as chunk ids.
func lcExact(ctx context.Context, pool *pgxpool.Pool, collection string, vec []float32, uuidToChunk map[string]int64) ([]hit, time.Duration, error) {
	var out []hit
	start := time.Now()
	err := withoutIndexes(ctx, pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT uuid::text, (embedding <=> $1)::float8 AS dist FROM `+lcTable+`
			WHERE collection_id = $2 ORDER BY dist, uuid LIMIT $3`, pgvector.NewVector(vec), collection, resultsK)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var dist float64
			if err := rows.Scan(&id, &dist); err != nil {
				return err
			}
			chunkID, ok := uuidToChunk[id]
			if !ok {
				return fmt.Errorf("row %s was not added by this run", id)
			}
			out = append(out, hit{ID: chunkID, Dist: dist})
		}
		return rows.Err()
	})
	took := time.Since(start)
	if err != nil {
		return nil, 0, fmt.Errorf("langchaingo: exact scan: %w", err)
	}
	return out, took, nil
}

// storage describes how a table stores its vectors.
type storage struct {
	Table, Column, Type string
	AvgBytes            float64
}

// vectorStorage reads the declared type and the average stored size of a
// vector column.
func vectorStorage(ctx context.Context, pool *pgxpool.Pool, table, column string) (storage, error) {
	s := storage{Table: table, Column: column}
	err := pool.QueryRow(ctx, `SELECT format_type(atttypid, atttypmod) FROM pg_attribute
		WHERE attrelid = to_regclass($1) AND attname = $2`, table, column).Scan(&s.Type)
	if err != nil {
		return s, fmt.Errorf("type of %s.%s: %w", table, column, err)
	}
	ident := pgx.Identifier{column}.Sanitize()
	if err := pool.QueryRow(ctx, `SELECT coalesce(avg(pg_column_size(`+ident+`)), 0)::float8 FROM `+pgx.Identifier{table}.Sanitize()).Scan(&s.AvgBytes); err != nil {
		return s, fmt.Errorf("size of %s.%s: %w", table, column, err)
	}
	return s, nil
}
