package llm_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/timbre-ai/timbre/agents/llm"
	"github.com/timbre-ai/timbre/agents/llm/llmtest"
	"github.com/timbre-ai/timbre/tokens"
)

var providers = []string{llm.OpenAI, llm.Ollama, llm.Anthropic}

const reply = "One, two three. Four five six seven."

var pieces = llmtest.Split(reply)

func replyFunc(llmtest.Received) string { return reply }

// newProvider builds a provider of the given kind against s. Retries wait
// a millisecond unless cfg says otherwise.
func newProvider(t *testing.T, s *llmtest.Server, kind string, cfg llm.Config) llm.Provider {
	t.Helper()
	cfg.Provider = kind
	if cfg.BaseURL == "" {
		cfg.BaseURL = s.BaseURL(kind)
	}
	if cfg.Model == "" {
		cfg.Model = "m"
	}
	if cfg.RetryBase == 0 {
		cfg.RetryBase = time.Millisecond
	}
	p, err := llm.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

// prompt is a small chat.
func prompt() llm.Request {
	return llm.Request{Messages: []llm.Message{
		{Role: llm.System, Content: "You are terse."},
		{Role: llm.User, Content: "Count."},
		{Role: llm.Assistant, Content: "Zero."},
		{Role: llm.User, Content: "Go on."},
	}}
}

// stream runs req and returns the deltas it delivered.
func stream(ctx context.Context, p llm.Provider, req llm.Request) ([]string, llm.Result, error) {
	var deltas []string
	res, err := p.Stream(ctx, req, func(text string) error {
		deltas = append(deltas, text)
		return nil
	})
	return deltas, res, err
}

// asError checks that err is an *llm.Error of the given kind.
func asError(t *testing.T, err, kind error) *llm.Error {
	t.Helper()
	var e *llm.Error
	if !errors.As(err, &e) || !errors.Is(err, kind) {
		t.Fatalf("err = %v (%T), want an *llm.Error matching %v", err, err, kind)
	}
	return e
}

func TestStream(t *testing.T) {
	t.Parallel()
	finish := map[string]string{llm.OpenAI: "stop", llm.Ollama: "stop", llm.Anthropic: "end_turn"}
	for _, kind := range providers {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			s := llmtest.NewServer(t, llmtest.Config{Reply: replyFunc})
			p := newProvider(t, s, kind, llm.Config{})
			if p.Name() != kind || p.Model() != "m" {
				t.Errorf("Name, Model = %q, %q; want %q, %q", p.Name(), p.Model(), kind, "m")
			}
			req := prompt()
			temp := 0.7
			req.Temperature, req.MaxTokens, req.Stop = &temp, 40, []string{"STOP"}

			deltas, res, err := stream(t.Context(), p, req)
			if err != nil {
				t.Fatalf("Stream: %v", err)
			}
			if diff := cmp.Diff(pieces, deltas); diff != "" {
				t.Errorf("deltas, one per chunk in order (-want +got):\n%s", diff)
			}
			got := s.Requests()
			if len(got) != 1 {
				t.Fatalf("server got %d requests, want 1", len(got))
			}
			rec := got[0]
			want := llm.Result{Text: reply, Model: "m", FinishReason: finish[kind], Attempts: 1,
				Usage: llm.Usage{PromptTokens: rec.PromptTokens, CompletionTokens: rec.CompletionTokens}}
			if diff := cmp.Diff(want, res); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			if rec.PromptTokens == 0 || rec.CompletionTokens != len(pieces) {
				t.Errorf("server reported usage %d/%d; the test needs real counts", rec.PromptTokens, rec.CompletionTokens)
			}

			// What went over the wire.
			wantMsgs := []llmtest.Message{{Role: "system", Content: "You are terse."}, {Role: "user", Content: "Count."},
				{Role: "assistant", Content: "Zero."}, {Role: "user", Content: "Go on."}}
			if diff := cmp.Diff(wantMsgs, rec.Messages); diff != "" {
				t.Errorf("messages sent (-want +got):\n%s", diff)
			}
			if rec.Model != "m" || rec.Temperature == nil || *rec.Temperature != 0.7 || rec.MaxTokens != 40 ||
				!cmp.Equal(rec.Stop, []string{"STOP"}) || !rec.Stream {
				t.Errorf("request sent: model %q temperature %v max_tokens %d stop %q stream %v",
					rec.Model, rec.Temperature, rec.MaxTokens, rec.Stop, rec.Stream)
			}
			if kind == llm.OpenAI {
				var body map[string]json.RawMessage
				if err := json.Unmarshal(rec.Body, &body); err != nil {
					t.Fatal(err)
				}
				// Local OpenAI-compatible servers know max_tokens only.
				if _, ok := body["max_completion_tokens"]; ok || body["max_tokens"] == nil {
					t.Errorf("OpenAI-compatible body should carry max_tokens only: %s", rec.Body)
				}
				if !rec.IncludeUsage {
					t.Error("stream_options.include_usage not set")
				}
				if h := rec.Header.Get("Authorization"); h != "" {
					t.Errorf("Authorization = %q sent without an API key", h)
				}
			}
		})
	}
}

