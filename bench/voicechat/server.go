package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/timbre-ai/timbre/accounts"
	"github.com/timbre-ai/timbre/agents"
	"github.com/timbre-ai/timbre/agents/chat"
	"github.com/timbre-ai/timbre/agents/llm"
	"github.com/timbre-ai/timbre/bench/benchdb"
	"github.com/timbre-ai/timbre/bus"
	"github.com/timbre-ai/timbre/db"
	"github.com/timbre-ai/timbre/voice"
	"github.com/timbre-ai/timbre/voice/asr"
	"github.com/timbre-ai/timbre/voice/clone"
	"github.com/timbre-ai/timbre/voice/rtc"
	"github.com/timbre-ai/timbre/voice/talk"
	"github.com/timbre-ai/timbre/voice/tts"
	"github.com/timbre-ai/timbre/voice/worker"
)

// agentVoice speaks for the agent; clientVoice asks the questions.
const (
	agentVoice  = "jenny"
	clientVoice = "alan"
)

// server is Timbre's voice-call stack, wired as `timbre serve` wires it,
// in this process: one talk.Manager per latency mode (the llm one also
// serves the load phases), sharing the transport, voices, recogniser and
// metrics.
type server struct {
	o        options
	pool     *pgxpool.Pool
	user     accounts.User
	agent    agents.Agent
	reg      *prometheus.Registry
	managers map[string]*talk.Manager
	piper    *tts.Piper
	// direct speaks with Piper in this process (the standalone stage);
	// speaker is what the sessions speak through (the voice worker, or
	// direct with -tts direct).
	direct, speaker *voice.Service
	rec             asr.Recognizer
	vadModel        string
	model           *fakeModel
	// llm is a client of the fake model, for the standalone stage.
	llm     llm.Provider
	logs    *logCapture
	closers []func()
}

// startServer builds the stack on a fresh database. On error what was
// built is taken down.
func startServer(ctx context.Context, o options, sc script, say func(string, ...any)) (_ *server, err error) {
	s := &server{o: o, reg: prometheus.NewRegistry(), managers: map[string]*talk.Manager{}, logs: newLogCapture(slog.LevelInfo)}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	warn := slog.New(s.logs.atLevel(slog.LevelWarn))

	name := "timbre_bench_voicechat_" + randomHex(6)
	dbURL, err := benchdb.Create(ctx, o.adminURL, name)
	if err != nil {
		return nil, err
	}
	s.defer_(func() {
		if err := benchdb.Drop(o.adminURL, name); err != nil {
			say("%v (drop it by hand)", err)
		}
	})
	if err := benchdb.Migrate(ctx, dbURL); err != nil {
		return nil, err
	}
	if s.pool, err = db.Open(ctx, dbURL, 16); err != nil {
		return nil, err
	}
	s.defer_(s.pool.Close)
	say("database %s created and migrated", name)

	acc := accounts.NewService(s.pool, accounts.Config{Hash: accounts.HashParams{Memory: 1024, Time: 1, Threads: 1}})
	if s.user, _, err = acc.Signup(ctx, accounts.SignupInput{Email: "caller@example.com", Password: "bench-password", DisplayName: "Caller"},
		accounts.SessionMeta{}); err != nil {
		return nil, fmt.Errorf("sign up: %w", err)
	}
	ags := agents.NewService(s.pool, agents.Config{})
	card, _ := json.Marshal(map[string]string{"name": "Rowan", "description": sc.description, "voice_id": agentVoice})
	if s.agent, err = ags.Create(ctx, s.user.ID, card); err != nil {
		return nil, fmt.Errorf("create the agent: %w", err)
	}

	if s.model, err = newFakeModel(o.ttft, o.tokenEvery, sc.reply, sc.story); err != nil {
		return nil, err
	}
	s.defer_(s.model.close)
	llmCfg := llm.Config{Provider: "openai", BaseURL: s.model.OpenAIURL(), Model: "fake-model", Timeout: 30 * time.Second}
	if s.llm, err = llm.New(llmCfg); err != nil {
		return nil, err
	}
	online := chat.New(chat.Params{Pool: s.pool, Agents: ags, Models: chat.NewModels(s.llm, llm.Config{Timeout: 30 * time.Second}, ""), Logger: warn})
	s.defer_(online.Close)
	offline := chat.New(chat.Params{Pool: s.pool, Agents: ags, Models: chat.NewModels(nil, llm.Config{}, "bench: no language model"), Logger: warn})
	s.defer_(offline.Close)

	if s.piper, err = tts.OpenPiper(tts.PiperConfig{Dir: filepath.Join(o.dataDir, "voices"), Threads: o.ttsThreads, Slots: o.ttsSlots}); err != nil {
		return nil, fmt.Errorf("open the Piper voices in %s (run `make setup`): %w", filepath.Join(o.dataDir, "voices"), err)
	}
	s.direct = voice.New(voice.Params{Engine: s.piper}) // closing it closes Piper
	s.defer_(func() { _ = s.direct.Close() })
	s.speaker = s.direct
	if o.ttsPath == ttsWorker {
		if s.speaker, err = s.startWorker(ctx, warn); err != nil {
			return nil, err
		}
	}
	if s.rec, err = asr.Open(asr.Config{Decoders: o.asrDecoders}, warn); err != nil {
		return nil, fmt.Errorf("pocketsphinx (run `make setup`): %w", err)
	}
	s.defer_(func() { _ = s.rec.Close() })
	s.vadModel = clone.VADModelPath(o.dataDir)
	if _, err := os.Stat(s.vadModel); err != nil {
		return nil, fmt.Errorf("the Silero VAD model (run `make setup`): %w", err)
	}
	transport, err := rtc.NewTransport(rtc.Config{Logger: warn})
	if err != nil {
		return nil, err
	}
	s.defer_(func() { _ = transport.Close() })

	metrics := talk.NewMetrics(s.reg)
	cfg := talk.Config{Silence: o.silence, IdleTimeout: 30 * time.Minute, MaxPerUser: 2000, MaxSessions: 2000, DefaultVoice: agentVoice}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	logger := slog.New(s.logs)
	for mode, c := range map[string]talk.Chat{modeLLM: online, modeOffline: offline} {
		m := talk.NewManager(talk.Params{Transport: transport, Agents: ags, Chat: c, Voice: s.speaker, ASR: s.rec,
			VADModel: s.vadModel, Config: cfg, Logger: logger, Metrics: metrics})
		s.managers[mode] = m
		s.defer_(func() {
			cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := m.Close(cctx); err != nil {
				say("%s manager: %v", mode, err)
			}
		})
	}
	return s, nil
}

