package llm

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestCheckers(t *testing.T) {
	t.Parallel()
	type step struct {
		line     string
		keep     bool
		err      string // in the error; "" for none
		finished bool
	}
	tests := []struct {
		provider string
		steps    []step
		meta     meta
	}{
		{OpenAI, []step{
			{line: ": keep-alive", keep: true},
			{line: `data: {"model":"gpt","choices":[{"delta":{"content":"a"},"finish_reason":null}]}`, keep: true},
			{line: "", keep: true},
			{line: `data:{"choices":[{"delta":{},"finish_reason":"length"}]}`, keep: true},
			{line: `data: {"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2}}`, keep: true},
			{line: "data: [DONE]", keep: true, finished: true},
		}, meta{model: "gpt", finish: "length", prompt: 5, completion: 2, hasPrompt: true, hasCompletion: true}},
		{OpenAI, []step{
			{line: `data: {"choices":[{"delta":{"content":"a"}`, err: "not valid JSON"},
		}, meta{}},
		{OpenAI, []step{
			{line: `data: {"error":{"message":"CUDA out of memory","type":"server_error"}}`, err: "CUDA out of memory"},
		}, meta{}},
		{OpenAI, []step{
			{line: `data: {"object":"error","message":"prompt too long","type":"BadRequestError","code":400}`, err: "prompt too long"},
		}, meta{}},
		{Ollama, []step{
			{line: `{"model":"llama","message":{"role":"assistant","content":"a"},"done":false}`, keep: true},
			{line: "  ", keep: false},
			{line: `{"model":"llama","done":true,"done_reason":"stop","eval_count":7}`, keep: true, finished: true},
		}, meta{model: "llama", finish: "stop", completion: 7, hasCompletion: true}},
		{Ollama, []step{{line: `["not an object"]`, err: "not valid JSON"}}, meta{}},
		{Ollama, []step{{line: `{"error":"model runner crashed"}`, err: "model runner crashed"}}, meta{}},
		{Anthropic, []step{
			{line: "event: message_start", keep: true},
			{line: `data: {"type":"message_start","message":{"model":"claude","usage":{"input_tokens":9,"output_tokens":1}}}`, keep: true},
			{line: "", keep: true},
			{line: "event: message_delta", keep: true},
			{line: `data: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":3}}`, keep: true},
			{line: "", keep: true},
			{line: "event: message_stop", keep: true},
			{line: `data: {"type":"message_stop"}`, keep: true, finished: true},
		}, meta{model: "claude", finish: "end_turn", prompt: 9, completion: 3, hasPrompt: true, hasCompletion: true}},
		{Anthropic, []step{
			{line: "event: error", keep: true},
			{line: `data: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, err: "Overloaded"},
		}, meta{}},
		{Anthropic, []step{{line: `data: {"index":0}`, err: "no type"}}, meta{}},
	}
	for _, tt := range tests {
		c := newChecker(tt.provider)
		for i, st := range tt.steps {
			keep, err := c.line([]byte(st.line))
			if st.err != "" {
				if err == nil || !strings.Contains(err.Error(), st.err) || keep {
					t.Errorf("%s step %d %q: keep %v, err %v; want the line withheld and an error saying %q",
						tt.provider, i, st.line, keep, err, st.err)
				}
				continue
			}
			if err != nil || keep != st.keep || c.finished() != st.finished {
				t.Errorf("%s step %d %q: keep %v, err %v, finished %v; want %v, nil, %v",
					tt.provider, i, st.line, keep, err, c.finished(), st.keep, st.finished)
			}
		}
		if diff := cmp.Diff(tt.meta, c.meta(), cmp.AllowUnexported(meta{})); diff != "" {
			t.Errorf("%s meta (-want +got):\n%s", tt.provider, diff)
		}
	}
}

// readStrict reads body through a strictBody for provider, the server
// sending one byte at a time.
func readStrict(provider, body string) (string, *exchange, error) {
	ex := &exchange{provider: provider}
	b := newStrictBody(io.NopCloser(iotest.OneByteReader(strings.NewReader(body))), ex,
		newWatchdog(0, nil), func(error) {})
	out, err := io.ReadAll(b)
	return string(out), ex, err
}

func TestStrictBody(t *testing.T) {
	t.Parallel()
	const stream = "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\r\n\r\n" +
		": comment\n\ndata: {\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1}}\n\ndata: [DONE]\n"
	tests := []struct {
		name, provider, body string
		want                 string // what langchaingo gets
		err                  string // "" for a complete stream
	}{
		{"complete", OpenAI, stream, stream, ""},
		{"nothing read after the end marker", OpenAI, stream + "\ndata: {junk\n", stream, ""},
		{"end marker without newline", OpenAI, "data: [DONE]", "data: [DONE]", ""},
		{"cut before the end marker", OpenAI, "data: {\"choices\":[]}\n\n", "data: {\"choices\":[]}\n\n", "ended before its end marker (data: [DONE])"},
		{"cut in the middle of a line", Ollama, "{\"done\":false}\n{\"do", "{\"done\":false}\n", "not valid JSON"},
		{"bad line stops before it", Ollama, "{\"done\":false}\nnot json\n{\"done\":true}\n", "{\"done\":false}\n", "not valid JSON"},
		{"error event withheld", Anthropic, "event: ping\ndata: {\"type\":\"ping\"}\n\nevent: error\ndata: {\"type\":\"error\",\"error\":{\"message\":\"Overloaded\"}}\n\n",
			"event: ping\ndata: {\"type\":\"ping\"}\n\nevent: error\n", "Overloaded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ex, err := readStrict(tt.provider, tt.body)
			if got != tt.want {
				t.Errorf("handed out %q, want %q", got, tt.want)
			}
			out := ex.snapshot()
			if tt.err == "" {
				if err != nil || !out.done || out.readErr != nil {
					t.Errorf("err %v, done %v, recorded %v; want a complete stream", err, out.done, out.readErr)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) || out.done || !errors.Is(out.readErr, err) {
				t.Errorf("err %v, done %v, recorded %v; want %q recorded", err, out.done, out.readErr, tt.err)
			}
		})
	}
}

func TestStrictBodyLineTooLong(t *testing.T) {
	t.Parallel()
	ex := &exchange{provider: OpenAI}
	b := newStrictBody(io.NopCloser(bytes.NewReader(bytes.Repeat([]byte("x"), maxLine+10))), ex, newWatchdog(0, nil), func(error) {})
	if _, err := io.ReadAll(b); err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Errorf("err = %v, want a line too long", err)
	}
}

// stallReader blocks until its context ends.
type stallReader struct{ ctx context.Context }

func (r stallReader) Read([]byte) (int, error) {
	<-r.ctx.Done()
	return 0, r.ctx.Err()
}

func TestWatchdog(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancelCause(t.Context())
	fired := make(chan struct{})
	w := newWatchdog(50*time.Millisecond, func() { close(fired); cancel(errSilent) })
	ex := &exchange{provider: OpenAI}
	b := newStrictBody(io.NopCloser(stallReader{ctx}), ex, w, cancel)
	defer b.Close()

	// Idle time outside Read does not count.
	time.Sleep(120 * time.Millisecond)
	select {
	case <-fired:
		t.Fatal("fired while nobody was reading")
	default:
	}
	start := time.Now()
	_, err := b.Read(make([]byte, 10))
	if !errors.Is(err, errSilence) {
		t.Fatalf("err = %v, want errSilence", err)
	}
	if took := time.Since(start); took < 50*time.Millisecond {
		t.Errorf("fired after %v of waiting, before the timeout", took)
	}
}

func TestDropField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		path []string
		want string
	}{
		{`{"model":"m","temperature":0,"stream":true}`, []string{"temperature"}, `{"model":"m","stream":true}`},
		{`{"options":{"temperature":0,"stop":["x"]},"model":"m"}`, []string{"options", "temperature"}, `{"model":"m","options":{"stop":["x"]}}`},
		{`{"model":"m"}`, []string{"options", "temperature"}, `{"model":"m"}`},
	}
	for _, tt := range tests {
		got, err := dropField([]byte(tt.in), tt.path...)
		if err != nil || string(got) != tt.want {
			t.Errorf("dropField(%s, %v) = %s, %v; want %s", tt.in, tt.path, got, err, tt.want)
		}
	}
	if _, err := dropField([]byte(`[1]`), "x"); err == nil {
		t.Error("dropField accepted a JSON array")
	}
}

func TestErrorMessage(t *testing.T) {
	t.Parallel()
	tests := []struct{ body, want string }{
		{`{"error":{"message":"The model does not exist","type":"invalid_request_error"}}`, "The model does not exist"},
		{`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, "Overloaded"},
		{`{"error":"model \"x\" not found"}`, `model "x" not found`},
		{`{"message":"no route"}`, "no route"},
		{"<html>Bad Gateway</html>\n", "<html>Bad Gateway</html>"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := errorMessage([]byte(tt.body)); got != tt.want {
			t.Errorf("errorMessage(%q) = %q, want %q", tt.body, got, tt.want)
		}
	}
}
