package embed

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// fakeVector is what the fake servers answer for a text: deterministic,
// text-dependent and deliberately not unit length.
func fakeVector(text string, dim int) []float32 {
	v := make([]float32, dim)
	for i := range v {
		v[i] = float32(featureHash('t', text, fmt.Sprint(i))%1000)/100 - 5
	}
	v[0] += 7 // never all zeros
	return v
}

// unit returns v scaled to unit length, for comparing with Embed's output.
func unit(v []float32) []float32 {
	out := append([]float32(nil), v...)
	normalize(out)
	return out
}

// openAIServer fakes POST /v1/embeddings. answer, when not nil, replaces
// the normal answer for the n-th request (0-based).
type openAIServer struct {
	t      *testing.T
	dim    int
	calls  atomic.Int32
	answer func(w http.ResponseWriter, r *http.Request, req openAIRequest, n int) bool
}

func (s *openAIServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := int(s.calls.Add(1)) - 1
	if r.Method != http.MethodPost || r.URL.Path != "/v1/embeddings" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"error":{"message":"Unknown request URL","type":"invalid_request_error","code":"unknown_url"}}`)
		return
	}
	if got := r.Header.Get("Authorization"); got != "Bearer sk-test" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"error":{"message":"Incorrect API key provided: sk-wrong.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`)
		return
	}
	var req openAIRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		s.t.Errorf("fake openai: request body: %v", err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if req.EncodingFormat != "float" || req.Model == "" || r.Header.Get("Content-Type") != "application/json" {
		s.t.Errorf("fake openai: request %+v, content type %q", req, r.Header.Get("Content-Type"))
	}
	if s.answer != nil && s.answer(w, r, req, n) {
		return
	}
	writeOpenAI(w, req.Input, s.dim, false)
}

// writeOpenAI answers like OpenAI, data in reverse order to check that the
// client orders by index.
func writeOpenAI(w http.ResponseWriter, input []string, dim int, asBase64 bool) {
	type item struct {
		Object    string `json:"object"`
		Index     int    `json:"index"`
		Embedding any    `json:"embedding"`
	}
	var data []item
	for i := len(input) - 1; i >= 0; i-- {
		var emb any = fakeVector(input[i], dim)
		if asBase64 {
			var b []byte
			for _, x := range fakeVector(input[i], dim) {
				b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
			}
			emb = base64.StdEncoding.EncodeToString(b)
		}
		data = append(data, item{"embedding", i, emb})
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"object": "list",
		"data":   data,
		"model":  "text-embedding-3-small",
		"usage":  map[string]int{"prompt_tokens": 8, "total_tokens": 8},
	})
}

func newOpenAITest(t *testing.T, s *openAIServer, timeout time.Duration) Embedder {
	t.Helper()
	s.t = t
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	e, err := New(Config{Provider: "openai", BaseURL: srv.URL + "/v1/", APIKey: "sk-test", Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestOpenAIEmbed(t *testing.T) {
	t.Parallel()
	for _, asBase64 := range []bool{false, true} {
		t.Run(fmt.Sprintf("base64=%v", asBase64), func(t *testing.T) {
			t.Parallel()
			s := &openAIServer{dim: 12, answer: func(w http.ResponseWriter, _ *http.Request, req openAIRequest, _ int) bool {
				writeOpenAI(w, req.Input, 12, asBase64)
				return true
			}}
			e := newOpenAITest(t, s, 0)
			if d := e.Dim(); d != 0 {
				t.Fatalf("Dim() before any call = %d, want 0", d)
			}
			texts := []string{"alpha", "beta", "", "gamma δ"}
			got, err := e.Embed(context.Background(), texts)
			if err != nil {
				t.Fatalf("Embed() error = %v", err)
			}
			want := make([][]float32, len(texts))
			for i, text := range texts {
				want[i] = unit(fakeVector(text, 12))
			}
			if diff := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-6)); diff != "" {
				t.Fatalf("Embed() (-want +got):\n%s", diff)
			}
			checkUnit(t, got, 12)
			if d := e.Dim(); d != 12 {
				t.Fatalf("Dim() after a call = %d, want 12", d)
			}
			if n, err := e.Embed(context.Background(), nil); err != nil || len(n) != 0 {
				t.Fatalf("Embed(nil) = %v, %v; want no vectors, no error", n, err)
			}
			if c := s.calls.Load(); c != 1 {
				t.Fatalf("server saw %d requests, want 1 (none for an empty batch)", c)
			}
		})
	}
}

// remoteErrorCase is a scripted bad answer and the error it must give.
type remoteErrorCase struct {
	name      string
	handler   http.HandlerFunc
	wantErr   error
	wantText  []string
	wantRetry time.Duration
}

// hijackClose drops the connection without an answer.
func hijackClose(w http.ResponseWriter, _ *http.Request) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		conn.Close()
	}
}

