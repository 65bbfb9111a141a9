package talk_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/timbre-ai/timbre/accounts"
	"github.com/timbre-ai/timbre/agents"
	"github.com/timbre-ai/timbre/agents/chat"
	"github.com/timbre-ai/timbre/agents/llm"
	"github.com/timbre-ai/timbre/agents/llm/llmtest"
	"github.com/timbre-ai/timbre/db/dbtest"
	"github.com/timbre-ai/timbre/voice"
	"github.com/timbre-ai/timbre/voice/asr"
	"github.com/timbre-ai/timbre/voice/audio"
	"github.com/timbre-ai/timbre/voice/clone"
	"github.com/timbre-ai/timbre/voice/rtc"
	"github.com/timbre-ai/timbre/voice/rtc/rtctest"
	"github.com/timbre-ai/timbre/voice/talk"
	"github.com/timbre-ai/timbre/voice/tts/ttstest"
)

var (
	shared struct {
		once sync.Once
		rec  asr.Recognizer
		err  error
	}
)

// recognizer is one pocketsphinx recogniser for the test binary.
func recognizer(t *testing.T) asr.Recognizer {
	t.Helper()
	shared.once.Do(func() { shared.rec, shared.err = asr.Open(asr.Config{Decoders: 4}, nil) })
	if shared.err != nil {
		t.Fatalf("pocketsphinx: %v (run `make test`: its setup installs pocketsphinx)", shared.err)
	}
	return shared.rec
}

// speech is Alan saying text, at ttstest.Rate.
func speech(t *testing.T, text string) []float32 { return ttstest.Say(t, "alan", text) }

// env is a voice-call server in process: real database, pion, VAD,
// pocketsphinx and Piper; the language model is a fake OpenAI server.
type env struct {
	t      *testing.T
	pool   *pgxpool.Pool
	mgr    *talk.Manager
	model  *llmtest.Server
	user   accounts.User
	agent  agents.Agent
	chat   *chat.Service
	agents *agents.Service
	logs   *strings.Builder
	reg    *prometheus.Registry
}

// histogram returns a histogram metric's sample count and sum.
func (e *env) histogram(name string) (uint64, float64) {
	e.t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		e.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) > 0 {
			h := mf.GetMetric()[0].GetHistogram()
			return h.GetSampleCount(), h.GetSampleSum()
		}
	}
	return 0, 0
}

type envConfig struct {
	// reply answers every request; replies, when set, answer the first,
	// second… requests (the last repeats).
	reply    string
	replies  []string
	interval time.Duration
	talk     talk.Config
}

func newEnv(t *testing.T, cfg envConfig) *env {
	t.Helper()
	pool := dbtest.New(t)
	ctx := context.Background()
	acc := accounts.NewService(pool, accounts.Config{Hash: accounts.HashParams{Memory: 1024, Time: 1, Threads: 1}})
	user, _, err := acc.Signup(ctx, accounts.SignupInput{Email: "talker@example.com", Password: "correct horse", DisplayName: "Tess"}, accounts.SessionMeta{})
	if err != nil {
		t.Fatal(err)
	}
	ags := agents.NewService(pool, agents.Config{})
	a, err := ags.Create(ctx, user.ID, []byte(`{"name":"Rowan","description":"A ferry captain.","voice_id":"jenny"}`))
	if err != nil {
		t.Fatal(err)
	}
	var replyMu sync.Mutex
	asked := 0
	model := llmtest.NewServer(t, llmtest.Config{Interval: cfg.interval, Reply: func(llmtest.Received) string {
		replyMu.Lock()
		defer replyMu.Unlock()
		asked++
		if len(cfg.replies) == 0 {
			return cfg.reply
		}
		return cfg.replies[min(asked, len(cfg.replies))-1]
	}})
	prov, err := llm.New(llm.Config{Provider: "openai", BaseURL: model.OpenAIURL(), Model: "fake-model", Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	chatSvc := chat.New(chat.Params{Pool: pool, Agents: ags, Models: chat.NewModels(prov, llm.Config{Timeout: 10 * time.Second}, ""),
		Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(chatSvc.Close)
	transport, err := rtc.NewTransport(rtc.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = transport.Close() })
	logs := &strings.Builder{}
	var logMu sync.Mutex
	logger := slog.New(slog.NewTextHandler(writerFunc(func(b []byte) {
		logMu.Lock()
		logs.Write(b)
		logMu.Unlock()
	}), &slog.HandlerOptions{Level: slog.LevelInfo}))
	reg := prometheus.NewRegistry()
	mgr := talk.NewManager(talk.Params{Transport: transport, Agents: ags, Chat: chatSvc,
		Voice: voice.New(voice.Params{Engine: ttstest.Piper(t)}), ASR: recognizer(t),
		VADModel: vadModel(t), Config: cfg.talk, Logger: logger, Metrics: talk.NewMetrics(reg)})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := mgr.Close(ctx); err != nil {
			t.Errorf("manager close: %v", err)
		}
	})
	t.Cleanup(func() {
		if t.Failed() {
			logMu.Lock()
			t.Logf("server log:\n%s", logs.String())
			logMu.Unlock()
		}
	})
	return &env{t: t, pool: pool, mgr: mgr, reg: reg, model: model, user: user, agent: a, chat: chatSvc, agents: ags, logs: logs}
}

type writerFunc func([]byte)

func (f writerFunc) Write(b []byte) (int, error) { f(b); return len(b), nil }

func vadModel(t *testing.T) string {
	dir := os.Getenv("TIMBRE_DATA_DIR")
	if dir == "" {
		dir = "../../.data"
	}
	p := clone.VADModelPath(dir)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("Silero VAD model missing (%v): run `make test`, whose setup downloads it", err)
	}
	return p
}

