// Command api is a load benchmark of Timbre's HTTP API. It creates a fresh
// database, seeds it through the domain services, serves the real API
// (api.New) and a bare Echo server on loopback ports, and drives both with an
// in-process HTTP client, one scenario after another in the same run:
//
//	bare-agent            bare Echo, the exact bytes of one GET /api/agents/{id} response
//	agent-get             GET /api/agents/{id}, cycling over the seeded agents
//	agent-get-nocache     the same on a server with TIMBRE_CACHE_TTL=0
//	bare-search           bare Echo, the exact bytes of one search response
//	agent-search          GET /api/agents?scope=public&q=<word>&limit=20, cycling over words
//	agent-search-nocache  the same on a server with TIMBRE_CACHE_TTL=0
//	agent-list            GET /api/agents?scope=public&limit=20
//
// The cached server runs with the production default TIMBRE_CACHE_TTL (30 s).
//
// It prints requests per second and latency percentiles for each, and the
// throughput of the real endpoints as a percentage of the bare handler's.
// The database is dropped at the end, also on Ctrl-C. See bench/README.md.
package main

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/timbre-ai/timbre/accounts"
	"github.com/timbre-ai/timbre/agents"
	"github.com/timbre-ai/timbre/api"
	"github.com/timbre-ai/timbre/bench/benchdb"
	"github.com/timbre-ai/timbre/db"
)

// defaultAdminURL is the database `make test` prepares.
const defaultAdminURL = "postgres://timbre:timbre@127.0.0.1:5432/timbre?sslmode=disable"

// targetPercent is the goal for the real endpoints' throughput
// relative to the bare handler's.
const targetPercent = 40

// scenarioNames lists every scenario in the order they run.
var scenarioNames = [...]string{"bare-agent", "agent-get", "agent-get-nocache", "bare-search", "agent-search", "agent-search-nocache", "agent-list"}

// cacheTTL is timbre serve's default TIMBRE_CACHE_TTL.
const cacheTTL = 30 * time.Second

// options are the command-line flags.
type options struct {
	adminURL    string
	concurrency int
	duration    time.Duration
	warmup      time.Duration
	agents      int
	dbConns     int
	logLevel    slog.Level
	seed        uint64
	scenarios   []string
	pgSettings  [][2]string
	json        bool
	cpuProfile  string
	command     string
}

const usageText = `Usage: go run ./bench/api [flags]

Load benchmark of Timbre's HTTP API. Creates a database timbre_bench_<random>
(dropped at the end, also on Ctrl-C), seeds one user, an API key and -agents
public agents through the domain services, then serves the real API (api.New,
every production middleware, request log at -log-level to io.Discard) and a
bare Echo server (echo.New(), no middleware, fixed JSON of the same size) on
127.0.0.1 and drives both with -c keep-alive connections, scenario after
scenario: %s.

The client, both servers and PostgreSQL share the machine's CPUs: the figures
are for the whole loop, and other work on the machine disturbs them (the
"host CPU" column shows it). Exits 1 if any request failed.

Flags:
`