// startWorker runs a voice worker on an embedded bus, as `timbre serve`
// does by default, and returns a voice.Service speaking through it.
func (s *server) startWorker(ctx context.Context, logger *slog.Logger) (*voice.Service, error) {
	dir, err := os.MkdirTemp("", "timbre-bench-voicechat-")
	if err != nil {
		return nil, err
	}
	s.defer_(func() { _ = os.RemoveAll(dir) })
	b, err := bus.Open(ctx, bus.Config{DataDir: dir, Name: "bench-voicechat"}, logger)
	if err != nil {
		return nil, fmt.Errorf("open the embedded bus: %w", err)
	}
	s.defer_(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = b.Close(cctx)
	})
	w, err := worker.Start(ctx, b, s.piper, worker.Config{Slots: s.o.ttsSlots, Engines: []string{"piper"}, Registerer: s.reg}, logger)
	if err != nil {
		return nil, err
	}
	s.defer_(func() { _ = w.Close() })
	client, err := worker.NewClient(b, worker.ClientConfig{Registerer: s.reg}, logger)
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := client.WaitReady(wctx); err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("the voice worker did not answer: %w", err)
	}
	svc := voice.New(voice.Params{Engine: client}) // closing it closes the client
	s.defer_(func() { _ = svc.Close() })
	return svc, nil
}

// defer_ runs f when the server closes, before what was built earlier.
func (s *server) defer_(f func()) { s.closers = append(s.closers, f) }

func (s *server) close() {
	for _, f := range slices.Backward(s.closers) {
		f()
	}
	s.closers = nil
}

// waitIdle waits until no session of any manager is open.
func (s *server) waitIdle(ctx context.Context, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		n := 0
		for _, m := range s.managers {
			n += m.Count()
		}
		if n == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d voice sessions still open after %s", n, within)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// counter reads a counter of the server's registry, summed over the
// series whose labels hold every label=value pair of labels; 0 when
// absent.
func (s *server) counter(name string, labels ...string) float64 {
	mfs, err := s.reg.Gather()
	if err != nil {
		return 0
	}
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					found = found || lp.GetName() == labels[i] && lp.GetValue() == labels[i+1]
				}
				if !found {
					continue series
				}
			}
			total += m.GetCounter().GetValue()
		}
	}
	return total
}

// replyAudio is the agent's audio sent in each of the conversations'
// voice turns, by conversation.
func (s *server) replyAudio(ctx context.Context, conversations []string) (map[string]time.Duration, error) {
	rows, err := s.pool.Query(ctx, `SELECT conversation_id, sum(reply_audio_ms) FROM voice_turns
		WHERE conversation_id = ANY($1) GROUP BY conversation_id`, conversations)
	if err != nil {
		return nil, fmt.Errorf("read voice turns: %w", err)
	}
	defer rows.Close()
	out := map[string]time.Duration{}
	for rows.Next() {
		var id string
		var ms int64
		if err := rows.Scan(&id, &ms); err != nil {
			return nil, err
		}
		out[id] = time.Duration(ms) * time.Millisecond
	}
	return out, rows.Err()
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(errors.New("crypto/rand failed"))
	}
	return hex.EncodeToString(b)
}
