// Command vectors benchmarks Timbre's knowledge search at scale: ingestion
// throughput through the real pipeline, search latency, recall of the HNSW
// index against an exact scan, and the cost of building the index, side by
// side with langchaingo's vectorstores/pgvector on the same chunks.
//
// The corpus is real text read offline from the Go distribution under
// $(go env GOROOT): its Go sources, documentation, API lists and notes, in a
// fixed pseudo-random order, added document by document until -chunks
// chunks. Everything runs in one process against a fresh database
// timbre_bench_vectors on TIMBRE_DATABASE_URL's server (dropped first if
// present, and at the end unless -keep), with an embedded bus. The report is
// Markdown on stdout; progress goes to stderr. See README.md in this
// directory.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/timbre-ai/timbre/bench/benchdb"
	"github.com/timbre-ai/timbre/bus"
	"github.com/timbre-ai/timbre/db"
	"github.com/timbre-ai/timbre/migrations"
)

// Defaults of the flags.
const (
	// defaultDatabaseURL is the database `make setup` creates; the benchmark
	// database is created next to it.
	defaultDatabaseURL = "postgres://timbre:timbre@127.0.0.1:5432/timbre?sslmode=disable"
	// databaseName is the benchmark's own database.
	databaseName   = "timbre_bench_vectors"
	defaultChunks  = 100_000
	defaultQueries = 300
	// resultsK is how many passages each search returns: recall@10.
	resultsK = 10
	// recallTarget and latencyTarget are the goal the report checks:
	// recall@10 of at least 0.95 with a p95 latency of at most 20 ms.
	recallTarget  = 0.95
	latencyTarget = 20 * time.Millisecond
)

// options are the command-line flags.
type options struct {
	databaseURL     string
	goroot          string
	chunks          int
	queries         int
	workers         []int
	efSearch        []int
	efVectorOnly    []int
	lcBatch         int
	keep            bool
	skipLangchaingo bool
	poolSize        int
}

const usageText = `Usage: go run ./bench/vectors [flags]

Benchmarks knowledge ingestion and search on -chunks chunks of real text from
the Go distribution ($(go env GOROOT)): ingestion through knowledge.Service
with the local/ngram-v1 embedder, search latency through SearchBases (vector
and hybrid) at several hnsw.ef_search values, recall@10 against an exact scan,
and the HNSW index build, next to langchaingo's vectorstores/pgvector on the
same chunks. It creates the database ` + databaseName + ` on the server of
TIMBRE_DATABASE_URL (dropping it first if present) and drops it at the end
unless -keep. The Markdown report goes to stdout, progress to stderr.

Flags:
`

// parseFlags reads the flags; lookupEnv is os.LookupEnv outside tests.
func parseFlags(args []string, lookupEnv func(string) (string, bool), stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("bench/vectors", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usageText)
		fs.PrintDefaults()
	}
	var o options
	var workers, ef, efVector string
	// The default is not shown in --help: it may hold a password.
	fs.StringVar(&o.databaseURL, "database-url", "", "PostgreSQL `URL` of a role with CREATEDB; the benchmark database is created on its server "+
		"(default $TIMBRE_DATABASE_URL, else the local database `make setup` creates)")
	fs.StringVar(&o.goroot, "goroot", "", "Go root whose files make the corpus (default: `go env GOROOT`)")
	fs.IntVar(&o.chunks, "chunks", defaultChunks, "stop adding documents once the corpus reaches this many chunks")
	fs.IntVar(&o.queries, "queries", defaultQueries, "search queries, taken from sentences of the corpus")
	fs.StringVar(&workers, "workers", "1,2", "knowledge.Config.Workers values to ingest the whole corpus with, one run each (comma-separated); "+
		"searches run on the last")
	fs.StringVar(&ef, "ef-search", "40,100,200", "hnsw.ef_search values to measure in vector and hybrid mode (comma-separated)")
	fs.StringVar(&efVector, "ef-search-vector", "400,1000", "more hnsw.ef_search values to measure in vector mode only, "+
		"to find where recall reaches the target (comma-separated; \"\" for none)")
	fs.IntVar(&o.lcBatch, "lc-batch", 512, "documents per langchaingo AddDocuments call")
	fs.IntVar(&o.poolSize, "db-conns", 8, "size of the pgx pool the knowledge service uses")
	fs.BoolVar(&o.keep, "keep", false, "keep the database "+databaseName+" at the end")
	fs.BoolVar(&o.skipLangchaingo, "skip-langchaingo", false, "leave out the langchaingo comparison")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if o.databaseURL == "" {
		o.databaseURL = defaultDatabaseURL
		if v, ok := lookupEnv("TIMBRE_DATABASE_URL"); ok && v != "" {
			o.databaseURL = v
		}
	}
	var err error
	if o.workers, err = intList("-workers", workers, 1, 64); err != nil {
		return options{}, err
	}
	if o.efSearch, err = intList("-ef-search", ef, 1, 1000); err != nil {
		return options{}, err
	}
	if strings.TrimSpace(efVector) != "" {
		if o.efVectorOnly, err = intList("-ef-search-vector", efVector, 1, 1000); err != nil {
			return options{}, err
		}
	}
	switch {
	case o.chunks < 1:
		return options{}, fmt.Errorf("-chunks must be at least 1, not %d", o.chunks)
	case o.queries < 1:
		return options{}, fmt.Errorf("-queries must be at least 1, not %d", o.queries)
	case o.lcBatch < 1:
		return options{}, fmt.Errorf("-lc-batch must be at least 1, not %d", o.lcBatch)
	case o.poolSize < 2:
		return options{}, fmt.Errorf("-db-conns must be at least 2, not %d", o.poolSize)
	}
	return o, nil
}