func parseFlags(args []string, lookupEnv func(string) (string, bool), stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("bench/api", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, usageText, strings.Join(scenarioNames[:], ", "))
		fs.PrintDefaults()
	}
	var o options
	var level, scen string
	// The default is not shown in --help: it may hold a password.
	fs.StringVar(&o.adminURL, "admin-url", "", "PostgreSQL `URL` of a role with CREATEDB (default $TIMBRE_TEST_DATABASE_URL, else "+
		"the local database `make setup` creates)")
	fs.IntVar(&o.concurrency, "c", 32, "concurrent connections (one request in flight on each)")
	fs.DurationVar(&o.duration, "d", 10*time.Second, "measured duration of each scenario")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured warm-up before each scenario")
	fs.IntVar(&o.agents, "agents", 2000, "public agents to seed")
	fs.IntVar(&o.dbConns, "db-conns", 16, "the API server's pgx pool size (timbre serve's default TIMBRE_DB_MAX_CONNS)")
	fs.StringVar(&level, "log-level", "warn", "the API server's slog level (debug, info, warn, error); logs go to io.Discard")
	fs.Uint64Var(&o.seed, "seed", 1, "random seed of the generated cards and request order")
	fs.StringVar(&scen, "scenarios", strings.Join(scenarioNames[:], ","), "comma-separated scenarios to run (they run in the fixed order above)")
	var pgSettings string
	fs.StringVar(&pgSettings, "pg-settings", "", "PostgreSQL settings for the API server's connections, as `name=value,…` (e.g. plan_cache_mode=force_generic_plan)")
	fs.BoolVar(&o.json, "json", false, "print the report as JSON instead of a table")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the load phase (all scenarios, not seeding) to `file`")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if o.adminURL == "" {
		o.adminURL = defaultAdminURL
		if v, ok := lookupEnv("TIMBRE_TEST_DATABASE_URL"); ok && v != "" {
			o.adminURL = v
		}
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if err := o.logLevel.UnmarshalText([]byte(level)); err != nil {
		return options{}, fmt.Errorf("-log-level: %w", err)
	}
	switch {
	case o.concurrency < 1 || o.concurrency > 4096:
		return options{}, errors.New("-c must be from 1 to 4096")
	case o.duration <= 0:
		return options{}, errors.New("-d must be positive")
	case o.warmup < 0:
		return options{}, errors.New("-warmup must not be negative")
	case o.agents < 1 || o.agents > 1_000_000:
		return options{}, errors.New("-agents must be from 1 to 1000000")
	case o.dbConns < 1 || o.dbConns > 1000:
		return options{}, errors.New("-db-conns must be from 1 to 1000")
	}
	for _, s := range strings.Split(scen, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !slices.Contains(scenarioNames[:], s) {
			return options{}, fmt.Errorf("-scenarios: unknown scenario %q (known: %s)", s, strings.Join(scenarioNames[:], ", "))
		}
		if !slices.Contains(o.scenarios, s) {
			o.scenarios = append(o.scenarios, s)
		}
	}
	if len(o.scenarios) == 0 {
		return options{}, errors.New("-scenarios: name at least one scenario")
	}
	for _, kv := range strings.Split(pgSettings, ",") {
		if strings.TrimSpace(kv) == "" {
			continue
		}
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok || !validSettingName(k) || v == "" || strings.ContainsAny(v, " '\\") {
			return options{}, fmt.Errorf("-pg-settings: %q is not name=value", kv)
		}
		o.pgSettings = append(o.pgSettings, [2]string{k, v})
	}
	slices.SortFunc(o.scenarios, func(a, b string) int {
		return slices.Index(scenarioNames[:], a) - slices.Index(scenarioNames[:], b)
	})
	o.command = strings.TrimSpace("go run ./bench/api " + strings.Join(args, " "))
	return o, nil
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	opts, err := parseFlags(args, os.LookupEnv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "bench/api: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	rep, err := benchmark(ctx, opts, stderr)
	if err != nil && ctx.Err() != nil {
		fmt.Fprintln(stderr, "bench/api: interrupted")
		return 130
	}
	if err != nil {
		fmt.Fprintf(stderr, "bench/api: %v\n", err)
		return 1
	}
	if opts.json {
		err = writeJSON(stdout, rep)
	} else {
		err = writeTable(stdout, rep)
	}
	if err != nil {
		fmt.Fprintf(stderr, "bench/api: write report: %v\n", err)
		return 1
	}
	for _, r := range rep.Results {
		if r.Errors > 0 {
			fmt.Fprintf(stderr, "bench/api: %s had %d failed requests; its figures are not valid\n", r.Scenario, r.Errors)
			return 1
		}
	}
	return 0
}

