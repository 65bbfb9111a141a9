package embed

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// ollamaServer fakes an Ollama server: /api/embed unless legacyOnly (then
// the route answers Gin's plain 404, as Ollama before 0.3 did), and the
// legacy /api/embeddings.
type ollamaServer struct {
	t          *testing.T
	dim        int
	legacyOnly bool
	model      string // the one model "pulled"; others get Ollama's 404
	embedCalls atomic.Int32
	legacyCall atomic.Int32
	// embed, when not nil, answers /api/embed instead.
	embed http.HandlerFunc
}

func (s *ollamaServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
		return
	}
	switch r.URL.Path {
	case "/api/embed":
		s.embedCalls.Add(1)
		if s.legacyOnly {
			http.Error(w, "404 page not found", http.StatusNotFound)
			return
		}
		if s.embed != nil {
			s.embed(w, r)
			return
		}
		var req struct {
			Model string   `json:"model"`
			Input []string `json:"input"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			s.t.Errorf("fake ollama: /api/embed body: %v", err)
		}
		if !s.haveModel(w, req.Model) {
			return
		}
		out := make([][]float32, len(req.Input))
		for i, text := range req.Input {
			out[i] = fakeVector(text, s.dim)
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		json.NewEncoder(w).Encode(map[string]any{"model": req.Model, "embeddings": out, "total_duration": 14143917, "load_duration": 1019500, "prompt_eval_count": 8})
	case "/api/embeddings":
		s.legacyCall.Add(1)
		var req struct {
			Model  string `json:"model"`
			Prompt string `json:"prompt"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			s.t.Errorf("fake ollama: /api/embeddings body: %v", err)
		}
		if !s.haveModel(w, req.Model) {
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		json.NewEncoder(w).Encode(map[string]any{"embedding": fakeVector(req.Prompt, s.dim)})
	default:
		http.Error(w, "404 page not found", http.StatusNotFound)
	}
}

