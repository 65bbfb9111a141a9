package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pgvector/pgvector-go"

	"github.com/timbre-ai/timbre/knowledge"
	"github.com/timbre-ai/timbre/knowledge/embed"
)

// tieEpsilon is the slack on distances when comparing with the exact
// k-th neighbour: a returned passage at the same distance as the k-th
// exact one is as good a k-th neighbour (the corpus holds identical
// passages, whose vectors are identical).
const tieEpsilon = 1e-6

// hit is one neighbour: a chunk id and its cosine distance to the query.
type hit struct {
	ID   int64
	Dist float64
}

// queryVec is a query with its embedding and its exact nearest neighbours.
type queryVec struct {
	query
	Vec   []float32
	Exact []hit
}

// efRow is one hnsw.ef_search setting's figures over every query.
type efRow struct {
	EfSearch       int
	Vector, Hybrid latency
	// Recall is recall@k of the vector results against the exact scan,
	// counting ties at the k-th distance as hits; Strict counts only the
	// very chunk ids the exact scan returned; Worst is the lowest recall of
	// one query, and Poor counts queries whose recall is below one half.
	Recall, Strict, Worst float64
	Poor                  int
}

// searchReport is what the search phase measured on the service.
type searchReport struct {
	Queries int
	Rows    []efRow
	// Exact is the latency of the exact scan; ExactPlan its plan.
	Exact     latency
	ExactPlan []string
	// Rebuilt holds vector-mode figures measured again after the index
	// was dropped and built in one go.
	Rebuilt []efRow
}

// exactSQL ranks every vector of a knowledge base by the same expression
// as the service's search; run with index scans disabled it is an exact
// scan of the same stored halfvec values.
func exactSQL(dim int) string {
	d := strconv.Itoa(dim)
	return `SELECT chunk_id, (embedding::halfvec(` + d + `) <=> $1::halfvec(` + d + `))::float8 AS dist
		FROM chunk_vectors WHERE dim = ` + d + ` AND embedder = $2 AND kb_id = $3
		ORDER BY dist, chunk_id LIMIT $4`
}

