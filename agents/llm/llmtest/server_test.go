package llmtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// chatPath is each provider's chat endpoint.
var chatPath = map[string]string{
	OpenAI:    "/v1/chat/completions",
	Ollama:    "/api/chat",
	Anthropic: "/v1/messages",
}

// chatBody is a typical streamed request in each provider's shape.
var chatBody = map[string]string{
	OpenAI: `{"model":"m","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}],` +
		`"temperature":0.5,"max_tokens":50,"stop":["END"],"stream":true,"stream_options":{"include_usage":true}}`,
	Ollama: `{"model":"m","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}],` +
		`"format":"","options":{"temperature":0.5,"num_predict":50,"stop":["END"]},"stream":true}`,
	Anthropic: `{"model":"m","system":"Be brief.","messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}],` +
		`"temperature":0.5,"max_tokens":50,"stop_sequences":["END"],"stream":true}`,
}

var providers = []string{OpenAI, Ollama, Anthropic}

// post sends a raw chat request and returns the response.
func post(t *testing.T, ctx context.Context, s *Server, provider, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL()+chatPath[provider], strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", chatPath[provider], err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return string(b)
}

// sseEvent is one server-sent event.
type sseEvent struct {
	Event string
	Data  string
}

// parseSSE splits a stream into events, failing on lines that are neither
// event: nor data: nor blank.
func parseSSE(t *testing.T, stream string) []sseEvent {
	t.Helper()
	if !strings.HasSuffix(stream, "\n\n") {
		t.Errorf("stream does not end with a blank line: %q", stream[max(0, len(stream)-40):])
	}
	var out []sseEvent
	for _, block := range strings.Split(strings.TrimSuffix(stream, "\n\n"), "\n\n") {
		var ev sseEvent
		for _, line := range strings.Split(block, "\n") {
			switch {
			case strings.HasPrefix(line, "event: "):
				ev.Event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.Data = strings.TrimPrefix(line, "data: ")
			default:
				t.Errorf("unexpected SSE line %q", line)
			}
		}
		out = append(out, ev)
	}
	return out
}

func TestOpenAIStreamWire(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Config{})
	resp := post(t, t.Context(), s, OpenAI, chatBody[OpenAI])
	if got := resp.Header.Get("Content-Type"); !strings.HasPrefix(got, "text/event-stream") {
		t.Errorf("Content-Type = %q, want text/event-stream", got)
	}
	events := parseSSE(t, readAll(t, resp))
	if n := len(events); n < 4 || events[n-1].Data != "[DONE]" {
		t.Fatalf("stream does not end with data: [DONE]: %+v", events)
	}
	type chunk struct {
		ID      *string `json:"id"`
		Object  string  `json:"object"`
		Created *int64  `json:"created"`
		Model   string  `json:"model"`
		Choices []struct {
			Index *int `json:"index"`
			Delta *struct {
				Role    string  `json:"role"`
				Content *string `json:"content"`
			} `json:"delta"`
			FinishReason *string `json:"finish_reason"`
		} `json:"choices"`
		Usage json.RawMessage `json:"usage"`
	}
	var text strings.Builder
	var finish []string
	var usage json.RawMessage
	chunks := events[:len(events)-1]
	for i, ev := range chunks {
		var c chunk
		if err := json.Unmarshal([]byte(ev.Data), &c); err != nil {
			t.Fatalf("chunk %d is not JSON: %v: %s", i, err, ev.Data)
		}
		if c.ID == nil || *c.ID == "" || c.Object != "chat.completion.chunk" || c.Created == nil || c.Model != "m" {
			t.Errorf("chunk %d lacks id/object/created/model: %s", i, ev.Data)
		}
		if c.Usage == nil {
			t.Errorf("chunk %d has no usage key although include_usage was set: %s", i, ev.Data)
		}
		if i == len(chunks)-1 {
			if len(c.Choices) != 0 || string(c.Usage) == "null" {
				t.Errorf("last chunk is not the usage chunk: %s", ev.Data)
			}
			usage = c.Usage
			continue
		}
		if string(c.Usage) != "null" {
			t.Errorf("chunk %d: usage = %s, want null before the last chunk", i, c.Usage)
		}
		if len(c.Choices) != 1 || c.Choices[0].Delta == nil || c.Choices[0].Index == nil {
			t.Fatalf("chunk %d: want one choice with index and delta: %s", i, ev.Data)
		}
		ch := c.Choices[0]
		if i == 0 && (ch.Delta.Role != "assistant" || ch.Delta.Content == nil || *ch.Delta.Content != "") {
			t.Errorf("first chunk does not carry the role: %s", ev.Data)
		}
		if ch.Delta.Content != nil {
			text.WriteString(*ch.Delta.Content)
		}
		if ch.FinishReason != nil {
			finish = append(finish, *ch.FinishReason)
		}
	}
	if text.String() != DefaultReply {
		t.Errorf("text = %q, want %q", text.String(), DefaultReply)
	}
	if diff := cmp.Diff([]string{"stop"}, finish); diff != "" {
		t.Errorf("finish reasons (-want +got):\n%s", diff)
	}
	type counts struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
		TotalTokens      int `json:"total_tokens"`
	}
	var u counts
	if err := json.Unmarshal(usage, &u); err != nil {
		t.Fatal(err)
	}
	rec := s.Requests()[0]
	want := counts{
		rec.PromptTokens, rec.CompletionTokens, rec.PromptTokens + rec.CompletionTokens}
	if u != want || u.CompletionTokens != len(Split(DefaultReply)) || u.PromptTokens == 0 {
		t.Errorf("usage = %+v, want %+v with one completion token per piece", u, want)
	}
}

