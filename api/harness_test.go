package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/timbre-ai/timbre/accounts"
	"github.com/timbre-ai/timbre/agents"
	"github.com/timbre-ai/timbre/agents/chat"
	"github.com/timbre-ai/timbre/agents/llm"
	"github.com/timbre-ai/timbre/agents/llm/llmtest"
	"github.com/timbre-ai/timbre/api"
	"github.com/timbre-ai/timbre/bus/bustest"
	"github.com/timbre-ai/timbre/db/dbtest"
	"github.com/timbre-ai/timbre/knowledge"
	"github.com/timbre-ai/timbre/knowledge/embed"
	"github.com/timbre-ai/timbre/knowledge/fetch"
	"github.com/timbre-ai/timbre/voice"
	"github.com/timbre-ai/timbre/voice/clone"
	"github.com/timbre-ai/timbre/voice/talk"
	"github.com/timbre-ai/timbre/voice/tts/ttstest"
)

// env is a real server on a fresh database.
type env struct {
	t      *testing.T
	srv    *httptest.Server
	pool   *pgxpool.Pool
	server *api.Server
	chat   *chat.Service
}

// envParams are what a test may change before the server is built: the
// server's params, and the chat service's language models and settings
// (offline by default).
type envParams struct {
	api.Params
	pool    *pgxpool.Pool
	models  *chat.Models
	chatCfg chat.Config
	// voiceChat serves voice calls and transcriptions (pocketsphinx).
	voiceChat bool
	talkCfg   talk.Config
}

type envOption func(*envParams)

// withModel makes the fake model server, speaking provider's wire format,
// the platform's language model.
func withModel(fake *llmtest.Server, provider string, timeout time.Duration) envOption {
	return func(p *envParams) {
		prov, err := llm.New(llm.Config{Provider: provider, BaseURL: fake.BaseURL(provider), Model: "fake-model",
			Timeout: timeout, Retries: 2, RetryBase: 10 * time.Millisecond})
		if err != nil {
			panic(err)
		}
		p.models = chat.NewModels(prov, llm.Config{Timeout: timeout}, "")
	}
}

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	pool := dbtest.New(t)
	b := bustest.New(t)
	p := envParams{pool: pool, Params: api.Params{
		Config:   api.Config{AuthRatePerMinute: 10000, MaxBodyBytes: 64 << 10, MaxUploadBytes: 4 << 20, Version: "test"},
		Logger:   slog.New(slog.DiscardHandler),
		Accounts: accounts.NewService(pool, accounts.Config{Hash: accounts.HashParams{Memory: 1024, Time: 1, Threads: 1}, KeyCacheTTL: time.Minute}),
		// Caching on, so every test also checks that changes invalidate it.
		Agents:  agents.NewService(pool, agents.Config{CacheTTL: time.Minute}),
		Ready:   map[string]api.Pinger{"bus": b},
		Metrics: prometheus.NewRegistry(),
	}}
	ks, err := knowledge.New(context.Background(), knowledge.Params{
		Pool: pool, Bus: b, Embedders: []knowledge.Embedder{embed.NewNgram()},
		Fetcher: fetch.New(fetch.Config{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, Timeout: 5 * time.Second}),
		Config:  knowledge.Config{Backoff: []time.Duration{50 * time.Millisecond}},
		Logger:  slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatalf("knowledge.New: %v", err)
	}
	p.Knowledge = ks
	for _, o := range opts {
		o(&p)
	}
	if p.Voice == nil {
		p.Voice = sharedVoice(t)
	}
	p.Chat = chat.New(chat.Params{Pool: pool, Agents: p.Agents, Knowledge: p.Knowledge, Models: p.models,
		Config: p.chatCfg, Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(p.Chat.Close)
	if p.voiceChat {
		p.ASR = sharedRecognizer(t)
		p.Talk = newTalkManager(t, p)
	}
	workers, stopWorkers := context.WithCancel(context.Background())
	workersDone := make(chan struct{})
	go func() {
		defer close(workersDone)
		_ = p.Knowledge.Start(workers)
	}()
	t.Cleanup(func() {
		stopWorkers()
		<-workersDone
	})
	s := api.New(p.Params)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return &env{t: t, srv: srv, pool: pool, server: s, chat: p.Chat}
}

// client is one user agent: a cookie jar, and optionally an API key.
type client struct {
	e    *env
	http *http.Client
	csrf string
	key  string
}

func (e *env) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{e: e, http: &http.Client{Jar: jar}}
}

// response is a finished request.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response is not JSON (%v): %s", err, r.body)
	}
	return m
}

