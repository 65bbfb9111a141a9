package main

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/timbre-ai/timbre/knowledge"
	"github.com/timbre-ai/timbre/knowledge/embed"
)

// write prints the report as Markdown.
func (r *report) write(out io.Writer) error {
	w := bufio.NewWriter(out)
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	c := r.Corpus

	p("# Knowledge vector search benchmark\n\n")
	p("Run %s, took **%s**. %s %s, %d CPUs. PostgreSQL %s, pgvector %s; shared_buffers %s, work_mem %s, "+
		"maintenance_work_mem %s, max_parallel_maintenance_workers %s, max_parallel_workers_per_gather %s.\n\n",
		r.Started.Format(time.RFC3339), r.Total.Round(time.Second), r.GoVersion, r.Arch, r.CPUs, r.Server.Version, r.Server.Pgvector,
		r.Server.SharedBuffers, r.Server.WorkMem, r.Server.MaintenanceWorkMem, r.Server.MaxParallelMaintenance, r.Server.MaxParallelWorkers)

	p("## Corpus\n\n")
	p("Files of %s (doc, api, misc, lib, src; `testdata` left out) in a fixed order (FNV-1a of the path), each extracted and "+
		"chunked as the service does (%d tokens, overlap %d), until %d chunks.\n\n", r.GoRoot, knowledge.DefaultChunkTokens,
		knowledge.DefaultChunkOverlap, r.Chunks)
	p("| documents | chunks | MB | files read | same content as an earlier file | not ingestible | no text | time to prepare |\n")
	p("|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	p("| %d | %d | %.1f | %d | %d | %d | %d | %s |\n\n", len(c.Docs), c.Chunks, mb(c.Bytes), c.Scanned, c.Duplicates, c.Unsupported, c.Empty,
		c.Took.Round(time.Millisecond))
	p("Chunks by directory: %s. By media type: %s.\n\n", counts(c.BySource), counts(c.ByMedia))
	p("%d queries: sentences of the corpus (comments and prose lines of 8–30 words, boilerplate left out) with every third word "+
		"dropped, spread evenly over the documents. For example:\n\n", len(c.Queries))
	for _, q := range c.Queries[:min(3, len(c.Queries))] {
		p("- %q (from %s)\n", q.Text, q.Source)
	}
	p("\n")

	e := r.Embedder
	p("## Embedder alone (%s, %d dimensions)\n\n", embed.NgramName, embed.NgramDim)
	p("Every chunk's embedding input (heading path + text), in batches of 512, in process.\n\n")
	p("| goroutines | chunks | time | chunks/s |\n|---:|---:|---:|---:|\n")
	p("| 1 | %d | %s | %.0f |\n", e.Chunks, e.One.Round(time.Millisecond), float64(e.Chunks)/e.One.Seconds())
	p("| 2 | %d | %s | %.0f |\n\n", e.Chunks, e.Two.Round(time.Millisecond), float64(e.Chunks)/e.Two.Seconds())

	p("## Ingestion through knowledge.Service\n\n")
	p("knowledge.New + Start on an embedded bus, one knowledge base, `AddFile` for every document one after another while the " +
		"workers run (extract, chunk, embed, then one transaction: COPY of chunks and vectors into tables whose GIN and HNSW " +
		"indexes are maintained row by row), until every document is ready. Each worker count ingests the whole corpus into " +
		"emptied tables; searches run on the last.\n\n")
	p("| Workers | documents | chunks | vectors | failed | AddFile calls | wall | **chunks/s** | MB/s | Go CPU | PostgreSQL CPU | host CPU | embedding share | RSS before | peak RSS | peak heap in use | peak Go Sys |\n")
	p("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, run := range r.Ingest {
		// The embedder's single-core time for the same chunks, over the
		// CPU time spent: how much of the work is embedding.
		spent := (run.CPU.Self + max(run.CPU.Postgres, 0)) * run.Wall.Seconds()
		p("| %d | %d | %d | %d | %d | %s | %s | **%.0f** | %.2f | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			run.Workers, run.Documents, run.Chunks, run.Vectors, run.Failed, run.Queued.Round(time.Millisecond), run.Wall.Round(time.Millisecond),
			run.ChunksPerSecond(), mb(run.Bytes)/run.Wall.Seconds(), cores(run.CPU.Self), cores(run.CPU.Postgres), cores(run.CPU.Host),
			pct(e.One.Seconds()*float64(run.Chunks)/float64(max(e.Chunks, 1)), spent), bytesMB(run.Mem.RSSBefore), bytesMB(run.Mem.PeakRSS),
			bytesMB(int64(run.Mem.HeapInuse)), bytesMB(int64(run.Mem.Sys)))
	}
	p("\nCPU columns are cores busy on average over the wall time (Go = this process: AddFile, workers, embedder; PostgreSQL = every " +
		"`postgres` process on the host; host = the whole machine, other work included). Embedding share = the embedder's " +
		"one-core time for these chunks over (Go + PostgreSQL) CPU time. ")
	if len(r.Ingest) > 0 {
		m := r.Ingest[len(r.Ingest)-1].Mem
		hwm := "since the start of the run"
		if m.HWMReset {
			hwm = "since the start of the ingestion (reset through /proc/self/clear_refs)"
		}
		p("Peak RSS is VmHWM %s; heap and Sys are the largest runtime.MemStats values sampled every 50 ms.", hwm)
	}
	for _, run := range r.Ingest {
		if run.Failed > 0 || run.Chunks != c.Chunks {
			p(" **Workers=%d: %d chunks stored, %d expected; %d documents failed (first error: %q).**", run.Workers, run.Chunks, c.Chunks,
				run.Failed, run.FirstError)
		}
	}
	p(" VACUUM ANALYZE after the last ingestion: %s.\n\n", r.Vacuum.Round(time.Millisecond))

	s := r.Search
	p("## Search through Service.SearchBases (k=%d)\n\n", resultsK)
	p("%d queries, one at a time, after one unmeasured pass. Vector mode: the HNSW index (hnsw.ef_search as given, iterative scan); "+
		"hybrid: the same plus full-text, fused by reciprocal rank. Latency includes embedding the query and the whole SQL round "+
		"trip. Recall@%d: the vector results against an exact scan of the same stored halfvec vectors (same distance expression, "+
		"index and bitmap scans off); a result as close as the exact 10th neighbour counts (identical passages tie); strict counts "+
		"only the exact scan's own chunk ids.\n\n", s.Queries, resultsK)
	p("| ef_search | vector p50 | vector p95 | vector p99 | hybrid p50 | hybrid p95 | hybrid p99 | **recall@10** | strict | worst query | queries < 0.5 |\n")
	p("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, row := range s.Rows {
		p("| %d | %s | %s | %s | %s | %s | %s | **%.3f** | %.3f | %.1f | %d |\n", row.EfSearch, ms(row.Vector.P50), ms(row.Vector.P95),
			ms(row.Vector.P99), msOrDash(row.Hybrid, row.Hybrid.P50), msOrDash(row.Hybrid, row.Hybrid.P95), msOrDash(row.Hybrid, row.Hybrid.P99),
			row.Recall, row.Strict, row.Worst, row.Poor)
	}
	p("\nLatencies in ms; – : not measured in hybrid mode. Queries < 0.5: how many of the %d found fewer than half of their "+
		"10 nearest.\n", s.Queries)
	p("\nExact scan (the reference): p50 %s, p95 %s, p99 %s ms. Its plan:\n\n%s\n", ms(s.Exact.P50), ms(s.Exact.P95), ms(s.Exact.P99),
		codeBlock(s.ExactPlan))
	p("**Target recall@10 ≥ %.2f at p95 ≤ %d ms: %s**\n\n", recallTarget, latencyTarget.Milliseconds(), r.target())

	r.writeLangchaingo(p)

	p("## HNSW index build\n\n")
	p("The index dropped and its own definition (pg_get_indexdef) executed again on the full table, on a connection with the " +
		"server's settings. \"As ingested\" is the size the row-by-row inserts left.\n\n")
	p("| index | rows | build time | build CPU (pg) | size as ingested | size rebuilt | table (heap+TOAST) | table + indexes | maintenance_work_mem | parallel workers |\n")
	p("|---|---:|---:|---:|---:|---:|---:|---:|---|---:|\n")
	builds := []indexBuild{r.OurIndex}
	if r.Langchaingo != nil && r.Langchaingo.Skipped == "" {
		builds = append(builds, r.Langchaingo.Index)
	}
	for _, b := range builds {
		p("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s |\n", b.Index, b.Rows, b.Took.Round(time.Millisecond), cores(b.CPU.Postgres),
			bytesMB(b.Incremental), bytesMB(b.Size), bytesMB(b.TableHeap), bytesMB(b.TableTotal), b.MaintenanceWorkMem, b.ParallelWorkers)
	}
	p("\n")
	for _, b := range builds {
		p("- `%s`", b.Definition)
		if len(b.Notices) > 0 {
			p(" — PostgreSQL: %s", strings.Join(b.Notices, " / "))
		}
		p("\n")
	}
	p("\nSearch on the rebuilt index (vector mode):\n\n")
	p("| ef_search | vector p50 | vector p95 | vector p99 | recall@10 | strict | worst query | queries < 0.5 |\n|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, row := range s.Rebuilt {
		p("| %d | %s | %s | %s | %.3f | %.3f | %.1f | %d |\n", row.EfSearch, ms(row.Vector.P50), ms(row.Vector.P95), ms(row.Vector.P99),
			row.Recall, row.Strict, row.Worst, row.Poor)
	}
	p("\n## Where the run's time went\n\n| phase | time |\n|---|---:|\n")
	for _, ph := range r.Phases {
		p("| %s | %s |\n", ph.Name, ph.Took.Round(10*time.Millisecond))
	}
	p("| **whole run** (with database setup) | **%s** |\n", r.Total.Round(time.Second))
	return w.Flush()
}