func TestRequestOptions(t *testing.T) {
	t.Parallel()
	zero := 0.0
	tests := []struct {
		name     string
		req      func(*llm.Request)
		wantTemp *float64
		model    string
	}{
		{"no temperature is the server's default", func(*llm.Request) {}, nil, "m"},
		{"zero temperature is sent", func(r *llm.Request) { r.Temperature = &zero }, &zero, "m"},
		{"model override", func(r *llm.Request) { r.Model = "other" }, nil, "other"},
	}
	for _, tt := range tests {
		for _, kind := range providers {
			t.Run(tt.name+"/"+kind, func(t *testing.T) {
				t.Parallel()
				s := llmtest.NewServer(t, llmtest.Config{})
				p := newProvider(t, s, kind, llm.Config{})
				req := prompt()
				tt.req(&req)
				_, res, err := stream(t.Context(), p, req)
				if err != nil {
					t.Fatal(err)
				}
				rec := s.Requests()[0]
				if !cmp.Equal(tt.wantTemp, rec.Temperature) {
					t.Errorf("temperature sent = %v, want %v; body %s", rec.Temperature, tt.wantTemp, rec.Body)
				}
				if rec.Model != tt.model || res.Model != tt.model {
					t.Errorf("model sent %q, result %q; want %q", rec.Model, res.Model, tt.model)
				}
				if rec.MaxTokens != 0 && kind != llm.Anthropic {
					t.Errorf("max tokens %d sent although the request set none", rec.MaxTokens)
				}
			})
		}
	}
}

func TestEstimatedUsage(t *testing.T) {
	t.Parallel()
	// Anthropic always reports usage; the others may not.
	for _, kind := range []string{llm.OpenAI, llm.Ollama} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			s := llmtest.NewServer(t, llmtest.Config{Reply: replyFunc, OmitUsage: true})
			p := newProvider(t, s, kind, llm.Config{})
			req := prompt()
			_, res, err := stream(t.Context(), p, req)
			if err != nil {
				t.Fatal(err)
			}
			prompt := 0
			for _, m := range req.Messages {
				prompt += tokens.Count(m.Content) + 4
			}
			want := llm.Usage{PromptTokens: prompt, CompletionTokens: tokens.Count(reply), Estimated: true}
			if diff := cmp.Diff(want, res.Usage); diff != "" {
				t.Errorf("usage (-want +got):\n%s", diff)
			}
			if llm.EstimatePrompt(req.Messages) != prompt {
				t.Errorf("EstimatePrompt = %d, want %d", llm.EstimatePrompt(req.Messages), prompt)
			}
		})
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	t.Parallel()
	for _, kind := range providers {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			s := llmtest.NewServer(t, llmtest.Config{Reply: replyFunc})
			s.Push(llmtest.Status(429, time.Second))
			p := newProvider(t, s, kind, llm.Config{})
			start := time.Now()
			_, res, err := stream(t.Context(), p, prompt())
			if err != nil {
				t.Fatalf("Stream: %v", err)
			}
			if waited := time.Since(start); waited < time.Second {
				t.Errorf("retried after %v, before the server's Retry-After of 1s", waited)
			}
			if res.Attempts != 2 || res.Text != reply || len(s.Requests()) != 2 {
				t.Errorf("Attempts %d, text %q, server saw %d requests; want 2, the reply, 2",
					res.Attempts, res.Text, len(s.Requests()))
			}
		})
	}
}