// call dials a session as the env's user.
func (e *env) call(ctx context.Context, req talk.OpenRequest) (*rtctest.Client, talk.Opened) {
	e.t.Helper()
	if req.UserID == "" {
		req.UserID, req.UserName = e.user.ID, e.user.DisplayName
	}
	if req.AgentID == "" {
		req.AgentID = e.agent.ID
	}
	var opened talk.Opened
	c, err := rtctest.Dial(ctx, func(offer string) (string, error) {
		req.SDP = offer
		var err error
		opened, err = e.mgr.Open(ctx, req)
		return opened.SDP, err
	})
	if err != nil {
		e.t.Fatalf("dial: %v", err)
	}
	e.t.Cleanup(func() { _ = c.Close() })
	return c, opened
}

// msg is a decoded data channel message.
type msg struct {
	Type        string         `json:"type"`
	State       string         `json:"state"`
	TurnID      string         `json:"turn_id"`
	Text        string         `json:"text"`
	Final       bool           `json:"final"`
	Delta       string         `json:"delta"`
	Index       int            `json:"index"`
	Interrupted bool           `json:"interrupted"`
	Said        string         `json:"said"`
	MessageID   string         `json:"message_id"`
	UserMsgID   string         `json:"user_message_id"`
	Latency     map[string]int `json:"latency"`
	Reason      string         `json:"reason"`
	Code        string         `json:"code"`
	Message     string         `json:"message"`
	at          time.Time
	index       int
}

func decodeMsg(t *testing.T, m rtctest.Message, i int) msg {
	t.Helper()
	var out msg
	if err := json.Unmarshal(m.Data, &out); err != nil {
		t.Fatalf("message %s is not JSON: %v", m.Data, err)
	}
	out.at, out.index = m.At, i
	return out
}

// wait waits for the first message from index after on for which match
// holds.
func wait(t *testing.T, ctx context.Context, c *rtctest.Client, after int, what string, match func(msg) bool) msg {
	t.Helper()
	m, i, err := c.WaitMessage(ctx, after, func(m rtctest.Message) bool {
		var x msg
		if json.Unmarshal(m.Data, &x) != nil {
			return false
		}
		return match(x)
	})
	if err != nil {
		var seen []string
		for _, m := range c.Messages() {
			seen = append(seen, string(m.Data))
		}
		t.Fatalf("waiting for %s: %v; messages so far:\n%s", what, err, strings.Join(seen, "\n"))
	}
	return decodeMsg(t, m, i)
}

func messages(t *testing.T, c *rtctest.Client) []msg {
	var out []msg
	for i, m := range c.Messages() {
		out = append(out, decodeMsg(t, m, i))
	}
	return out
}

// contentWords are the words of s that carry meaning, lowercased.
func contentWords(s string) []string {
	stop := map[string]bool{"the": true, "a": true, "an": true, "of": true, "is": true, "in": true, "to": true, "and": true,
		"what": true, "it": true, "at": true, "on": true, "i": true, "you": true, "me": true, "for": true, "that": true}
	var out []string
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !(r >= 'a' && r <= 'z' || r == '\'') }) {
		if !stop[w] {
			out = append(out, w)
		}
	}
	return out
}

// overlap is the share of want's content words found in got.
func overlap(want, got string) float64 {
	ws := contentWords(want)
	have := map[string]bool{}
	for _, w := range contentWords(got) {
		have[w] = true
	}
	n := 0
	for _, w := range ws {
		if have[w] {
			n++
		}
	}
	if len(ws) == 0 {
		return 0
	}
	return float64(n) / float64(len(ws))
}

// loud is the audio of f louder than −40 dBFS, in 20 ms blocks.
func loud(f audio.Frame) time.Duration {
	block := f.SampleRate / 50
	n := 0
	for i := 0; i+block <= len(f.Samples); i += block {
		var sum float64
		for _, x := range f.Samples[i : i+block] {
			sum += float64(x) * float64(x)
		}
		if math.Sqrt(sum/float64(block)) > 0.01 {
			n++
		}
	}
	return time.Duration(n) * 20 * time.Millisecond
}

func fmtMsgs(ms []msg) string {
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "%+v\n", m)
	}
	return b.String()
}