// target says whether and where recall and latency meet the goal.
func (r *report) target() string {
	for _, row := range r.Search.Rows {
		if row.Recall >= recallTarget && row.Vector.P95 <= latencyTarget {
			return fmt.Sprintf("met at ef_search %d (recall %.3f, vector p95 %s ms, hybrid p95 %s ms)",
				row.EfSearch, row.Recall, ms(row.Vector.P95), msOrDash(row.Hybrid, row.Hybrid.P95))
		}
	}
	var parts []string
	for _, row := range r.Search.Rows {
		parts = append(parts, fmt.Sprintf("ef_search %d: recall %.3f, p95 %s ms", row.EfSearch, row.Recall, ms(row.Vector.P95)))
	}
	return "not met (" + strings.Join(parts, "; ") + ")"
}

func (r *report) writeLangchaingo(p func(string, ...any)) {
	lc := r.Langchaingo
	p("## Side by side: langchaingo vectorstores/pgvector v0.1.14\n\n")
	if lc == nil || lc.Skipped != "" {
		why := "not run"
		if lc != nil {
			why = lc.Skipped
		}
		p("Skipped: %s.\n\n", why)
		return
	}
	p("The chunks the service stored, read back in id order, with the same embedding inputs and the same embedder (an adapter "+
		"implementing embeddings.Embedder over embed.NewNgram()), stored with `AddDocuments` in batches of %d into langchaingo's own "+
		"tables (%s, %s) in the same database, created by `pgvector.New` with WithVectorDimensions(%d) and WithHNSWIndex(%d, %d, "+
		"vector_cosine_ops), so its index is maintained during the inserts as ours is. Searches are `SimilaritySearch(q, %d)`, "+
		"the same queries; recall against an exact scan of its own vectors.\n\n",
		lc.Batch, lcTable, lcCollTable, r.Dim, lcHNSWM, lcHNSWEfConstruction, resultsK)
	best := r.Search.Rows[0]
	for _, row := range r.Search.Rows {
		if row.EfSearch == 100 {
			best = row
		}
	}
	p("| | Timbre (knowledge.Service) | langchaingo |\n|---|---|---|\n")
	p("| vector column | `%s` (%.0f B per value), dimension in a `dim` column, HNSW on `embedding::halfvec(%d)` per dimension | `%s` (%.0f B per value) |\n",
		r.Ours.Type, r.Ours.AvgBytes, r.Dim, r.Theirs.Type, r.Theirs.AvgBytes)
	var runs, cpus []string
	for _, run := range r.Ingest {
		runs = append(runs, fmt.Sprintf("%.0f chunks/s (Workers=%d)", run.ChunksPerSecond(), run.Workers))
		cpus = append(cpus, fmt.Sprintf("%s / %s cores (Workers=%d)", cores(run.CPU.Self), cores(run.CPU.Postgres), run.Workers))
	}
	p("| ingestion | %s: files → extract, chunk, embed, chunks + full text + vectors | %.0f chunks/s: embed + batched INSERTs of text and vectors |\n",
		strings.Join(runs, ", "), lc.ChunksPerSecond())
	p("| ingestion CPU (Go / PostgreSQL) | %s | %s / %s cores |\n", strings.Join(cpus, ", "), cores(lc.CPU.Self), cores(lc.CPU.Postgres))
	ours := r.Ingest[len(r.Ingest)-1].Mem
	p("| peak RSS during ingestion (RSS before) | %s (%s) | %s (%s; the chunk texts are in memory before) |\n",
		bytesMB(ours.PeakRSS), bytesMB(ours.RSSBefore), bytesMB(lc.Mem.PeakRSS), bytesMB(lc.Mem.RSSBefore))
	p("| search p50 / p95 / p99 ms | %s / %s / %s (vector, ef_search %d) | %s / %s / %s |\n", ms(best.Vector.P50), ms(best.Vector.P95),
		ms(best.Vector.P99), best.EfSearch, ms(lc.Search.P50), ms(lc.Search.P95), ms(lc.Search.P99))
	p("| recall@10 (strict) | %.3f (%.3f) | %.3f (%.3f) |\n", best.Recall, best.Strict, lc.Recall, lc.Strict)
	p("| exact scan p50 / p95 ms | %s / %s | %s / %s |\n", ms(r.Search.Exact.P50), ms(r.Search.Exact.P95), ms(lc.Exact.P50), ms(lc.Exact.P95))
	uses := "no: it never reads its HNSW index"
	if lc.UsesIndex {
		uses = "yes"
	}
	index := "not shown: recall is 1 at every ef_search"
	for _, row := range r.Search.Rows {
		if row.Recall < 1 {
			index = "yes: recall below the exact scan's, varying with ef_search"
		}
	}
	p("| search uses the HNSW index | %s | %s |\n\n", index, uses)
	p("The plan of the query SimilaritySearch sends (captured with a pgx tracer, EXPLAINed with its arguments)")
	if !lc.UsesIndex {
		p(": the MATERIALIZED CTE that filters on vector_dims reads the whole table, and the ORDER BY distance over its " +
			"result cannot be served by the index")
	}
	p(":\n\n%s\n", codeBlock(lc.Plan))
}

// vectorLiteral matches a vector constant in a plan: '[0.1,-0.2,…]'.
var vectorLiteral = regexp.MustCompile(`'\[[-+0-9.,eE]*\]'`)

// codeBlock indents lines as a Markdown code block, with vector constants
// shortened to '[…]'.
func codeBlock(lines []string) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString("    " + vectorLiteral.ReplaceAllString(l, "'[…]'") + "\n")
	}
	return b.String()
}

// msOrDash is ms(d), or "–" when l measured nothing.
func msOrDash(l latency, d time.Duration) string {
	if l.N == 0 {
		return "–"
	}
	return ms(d)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d.Microseconds())/1000) }

func mb(n int64) float64 { return float64(n) / 1e6 }

func bytesMB(n int64) string {
	if n < 0 {
		return "?"
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

func cores(c float64) string {
	if c < 0 {
		return "?"
	}
	return fmt.Sprintf("%.2f", c)
}

func pct(part, whole float64) string {
	if whole <= 0 {
		return "?"
	}
	return fmt.Sprintf("%.0f%%", 100*part/whole)
}

// counts formats a map of counts, largest first.
func counts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if m[a] != m[b] {
			return m[b] - m[a]
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}