// stall answers only after the client gave up. It reads the body first:
// the server notices a closed connection only once the body is consumed.
func stall(_ http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	select {
	case <-r.Context().Done():
	case <-time.After(10 * time.Second):
	}
}

func jsonAnswer(status int, header map[string]string, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

func TestOpenAIErrors(t *testing.T) {
	t.Parallel()
	vec := func(vs ...string) string { return strings.Join(vs, ",") }
	item := func(i int, emb string) string {
		return fmt.Sprintf(`{"object":"embedding","index":%d,"embedding":[%s]}`, i, emb)
	}
	list := func(items ...string) string {
		return `{"object":"list","data":[` + strings.Join(items, ",") + `],"model":"m","usage":{"prompt_tokens":2,"total_tokens":2}}`
	}
	tests := []remoteErrorCase{
		{
			name:      "429 with Retry-After",
			handler:   jsonAnswer(429, map[string]string{"Retry-After": "7"}, `{"error":{"message":"Rate limit reached for text-embedding-3-small","type":"requests","param":null,"code":"rate_limit_exceeded"}}`),
			wantErr:   ErrUnavailable,
			wantText:  []string{"429 Too Many Requests", "Rate limit reached"},
			wantRetry: 7 * time.Second,
		},
		{
			name:     "500",
			handler:  jsonAnswer(500, nil, `{"error":{"message":"The server had an error while processing your request.","type":"server_error","param":null,"code":null}}`),
			wantErr:  ErrUnavailable,
			wantText: []string{"500 Internal Server Error", "server had an error"},
		},
		{
			name:     "503 exact text",
			handler:  jsonAnswer(503, nil, `{"error":{"message":"overloaded","type":"server_error"}}`),
			wantErr:  ErrUnavailable,
			wantText: []string{`embed: openai: 503 Service Unavailable: "overloaded": embedder unavailable`},
		},
		{
			name:     "502 from a proxy, HTML body",
			handler:  func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "<html>bad gateway</html>", 502) },
			wantErr:  ErrUnavailable,
			wantText: []string{"502 Bad Gateway", "bad gateway"},
		},
		{
			name:     "401",
			handler:  jsonAnswer(401, nil, `{"error":{"message":"Incorrect API key provided: sk-wrong.","type":"invalid_request_error","code":"invalid_api_key"}}`),
			wantErr:  ErrConfig,
			wantText: []string{"401 Unauthorized", "Incorrect API key", "check the API key"},
		},
		{
			name:     "403",
			handler:  jsonAnswer(403, nil, `{"error":{"message":"You are not allowed to use this model","type":"invalid_request_error"}}`),
			wantErr:  ErrConfig,
			wantText: []string{"403 Forbidden"},
		},
		{
			name:     "404 model not found",
			handler:  jsonAnswer(404, nil, `{"error":{"message":"The model 'text-embedding-4' does not exist","type":"invalid_request_error","code":"model_not_found"}}`),
			wantErr:  ErrConfig,
			wantText: []string{"404 Not Found", "does not exist", "not found"},
		},
		{
			name:     "400 input too long",
			handler:  jsonAnswer(400, nil, `{"error":{"message":"This model's maximum context length is 8192 tokens","type":"invalid_request_error","code":null}}`),
			wantErr:  ErrRejected,
			wantText: []string{"maximum context length"},
		},
		{
			name:     "malformed JSON",
			handler:  jsonAnswer(200, nil, `{"object":"list","data":[{"index":0,"embedding":[0.1,0.2`),
			wantErr:  ErrBadResponse,
			wantText: []string{"malformed"},
		},
		{
			name:    "not JSON at all",
			handler: func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "<html>login</html>") },
			wantErr: ErrBadResponse,
		},
		{
			name:    "no data",
			handler: jsonAnswer(200, nil, `{"object":"list"}`),
			wantErr: ErrBadResponse,
		},
		{
			name:     "wrong count",
			handler:  jsonAnswer(200, nil, list(item(0, vec("1", "2", "3")))),
			wantErr:  ErrBadResponse,
			wantText: []string{"1 vectors for 2 texts"},
		},
		{
			name:    "wrong dims within a batch",
			handler: jsonAnswer(200, nil, list(item(0, vec("1", "2", "3")), item(1, vec("1", "2")))),
			wantErr: ErrBadResponse,
		},
		{
			name:    "repeated index",
			handler: jsonAnswer(200, nil, list(item(0, vec("1", "2", "3")), item(0, vec("1", "2", "3")))),
			wantErr: ErrBadResponse,
		},
		{
			name:    "index out of range",
			handler: jsonAnswer(200, nil, list(item(0, vec("1", "2", "3")), item(2, vec("1", "2", "3")))),
			wantErr: ErrBadResponse,
		},
		{
			name:    "NaN",
			handler: jsonAnswer(200, nil, list(item(0, vec("1", "NaN", "3")), item(1, vec("1", "2", "3")))),
			wantErr: ErrBadResponse,
		},
		{
			name:    "null in a vector",
			handler: jsonAnswer(200, nil, list(item(0, vec("1", "null", "3")), item(1, vec("1", "2", "3")))),
			wantErr: ErrBadResponse,
		},
		{
			name:     "all zeros",
			handler:  jsonAnswer(200, nil, list(item(0, vec("0", "0", "0")), item(1, vec("1", "2", "3")))),
			wantErr:  ErrBadResponse,
			wantText: []string{"all zeros"},
		},
		{
			name:    "empty vector",
			handler: jsonAnswer(200, nil, list(item(0, ""), item(1, ""))),
			wantErr: ErrBadResponse,
		},
		{
			name:    "number beyond float32",
			handler: jsonAnswer(200, nil, list(item(0, vec("1e39", "1", "1")), item(1, vec("1", "2", "3")))),
			wantErr: ErrBadResponse,
		},
		{
			name:    "dropped connection",
			handler: hijackClose,
			wantErr: ErrUnavailable,
		},
		{
			name: "dropped mid-body",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", "5000")
				w.WriteHeader(200)
				io.WriteString(w, `{"object":"list","data":[{"index":0,"embedding":[0.1,`)
				w.(http.Flusher).Flush()
				hijackClose(w, r)
			},
			wantErr: ErrUnavailable,
		},
		{
			name:     "stall beyond the timeout",
			handler:  stall,
			wantErr:  ErrUnavailable,
			wantText: []string{"no answer", "within 200ms"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := &openAIServer{dim: 3, answer: func(w http.ResponseWriter, r *http.Request, _ openAIRequest, _ int) bool {
				tt.handler(w, r)
				return true
			}}
			e := newOpenAITest(t, s, 200*time.Millisecond)
			_, err := e.Embed(context.Background(), []string{"one", "two"})
			checkRemoteError(t, err, tt)
			if d := e.Dim(); d != 0 {
				t.Fatalf("Dim() after a failed call = %d, want 0", d)
			}
		})
	}
}