func TestRetryAfterBeyondCapStops(t *testing.T) {
	t.Parallel()
	s := llmtest.NewServer(t, llmtest.Config{})
	s.Push(llmtest.Status(429, 30*time.Second))
	p := newProvider(t, s, llm.OpenAI, llm.Config{MaxRetryWait: 100 * time.Millisecond})
	_, res, err := stream(t.Context(), p, prompt())
	e := asError(t, err, llm.ErrRateLimited)
	if e.Status != 429 || e.RetryAfter != 30*time.Second || res.Attempts != 1 {
		t.Errorf("Status %d, RetryAfter %v, Attempts %d; want 429, 30s, 1", e.Status, e.RetryAfter, res.Attempts)
	}
	if !strings.Contains(err.Error(), "Rate limit reached") || !strings.Contains(err.Error(), "retry after 30s") {
		t.Errorf("message %q lacks the server's words or the wait", err)
	}
}

func TestRetriesThenGiveUp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		faults []llmtest.Fault
		kind   error
		status int
	}{
		{"500 every time", []llmtest.Fault{llmtest.Status(500, 0), llmtest.Status(500, 0), llmtest.Status(500, 0)},
			llm.ErrUnavailable, 500},
		{"429 every time", []llmtest.Fault{llmtest.Status(429, 0), llmtest.Status(429, 0), llmtest.Status(429, 0)},
			llm.ErrRateLimited, 429},
		{"dropped every time", []llmtest.Fault{llmtest.FailAfter(-1, llmtest.Drop), llmtest.FailAfter(-1, llmtest.Drop),
			llmtest.FailAfter(-1, llmtest.Drop)}, llm.ErrUnreachable, 0},
	}
	for _, tt := range tests {
		for _, kind := range providers {
			t.Run(tt.name+"/"+kind, func(t *testing.T) {
				t.Parallel()
				s := llmtest.NewServer(t, llmtest.Config{})
				s.Push(tt.faults...)
				p := newProvider(t, s, kind, llm.Config{Retries: 2})
				_, res, err := stream(t.Context(), p, prompt())
				e := asError(t, err, tt.kind)
				if e.Status != tt.status || e.Started || res.Attempts != 3 || len(s.Requests()) != 3 {
					t.Errorf("Status %d, Started %v, Attempts %d, server saw %d; want %d, false, 3, 3",
						e.Status, e.Started, res.Attempts, len(s.Requests()), tt.status)
				}
			})
		}
	}
}

func TestRetryRecovers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		faults []llmtest.Fault
	}{
		{"503 then 500", []llmtest.Fault{llmtest.Status(503, 0), llmtest.Status(500, 0)}},
		{"reset before the response", []llmtest.Fault{llmtest.FailAfter(-1, llmtest.Drop)}},
		{"dropped before any text", []llmtest.Fault{llmtest.FailAfter(0, llmtest.Drop)}},
		{"error event before any text", []llmtest.Fault{llmtest.FailAfter(0, llmtest.ErrorEvent)}},
	}
	for _, tt := range tests {
		for _, kind := range providers {
			t.Run(tt.name+"/"+kind, func(t *testing.T) {
				t.Parallel()
				s := llmtest.NewServer(t, llmtest.Config{Reply: replyFunc})
				s.Push(tt.faults...)
				p := newProvider(t, s, kind, llm.Config{})
				deltas, res, err := stream(t.Context(), p, prompt())
				if err != nil {
					t.Fatalf("Stream: %v", err)
				}
				if want := len(tt.faults) + 1; res.Attempts != want || res.Text != reply {
					t.Errorf("Attempts %d, text %q; want %d, %q", res.Attempts, res.Text, want, reply)
				}
				if diff := cmp.Diff(pieces, deltas); diff != "" {
					t.Errorf("deltas (-want +got):\n%s", diff)
				}
			})
		}
	}
}

