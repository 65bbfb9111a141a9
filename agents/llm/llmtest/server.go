// Package llmtest is a fake language-model server for tests and benchmarks.
// It answers on one httptest.Server with the wire formats of three real
// APIs: OpenAI's chat completions (SSE chunks ending in data: [DONE]),
// Ollama's chat (NDJSON ending in an object with "done": true) and
// Anthropic's messages (named SSE events ending in message_stop), with the
// error bodies each one sends. It records every request it receives, paces
// the reply in word-sized chunks, and plays a queue of faults (error
// statuses, broken, cut, stalled or malformed streams) on successive
// requests.
//
// llmtest imports only the standard library and the repository's tokens
// package; it never imports the llm package it serves, so that it can also
// check clients written against other libraries.
package llmtest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"
)

// DefaultReply is what the server answers when Config.Reply is nil.
const DefaultReply = "Hello! I am a fake model, and this is my whole reply."

// Provider kinds, as they appear in Received.Provider.
const (
	OpenAI    = "openai"
	Ollama    = "ollama"
	Anthropic = "anthropic"
)

// defaultModel is listed by the model endpoints when Config.Models is empty.
const defaultModel = "fake-model"

// Config shapes a Server. The zero value answers every model with
// DefaultReply as fast as it can.
type Config struct {
	// Reply returns the reply to a request; nil answers DefaultReply. It is
	// called from the request's handler goroutine.
	Reply func(req Received) string
	// Interval is the pause before each chunk of a streamed reply; 0 writes
	// the chunks as fast as possible.
	Interval time.Duration
	// Models are the models the server has. When it is empty every model
	// name is accepted and the model lists show one model, "fake-model";
	// when it is set, a request for another model gets the provider's 404.
	Models []string
	// APIKey, when set, must come with each chat request (OpenAI and Ollama:
	// Authorization: Bearer; Anthropic: x-api-key), or the server answers
	// the provider's 401.
	APIKey string
	// OmitUsage leaves token counts out of OpenAI and Ollama replies.
	// Anthropic's stream always carries usage, as the real API's does.
	OmitUsage bool
	// OnFirstChunk, when set, is called right after the first chunk of
	// reply text has been flushed to the client, from the handler
	// goroutine. Benchmarks use it to measure what a client adds between
	// the provider's first token and its own first byte.
	OnFirstChunk func(req Received, at time.Time)
}

// Server is a running fake model server. Its methods are safe for
// concurrent use.
type Server struct {
	cfg     Config
	srv     *httptest.Server
	closing chan struct{} // closed by Close: stalled handlers return
	once    sync.Once

	mu       sync.Mutex
	faults   []Fault
	received []*Received
	active   int           // chat handlers running
	idle     chan struct{} // closed when active drops to zero
	nextID   int
}

// NewServer starts a server. When t is not nil the server is closed in
// t.Cleanup; benchmarks and programs may pass nil and call Close.
func NewServer(t testing.TB, cfg Config) *Server {
	s := &Server{cfg: cfg, closing: make(chan struct{}), idle: make(chan struct{})}
	close(s.idle)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", s.chat(OpenAI))
	mux.HandleFunc("GET /v1/models", s.openaiModels)
	mux.HandleFunc("POST /api/chat", s.chat(Ollama))
	mux.HandleFunc("GET /api/tags", s.ollamaTags)
	mux.HandleFunc("POST /v1/messages", s.chat(Anthropic))
	s.srv = httptest.NewServer(mux)
	if t != nil {
		t.Cleanup(s.Close)
	}
	return s
}

// URL is the server's root, e.g. http://127.0.0.1:41234. It is Ollama's
// base URL.
func (s *Server) URL() string { return s.srv.URL }

// OpenAIURL is the base URL an OpenAI client takes: URL()+"/v1".
func (s *Server) OpenAIURL() string { return s.srv.URL + "/v1" }

// AnthropicURL is the base URL an Anthropic client takes: URL()+"/v1".
func (s *Server) AnthropicURL() string { return s.srv.URL + "/v1" }

// BaseURL is the base URL a client of the given provider kind takes.
func (s *Server) BaseURL(provider string) string {
	if provider == Ollama {
		return s.URL()
	}
	return s.srv.URL + "/v1"
}

// Client is an HTTP client that talks to the server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Push queues faults; each chat request takes the next one, and requests
// find an empty queue answer normally.
func (s *Server) Push(faults ...Fault) {
	s.mu.Lock()
	s.faults = append(s.faults, faults...)
	s.mu.Unlock()
}

// Requests returns a copy of every chat request received so far, in the
// order they arrived, with what the server did with each.
func (s *Server) Requests() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Received, len(s.received))
	for i, r := range s.received {
		out[i] = r.clone()
	}
	return out
}

// WaitIdle waits until every chat handler that has started has returned,
// and reports whether that happened within timeout. Tests call it before
// reading what the server saw of a request the client gave up on.
func (s *Server) WaitIdle(timeout time.Duration) bool {
	s.mu.Lock()
	idle := s.idle
	s.mu.Unlock()
	select {
	case <-idle:
		return true
	default:
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-idle:
		return true
	case <-timer.C:
		return false
	}
}

// Close stops the server. Stalled and paced handlers return at once, so
// Close never hangs. It may be called more than once.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.closing)
		// Handlers blocked writing to a client that stopped reading only
		// return once their connection is gone.
		s.srv.CloseClientConnections()
		s.srv.Close()
	})
}

// begin records a request and counts its handler as running.
func (s *Server) begin(r *Received) Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.active == 0 {
		s.idle = make(chan struct{})
	}
	s.active++
	s.nextID++
	r.id = s.nextID
	s.received = append(s.received, r)
	var f Fault
	if len(s.faults) > 0 {
		f = s.faults[0]
		s.faults = s.faults[1:]
	}
	return f
}

// end counts a handler as returned.
func (s *Server) end() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.active--
	if s.active == 0 {
		close(s.idle)
	}
}

// update changes a recorded request under the server's lock.
func (s *Server) update(r *Received, f func(r *Received)) {
	s.mu.Lock()
	f(r)
	s.mu.Unlock()
}

// snapshot copies a recorded request under the server's lock.
func (s *Server) snapshot(r *Received) Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return r.clone()
}

// models lists the models the server has.
func (s *Server) models() []string {
	if len(s.cfg.Models) == 0 {
		return []string{defaultModel}
	}
	return s.cfg.Models
}

// knows reports whether the server has a model.
func (s *Server) knows(model string) bool {
	return len(s.cfg.Models) == 0 || slices.Contains(s.cfg.Models, model)
}

// pause waits d, and reports false when the client went away or the server
// is closing first.
func (s *Server) pause(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.closing:
		return false
	}
}