func TestOllamaStreamWire(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Config{})
	resp := post(t, t.Context(), s, Ollama, chatBody[Ollama])
	if got := resp.Header.Get("Content-Type"); got != "application/x-ndjson" {
		t.Errorf("Content-Type = %q, want application/x-ndjson", got)
	}
	body := readAll(t, resp)
	lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
	var text strings.Builder
	for i, line := range lines {
		var obj struct {
			Model     string `json:"model"`
			CreatedAt string `json:"created_at"`
			Message   *struct {
				Role    string `json:"role"`
				Content string `json:"content"`
			} `json:"message"`
			Done            *bool  `json:"done"`
			DoneReason      string `json:"done_reason"`
			PromptEvalCount *int   `json:"prompt_eval_count"`
			EvalCount       *int   `json:"eval_count"`
		}
		if err := json.Unmarshal([]byte(line), &obj); err != nil {
			t.Fatalf("line %d is not JSON: %v: %s", i, err, line)
		}
		if obj.Model != "m" || obj.CreatedAt == "" || obj.Message == nil || obj.Message.Role != "assistant" || obj.Done == nil {
			t.Errorf("line %d lacks model/created_at/message/done: %s", i, line)
			continue
		}
		text.WriteString(obj.Message.Content)
		last := i == len(lines)-1
		if *obj.Done != last {
			t.Errorf("line %d: done = %v, want %v", i, *obj.Done, last)
		}
		if last && (obj.DoneReason != "stop" || obj.PromptEvalCount == nil || obj.EvalCount == nil ||
			*obj.EvalCount != len(Split(DefaultReply))) {
			t.Errorf("last line lacks done_reason/prompt_eval_count/eval_count: %s", line)
		}
	}
	if text.String() != DefaultReply {
		t.Errorf("text = %q, want %q", text.String(), DefaultReply)
	}
}

func TestAnthropicStreamWire(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Config{})
	resp := post(t, t.Context(), s, Anthropic, chatBody[Anthropic])
	events := parseSSE(t, readAll(t, resp))
	var names []string
	var text strings.Builder
	for i, ev := range events {
		var obj struct {
			Type  string `json:"type"`
			Delta struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"delta"`
		}
		if err := json.Unmarshal([]byte(ev.Data), &obj); err != nil {
			t.Fatalf("event %d is not JSON: %v: %s", i, err, ev.Data)
		}
		if obj.Type != ev.Event {
			t.Errorf("event %d: data type %q under event %q", i, obj.Type, ev.Event)
		}
		if ev.Event == "content_block_delta" {
			if obj.Delta.Type != "text_delta" {
				t.Errorf("event %d: delta type %q, want text_delta", i, obj.Delta.Type)
			}
			text.WriteString(obj.Delta.Text)
		}
		if len(names) == 0 || names[len(names)-1] != ev.Event {
			names = append(names, ev.Event)
		}
	}
	want := []string{"message_start", "content_block_start", "ping", "content_block_delta",
		"content_block_stop", "message_delta", "message_stop"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("event order (-want +got):\n%s", diff)
	}
	if text.String() != DefaultReply {
		t.Errorf("text = %q, want %q", text.String(), DefaultReply)
	}
}

// timestamps matches the fields that change from run to run.
var timestamps = regexp.MustCompile(`"(created|created_at)":("[^"]*"|\d+)`)

// TestWireGolden pins each provider's exact bytes, streamed and whole.
// Refresh with go test -run TestWireGolden -update.
func TestWireGolden(t *testing.T) {
	t.Parallel()
	for _, provider := range providers {
		for _, stream := range []bool{true, false} {
			name := provider + map[bool]string{true: ".stream", false: ".json"}[stream]
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				s := NewServer(t, Config{Reply: func(Received) string { return "Hi there, \"friend\".\nEND more" }})
				body := chatBody[provider]
				if !stream {
					body = strings.Replace(body, `"stream":true`, `"stream":false`, 1)
				}
				got := timestamps.ReplaceAllString(readAll(t, post(t, t.Context(), s, provider, body)), `"$1":"<time>"`)
				path := filepath.Join("testdata", name)
				if *update {
					if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run with -update to create it)", err)
				}
				if diff := cmp.Diff(string(want), got); diff != "" {
					t.Errorf("wire bytes differ from %s (-want +got):\n%s", path, diff)
				}
			})
		}
	}
}