func TestBrokenStream(t *testing.T) {
	t.Parallel()
	tests := []struct {
		brk   llmtest.Break
		after int
		want  string // in the error's message
	}{
		{llmtest.ErrorEvent, 3, "error mid-stream"},
		{llmtest.Drop, 3, "connection dropped"},
		{llmtest.Truncate, 3, "ended before its end marker"},
		{llmtest.Truncate, len(pieces), "ended before its end marker"},
		{llmtest.Malformed, 3, "not valid JSON"},
		{llmtest.Malformed, 0, "not valid JSON"}, // a protocol fault: not retried even before text
	}
	for _, tt := range tests {
		for _, kind := range providers {
			t.Run(fmt.Sprintf("%s-after-%d/%s", tt.brk, tt.after, kind), func(t *testing.T) {
				t.Parallel()
				s := llmtest.NewServer(t, llmtest.Config{Reply: replyFunc})
				s.Push(llmtest.FailAfter(tt.after, tt.brk))
				p := newProvider(t, s, kind, llm.Config{})
				deltas, res, err := stream(t.Context(), p, prompt())
				e := asError(t, err, llm.ErrInterrupted)
				sent := pieces[:tt.after]
				if diff := cmp.Diff(sent, deltas, cmp.Comparer(func(a, b []string) bool {
					return strings.Join(a, "") == strings.Join(b, "")
				})); diff != "" {
					t.Errorf("deltas before the break (-want +got):\n%s", diff)
				}
				if res.Text != strings.Join(sent, "") || e.Started != (tt.after > 0) || res.Attempts != 1 {
					t.Errorf("text %q, Started %v, Attempts %d; want %q, %v, 1",
						res.Text, e.Started, res.Attempts, strings.Join(sent, ""), tt.after > 0)
				}
				if e.Status != 200 || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("Status %d, message %q; want 200 and %q", e.Status, err, tt.want)
				}
			})
		}
	}
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	const timeout = 200 * time.Millisecond
	for _, after := range []int{-1, 0, 2} {
		for _, kind := range providers {
			t.Run(fmt.Sprintf("stall-after-%d/%s", after, kind), func(t *testing.T) {
				t.Parallel()
				s := llmtest.NewServer(t, llmtest.Config{Reply: replyFunc})
				s.Push(llmtest.FailAfter(after, llmtest.Stall))
				p := newProvider(t, s, kind, llm.Config{Timeout: timeout})
				start := time.Now()
				deltas, res, err := stream(t.Context(), p, prompt())
				took := time.Since(start)
				e := asError(t, err, llm.ErrTimeout)
				if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("a timeout must not read as the caller's cancellation: %v", err)
				}
				// The upper bound only says it did not hang: the machine
				// may be busy.
				if took < timeout || took > 25*timeout {
					t.Errorf("gave up after %v, want about %v", took, timeout)
				}
				want := max(after, 0)
				if len(deltas) != want || e.Started != (want > 0) || res.Attempts != 1 {
					t.Errorf("%d deltas, Started %v, Attempts %d; want %d, %v, 1", len(deltas), e.Started, res.Attempts, want, want > 0)
				}
				if msg := err.Error(); !strings.Contains(msg, "for 200ms") || !strings.HasSuffix(msg, "(timeout)") {
					t.Errorf("message %q does not say how long it waited", err)
				}
				// The client closed its connection, so the stalled handler
				// returned: nothing is left hanging.
				if !s.WaitIdle(2 * time.Second) {
					t.Fatal("the stalled handler is still running")
				}
				if !s.Requests()[0].Canceled {
					t.Error("the server did not see the client go away")
				}
			})
		}
	}
}

func TestSlowButSteady(t *testing.T) {
	t.Parallel()
	t.Run("server paced under the timeout", func(t *testing.T) {
		t.Parallel()
		// 25 chunks 20ms apart take longer than the timeout in all, but no
		// gap comes near it.
		text := strings.TrimSpace(strings.Repeat("word ", 25))
		s := llmtest.NewServer(t, llmtest.Config{Reply: func(llmtest.Received) string { return text },
			Interval: 20 * time.Millisecond})
		p := newProvider(t, s, llm.OpenAI, llm.Config{Timeout: 300 * time.Millisecond})
		if _, res, err := stream(t.Context(), p, prompt()); err != nil || res.Text != text {
			t.Fatalf("Stream = %q, %v", res.Text, err)
		}
	})
	for _, kind := range providers {
		t.Run("slow consumer/"+kind, func(t *testing.T) {
			t.Parallel()
			// Time spent in onDelta is not the server's silence.
			s := llmtest.NewServer(t, llmtest.Config{Reply: replyFunc})
			p := newProvider(t, s, kind, llm.Config{Timeout: 200 * time.Millisecond})
			n := 0
			res, err := p.Stream(t.Context(), prompt(), func(string) error {
				if n++; n == 1 {
					time.Sleep(500 * time.Millisecond)
				}
				return nil
			})
			if err != nil || res.Text != reply {
				t.Fatalf("Stream = %q, %v", res.Text, err)
			}
		})
	}
}