func checkRemoteError(t *testing.T, err error, tt remoteErrorCase) {
	t.Helper()
	t.Logf("error: %v", err)
	if !errors.Is(err, tt.wantErr) {
		t.Fatalf("Embed() error = %v, want %v", err, tt.wantErr)
	}
	for _, s := range tt.wantText {
		if !strings.Contains(err.Error(), s) {
			t.Fatalf("Embed() error = %q, want it to contain %q", err, s)
		}
	}
	got, ok := RetryAfter(err)
	if ok != (tt.wantRetry > 0) || got != tt.wantRetry {
		t.Fatalf("RetryAfter() = %v, %v; want %v", got, ok, tt.wantRetry)
	}
	for _, other := range []error{ErrUnavailable, ErrBadResponse, ErrConfig, ErrRejected} {
		if other != tt.wantErr && errors.Is(err, other) {
			t.Fatalf("Embed() error = %v is also %v", err, other)
		}
	}
}

func TestOpenAIWrongKey(t *testing.T) {
	t.Parallel()
	s := &openAIServer{t: t, dim: 3}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	e, err := New(Config{Provider: "openai", BaseURL: srv.URL + "/v1", APIKey: "sk-wrong"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Embed(context.Background(), []string{"x"})
	checkRemoteError(t, err, remoteErrorCase{wantErr: ErrConfig, wantText: []string{"Incorrect API key"}})
}

func TestOpenAIDimensionChange(t *testing.T) {
	t.Parallel()
	s := &openAIServer{dim: 4, answer: func(w http.ResponseWriter, _ *http.Request, req openAIRequest, n int) bool {
		writeOpenAI(w, req.Input, 4+n, false) // the model behind the URL changed
		return true
	}}
	e := newOpenAITest(t, s, 0)
	if _, err := e.Embed(context.Background(), []string{"a"}); err != nil {
		t.Fatal(err)
	}
	_, err := e.Embed(context.Background(), []string{"a"})
	checkRemoteError(t, err, remoteErrorCase{wantErr: ErrBadResponse, wantText: []string{"5 numbers, earlier ones had 4"}})
	if d := e.Dim(); d != 4 {
		t.Fatalf("Dim() = %d, want 4 (fixed by the first answer)", d)
	}
}

func TestOpenAICallerCancels(t *testing.T) {
	t.Parallel()
	s := &openAIServer{dim: 3, answer: func(w http.ResponseWriter, r *http.Request, _ openAIRequest, _ int) bool {
		stall(w, r)
		return true
	}}
	e := newOpenAITest(t, s, time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err := e.Embed(ctx, []string{"x"})
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrUnavailable) {
		t.Fatalf("Embed() error = %v, want context.Canceled and not ErrUnavailable", err)
	}
}

func TestOpenAIConnectionRefused(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there now
	base := strings.Replace(url, "http://", "http://user:hunter2@", 1) + "/v1"
	e, err := New(Config{Provider: "openai", BaseURL: base, APIKey: "sk-secret"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Embed(context.Background(), []string{"x"})
	checkRemoteError(t, err, remoteErrorCase{wantErr: ErrUnavailable, wantText: []string{"refused"}})
	for _, secret := range []string{"hunter2", "sk-secret"} {
		if strings.Contains(err.Error(), secret) {
			t.Fatalf("Embed() error = %q shows a secret", err)
		}
	}
}

func TestOpenAIBatchLimit(t *testing.T) {
	t.Parallel()
	s := &openAIServer{dim: 3}
	e := newOpenAITest(t, s, 0)
	_, err := e.Embed(context.Background(), make([]string, e.MaxBatch()+1))
	if !errors.Is(err, ErrRejected) {
		t.Fatalf("Embed(%d texts) error = %v, want ErrRejected", e.MaxBatch()+1, err)
	}
	if c := s.calls.Load(); c != 0 {
		t.Fatalf("server saw %d requests, want 0", c)
	}
}

func TestRetryAfterHeader(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"-3", 0},
		{"12", 12 * time.Second},
		{"999999999", 24 * time.Hour},
		{"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
	}
	for _, tt := range tests {
		if got := retryAfter(tt.in, now); got != tt.want {
			t.Errorf("retryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
