// Command recall runs Timbre's retrieval evaluation: the labelled questions
// of bench/retrieval over the Go distribution's documentation, ingested
// through the real knowledge service into a scratch database, scored as
// recall@5, recall@10 and MRR@10 for vector-only, full-text-only and hybrid
// search, for each local embedder.
//
//	go run ./bench/recall            (needs `make setup`: PostgreSQL and the word vectors)
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/timbre-ai/timbre/bench/benchdb"
	"github.com/timbre-ai/timbre/bench/retrieval"
	"github.com/timbre-ai/timbre/bus"
	"github.com/timbre-ai/timbre/db"
	"github.com/timbre-ai/timbre/knowledge"
	"github.com/timbre-ai/timbre/knowledge/embed"
)

const scratchDB = "timbre_bench_recall"

func main() {
	dataDir := flag.String("data-dir", envOr("TIMBRE_DATA_DIR", ".data"), "where the word-vector table is (TIMBRE_DATA_DIR)")
	dbURL := flag.String("database-url", envOr("TIMBRE_DATABASE_URL", "postgres://timbre:timbre@127.0.0.1:5432/timbre?sslmode=disable"), "server to create the scratch database on")
	questions := flag.String("questions", "bench/retrieval/questions.json", "the labelled questions")
	flag.Parse()
	if err := run(*dbURL, *dataDir, *questions); err != nil {
		fmt.Fprintln(os.Stderr, "recall:", err)
		os.Exit(1)
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func run(dbURL, dataDir, questionsPath string) error {
	ctx := context.Background()
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		return fmt.Errorf("go env GOROOT: %w", err)
	}
	goroot := strings.TrimSpace(string(out))
	docs, err := retrieval.Documents(goroot)
	if err != nil {
		return err
	}
	qs, err := retrieval.Load(questionsPath)
	if err != nil {
		return err
	}
	wink, err := embed.New(embed.Config{Provider: "local", Model: "wink", DataDir: dataDir})
	if err != nil {
		return fmt.Errorf("%w (run `make setup` first)", err)
	}

	pool, drop, err := scratchDatabase(ctx, dbURL)
	if err != nil {
		return err
	}
	defer drop()
	tmp, err := os.MkdirTemp("", "timbre-recall-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	b, err := bus.Open(ctx, bus.Config{DataDir: filepath.Join(tmp, "nats")}, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer b.Close(context.Background())

	fmt.Fprintf(os.Stderr, "recall: %d questions over %d documents from %s/doc\n", len(qs), len(docs), goroot)
	ev, err := retrieval.Evaluate(ctx, pool, b, []knowledge.Embedder{embed.NewNgram(), wink}, docs, qs)
	if err != nil {
		return err
	}
	fmt.Printf("Retrieval evaluation: %d questions, Go %s documentation (%s)\n\n", len(qs), goVersion(goroot), strings.Join(retrieval.Names(), ", "))
	fmt.Println("| embedder | chunks | ingest | mode | recall@5 | recall@10 | MRR@10 | mean search |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	for _, r := range ev.Rows {
		fmt.Printf("| %s | %d | %s | %s | %.3f | %.3f | %.3f | %s |\n", r.Embedder, ev.Chunks[r.Embedder],
			ev.Ingest[r.Embedder].Round(10*time.Millisecond), r.Mode, r.Scores.RecallAt5, r.Scores.RecallAt10, r.Scores.MRRAt10,
			r.Latency.Round(10*time.Microsecond))
	}
	return nil
}

func goVersion(goroot string) string {
	b, err := os.ReadFile(filepath.Join(goroot, "VERSION"))
	if err != nil {
		return "?"
	}
	return strings.SplitN(string(b), "\n", 2)[0]
}

// scratchDatabase creates a fresh, migrated database on the server of
// adminURL and returns a pool on it and a function that drops it.
func scratchDatabase(ctx context.Context, adminURL string) (*pgxpool.Pool, func(), error) {
	_ = benchdb.Drop(adminURL, scratchDB) // left by an interrupted run
	url, err := benchdb.Create(ctx, adminURL, scratchDB)
	if err != nil {
		return nil, nil, err
	}
	drop := func() { _ = benchdb.Drop(adminURL, scratchDB) }
	if err := benchdb.Migrate(ctx, url); err != nil {
		drop()
		return nil, nil, err
	}
	pool, err := db.Open(ctx, url, 8)
	if err != nil {
		drop()
		return nil, nil, err
	}
	return pool, func() { pool.Close(); drop() }, nil
}