func TestUnreachable(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: connections are refused
	for _, kind := range providers {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			url := "http://" + addr + map[string]string{llm.Ollama: ""}[kind]
			if kind != llm.Ollama {
				url += "/v1"
			}
			p := newProvider(t, nil, kind, llm.Config{BaseURL: url, Retries: 1})
			_, res, err := stream(t.Context(), p, prompt())
			e := asError(t, err, llm.ErrUnreachable)
			if res.Attempts != 2 || e.Started {
				t.Errorf("Attempts %d, Started %v; want 2, false", res.Attempts, e.Started)
			}
			want := fmt.Sprintf("llm: %s at %s is not reachable: connection refused", kind, url)
			if err.Error() != want {
				t.Errorf("message = %q, want %q", err, want)
			}
		})
	}
}

func TestAuth(t *testing.T) {
	t.Parallel()
	for _, kind := range providers {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			s := llmtest.NewServer(t, llmtest.Config{APIKey: "secret"})
			bad := newProvider(t, s, kind, llm.Config{APIKey: "wrong"})
			_, res, err := stream(t.Context(), bad, prompt())
			e := asError(t, err, llm.ErrAuth)
			if e.Status != 401 || res.Attempts != 1 || !strings.Contains(err.Error(), "check the API key") {
				t.Errorf("Status %d, Attempts %d, message %q", e.Status, res.Attempts, err)
			}
			good := newProvider(t, s, kind, llm.Config{APIKey: "secret"})
			if _, _, err := stream(t.Context(), good, prompt()); err != nil {
				t.Errorf("with the right key: %v", err)
			}
		})
	}
}

func TestUnknownModel(t *testing.T) {
	t.Parallel()
	serverSays := map[string]string{
		llm.OpenAI:    "The model `x` does not exist or you do not have access to it.",
		llm.Ollama:    `model "x" not found, try pulling it first`,
		llm.Anthropic: "model: x",
	}
	for _, kind := range providers {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			s := llmtest.NewServer(t, llmtest.Config{Models: []string{"known"}})
			p := newProvider(t, s, kind, llm.Config{Model: "x"})
			_, res, err := stream(t.Context(), p, prompt())
			e := asError(t, err, llm.ErrBadRequest)
			if e.Status != 404 || e.Message != serverSays[kind] || res.Attempts != 1 {
				t.Errorf("Status %d, Message %q, Attempts %d; want 404, %q, 1", e.Status, e.Message, res.Attempts, serverSays[kind])
			}
			if want := fmt.Sprintf("llm: %s answered 404: %s", kind, serverSays[kind]); err.Error() != want {
				t.Errorf("message = %q, want %q", err, want)
			}
		})
	}
}

func TestCallerCancels(t *testing.T) {
	t.Parallel()
	for _, kind := range providers {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			s := llmtest.NewServer(t, llmtest.Config{Reply: replyFunc, Interval: 20 * time.Millisecond})
			p := newProvider(t, s, kind, llm.Config{})
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			var deltas []string
			res, err := p.Stream(ctx, prompt(), func(text string) error {
				if deltas = append(deltas, text); len(deltas) == 2 {
					cancel()
				}
				return nil
			})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want context.Canceled", err)
			}
			for _, kind := range []error{llm.ErrTimeout, llm.ErrInterrupted, llm.ErrUnreachable} {
				if errors.Is(err, kind) {
					t.Errorf("a cancellation also reads as %v", kind)
				}
			}
			if !strings.HasPrefix(res.Text, pieces[0]+pieces[1]) || res.Text != strings.Join(deltas, "") {
				t.Errorf("partial text %q does not match the deltas %q", res.Text, deltas)
			}
			if !s.WaitIdle(2 * time.Second) {
				t.Fatal("the server's handler is still running")
			}
			if !s.Requests()[0].Canceled {
				t.Error("the server did not see its request cancelled")
			}
		})
	}
}