// intList parses "1,2,3" into integers from lo to hi.
func intList(flagName, s string, lo, hi int) ([]int, error) {
	var out []int
	for _, part := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil || n < lo || n > hi {
			return nil, fmt.Errorf("%s: %q is not a list of integers from %d to %d", flagName, s, lo, hi)
		}
		out = append(out, n)
	}
	return out, nil
}

func main() {
	o, err := parseFlags(os.Args[1:], os.LookupEnv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/vectors:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench/vectors:", err)
		os.Exit(1)
	}
}

// run sets up the database and the buses, runs the benchmark and prints the
// report.
func run(ctx context.Context, o options, stdout, stderr io.Writer) (err error) {
	started := time.Now()
	if o.goroot == "" {
		if o.goroot, err = goRoot(ctx); err != nil {
			return err
		}
	}
	_ = benchdb.Drop(o.databaseURL, databaseName) // left by an interrupted or -keep run
	dbURL, err := benchdb.Create(ctx, o.databaseURL, databaseName)
	if err != nil {
		return err
	}
	defer func() {
		if o.keep {
			fmt.Fprintf(stderr, "kept database %s\n", databaseName)
			return
		}
		if derr := benchdb.Drop(o.databaseURL, databaseName); derr != nil && err == nil {
			err = derr
		}
	}()
	pool, err := db.Open(ctx, dbURL, int32(o.poolSize))
	if err != nil {
		return err
	}
	defer pool.Close()
	if _, err := db.Migrate(ctx, pool, migrations.FS); err != nil {
		return fmt.Errorf("migrate %s: %w", databaseName, err)
	}
	busDir, err := os.MkdirTemp("", "timbre-bench-vectors-")
	if err != nil {
		return fmt.Errorf("bus directory: %w", err)
	}
	defer os.RemoveAll(busDir)
	opened := 0
	openBus := func(ctx context.Context) (*bus.Bus, error) {
		opened++
		return bus.Open(ctx, bus.Config{DataDir: filepath.Join(busDir, strconv.Itoa(opened))}, slog.New(slog.DiscardHandler))
	}
	rep, err := bench(ctx, deps{pool: pool, dbURL: dbURL, openBus: openBus}, o, stderr)
	if err != nil {
		return err
	}
	rep.Total = time.Since(started)
	return rep.write(stdout)
}

// goRoot asks the go command for GOROOT, falling back to $GOROOT.
func goRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOROOT").Output()
	if root := strings.TrimSpace(string(out)); err == nil && root != "" {
		return root, nil
	}
	if root := os.Getenv("GOROOT"); root != "" {
		return root, nil
	}
	return "", errors.New("cannot find the Go root: put the go command on PATH or pass -goroot")
}
