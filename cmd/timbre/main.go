// Command timbre is the Timbre server: one binary with the subcommands
// serve, worker, migrate and version. This file is wiring only.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/timbre-ai/timbre/accounts"
	"github.com/timbre-ai/timbre/agents"
	"github.com/timbre-ai/timbre/agents/chat"
	"github.com/timbre-ai/timbre/agents/llm"
	"github.com/timbre-ai/timbre/api"
	"github.com/timbre-ai/timbre/bus"
	"github.com/timbre-ai/timbre/db"
	"github.com/timbre-ai/timbre/knowledge"
	"github.com/timbre-ai/timbre/knowledge/embed"
	"github.com/timbre-ai/timbre/knowledge/fetch"
	"github.com/timbre-ai/timbre/migrations"
	"github.com/timbre-ai/timbre/voice"
	"github.com/timbre-ai/timbre/voice/clone"
	"github.com/timbre-ai/timbre/voice/tts"
	"github.com/timbre-ai/timbre/voice/worker"
	"github.com/timbre-ai/timbre/webui"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func commandHelp(name string) string {
	switch name {
	case "serve":
		return "Runs the HTTP API and web app, with NATS embedded unless TIMBRE_NATS_URL is set.\nRefuses to start on a database whose schema is outdated (run `timbre migrate`)."
	case "migrate":
		return "Applies the embedded database migrations that are not applied yet, each in its own transaction."
	case "worker":
		return "Joins a NATS (TIMBRE_NATS_URL is required: an external NATS, or serve's embedded one when serve sets TIMBRE_NATS_LISTEN)\nas a voice worker: it synthesises speech with the voices under TIMBRE_DATA_DIR for every serve process on that NATS.\nRun several, on CPU or GPU machines, to scale speech out; nothing else changes."
	}
	return ""
}