// errorCode returns error.code and error.field of an error body.
func (r response) errorCode(t *testing.T) (string, string) {
	t.Helper()
	m := r.json(t)
	e, ok := m["error"].(map[string]any)
	if !ok {
		t.Fatalf("no error object in %s", r.body)
	}
	if msg, _ := e["message"].(string); msg == "" {
		t.Fatalf("error without a message: %s", r.body)
	}
	field, _ := e["field"].(string)
	return e["code"].(string), field
}

func (c *client) do(method, path, contentType string, body io.Reader, headers ...string) response {
	c.e.t.Helper()
	req, err := http.NewRequest(method, c.e.srv.URL+path, body)
	if err != nil {
		c.e.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.e.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func (c *client) json(method, path string, v any) response {
	c.e.t.Helper()
	var body io.Reader
	if s, ok := v.(string); ok {
		body = strings.NewReader(s)
	} else if v != nil {
		b, err := json.Marshal(v)
		if err != nil {
			c.e.t.Fatal(err)
		}
		body = bytes.NewReader(b)
	}
	ct := ""
	if body != nil {
		ct = "application/json"
	}
	return c.do(method, path, ct, body)
}

// form posts a multipart form: fields, and the file data in field audio
// named filename.
func (c *client) form(path string, fields map[string]string, filename string, data []byte) response {
	c.e.t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := w.WriteField(k, v); err != nil {
			c.e.t.Fatal(err)
		}
	}
	if data != nil {
		fw, err := w.CreateFormFile("audio", filename)
		if err != nil {
			c.e.t.Fatal(err)
		}
		fw.Write(data)
	}
	w.Close()
	return c.do("POST", path, w.FormDataContentType(), &buf)
}

func (c *client) upload(method, path, field, filename string, data []byte) response {
	c.e.t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	fw, err := w.CreateFormFile(field, filename)
	if err != nil {
		c.e.t.Fatal(err)
	}
	fw.Write(data)
	w.Close()
	return c.do(method, path, w.FormDataContentType(), &buf)
}

// must fails the test unless the response has the status.
func (r response) must(t *testing.T, status int) response {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	return r
}

// signup creates a user and reads its CSRF token.
func (e *env) signup(name string) *client {
	e.t.Helper()
	c := e.client()
	c.json("POST", "/api/auth/signup", map[string]string{"email": name + "@example.com", "password": "password-" + name, "display_name": name}).must(e.t, 201)
	me := c.json("GET", "/api/me", nil).must(e.t, 200).json(e.t)
	c.csrf = me["csrf_token"].(string)
	return c
}

// withKey returns a client that authenticates with a new API key of c's user.
func (c *client) withKey() *client {
	c.e.t.Helper()
	k := c.json("POST", "/api/keys", map[string]string{"name": "test"}).must(c.e.t, 201).json(c.e.t)
	other := c.e.client()
	other.key = k["key"].(string)
	return other
}

func (e *env) count(table string) int {
	e.t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

var (
	voiceOnce sync.Once
	voiceSvc  *voice.Service
	vadOnce   sync.Once
	vad       *clone.VAD
	vadErr    error
)

// withCloning gives the env a voice service of its own that clones voices
// into its database.
func withCloning(t *testing.T) envOption {
	return func(p *envParams) {
		vadOnce.Do(func() { vad, vadErr = clone.OpenVAD(clone.VADModelPath(filepath.Dir(ttstest.Dir())), 1) })
		if vadErr != nil {
			t.Fatalf("the VAD model is not prepared: run `make setup` (or `make test`, which runs it): %v", vadErr)
		}
		p.Voice = voice.New(voice.Params{Engine: ttstest.Piper(t), Pool: p.pool, VAD: vad})
		// Room for a ten-minute recording, which the voice service refuses.
		p.Config.MaxUploadBytes = 16 << 20
	}
}

// sharedVoice is one voice service on the voices `make setup` prepared,
// shared by the package's tests.
func sharedVoice(t *testing.T) *voice.Service {
	t.Helper()
	engine := ttstest.Piper(t)
	voiceOnce.Do(func() { voiceSvc = voice.New(voice.Params{Engine: engine}) })
	return voiceSvc
}