func (s *ollamaServer) haveModel(w http.ResponseWriter, model string) bool {
	if model == s.model {
		return true
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	io.WriteString(w, `{"error":"model \"`+model+`\" not found, try pulling it first"}`)
	return false
}

func newOllamaTest(t *testing.T, s *ollamaServer, model string, timeout time.Duration) Embedder {
	t.Helper()
	s.t = t
	if s.model == "" {
		s.model = DefaultOllamaModel
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	e, err := New(Config{Provider: "ollama", BaseURL: srv.URL, Model: model, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestOllamaEmbed(t *testing.T) {
	t.Parallel()
	for _, legacy := range []bool{false, true} {
		name := "api/embed"
		if legacy {
			name = "legacy api/embeddings"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := &ollamaServer{dim: 8, legacyOnly: legacy}
			e := newOllamaTest(t, s, "", 0)
			if got := e.Name(); got != "ollama/nomic-embed-text" {
				t.Fatalf("Name() = %q", got)
			}
			texts := []string{"first", "second", "third"}
			want := make([][]float32, len(texts))
			for i, text := range texts {
				want[i] = unit(fakeVector(text, 8))
			}
			for round := 0; round < 2; round++ {
				got, err := e.Embed(context.Background(), texts)
				if err != nil {
					t.Fatalf("Embed() round %d error = %v", round, err)
				}
				if diff := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-6)); diff != "" {
					t.Fatalf("Embed() round %d (-want +got):\n%s", round, diff)
				}
			}
			if d := e.Dim(); d != 8 {
				t.Fatalf("Dim() = %d, want 8", d)
			}
			// The new route is tried once; a server without it is remembered.
			wantEmbed, wantLegacy := int32(2), int32(0)
			if legacy {
				wantEmbed, wantLegacy = 1, 6
			}
			if got := s.embedCalls.Load(); got != wantEmbed {
				t.Fatalf("/api/embed requests = %d, want %d", got, wantEmbed)
			}
			if got := s.legacyCall.Load(); got != wantLegacy {
				t.Fatalf("/api/embeddings requests = %d, want %d", got, wantLegacy)
			}
		})
	}
}

func TestOllamaErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		remoteErrorCase
		model  string
		legacy bool
	}{
		{
			remoteErrorCase: remoteErrorCase{name: "model not pulled", wantErr: ErrConfig, wantText: []string{"404 Not Found", `model \"all-minilm\" not found`, "ollama pull all-minilm"}},
			model:           "all-minilm",
		},
		{
			remoteErrorCase: remoteErrorCase{name: "model not pulled, legacy server", wantErr: ErrConfig, wantText: []string{"ollama pull all-minilm"}},
			model:           "all-minilm",
			legacy:          true,
		},
		{remoteErrorCase: remoteErrorCase{
			name:     "500 runner crashed",
			handler:  jsonAnswer(500, nil, `{"error":"llama runner process has terminated: signal: killed"}`),
			wantErr:  ErrUnavailable,
			wantText: []string{"500 Internal Server Error", "llama runner process has terminated"},
		}},
		{remoteErrorCase: remoteErrorCase{
			name:      "503 busy with Retry-After",
			handler:   jsonAnswer(503, map[string]string{"Retry-After": "2"}, `{"error":"server busy, please try again.  maximum pending requests exceeded"}`),
			wantErr:   ErrUnavailable,
			wantText:  []string{"server busy"},
			wantRetry: 2 * time.Second,
		}},
		{remoteErrorCase: remoteErrorCase{
			name:     "400 bad input",
			handler:  jsonAnswer(400, nil, `{"error":"input length exceeds maximum context length"}`),
			wantErr:  ErrRejected,
			wantText: []string{"exceeds maximum context length"},
		}},
		{remoteErrorCase: remoteErrorCase{name: "malformed JSON", handler: jsonAnswer(200, nil, `{"embeddings":[[1,2],`), wantErr: ErrBadResponse}},
		{remoteErrorCase: remoteErrorCase{name: "no embeddings", handler: jsonAnswer(200, nil, `{"model":"nomic-embed-text"}`), wantErr: ErrBadResponse}},
		{remoteErrorCase: remoteErrorCase{name: "wrong count", handler: jsonAnswer(200, nil, `{"embeddings":[[1,2]]}`), wantErr: ErrBadResponse, wantText: []string{"1 vectors for 2 texts"}}},
		{remoteErrorCase: remoteErrorCase{name: "wrong dims", handler: jsonAnswer(200, nil, `{"embeddings":[[1,2],[1,2,3]]}`), wantErr: ErrBadResponse}},
		{remoteErrorCase: remoteErrorCase{name: "null vector", handler: jsonAnswer(200, nil, `{"embeddings":[[1,2],null]}`), wantErr: ErrBadResponse}},
		{remoteErrorCase: remoteErrorCase{name: "zero vector", handler: jsonAnswer(200, nil, `{"embeddings":[[1,2],[0,0]]}`), wantErr: ErrBadResponse}},
		{remoteErrorCase: remoteErrorCase{name: "dropped connection", handler: hijackClose, wantErr: ErrUnavailable}},
		{remoteErrorCase: remoteErrorCase{name: "stall beyond the timeout", handler: stall, wantErr: ErrUnavailable, wantText: []string{"within 200ms"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := &ollamaServer{dim: 2, legacyOnly: tt.legacy, embed: tt.handler}
			e := newOllamaTest(t, s, tt.model, 200*time.Millisecond)
			_, err := e.Embed(context.Background(), []string{"one", "two"})
			checkRemoteError(t, err, tt.remoteErrorCase)
			if tt.wantErr == ErrConfig && s.legacyCall.Load() > 0 && !tt.legacy {
				t.Fatalf("a missing model made the client fall back to the legacy route")
			}
		})
	}
}

func TestOllamaLegacyEmptyVector(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/embeddings" {
			io.WriteString(w, `{"embedding":[]}`) // old Ollama's answer for an empty prompt
			return
		}
		http.Error(w, "404 page not found", http.StatusNotFound)
	}))
	t.Cleanup(srv.Close)
	e, err := New(Config{Provider: "ollama", BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Embed(context.Background(), []string{""})
	checkRemoteError(t, err, remoteErrorCase{wantErr: ErrBadResponse, wantText: []string{"empty vector"}})
}