// benchmark sets everything up, runs the scenarios and tears down.
func benchmark(ctx context.Context, o options, progress io.Writer) (Report, error) {
	say := func(format string, args ...any) { fmt.Fprintf(progress, "bench/api: "+format+"\n", args...) }

	name := "timbre_bench_" + randomHex(6)
	dbURL, err := benchdb.Create(ctx, o.adminURL, name)
	if err != nil {
		return Report{}, err
	}
	say("created database %s", name)
	defer func() {
		if err := benchdb.Drop(o.adminURL, name); err != nil {
			say("%v (drop it by hand)", err)
		} else {
			say("dropped database %s", name)
		}
	}()

	// Migrate on a pool of its own: db.Open registers the vector types only
	// on connections made after the extension exists, as in production,
	// where `timbre migrate` runs before `timbre serve`.
	if err := benchdb.Migrate(ctx, dbURL); err != nil {
		return Report{}, err
	}
	serverURL := dbURL
	for _, kv := range o.pgSettings {
		if serverURL, err = benchdb.WithParam(serverURL, kv[0], kv[1]); err != nil {
			return Report{}, err
		}
	}
	pool, err := db.Open(ctx, serverURL, int32(o.dbConns))
	if err != nil {
		return Report{}, err
	}
	defer pool.Close()
	var pgVersion string
	if err := pool.QueryRow(ctx, `SELECT current_setting('server_version')`).Scan(&pgVersion); err != nil {
		return Report{}, fmt.Errorf("bench: server version: %w", err)
	}

	say("seeding %d agents (each created and published through agents.Service)…", o.agents)
	seedStart := time.Now()
	data, err := seedDatabase(ctx, dbURL, o)
	if err != nil {
		return Report{}, err
	}
	// Fresh statistics and a vacuumed table, so autovacuum does not wake up
	// in the middle of a measurement and plans are the steady-state ones.
	if _, err := pool.Exec(ctx, `VACUUM ANALYZE`, pgx.QueryExecModeSimpleProtocol); err != nil {
		return Report{}, fmt.Errorf("bench: vacuum: %w", err)
	}
	seedTime := time.Since(seedStart)
	say("seeded in %.1fs", seedTime.Seconds())

	logger := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: o.logLevel}))
	// Two real servers on the same pool: production defaults (cache on) and
	// the cache turned off, to show what the cache buys.
	newServer := func(ttl time.Duration) (string, func(), error) {
		return serve(api.New(api.Params{
			Config:   api.Config{Version: "bench"},
			Logger:   logger,
			Accounts: accounts.NewService(pool, accounts.Config{KeyCacheTTL: ttl}),
			Agents:   agents.NewService(pool, agents.Config{CacheTTL: ttl, CacheEntries: 10_000}),
			Metrics:  prometheus.NewRegistry(),
		}))
	}
	apiURL, closeAPI, err := newServer(cacheTTL)
	if err != nil {
		return Report{}, err
	}
	defer closeAPI()
	noCacheURL, closeNoCache, err := newServer(0)
	if err != nil {
		return Report{}, err
	}
	defer closeNoCache()

	table, closeBare, err := scenarioTable(ctx, apiURL, noCacheURL, data, o.seed)
	if err != nil {
		return Report{}, err
	}
	defer closeBare()

	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return Report{}, fmt.Errorf("bench: cpu profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return Report{}, fmt.Errorf("bench: cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}

	var results []Result
	for _, name := range o.scenarios {
		sc := table[name]
		say("%s: %s warm-up, %s measured, %d connections", name, o.warmup, o.duration, o.concurrency)
		runtime.GC() // start each scenario without the previous one's garbage
		client := newClient(o.concurrency)
		res, err := sc.run(ctx, client, o.concurrency, o.warmup, o.duration)
		client.CloseIdleConnections()
		if err != nil {
			return Report{}, err
		}
		r := summarize(name, sc.desc, res)
		say("%s: %.0f req/s, p99 %.2f ms, %d errors", name, r.RPS, r.P99, r.Errors)
		results = append(results, r)
	}

	return Report{
		Machine: Machine{
			NumCPU: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), GoVersion: runtime.Version(),
			OS: runtime.GOOS + "/" + runtime.GOARCH, Postgres: pgVersion, Echo: echo.Version,
		},
		Settings: Settings{
			Concurrency: o.concurrency, Duration: o.duration.String(), Warmup: o.warmup.String(),
			Agents: o.agents, DBConns: o.dbConns, LogLevel: o.logLevel.String(), Seed: o.seed,
			Scenarios: strings.Join(o.scenarios, ","), Command: o.command, SeedSeconds: seedTime.Seconds(),
			PGSettings: settingsString(o.pgSettings),
		},
		Results:   results,
		Ratios:    ratios(results),
		TargetPct: targetPercent,
	}, nil
}

// describedScenario is a scenario with the line the report prints about it.
type describedScenario struct {
	scenario
	desc string
}