func TestCancelDuringRetryWait(t *testing.T) {
	t.Parallel()
	s := llmtest.NewServer(t, llmtest.Config{})
	s.Push(llmtest.Status(503, 5*time.Second))
	p := newProvider(t, s, llm.Ollama, llm.Config{})
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, res, err := stream(ctx, p, prompt())
	if !errors.Is(err, context.DeadlineExceeded) || res.Attempts != 1 {
		t.Fatalf("err = %v after %d attempts, want the caller's deadline after 1", err, res.Attempts)
	}
	if took := time.Since(start); took > 4*time.Second {
		t.Errorf("returned after %v: the 5s wait ignored the context", took)
	}
}

func TestOnDeltaErrorStops(t *testing.T) {
	t.Parallel()
	errEnough := errors.New("enough")
	for _, kind := range providers {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			s := llmtest.NewServer(t, llmtest.Config{Reply: replyFunc, Interval: 5 * time.Millisecond})
			p := newProvider(t, s, kind, llm.Config{})
			var deltas []string
			res, err := p.Stream(t.Context(), prompt(), func(text string) error {
				if deltas = append(deltas, text); len(deltas) == 2 {
					return errEnough
				}
				return nil
			})
			if !errors.Is(err, errEnough) {
				t.Fatalf("err = %v, want onDelta's error", err)
			}
			if len(deltas) != 2 || res.Text != pieces[0]+pieces[1] || res.Attempts != 1 {
				t.Errorf("%d deltas, text %q, Attempts %d; want 2, %q, 1", len(deltas), res.Text, res.Attempts, pieces[0]+pieces[1])
			}
			if !s.WaitIdle(2 * time.Second) {
				t.Fatal("the server's handler is still running")
			}
		})
	}
}

func TestConcurrentStreams(t *testing.T) {
	t.Parallel()
	for _, kind := range providers {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			s := llmtest.NewServer(t, llmtest.Config{Reply: func(r llmtest.Received) string {
				return "echo " + r.Messages[len(r.Messages)-1].Content
			}})
			p := newProvider(t, s, kind, llm.Config{})
			var wg sync.WaitGroup
			for i := range 8 {
				wg.Go(func() {
					req := llm.Request{Messages: []llm.Message{{Role: llm.User, Content: fmt.Sprint("n", i)}}}
					_, res, err := stream(t.Context(), p, req)
					if want := fmt.Sprint("echo n", i); err != nil || res.Text != want {
						t.Errorf("stream %d = %q, %v; want %q", i, res.Text, err, want)
					}
				})
			}
			wg.Wait()
		})
	}
}

func TestRequestRefusedBeforeSending(t *testing.T) {
	t.Parallel()
	s := llmtest.NewServer(t, llmtest.Config{})
	p := newProvider(t, s, llm.OpenAI, llm.Config{})
	for _, req := range []llm.Request{{}, {Messages: []llm.Message{{Role: "narrator", Content: "x"}}}} {
		_, _, err := stream(t.Context(), p, req)
		asError(t, err, llm.ErrBadRequest)
	}
	if n := len(s.Requests()); n != 0 {
		t.Errorf("server got %d requests, want none", n)
	}
}