func TestReceived(t *testing.T) {
	t.Parallel()
	temp := 0.5
	want := Received{
		Model:       "m",
		Messages:    []Message{{"system", "Be brief."}, {"user", "Hi"}},
		Temperature: &temp,
		MaxTokens:   50,
		Stop:        []string{"END"},
		Stream:      true,
		Status:      http.StatusOK,
		Reply:       DefaultReply,
		Chunks:      len(Split(DefaultReply)),
	}
	for _, provider := range providers {
		t.Run(provider, func(t *testing.T) {
			t.Parallel()
			s := NewServer(t, Config{})
			readAll(t, post(t, t.Context(), s, provider, chatBody[provider]))
			if !s.WaitIdle(time.Second) {
				t.Fatal("handler still running")
			}
			got := s.Requests()
			if len(got) != 1 {
				t.Fatalf("got %d requests, want 1", len(got))
			}
			w := want
			w.Provider, w.Path, w.Body = provider, chatPath[provider], []byte(chatBody[provider])
			w.IncludeUsage = provider == OpenAI
			w.PromptTokens, w.CompletionTokens = got[0].PromptTokens, len(Split(DefaultReply))
			if got[0].FirstChunkAt.IsZero() || got[0].PromptTokens == 0 {
				t.Errorf("FirstChunkAt or PromptTokens not recorded: %+v", got[0])
			}
			if diff := cmp.Diff(w, got[0], cmpopts.IgnoreUnexported(Received{}),
				cmpopts.IgnoreFields(Received{}, "Header", "FirstChunkAt")); diff != "" {
				t.Errorf("received (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReceivedShapes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, provider, body string
		want                 Received
	}{
		{"openai stop string and parts", OpenAI,
			`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url"},{"type":"text","text":"b"}]}],"stop":"X","max_completion_tokens":7}`,
			Received{Model: "m", Messages: []Message{{"user", "ab"}}, Stop: []string{"X"}, MaxTokens: 7}},
		{"ollama streams by default", Ollama,
			`{"model":"m","messages":[{"role":"user","content":"a"}]}`,
			Received{Model: "m", Messages: []Message{{"user", "a"}}, Stream: true}},
		{"anthropic system blocks", Anthropic,
			`{"model":"m","system":[{"type":"text","text":"S"}],"messages":[{"role":"user","content":"a"}],"max_tokens":3}`,
			Received{Model: "m", Messages: []Message{{"system", "S"}, {"user", "a"}}, MaxTokens: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := Received{Provider: tt.provider}
			if err := r.parse([]byte(tt.body)); err != nil {
				t.Fatal(err)
			}
			tt.want.Provider = tt.provider
			if diff := cmp.Diff(tt.want, r, cmpopts.IgnoreUnexported(Received{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestErrorBodies(t *testing.T) {
	t.Parallel()
	// Each provider's error body, decoded the way its clients decode it.
	message := map[string]func([]byte) (string, error){
		OpenAI: func(b []byte) (string, error) {
			var e struct {
				Error struct{ Message, Type string } `json:"error"`
			}
			err := json.Unmarshal(b, &e)
			if e.Error.Type == "" {
				err = errors.New("no error.type")
			}
			return e.Error.Message, err
		},
		Ollama: func(b []byte) (string, error) {
			var e struct{ Error string }
			err := json.Unmarshal(b, &e)
			return e.Error, err
		},
		Anthropic: func(b []byte) (string, error) {
			var e struct {
				Type  string
				Error struct{ Type, Message string }
			}
			err := json.Unmarshal(b, &e)
			if e.Type != "error" || e.Error.Type == "" {
				err = errors.New("not an Anthropic error object")
			}
			return e.Error.Message, err
		},
	}
	tests := []struct {
		name   string
		cfg    Config
		fault  Fault
		body   string
		status int
		msg    map[string]string // substring of the message per provider
		retry  string
	}{
		{name: "rate limited", fault: Status(429, 1500*time.Millisecond), status: 429, retry: "2",
			msg: map[string]string{OpenAI: "Rate limit", Ollama: "Too Many Requests", Anthropic: "rate limit"}},
		{name: "custom message", fault: Fault{Status: 503, Message: "busy now"}, status: 503,
			msg: map[string]string{OpenAI: "busy now", Ollama: "busy now", Anthropic: "busy now"}},
		{name: "unknown model", cfg: Config{Models: []string{"other"}}, status: 404,
			msg: map[string]string{OpenAI: "`m` does not exist", Ollama: `model "m" not found`, Anthropic: "model: m"}},
		{name: "bad key", cfg: Config{APIKey: "k"}, status: 401,
			msg: map[string]string{OpenAI: "Incorrect API key", Ollama: "unauthorized", Anthropic: "invalid x-api-key"}},
		{name: "bad JSON", body: "{", status: 400,
			msg: map[string]string{OpenAI: "invalid request body", Ollama: "invalid request body", Anthropic: "invalid request body"}},
	}
	for _, tt := range tests {
		for _, provider := range providers {
			t.Run(tt.name+"/"+provider, func(t *testing.T) {
				t.Parallel()
				s := NewServer(t, tt.cfg)
				s.Push(tt.fault)
				body := tt.body
				if body == "" {
					body = chatBody[provider]
				}
				resp := post(t, t.Context(), s, provider, body)
				if resp.StatusCode != tt.status {
					t.Errorf("status = %d, want %d", resp.StatusCode, tt.status)
				}
				if got := resp.Header.Get("Retry-After"); got != tt.retry {
					t.Errorf("Retry-After = %q, want %q", got, tt.retry)
				}
				msg, err := message[provider]([]byte(readAll(t, resp)))
				if err != nil {
					t.Fatalf("error body not in %s's shape: %v", provider, err)
				}
				if !strings.Contains(msg, tt.msg[provider]) {
					t.Errorf("message = %q, want it to contain %q", msg, tt.msg[provider])
				}
			})
		}
	}
}

// terminator is the line or event that ends each provider's stream.
var terminator = map[string]string{
	OpenAI:    "data: [DONE]",
	Ollama:    `"done":true`,
	Anthropic: "event: message_stop",
}

func TestFaults(t *testing.T) {
	t.Parallel()
	pieces := Split(DefaultReply)
	tests := []struct {
		brk   Break
		check func(t *testing.T, provider, body string, readErr error)
	}{
		{ErrorEvent, func(t *testing.T, provider, body string, readErr error) {
			if readErr != nil {
				t.Fatalf("read: %v", readErr)
			}
			want := map[string]string{OpenAI: `data: {"error":{"message":`, Ollama: `{"error":"`, Anthropic: "event: error\ndata: {\"type\":\"error\""}
			if !strings.Contains(body, want[provider]) {
				t.Errorf("no error event %q in %q", want[provider], body)
			}
			if provider != OpenAI && strings.Contains(body, terminator[provider]) {
				t.Errorf("stream goes on to its end after the error: %q", body)
			}
		}},
		{Malformed, func(t *testing.T, provider, body string, readErr error) {
			if readErr != nil {
				t.Fatalf("read: %v", readErr)
			}
			if !strings.Contains(body, terminator[provider]) {
				t.Errorf("malformed stream should still end normally: %q", body)
			}
			bad := 0
			for _, line := range strings.Split(body, "\n") {
				data, ok := strings.CutPrefix(line, "data: ")
				if provider == Ollama {
					data, ok = line, line != ""
				}
				if ok && data != "[DONE]" && !json.Valid([]byte(data)) {
					bad++
				}
			}
			if bad != 1 {
				t.Errorf("%d invalid JSON lines, want 1: %q", bad, body)
			}
			if strings.Contains(body, pieces[2]) && provider != Ollama {
				// The broken chunk replaces the third piece. (Ollama's
				// half chunk may still hold the piece's text.)
				t.Errorf("third piece %q was sent whole", pieces[2])
			}
		}},
		{Drop, func(t *testing.T, provider, body string, readErr error) {
			if !errors.Is(readErr, io.ErrUnexpectedEOF) {
				t.Errorf("read error = %v, want unexpected EOF", readErr)
			}
		}},
		{Truncate, func(t *testing.T, provider, body string, readErr error) {
			if readErr != nil {
				t.Fatalf("read: %v", readErr)
			}
			if strings.Contains(body, terminator[provider]) {
				t.Errorf("truncated stream has its terminator: %q", body)
			}
		}},
	}
	for _, tt := range tests {
		for _, provider := range providers {
			t.Run(tt.brk.String()+"/"+provider, func(t *testing.T) {
				t.Parallel()
				s := NewServer(t, Config{})
				s.Push(FailAfter(2, tt.brk))
				resp := post(t, t.Context(), s, provider, chatBody[provider])
				b, err := io.ReadAll(resp.Body)
				body := string(b)
				for _, p := range pieces[:2] {
					if !strings.Contains(body, mustJSONString(p)) {
						t.Errorf("piece %q missing before the break", p)
					}
				}
				tt.check(t, provider, body, err)
				if !s.WaitIdle(time.Second) {
					t.Fatal("handler still running")
				}
				want := 2
				if tt.brk == Malformed {
					want = len(pieces) - 1 // the broken chunk stands for one piece
				}
				if got := s.Requests()[0].Chunks; got != want {
					t.Errorf("Chunks = %d, want %d", got, want)
				}
			})
		}
	}
}

// mustJSONString is s as it appears inside a JSON string.
func mustJSONString(s string) string {
	b := mustJSON(s)
	return string(b[1 : len(b)-1])
}

func TestStallEndsWithClient(t *testing.T) {
	t.Parallel()
	for _, after := range []int{-1, 0, 2} {
		for _, provider := range providers {
			t.Run(fmt.Sprintf("%s/after-%d", provider, after), func(t *testing.T) {
				t.Parallel()
				s := NewServer(t, Config{})
				s.Push(FailAfter(after, Stall))
				ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
				defer cancel()
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL()+chatPath[provider], strings.NewReader(chatBody[provider]))
				resp, err := s.Client().Do(req)
				if err == nil {
					_, err = io.ReadAll(resp.Body)
					resp.Body.Close()
				}
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("err = %v, want the client's deadline", err)
				}
				if !s.WaitIdle(2 * time.Second) {
					t.Fatal("stalled handler did not return after the client left")
				}
				if r := s.Requests()[0]; !r.Canceled {
					t.Errorf("Canceled = false after the client left")
				}
			})
		}
	}
}

func TestCloseUnblocksStalledHandlers(t *testing.T) {
	t.Parallel()
	s := NewServer(nil, Config{Interval: time.Hour})
	s.Push(FailAfter(1, Stall), FailAfter(-1, Stall))
	for _, provider := range []string{OpenAI, Ollama, Anthropic} {
		go func() {
			resp, err := s.Client().Post(s.URL()+chatPath[provider], "application/json", strings.NewReader(chatBody[provider]))
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	deadline := time.Now().Add(2 * time.Second)
	for len(s.Requests()) < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	done := make(chan struct{})
	go func() { s.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		t.Fatal("Close hung on stalled handlers")
	}
	if !s.WaitIdle(0) {
		t.Error("handlers still running after Close")
	}
}

func TestDropBeforeHeaders(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Config{})
	s.Push(FailAfter(-1, Drop))
	_, err := s.Client().Post(s.URL()+"/v1/chat/completions", "application/json", strings.NewReader(chatBody[OpenAI]))
	if err == nil {
		t.Fatal("request succeeded, want a connection error")
	}
}

func TestFaultQueue(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Config{})
	s.Push(Status(500, 0), Fault{}, Status(429, 0))
	var got []int
	for range 4 {
		resp := post(t, t.Context(), s, OpenAI, chatBody[OpenAI])
		readAll(t, resp)
		got = append(got, resp.StatusCode)
	}
	if diff := cmp.Diff([]int{500, 200, 429, 200}, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
}

func TestPacingAndFirstChunk(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	var firstAt atomic.Int64
	clientGotFirst := make(chan struct{})
	s := NewServer(t, Config{
		Interval: time.Millisecond,
		Reply:    func(Received) string { return "one two three" },
		OnFirstChunk: func(r Received, at time.Time) {
			calls.Add(1)
			firstAt.Store(at.UnixNano())
			if r.Chunks != 1 {
				t.Errorf("OnFirstChunk saw Chunks = %d, want 1", r.Chunks)
			}
			// The server writes nothing more until the client has read the
			// first chunk: it must have been flushed on its own.
			select {
			case <-clientGotFirst:
			case <-time.After(2 * time.Second):
				t.Error("the first chunk did not reach the client before the next was written")
			}
		},
	})
	resp := post(t, t.Context(), s, Ollama, chatBody[Ollama])
	sc := bufio.NewScanner(resp.Body)
	lines := 0
	for sc.Scan() {
		if lines++; lines == 1 {
			close(clientGotFirst)
		}
	}
	if lines != 4 {
		t.Fatalf("got %d lines, want 3 pieces and the final object", lines)
	}
	if calls.Load() != 1 {
		t.Errorf("OnFirstChunk called %d times, want 1", calls.Load())
	}
	if r := s.Requests()[0]; r.FirstChunkAt.UnixNano() != firstAt.Load() {
		t.Errorf("FirstChunkAt %v differs from the callback's time", r.FirstChunkAt)
	}
}

func TestInterval(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Config{Interval: 30 * time.Millisecond, Reply: func(Received) string { return "a b c d" }})
	start := time.Now()
	readAll(t, post(t, t.Context(), s, OpenAI, chatBody[OpenAI]))
	// Four pieces, each after a pause: a lower bound, which load cannot break.
	if took := time.Since(start); took < 4*30*time.Millisecond {
		t.Errorf("stream took %v, want at least 4 intervals", took)
	}
}

func TestCut(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, reply string
		stop        []string
		max         int
		want        []string
		end         ending
		seq         string
	}{
		{"natural end", "a b", nil, 0, []string{"a", " b"}, endTurn, ""},
		{"earliest stop wins", "a b. c! d", []string{"!", "."}, 0, []string{"a", " b"}, endStop, "."},
		{"max tokens", "a b c", nil, 2, []string{"a", " b"}, endLength, ""},
		{"stop before max", "a b c", []string{" c"}, 2, []string{"a", " b"}, endStop, " c"},
		{"empty stop ignored", "a", []string{""}, 0, []string{"a"}, endTurn, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, end, seq := cut(tt.reply, tt.stop, tt.max)
			if diff := cmp.Diff(tt.want, got); diff != "" || end != tt.end || seq != tt.seq {
				t.Errorf("cut = %q, %v, %q; want %q, %v, %q", got, end, seq, tt.want, tt.end, tt.seq)
			}
		})
	}
}

func TestSplit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"Hello, world.", []string{"Hello,", " world."}},
		{"  lead and trail  ", []string{"  lead", " and", " trail", "  "}},
		{"line\nnext\tx", []string{"line", "\nnext", "\tx"}},
		{"héllo wörld", []string{"héllo", " wörld"}},
	}
	for _, tt := range tests {
		got := Split(tt.in)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Split(%q) (-want +got):\n%s", tt.in, diff)
		}
		if strings.Join(got, "") != tt.in {
			t.Errorf("Split(%q) does not join back", tt.in)
		}
	}
}

func TestModelLists(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Config{Models: []string{"b", "a"}})
	get := func(path string, v any) {
		resp, err := s.Client().Get(s.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
	}
	var openai struct {
		Object string
		Data   []struct{ ID, Object string }
	}
	get("/v1/models", &openai)
	if openai.Object != "list" || len(openai.Data) != 2 || openai.Data[0].ID != "b" || openai.Data[1].ID != "a" || openai.Data[0].Object != "model" {
		t.Errorf("/v1/models = %+v", openai)
	}
	var tags struct {
		Models []struct{ Name, Model string }
	}
	get("/api/tags", &tags)
	if len(tags.Models) != 2 || tags.Models[0].Name != "b" || tags.Models[1].Name != "a" {
		t.Errorf("/api/tags = %+v", tags)
	}
}

func TestNonStreamFaults(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Config{})
	s.Push(FailAfter(0, Truncate))
	body := strings.Replace(chatBody[OpenAI], `"stream":true`, `"stream":false`, 1)
	got := readAll(t, post(t, t.Context(), s, OpenAI, body))
	if json.Valid([]byte(got)) || !strings.HasPrefix(got, `{"id":`) {
		t.Errorf("truncated whole reply = %q, want the first half of a JSON object", got)
	}
	if !bytes.Contains([]byte(chatBody[OpenAI]), []byte(`"stream":true`)) {
		t.Fatal("test body changed")
	}
}