// scenarioTable starts the bare Echo server, serving the exact bytes of a
// real agent response and a real search response, and returns every
// scenario by name, with a function that stops the bare server.
func scenarioTable(ctx context.Context, apiURL, noCacheURL string, data seeded, seed uint64) (map[string]describedScenario, func(), error) {
	auth := http.Header{"Authorization": {"Bearer " + data.apiKey}}
	rng := rand.New(rand.NewPCG(seed, 2))
	ids := slices.Clone(data.agentIDs)
	rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	words := searchWords()
	rng.Shuffle(len(words), func(i, j int) { words[i], words[j] = words[j], words[i] })

	getPaths := make([]string, len(ids))
	for i, id := range ids {
		getPaths[i] = "/api/agents/" + id
	}
	searchPaths := make([]string, len(words))
	for i, w := range words {
		searchPaths[i] = "/api/agents?scope=public&q=" + url.QueryEscape(w) + "&limit=20"
	}
	on := func(base string, paths []string) []string {
		out := make([]string, len(paths))
		for i, p := range paths {
			out[i] = base + p
		}
		return out
	}
	getURLs, searchURLs := on(apiURL, getPaths), on(apiURL, searchPaths)

	agentBody, err := sample(ctx, getURLs[0], auth)
	if err != nil {
		return nil, nil, err
	}
	searchBody, err := sample(ctx, searchURLs[0], auth)
	if err != nil {
		return nil, nil, err
	}
	bare := echo.New()
	bare.HideBanner, bare.HidePort = true, true
	bare.GET("/fixed/agent", func(c echo.Context) error { return c.JSONBlob(http.StatusOK, agentBody) })
	bare.GET("/fixed/search", func(c echo.Context) error { return c.JSONBlob(http.StatusOK, searchBody) })
	bareURL, closeBare, err := serve(bare)
	if err != nil {
		return nil, nil, err
	}

	table := map[string]describedScenario{
		"bare-agent": {scenario{targets: []string{bareURL + "/fixed/agent"}},
			fmt.Sprintf("bare Echo: fixed %d-byte JSON, the bytes of one real GET /api/agents/{id} response", len(agentBody))},
		"agent-get": {scenario{targets: getURLs, header: auth},
			fmt.Sprintf("GET /api/agents/{id}, API key, cycling over %d agents (cache TTL %s)", len(getURLs), cacheTTL)},
		"agent-get-nocache": {scenario{targets: on(noCacheURL, getPaths), header: auth},
			fmt.Sprintf("GET /api/agents/{id}, API key, cycling over %d agents, cache off", len(getURLs))},
		"bare-search": {scenario{targets: []string{bareURL + "/fixed/search"}},
			fmt.Sprintf("bare Echo: fixed %d-byte JSON, the bytes of one real search response", len(searchBody))},
		"agent-search": {scenario{targets: searchURLs, header: auth},
			fmt.Sprintf("GET /api/agents?scope=public&q=<word>&limit=20, API key, cycling over %d words (cache TTL %s)", len(searchURLs), cacheTTL)},
		"agent-search-nocache": {scenario{targets: on(noCacheURL, searchPaths), header: auth},
			fmt.Sprintf("GET /api/agents?scope=public&q=<word>&limit=20, API key, cycling over %d words, cache off", len(searchURLs))},
		"agent-list": {scenario{targets: []string{apiURL + "/api/agents?scope=public&limit=20"}, header: auth},
			"GET /api/agents?scope=public&limit=20 (newest first, no query), API key"},
	}
	for name, sc := range table {
		sc.name = name
		table[name] = sc
	}
	return table, closeBare, nil
}

// serve starts h on a loopback port with the production server's timeouts
// and returns its base URL and a function that stops it.
func serve(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("bench: listen: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { _ = srv.Close() }, nil
}

// sample fetches one response body, which must be a 200.
func sample(ctx context.Context, u string, header http.Header) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("bench: sample %s: %w", u, err)
	}
	req.Header = header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("bench: sample %s: %w", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("bench: sample %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("bench: sample %s: %s: %s", u, resp.Status, body)
	}
	return body, nil
}

func settingsString(kvs [][2]string) string {
	parts := make([]string, len(kvs))
	for i, kv := range kvs {
		parts[i] = kv[0] + "=" + kv[1]
	}
	return strings.Join(parts, ",")
}

// validSettingName reports whether s looks like a PostgreSQL setting name.
func validSettingName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r == '.' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = crand.Read(b)
	return hex.EncodeToString(b)
}