func TestAnthropicSystemMessages(t *testing.T) {
	t.Parallel()
	s := llmtest.NewServer(t, llmtest.Config{})
	p := newProvider(t, s, llm.Anthropic, llm.Config{})
	req := llm.Request{Messages: []llm.Message{
		{Role: llm.System, Content: "Persona."}, {Role: llm.User, Content: "Hi"}, {Role: llm.System, Content: "Note."},
	}}
	if _, _, err := stream(t.Context(), p, req); err != nil {
		t.Fatal(err)
	}
	want := []llmtest.Message{{Role: "system", Content: "Persona.\n\nNote."}, {Role: "user", Content: "Hi"}}
	if diff := cmp.Diff(want, s.Requests()[0].Messages); diff != "" {
		t.Errorf("messages sent (-want +got):\n%s", diff)
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  llm.Config
		want string // in the error; "" for success
	}{
		{"no provider", llm.Config{Model: "m"}, `no provider set: choose "openai", "ollama" or "anthropic"`},
		{"unknown provider", llm.Config{Provider: "gemini", Model: "m"}, `unknown provider "gemini"`},
		{"bad URL", llm.Config{Provider: "openai", BaseURL: "localhost:8000", Model: "m"}, "write it like http://127.0.0.1:8000/v1"},
		{"ftp URL", llm.Config{Provider: "ollama", BaseURL: "ftp://host", Model: "m"}, "is not an http(s) URL"},
		{"ollama /v1", llm.Config{Provider: "ollama", BaseURL: "http://127.0.0.1:11434/v1", Model: "m"}, `with provider "openai"`},
		{"no model", llm.Config{Provider: "ollama"}, "ollama list"},
		{"openai.com without key", llm.Config{Provider: "openai", Model: "gpt-4o"}, "api.openai.com needs an API key"},
		{"anthropic without key", llm.Config{Provider: "anthropic", Model: "c"}, "api.anthropic.com needs an API key"},
		{"local openai without key", llm.Config{Provider: "OpenAI", BaseURL: "http://127.0.0.1:8000/v1/", Model: "m"}, ""},
		{"default ollama", llm.Config{Provider: "ollama", Model: "llama3.2"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := llm.New(tt.cfg)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if p.Name() != strings.ToLower(tt.cfg.Provider) {
					t.Errorf("Name = %q", p.Name())
				}
				return
			}
			if !errors.Is(err, llm.ErrConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrConfig saying %q", err, tt.want)
			}
		})
	}
}

func TestDetectOllama(t *testing.T) {
	t.Parallel()
	s := llmtest.NewServer(t, llmtest.Config{Models: []string{"qwen2.5:0.5b", "llama3.2:latest"}})
	got, err := llm.DetectOllama(t.Context(), s.URL()+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"qwen2.5:0.5b", "llama3.2:latest"}, got); diff != "" {
		t.Errorf("models (-want +got):\n%s", diff)
	}

	_, err = llm.DetectOllama(t.Context(), s.URL()+"/not-ollama", s.Client())
	if e := asError(t, err, llm.ErrBadRequest); e.Status != 404 {
		t.Errorf("Status = %d, want 404", e.Status)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = llm.DetectOllama(t.Context(), "http://"+addr, nil)
	asError(t, err, llm.ErrUnreachable)
}

func TestErrorMessages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  *llm.Error
		want string
	}{
		{&llm.Error{Kind: llm.ErrUnreachable, Provider: "openai", URL: "http://127.0.0.1:9/v1", Message: "connection refused"},
			"llm: openai at http://127.0.0.1:9/v1 is not reachable: connection refused"},
		{&llm.Error{Kind: llm.ErrTimeout, Provider: "openai", Message: "the model sent nothing for 30s"},
			"llm: the model sent nothing for 30s (timeout)"},
		{&llm.Error{Kind: llm.ErrBadRequest, Provider: "ollama", Status: 404, Message: `model "x" not found`},
			`llm: ollama answered 404: model "x" not found`},
		{&llm.Error{Kind: llm.ErrAuth, Provider: "anthropic", Status: 401, Message: "invalid x-api-key"},
			"llm: anthropic answered 401: invalid x-api-key (check the API key)"},
		{&llm.Error{Kind: llm.ErrRateLimited, Provider: "openai", Status: 429, RetryAfter: 20 * time.Second},
			"llm: openai answered 429: Too Many Requests (rate limited; it asks to retry after 20s)"},
		{&llm.Error{Kind: llm.ErrUnavailable, Provider: "ollama", Status: 503, Message: "busy"},
			"llm: ollama answered 503: busy (server unavailable)"},
		{&llm.Error{Kind: llm.ErrInterrupted, Provider: "anthropic", Message: "the connection dropped"},
			"llm: the reply from anthropic broke off: the connection dropped"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
		if !errors.Is(tt.err, tt.err.Kind) || errors.Is(tt.err, llm.ErrConfig) {
			t.Errorf("%v: Is does not match exactly its kind", tt.err)
		}
	}
	cause := errors.New("cause")
	if e := (&llm.Error{Kind: llm.ErrInterrupted, Err: cause}); !errors.Is(e, cause) {
		t.Error("Unwrap does not reach the cause")
	}
}
