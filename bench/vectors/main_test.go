package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/timbre-ai/timbre/bus"
	"github.com/timbre-ai/timbre/bus/bustest"
	"github.com/timbre-ai/timbre/db/dbtest"
)

// TestBenchSmallCorpus runs every phase on 300 chunks and 20 queries
// against a fresh test database and checks that the figures are sane; it
// asserts nothing about speed.
func TestBenchSmallCorpus(t *testing.T) {
	pool, url := dbtest.NewWithURL(t)
	root, err := goRoot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	o := options{goroot: root, chunks: 300, queries: 20, workers: []int{1, 2}, efSearch: []int{40, 100},
		efVectorOnly: []int{400}, lcBatch: 64, poolSize: 8}
	d := deps{pool: pool, dbURL: url, openBus: func(context.Context) (*bus.Bus, error) { return bustest.New(t), nil }}
	var progress bytes.Buffer
	rep, err := bench(t.Context(), d, o, &progress)
	if err != nil {
		t.Fatalf("bench: %v\nprogress:\n%s", err, progress.String())
	}

	c := rep.Corpus
	if c.Chunks < o.chunks || len(c.Docs) == 0 {
		t.Errorf("corpus has %d chunks in %d documents, want at least %d chunks", c.Chunks, len(c.Docs), o.chunks)
	}
	if n := len(c.Queries); n == 0 || n > o.queries {
		t.Errorf("%d queries, want 1 to %d", n, o.queries)
	}
	if rep.Embedder.Chunks != c.Chunks || rep.Embedder.One <= 0 || rep.Embedder.Two <= 0 {
		t.Errorf("embedder measure %+v, want %d chunks and positive times", rep.Embedder, c.Chunks)
	}

	if len(rep.Ingest) != len(o.workers) {
		t.Fatalf("%d ingestion runs, want %d", len(rep.Ingest), len(o.workers))
	}
	for i, run := range rep.Ingest {
		if run.Workers != o.workers[i] || run.Documents != len(c.Docs) || run.Chunks != c.Chunks || run.Vectors != c.Chunks || run.Failed != 0 {
			t.Errorf("ingestion run %d: workers %d, %d documents, %d chunks, %d vectors, %d failed (%q); want workers %d, %d documents, "+
				"%d chunks and vectors, none failed", i, run.Workers, run.Documents, run.Chunks, run.Vectors, run.Failed, run.FirstError,
				o.workers[i], len(c.Docs), c.Chunks)
		}
		if run.Wall <= 0 || run.Queued <= 0 || run.Queued > run.Wall {
			t.Errorf("ingestion run %d: AddFile phase %s, wall %s", i, run.Queued, run.Wall)
		}
	}

	s := rep.Search
	if s.Queries != len(c.Queries) {
		t.Errorf("search used %d queries, the corpus has %d", s.Queries, len(c.Queries))
	}
	var efs []int
	for _, row := range s.Rows {
		efs = append(efs, row.EfSearch)
		checkRow(t, "search", row)
		hybrid := row.EfSearch != 400
		if hybrid != (row.Hybrid.N == len(c.Queries)) || (hybrid && !positive(row.Hybrid)) {
			t.Errorf("ef_search %d: hybrid latency %+v, want it measured: %v", row.EfSearch, row.Hybrid, hybrid)
		}
	}
	if diff := cmp.Diff([]int{40, 100, 400}, efs); diff != "" {
		t.Errorf("ef_search rows (-want +got):\n%s", diff)
	}
	for _, row := range s.Rebuilt {
		checkRow(t, "rebuilt", row)
	}
	if len(s.Rebuilt) != 3 {
		t.Errorf("%d rows on the rebuilt index, want 3", len(s.Rebuilt))
	}
	if !positive(s.Exact) {
		t.Errorf("exact scan latency %+v, want positive", s.Exact)
	}
	plan := strings.Join(s.ExactPlan, "\n")
	if !strings.Contains(plan, "Seq Scan on chunk_vectors") || strings.Contains(plan, "hnsw") {
		t.Errorf("the exact scan's plan should read the table, not the index:\n%s", plan)
	}

	ix := rep.OurIndex
	if ix.Rows != int64(c.Chunks) || ix.Size <= 0 || ix.Incremental <= 0 || ix.Took <= 0 || ix.TableHeap <= 0 || ix.TableTotal < ix.TableHeap+ix.Size {
		t.Errorf("index build %+v, want %d rows and positive sizes and time", ix, c.Chunks)
	}
	if !strings.Contains(ix.Definition, "USING hnsw") || ix.MaintenanceWorkMem == "" {
		t.Errorf("index definition %q, maintenance_work_mem %q", ix.Definition, ix.MaintenanceWorkMem)
	}
	if rep.Ours.Type != "halfvec" || rep.Ours.AvgBytes <= 0 {
		t.Errorf("stored vectors %+v, want halfvec with a size", rep.Ours)
	}

	lc := rep.Langchaingo
	switch {
	case lc == nil:
		t.Error("no langchaingo report")
	case lc.Skipped != "":
		t.Errorf("langchaingo comparison skipped: %s", lc.Skipped)
	default:
		if lc.Chunks != c.Chunks || lc.Wall <= 0 || !positive(lc.Search) || !positive(lc.Exact) || len(lc.Plan) == 0 {
			t.Errorf("langchaingo: %d chunks in %s, search %+v, exact %+v, plan %q", lc.Chunks, lc.Wall, lc.Search, lc.Exact, lc.Plan)
		}
		checkRecall(t, "langchaingo", lc.Recall, lc.Strict, lc.Worst)
		if lc.Index.Rows != int64(c.Chunks) || lc.Index.Size <= 0 {
			t.Errorf("langchaingo index build %+v", lc.Index)
		}
		if rep.Theirs.Type != "vector(384)" {
			t.Errorf("langchaingo stores %q, want vector(384)", rep.Theirs.Type)
		}
	}

	var out bytes.Buffer
	rep.Total = time.Second
	if err := rep.write(&out); err != nil {
		t.Fatal(err)
	}
	md := out.String()
	for _, want := range []string{"## Corpus", "## Ingestion through knowledge.Service", "## Search through Service.SearchBases",
		"**Target recall@10 ≥ 0.95 at p95 ≤ 20 ms:", "## HNSW index build", "## Where the run's time went", "chunk_vectors_hnsw_384"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	for _, bad := range []string{"NaN", "Inf", "%!"} {
		if strings.Contains(md, bad) {
			t.Errorf("report holds %q:\n%s", bad, md)
		}
	}
}

func checkRow(t *testing.T, what string, row efRow) {
	t.Helper()
	checkRecall(t, what, row.Recall, row.Strict, row.Worst)
	if !positive(row.Vector) {
		t.Errorf("%s ef_search %d: vector latency %+v, want positive and ordered", what, row.EfSearch, row.Vector)
	}
}

func checkRecall(t *testing.T, what string, recall, strict, worst float64) {
	t.Helper()
	if recall < 0 || recall > 1 || strict < 0 || strict > recall+1e-9 || worst < 0 || worst > recall+1e-9 || math.IsNaN(recall) {
		t.Errorf("%s: recall %v, strict %v, worst %v; want 0 ≤ worst, strict ≤ recall ≤ 1", what, recall, strict, worst)
	}
}

// positive reports whether a latency summary has samples, positive
// percentiles and p50 ≤ p95 ≤ p99.
func positive(l latency) bool {
	return l.N > 0 && l.P50 > 0 && l.P50 <= l.P95 && l.P95 <= l.P99 && l.Mean > 0
}

func TestRecallAt(t *testing.T) {
	exact := []hit{{1, 0.1}, {2, 0.2}, {3, 0.3}}
	tests := []struct {
		name           string
		approx         []hit
		k              int
		recall, strict float64
	}{
		{"same", []hit{{1, 0.1}, {2, 0.2}, {3, 0.3}}, 3, 1, 1},
		{"order does not matter", []hit{{3, 0.3}, {1, 0.1}, {2, 0.2}}, 3, 1, 1},
		{"a tie at the k-th distance counts", []hit{{1, 0.1}, {2, 0.2}, {9, 0.3}}, 3, 1, 2.0 / 3},
		{"a farther chunk does not", []hit{{1, 0.1}, {2, 0.2}, {9, 0.31}}, 3, 2.0 / 3, 2.0 / 3},
		{"fewer results", []hit{{1, 0.1}}, 3, 1.0 / 3, 1.0 / 3},
		{"none", nil, 3, 0, 0},
		{"k above the exact count", []hit{{1, 0.1}, {2, 0.2}, {3, 0.3}}, 10, 1, 1},
		{"only the first k results count", []hit{{9, 0.5}, {1, 0.1}}, 1, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, s := recallAt(tt.approx, exact[:min(tt.k, len(exact))], tt.k)
			if math.Abs(r-tt.recall) > 1e-12 || math.Abs(s-tt.strict) > 1e-12 {
				t.Errorf("recallAt = %v, %v; want %v, %v", r, s, tt.recall, tt.strict)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	got := summarize(ds)
	want := latency{N: 100, P50: 50 * time.Millisecond, P95: 95 * time.Millisecond, P99: 99 * time.Millisecond, Mean: 50500 * time.Microsecond}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("summarize (-want +got):\n%s", diff)
	}
	if one := summarize([]time.Duration{time.Second}); one.P50 != time.Second || one.P99 != time.Second {
		t.Errorf("summarize of one sample: %+v", one)
	}
	if empty := summarize(nil); empty != (latency{}) {
		t.Errorf("summarize(nil) = %+v", empty)
	}
}

func TestQueries(t *testing.T) {
	text := "// Copyright 2009 The Go Authors. All rights reserved.\n" +
		"// Use of this source code is governed by a BSD-style\n" +
		"// Package sort provides primitives for sorting slices and user-defined collections.\n" +
		"x := 1 + 2 + 3 + 4 + 5 + 6 + 7 + 8\n" +
		"# Too short\n" +
		"// Sort sorts data in ascending order as determined by the Less method.\n"
	got := sentences(text, 5)
	want := []string{
		"Package sort provides primitives for sorting slices and user-defined collections.",
		"Sort sorts data in ascending order as determined by the Less method.",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sentences (-want +got):\n%s", diff)
	}
	if got := sentences(text, 1); len(got) != 1 {
		t.Errorf("sentences(text, 1) gave %d", len(got))
	}
	if got, want := paraphrase("a b c d e f g"), "a b d e g"; got != want {
		t.Errorf("paraphrase = %q, want %q", got, want)
	}

	var cands []query
	for _, s := range []string{"a", "b", "c", "d", "e", "f", "a"} {
		cands = append(cands, query{Text: s})
	}
	texts := func(qs []query) []string {
		var out []string
		for _, q := range qs {
			out = append(out, q.Text)
		}
		return out
	}
	if diff := cmp.Diff([]string{"a", "c", "e"}, texts(pickQueries(cands, 3))); diff != "" {
		t.Errorf("pickQueries spread (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"a", "b", "c", "d", "e", "f"}, texts(pickQueries(cands, 10))); diff != "" {
		t.Errorf("pickQueries with too few candidates (-want +got):\n%s", diff)
	}
}

func TestParseFlags(t *testing.T) {
	env := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    options
		wantErr string
	}{
		{name: "defaults", want: options{databaseURL: defaultDatabaseURL, chunks: defaultChunks, queries: defaultQueries,
			workers: []int{1, 2}, efSearch: []int{40, 100, 200}, efVectorOnly: []int{400, 1000}, lcBatch: 512, poolSize: 8}},
		{name: "environment", env: map[string]string{"TIMBRE_DATABASE_URL": "postgres://x/y"}, args: []string{"-chunks", "5000",
			"-workers", "2", "-ef-search-vector", "", "-keep", "-skip-langchaingo"},
			want: options{databaseURL: "postgres://x/y", chunks: 5000, queries: defaultQueries, workers: []int{2},
				efSearch: []int{40, 100, 200}, lcBatch: 512, poolSize: 8, keep: true, skipLangchaingo: true}},
		{name: "bad workers", args: []string{"-workers", "1,x"}, wantErr: "-workers"},
		{name: "zero workers", args: []string{"-workers", "0"}, wantErr: "-workers"},
		{name: "ef too large", args: []string{"-ef-search", "40,2000"}, wantErr: "-ef-search"},
		{name: "no chunks", args: []string{"-chunks", "0"}, wantErr: "-chunks"},
		{name: "no queries", args: []string{"-queries", "-1"}, wantErr: "-queries"},
		{name: "stray argument", args: []string{"extra"}, wantErr: "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseFlags(tt.args, env(tt.env), io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseFlags error %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(options{})); diff != "" {
				t.Errorf("parseFlags (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := parseFlags([]string{"-h"}, env(nil), io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h gave %v, want flag.ErrHelp", err)
	}
}