const usage = `Timbre: agents that talk.

Usage: timbre <command> [flags]

Commands:
  serve     run the HTTP API and web app (NATS embedded by default)
  migrate   apply pending database migrations
  worker    join serve's NATS as a voice worker (scale speech out)
  version   print the version

Run 'timbre <command> --help' for the configuration variables.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "timbre", version)
		return 0
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
		return 0
	case "serve", "migrate", "worker":
	default:
		fmt.Fprintf(stderr, "timbre: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	cfg, err := loadConfig(cmd, rest, os.LookupEnv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "timbre %s: %v\n", cmd, err)
		return 2
	}
	logger := newLogger(cfg, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	switch cmd {
	case "migrate":
		err = migrate(ctx, cfg, logger, stdout)
	case "serve":
		err = serve(ctx, cfg, logger, stdout)
	case "worker":
		err = runWorker(ctx, cfg, logger)
	}
	if err != nil {
		logger.Error("timbre "+cmd+" failed", "error", err)
		return 1
	}
	return 0
}

func newLogger(cfg config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func migrate(ctx context.Context, cfg config, logger *slog.Logger, stdout io.Writer) error {
	pool, err := db.Open(ctx, cfg.DatabaseURL, 2)
	if err != nil {
		return err
	}
	defer pool.Close()
	applied, err := db.Migrate(ctx, pool, migrations.FS)
	for _, m := range applied {
		logger.Info("migration applied", "version", m.Version, "name", m.Name)
	}
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintln(stdout, "timbre migrate: database is up to date")
	} else {
		fmt.Fprintf(stdout, "timbre migrate: applied %d migration(s)\n", len(applied))
	}
	return nil
}

// serve wires the server: database → schema check → bus → domains → HTTP,
// then shuts down in the reverse order on SIGINT or SIGTERM.
func serve(ctx context.Context, cfg config, logger *slog.Logger, stdout io.Writer) error {
	pool, err := db.Open(ctx, cfg.DatabaseURL, int32(cfg.DBMaxConns))
	if err != nil {
		return err
	}
	defer pool.Close()
	if _, err := db.Check(ctx, pool, migrations.FS); err != nil {
		return err
	}

	b, err := bus.Open(ctx, bus.Config{URL: cfg.NATSURL, DataDir: cfg.DataDir, Listen: cfg.NATSListen}, logger.With("component", "bus"))
	if err != nil {
		return err
	}
	defer closeBus(b, logger)

	keyRevocations, err := b.Broadcast("timbre.keys.revoked")
	if err != nil {
		return err
	}
	accountsSvc := accounts.NewService(pool, accounts.Config{
		SessionTTL: cfg.SessionTTL, KeyCacheTTL: cfg.CacheTTL, Revocations: keyRevocations, Logger: logger,
	})
	stopRevocations, err := keyRevocations.Subscribe(accountsSvc.ForgetKey)
	if err != nil {
		return err
	}
	defer stopRevocations()
	agentChanges, err := b.Broadcast("timbre.agents.changed")
	if err != nil {
		return err
	}
	agentsSvc := agents.NewService(pool, agents.Config{
		CacheTTL: cfg.CacheTTL, CacheEntries: 10_000, Changes: agentChanges, Logger: logger,
	})
	// Changes made by other serve processes invalidate this one's cache.
	stopChanges, err := agentChanges.Subscribe(agentsSvc.Forget)
	if err != nil {
		return err
	}
	defer stopChanges()

	knowledgeSvc, err := newKnowledge(ctx, cfg, pool, b, logger)
	if err != nil {
		return err
	}
	// Ingestion workers stop after HTTP and before the bus closes.
	workersCtx, stopWorkers := context.WithCancel(context.WithoutCancel(ctx))
	workersDone := make(chan struct{})
	go func() {
		defer close(workersDone)
		if err := knowledgeSvc.Start(workersCtx); err != nil {
			logger.Error("knowledge workers stopped", "error", err)
		}
	}()
	defer func() {
		stopWorkers()
		<-workersDone
	}()

	chatSvc := chat.New(chat.Params{
		Pool:      pool,
		Agents:    agentsSvc,
		Knowledge: knowledgeSvc,
		Models:    newModels(ctx, cfg, defaultOllamaURL, logger),
		Config: chat.Config{ContextTokens: cfg.LLMContextTokens, ReplyTokens: cfg.LLMReplyTokens,
			MaxMessageBytes: cfg.MaxMessageBytes, Passages: 4},
		Logger: logger.With("component", "chat"),
	})
	// Memory summaries under way finish after HTTP stops, before the database closes.
	defer chatSvc.Close()

	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	ready := map[string]api.Pinger{"database": poolPinger{pool}, "bus": b}

	// Speech goes through the voice workers on the bus: the one in this
	// process by default, and any `timbre worker` that joins.
	localVoices := false
	if cfg.VoiceWorker {
		engine, err := openVoices(cfg, logger)
		if err != nil {
			logger.Warn("no voices in this process: speech is unavailable unless `timbre worker` processes join", "error", err, "how_to_fix", "make setup")
		} else {
			stopVoiceWorker, err := startVoiceWorker(context.WithoutCancel(ctx), cfg, b, engine, registry, logger)
			if err != nil {
				return err
			}
			defer stopVoiceWorker()
			localVoices = true
		}
	}
	voiceClient, err := worker.NewClient(b, worker.ClientConfig{Registerer: registry}, logger)
	if err != nil {
		return err
	}
	if localVoices || !cfg.VoiceWorker {
		ready["voice_workers"] = voiceWorkers{voiceClient}
	}
	if localVoices {
		waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if err := voiceClient.WaitReady(waitCtx); err != nil {
			logger.Warn("the voice worker has not answered yet", "error", err)
		}
		cancel()
	}
	// The service owns the client: closing it stops the client before the
	// worker drains.
	vad, err := clone.OpenVAD(clone.VADModelPath(cfg.DataDir), 1)
	if err != nil {
		logger.Warn("voice cloning is unavailable", "error", err, "how_to_fix", "make setup")
	} else {
		defer vad.Close()
	}
	voiceSvc := voice.New(voice.Params{Engine: voiceClient, Pool: pool, VAD: vad, Logger: logger.With("component", "voice")})
	defer voiceSvc.Close()
	if localVoices {
		// The first clone then need not wait for the built-in voices to be measured.
		go func() {
			if err := voiceSvc.Warm(ctx); err != nil && ctx.Err() == nil {
				logger.Warn("measuring the built-in voices failed; the first clone will try again", "error", err)
			}
		}()
	}
	recognizer, talkMgr, err := openVoiceChat(cfg, voiceSvc, agentsSvc, chatSvc, registry, logger)
	if err != nil {
		return err
	}
	if recognizer != nil {
		defer recognizer.Close()
	}
	server := api.New(api.Params{
		Config: api.Config{
			MaxBodyBytes:      cfg.MaxBodyBytes,
			MaxUploadBytes:    cfg.MaxUploadBytes,
			AuthRatePerMinute: cfg.AuthRatePerMinute,
			SecureCookies:     cfg.SecureCookies,
			Version:           version,
		},
		Logger:    logger,
		Accounts:  accountsSvc,
		Agents:    agentsSvc,
		Knowledge: knowledgeSvc,
		Chat:      chatSvc,
		Voice:     voiceSvc,
		Talk:      talkMgr,
		ASR:       recognizer,
		Ready:     ready,
		Metrics:   registry,
		UI:        webui.Handler(),
	})

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s (set TIMBRE_ADDR to another port?): %w", cfg.Addr, err)
	}
	httpServer := &http.Server{
		Handler:           server,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	go purgeSessions(ctx, accountsSvc, logger)

	serveErr := make(chan error, 1)
	go func() { serveErr <- httpServer.Serve(ln) }()
	url := "http://" + displayAddr(ln.Addr())
	logger.Info("timbre is serving", "url", url, "version", version, "data_dir", absPath(cfg.DataDir), "nats", natsMode(cfg))
	fmt.Fprintf(stdout, "\n  Timbre is running: open %s\n\n", url)

	select {
	case err := <-serveErr:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := httpServer.Shutdown(shutdownCtx); err != nil {
		logger.Warn("http shutdown incomplete", "error", err)
	}
	if talkMgr != nil {
		if err := talkMgr.Close(shutdownCtx); err != nil {
			logger.Warn("voice calls not all closed", "error", err)
		}
	}
	// Deferred: ingestion workers, bus, then database.
	logger.Info("http server stopped; stopping workers, closing bus and database")
	return nil
}

func closeBus(b *bus.Bus, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Close(ctx); err != nil {
		logger.Warn("bus close", "error", err)
	}
}

// runWorker joins an external NATS as a voice worker: it speaks with the
// voices under the data dir for every serve process on that NATS, until
// stopped.
func runWorker(ctx context.Context, cfg config, logger *slog.Logger) error {
	if cfg.NATSURL == "" {
		return errors.New("timbre worker needs TIMBRE_NATS_URL: workers join the NATS that `timbre serve` uses (serve's embedded NATS accepts them when TIMBRE_NATS_LISTEN is set)")
	}
	engine, err := openVoices(cfg, logger)
	if err != nil {
		return fmt.Errorf("voices: %w (run `make setup`, or set TIMBRE_DATA_DIR to where the voices are)", err)
	}
	b, err := bus.Open(ctx, bus.Config{URL: cfg.NATSURL, Name: "timbre-worker"}, logger.With("component", "bus"))
	if err != nil {
		_ = engine.Close()
		return err
	}
	defer closeBus(b, logger)
	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	stop, err := startVoiceWorker(context.WithoutCancel(ctx), cfg, b, engine, registry, logger)
	if err != nil {
		return err
	}
	defer stop()
	if cfg.MetricsAddr != "" {
		go serveMetrics(ctx, cfg.MetricsAddr, registry, logger)
	}
	logger.Info("worker ready", "nats", cfg.NATSURL)
	<-ctx.Done()
	logger.Info("worker stopping: finishing the syntheses under way")
	return nil
}

// serveMetrics serves a worker's /metrics until ctx ends.
func serveMetrics(ctx context.Context, addr string, reg *prometheus.Registry, logger *slog.Logger) {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	logger.Info("worker metrics", "url", "http://"+addr+"/metrics")
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Error("worker metrics server", "error", err)
	}
}

// voiceWorkers is ready when a voice worker is live.
type voiceWorkers struct{ c *worker.Client }

func (v voiceWorkers) Ping(context.Context) error {
	if len(v.c.Workers()) == 0 {
		return worker.ErrNoWorkers
	}
	return nil
}

func purgeSessions(ctx context.Context, svc *accounts.Service, logger *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := svc.PurgeExpiredSessions(ctx); err != nil && ctx.Err() == nil {
			logger.Warn("purge expired sessions", "error", err)
		} else if n > 0 {
			logger.Info("purged expired sessions", "count", n)
		}
		if n, err := svc.PurgeExpiredEmbedTokens(ctx); err != nil && ctx.Err() == nil {
			logger.Warn("purge expired embed tokens", "error", err)
		} else if n > 0 {
			logger.Info("purged expired embed tokens", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// newKnowledge builds the knowledge service with the configured embedder
// (the default for new knowledge bases) and every local embedder this
// machine can run, so knowledge bases made with any of them stay searchable.
func newKnowledge(ctx context.Context, cfg config, pool *pgxpool.Pool, b *bus.Bus, logger *slog.Logger) (*knowledge.Service, error) {
	primary, err := embed.New(embed.Config{
		Provider: cfg.EmbedProvider, Model: cfg.EmbedModel, BaseURL: cfg.EmbedBaseURL, APIKey: cfg.EmbedAPIKey, DataDir: cfg.DataDir,
	})
	if err != nil {
		return nil, fmt.Errorf("embedder: %w", err)
	}
	embedders := []knowledge.Embedder{primary}
	primaryModel := cfg.EmbedModel
	if primaryModel == "" {
		primaryModel = embed.ModelNgram
	}
	for _, model := range []string{embed.ModelNgram, embed.ModelWink} {
		if cfg.EmbedProvider == embed.ProviderLocal && strings.EqualFold(primaryModel, model) {
			continue // the primary already; the wink table is 41 MB to load
		}
		e, err := embed.New(embed.Config{Provider: embed.ProviderLocal, Model: model, DataDir: cfg.DataDir})
		if err != nil {
			logger.Info("local embedder not available", "model", model, "error", err)
			continue
		}
		embedders = append(embedders, e)
	}
	logger.Info("knowledge embedder", "default", primary.Name(), "embedders", len(embedders))
	return knowledge.New(ctx, knowledge.Params{
		Pool:      pool,
		Bus:       b,
		Embedders: embedders,
		Fetcher:   fetch.New(fetch.Config{Allow: cfg.FetchAllow, MaxBytes: cfg.MaxDocumentBytes}),
		Config:    knowledge.Config{MaxDocumentBytes: cfg.MaxDocumentBytes, Workers: cfg.IngestWorkers, Lease: cfg.IngestLease},
		Logger:    logger.With("component", "knowledge"),
	})
}

// openVoices opens the voices `make setup` prepared under the data dir, or
// says why there are none.
func openVoices(cfg config, logger *slog.Logger) (*tts.Piper, error) {
	dir := filepath.Join(cfg.DataDir, "voices")
	engine, err := tts.OpenPiper(tts.PiperConfig{Dir: dir, Threads: cfg.TTSThreads, Provider: cfg.TTSProvider, Slots: cfg.TTSSlots})
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(engine.Voices()))
	for _, v := range engine.Voices() {
		ids = append(ids, v.ID)
	}
	logger.Info("voices", "engine", "piper (sherpa-onnx)", "provider", cfg.TTSProvider, "threads", cfg.TTSThreads, "voices", strings.Join(ids, ","))
	return engine, nil
}

// startVoiceWorker serves engine's voices on the bus as a voice worker;
// stop drains it, then closes the engine.
func startVoiceWorker(ctx context.Context, cfg config, b *bus.Bus, engine *tts.Piper, reg prometheus.Registerer, logger *slog.Logger) (stop func(), err error) {
	w, err := worker.Start(ctx, b, engine, worker.Config{
		Slots: cfg.TTSSlots, Device: cfg.TTSProvider, Engines: []string{"piper"}, Version: version, Registerer: reg,
	}, logger)
	if err != nil {
		_ = engine.Close()
		return nil, err
	}
	logger.Info("voice worker ready", "worker", w.ID(), "slots", cfg.TTSSlots, "device", cfg.TTSProvider)
	return func() {
		if err := w.Close(); err != nil {
			logger.Warn("voice worker stop", "error", err)
		}
		if err := engine.Close(); err != nil {
			logger.Warn("voice engine close", "error", err)
		}
	}, nil
}

// defaultOllamaURL is where serve looks for Ollama when no language model is
// configured.
const defaultOllamaURL = "http://127.0.0.1:11434"

// newModels builds the platform's default language model: the configured
// provider, or the Ollama at ollamaURL when none is configured and it
// answers, or none (offline mode).
func newModels(ctx context.Context, cfg config, ollamaURL string, logger *slog.Logger) *chat.Models {
	retries := cfg.LLMRetries
	if retries == 0 {
		retries = -1 // llm reads 0 as "the default"; the setting's 0 means none
	}
	base := llm.Config{Timeout: cfg.LLMTimeout, Retries: retries}
	lc := base
	lc.Provider, lc.BaseURL, lc.APIKey, lc.Model = cfg.LLMProvider, cfg.LLMBaseURL, cfg.LLMAPIKey, cfg.LLMModel
	if lc.Provider == "none" {
		logger.Info("language model off (TIMBRE_LLM_PROVIDER=none): agents answer offline, quoting their knowledge")
		return chat.NewModels(nil, base, "this server runs without a language model (TIMBRE_LLM_PROVIDER=none)")
	}
	if lc.Provider == "" {
		probe, cancel := context.WithTimeout(ctx, 2*time.Second)
		models, err := llm.DetectOllama(probe, ollamaURL, nil)
		cancel()
		switch {
		case err != nil:
			reason := "no language model is configured (set TIMBRE_LLM_PROVIDER, or run Ollama on 127.0.0.1:11434)"
			logger.Warn("no language model: agents answer offline, quoting their knowledge", "how_to_fix",
				"set TIMBRE_LLM_PROVIDER/TIMBRE_LLM_BASE_URL/TIMBRE_LLM_MODEL, or start Ollama on 127.0.0.1:11434")
			return chat.NewModels(nil, base, reason)
		case lc.Model == "" && len(models) == 0:
			logger.Warn("Ollama answers but has no models: agents answer offline", "how_to_fix", "ollama pull llama3.2")
			return chat.NewModels(nil, base, "Ollama has no models installed (run: ollama pull llama3.2)")
		case lc.Model == "":
			lc.Model = models[0]
		}
		lc.Provider, lc.BaseURL = "ollama", ollamaURL
	}
	p, err := llm.New(lc)
	if err != nil {
		logger.Error("language model not usable: agents answer offline", "error", err)
		return chat.NewModels(nil, base, "the language model is misconfigured: "+err.Error())
	}
	logger.Info("language model", "provider", p.Name(), "model", p.Model())
	return chat.NewModels(p, base, "")
}

type poolPinger struct{ pool *pgxpool.Pool }

func (p poolPinger) Ping(ctx context.Context) error { return p.pool.Ping(ctx) }

func displayAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if ok && tcp.IP.IsUnspecified() {
		return fmt.Sprintf("localhost:%d", tcp.Port)
	}
	return a.String()
}

func natsMode(cfg config) string {
	if cfg.NATSURL == "" && cfg.NATSListen != "" {
		return "embedded, taking workers on " + cfg.NATSListen
	}
	if cfg.NATSURL == "" {
		return "embedded"
	}
	return cfg.NATSURL
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