// withoutIndexes runs f in a read-only transaction where the planner may not
// use index or bitmap scans.
func withoutIndexes(ctx context.Context, pool *pgxpool.Pool, f func(pgx.Tx) error) error {
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT set_config('enable_indexscan', 'off', true), set_config('enable_bitmapscan', 'off', true),
		set_config('enable_indexonlyscan', 'off', true)`); err != nil {
		return err
	}
	return f(tx)
}

// exactNeighbours returns the k nearest chunks of a knowledge base by an
// exact scan, and how long the query took.
func exactNeighbours(ctx context.Context, pool *pgxpool.Pool, base knowledge.Base, vec []float32, k int) ([]hit, time.Duration, error) {
	var out []hit
	start := time.Now()
	err := withoutIndexes(ctx, pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, exactSQL(base.Dim), pgvector.NewHalfVector(vec), base.Embedder, base.ID, k)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, pgx.RowToStructByPos[hit])
		return err
	})
	took := time.Since(start)
	if err != nil {
		return nil, 0, fmt.Errorf("exact scan: %w", err)
	}
	return out, took, nil
}

// explainExact returns the exact scan's plan, to show that it reads the
// table rather than the index.
func explainExact(ctx context.Context, pool *pgxpool.Pool, base knowledge.Base, vec []float32, k int) ([]string, error) {
	var plan []string
	err := withoutIndexes(ctx, pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `EXPLAIN (COSTS OFF) `+exactSQL(base.Dim), pgvector.NewHalfVector(vec), base.Embedder, base.ID, k)
		if err != nil {
			return err
		}
		plan, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("explain the exact scan: %w", err)
	}
	return plan, nil
}

// distances returns the distance of each given chunk's vector to vec,
// computed as the exact scan computes it.
func distances(ctx context.Context, pool *pgxpool.Pool, base knowledge.Base, vec []float32, ids []int64) (map[int64]float64, error) {
	d := strconv.Itoa(base.Dim)
	rows, err := pool.Query(ctx, `SELECT chunk_id, (embedding::halfvec(`+d+`) <=> $1::halfvec(`+d+`))::float8
		FROM chunk_vectors WHERE embedder = $2 AND chunk_id = ANY($3)`, pgvector.NewHalfVector(vec), base.Embedder, ids)
	if err != nil {
		return nil, fmt.Errorf("distances of results: %w", err)
	}
	hits, err := pgx.CollectRows(rows, pgx.RowToStructByPos[hit])
	if err != nil {
		return nil, fmt.Errorf("distances of results: %w", err)
	}
	out := make(map[int64]float64, len(hits))
	for _, h := range hits {
		out[h.ID] = h.Dist
	}
	return out, nil
}

// recallAt scores approximate results against the exact k nearest:
// tie-aware counts results no farther than the k-th exact neighbour (plus
// tieEpsilon), strict counts results whose id is among the exact ones.
func recallAt(approx []hit, exact []hit, k int) (tieAware, strict float64) {
	want := min(k, len(exact))
	if want == 0 {
		return 1, 1
	}
	limit := exact[want-1].Dist + tieEpsilon
	ids := make(map[int64]bool, want)
	for _, h := range exact[:want] {
		ids[h.ID] = true
	}
	var ties, same int
	for _, h := range approx[:min(len(approx), want)] {
		if h.Dist <= limit {
			ties++
		}
		if ids[h.ID] {
			same++
		}
	}
	return float64(ties) / float64(want), float64(same) / float64(want)
}

// prepareQueries embeds the queries as the service does and finds their
// exact neighbours, timing the exact scans.
func prepareQueries(ctx context.Context, pool *pgxpool.Pool, base knowledge.Base, qs []query, k int) ([]queryVec, latency, []string, error) {
	e := embed.NewNgram()
	out := make([]queryVec, len(qs))
	times := make([]time.Duration, len(qs))
	for i, q := range qs {
		v, err := e.Embed(ctx, []string{strings.TrimSpace(q.Text)})
		if err != nil {
			return nil, latency{}, nil, fmt.Errorf("embed query: %w", err)
		}
		out[i] = queryVec{query: q, Vec: v[0]}
	}
	// One unmeasured pass reads the table into the cache.
	if _, _, err := exactNeighbours(ctx, pool, base, out[0].Vec, k); err != nil {
		return nil, latency{}, nil, err
	}
	for i := range out {
		hits, took, err := exactNeighbours(ctx, pool, base, out[i].Vec, k)
		if err != nil {
			return nil, latency{}, nil, err
		}
		out[i].Exact, times[i] = hits, took
	}
	plan, err := explainExact(ctx, pool, base, out[0].Vec, k)
	if err != nil {
		return nil, latency{}, nil, err
	}
	return out, summarize(times), plan, nil
}

// hybridWarmup is how many queries run once in hybrid mode, unmeasured,
// before the measured hybrid passes.
const hybridWarmup = 50

// measureSearch runs every query through SearchBases at each ef_search, in
// vector mode (timed, and scored against the exact neighbours) and, with
// hybrid, in hybrid mode (timed).
func measureSearch(ctx context.Context, pool *pgxpool.Pool, svc *knowledge.Service, base knowledge.Base, qs []queryVec,
	efs []int, hybrid bool, progress io.Writer) ([]efRow, error) {
	search := func(q queryVec, ef int, mode string) (knowledge.Results, time.Duration, error) {
		start := time.Now()
		res, err := svc.SearchBases(ctx, []string{base.ID}, knowledge.Query{Text: q.Text, K: resultsK, EfSearch: ef, Mode: mode})
		return res, time.Since(start), err
	}
	// Warm-up: one unmeasured pass at the widest setting reads the index
	// pages the measured passes will visit.
	widest := efs[0]
	for _, ef := range efs {
		widest = max(widest, ef)
	}
	for _, q := range qs {
		if _, _, err := search(q, widest, knowledge.ModeVector); err != nil {
			return nil, fmt.Errorf("search %q: %w", q.Text, err)
		}
	}
	if hybrid {
		for _, q := range qs[:min(hybridWarmup, len(qs))] {
			if _, _, err := search(q, widest, knowledge.ModeHybrid); err != nil {
				return nil, fmt.Errorf("hybrid search %q: %w", q.Text, err)
			}
		}
	}
	var rows []efRow
	for _, ef := range efs {
		row := efRow{EfSearch: ef, Worst: 1}
		var vecTimes, hybTimes []time.Duration
		var sumRecall, sumStrict float64
		for _, q := range qs {
			res, took, err := search(q, ef, knowledge.ModeVector)
			if err != nil {
				return nil, fmt.Errorf("search %q: %w", q.Text, err)
			}
			vecTimes = append(vecTimes, took)
			ids := make([]int64, len(res.Results))
			for i, r := range res.Results {
				if ids[i], err = strconv.ParseInt(r.ChunkID, 10, 64); err != nil {
					return nil, fmt.Errorf("search %q: chunk id %q: %w", q.Text, r.ChunkID, err)
				}
			}
			dist, err := distances(ctx, pool, base, q.Vec, ids)
			if err != nil {
				return nil, err
			}
			approx := make([]hit, len(ids))
			for i, id := range ids {
				d, ok := dist[id]
				if !ok {
					return nil, fmt.Errorf("search %q: result chunk %d has no vector", q.Text, id)
				}
				approx[i] = hit{ID: id, Dist: d}
			}
			r, s := recallAt(approx, q.Exact, resultsK)
			sumRecall += r
			sumStrict += s
			row.Worst = min(row.Worst, r)
			if r < 0.5 {
				row.Poor++
			}
		}
		row.Vector = summarize(vecTimes)
		row.Recall, row.Strict = sumRecall/float64(len(qs)), sumStrict/float64(len(qs))
		if hybrid {
			for _, q := range qs {
				_, took, err := search(q, ef, knowledge.ModeHybrid)
				if err != nil {
					return nil, fmt.Errorf("hybrid search %q: %w", q.Text, err)
				}
				hybTimes = append(hybTimes, took)
			}
			row.Hybrid = summarize(hybTimes)
		}
		fmt.Fprintf(progress, "  ef_search=%d: recall@%d %.3f, vector p95 %s", ef, resultsK, row.Recall, row.Vector.P95.Round(10*time.Microsecond))
		if hybrid {
			fmt.Fprintf(progress, ", hybrid p95 %s", row.Hybrid.P95.Round(10*time.Microsecond))
		}
		fmt.Fprintln(progress)
		rows = append(rows, row)
	}
	return rows, nil
}
