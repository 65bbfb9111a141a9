package api_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/timbre-ai/timbre/agents/llm/llmtest"
)

// openAIError checks an OpenAI-shaped error body and returns its code.
func openAIError(t *testing.T, r response) (code, typ string, param any) {
	t.Helper()
	var body struct {
		Error map[string]any `json:"error"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil || body.Error == nil {
		t.Fatalf("not an OpenAI error body: %s", r.body)
	}
	for _, k := range []string{"message", "type", "param", "code"} {
		if _, ok := body.Error[k]; !ok {
			t.Fatalf("OpenAI error lacks %q: %s", k, r.body)
		}
	}
	if body.Error["message"] == "" {
		t.Fatalf("OpenAI error without a message: %s", r.body)
	}
	code, _ = body.Error["code"].(string)
	typ, _ = body.Error["type"].(string)
	return code, typ, body.Error["param"]
}

// chunks reads an OpenAI stream strictly: every event a data line, every
// data line a JSON chunk until the final [DONE].
func chunks(t *testing.T, body []byte) (out []map[string]any, done bool) {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			t.Fatalf("stream line is not data: %q", line)
		}
		if done {
			t.Fatalf("data after [DONE]: %q", line)
		}
		if data == "[DONE]" {
			done = true
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(data), &m); err != nil {
			t.Fatalf("chunk is not JSON: %q", data)
		}
		out = append(out, m)
	}
	return out, done
}

func TestOpenAIModels(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice, bob := e.signup("alice"), e.signup("bob")
	mine := newAgent(t, alice, map[string]any{"name": "Nova Guide"})
	newAgent(t, bob, map[string]any{"name": "Bob Public", "visibility": "public", "creator": "bob"})
	bobPrivate := newAgent(t, bob, map[string]any{"name": "Bob Secret"})
	key := alice.withKey()

	r := key.json("GET", "/v1/models", nil).must(t, 200).json(t)
	if r["object"] != "list" {
		t.Fatalf("object %v", r["object"])
	}
	ids := map[string]string{}
	for _, m := range r["data"].([]any) {
		m := m.(map[string]any)
		if m["object"] != "model" || m["created"].(float64) <= 0 || m["owned_by"] == "" {
			t.Fatalf("model entry %v", m)
		}
		ids[m["id"].(string)] = m["agent_id"].(string)
	}
	if ids["nova-guide"] != mine || ids["bob-public"] == "" || len(ids) != 2 {
		t.Fatalf("models = %v; want alice's agent and bob's public one, not bob's private one", ids)
	}
	key.json("GET", "/v1/models/nova-guide", nil).must(t, 200)
	key.json("GET", "/v1/models/"+mine, nil).must(t, 200)
	if code, _, _ := openAIError(t, key.json("GET", "/v1/models/"+bobPrivate, nil).must(t, 404)); code != "model_not_found" {
		t.Fatalf("bob's private agent: %s", code)
	}
	// A session cookie is not an API key; a wrong key is refused.
	if code, typ, _ := openAIError(t, alice.json("GET", "/v1/models", nil).must(t, 401)); code != "invalid_api_key" || typ != "authentication_error" {
		t.Fatalf("cookie on /v1: %s %s", code, typ)
	}
	bad := e.client()
	bad.key = "tmb_not_a_real_key"
	openAIError(t, bad.json("GET", "/v1/models", nil).must(t, 401))
	for _, method := range []string{"GET", "POST", "DELETE"} {
		if code, _, _ := openAIError(t, key.json(method, "/v1/embeddings", nil).must(t, 404)); code != "not_found" {
			t.Fatalf("%s on an unknown /v1 path: %s", method, code)
		}
	}
}

func TestOpenAIChatCompletions(t *testing.T) {
	t.Parallel()
	fake := llmtest.NewServer(t, llmtest.Config{})
	e := newEnv(t, withModel(fake, "openai", 5*time.Second))
	alice, bob := e.signup("alice"), e.signup("bob")
	agentID := newAgent(t, alice, map[string]any{"name": "Quill", "system_prompt": "AGENT-SYSTEM: you are {{char}}."})
	bobPrivate := newAgent(t, bob, map[string]any{"name": "Hidden"})
	key := alice.withKey()
	base := map[string]any{"model": "quill", "messages": []map[string]any{
		{"role": "system", "content": "CLIENT-SYSTEM: answer briefly."},
		{"role": "user", "content": "Hello"},
		{"role": "assistant", "content": "Hi."},
		{"role": "user", "content": []map[string]string{{"type": "text", "text": "How are "}, {"type": "text", "text": "you?"}}},
	}, "temperature": 0.3, "max_tokens": 50, "stop": []string{"END"}, "user": "end-user-7"}

	t.Run("JSON", func(t *testing.T) {
		r := key.json("POST", "/v1/chat/completions", base).must(t, 200).json(t)
		if !strings.HasPrefix(r["id"].(string), "chatcmpl-") || r["object"] != "chat.completion" || r["model"] != "quill" || r["created"].(float64) <= 0 {
			t.Fatalf("completion = %v", r)
		}
		choice := r["choices"].([]any)[0].(map[string]any)
		msg := choice["message"].(map[string]any)
		if msg["role"] != "assistant" || msg["content"] != llmtest.DefaultReply || choice["finish_reason"] != "stop" || choice["index"] != 0.0 {
			t.Fatalf("choice = %v", choice)
		}
		u := r["usage"].(map[string]any)
		if u["total_tokens"] != u["prompt_tokens"].(float64)+u["completion_tokens"].(float64) || u["prompt_tokens"].(float64) <= 0 {
			t.Fatalf("usage = %v", u)
		}
		if r["offline"] != false {
			t.Fatalf("offline = %v", r["offline"])
		}
		got := fake.Requests()[len(fake.Requests())-1]
		sys := systemOf(got)
		ai, ci := strings.Index(sys, "AGENT-SYSTEM: you are Quill."), strings.Index(sys, "CLIENT-SYSTEM")
		if ai < 0 || ci < ai {
			t.Fatalf("the client's system message must follow the agent's: %q", sys)
		}
		n := len(got.Messages)
		if got.Messages[n-1].Content != "How are you?" || got.Messages[n-2].Content != "Hi." {
			t.Fatalf("history sent = %+v", got.Messages)
		}
		if got.Temperature == nil || *got.Temperature != 0.3 || got.MaxTokens != 50 || len(got.Stop) != 1 || got.Stop[0] != "END" {
			t.Fatalf("parameters sent: temperature %v max_tokens %d stop %v", got.Temperature, got.MaxTokens, got.Stop)
		}
		var endUser, source string
		if err := e.pool.QueryRow(t.Context(), `SELECT end_user, source FROM usage_events ORDER BY id DESC LIMIT 1`).Scan(&endUser, &source); err != nil || endUser != "end-user-7" || source != "api" {
			t.Fatalf("usage event: %q %q %v", endUser, source, err)
		}
	})

	t.Run("stream", func(t *testing.T) {
		body := map[string]any{"stream": true, "stream_options": map[string]bool{"include_usage": true}}
		for k, v := range base {
			body[k] = v
		}
		body["model"] = agentID
		b, _ := json.Marshal(body)
		r := key.do("POST", "/v1/chat/completions", "application/json", bytes.NewReader(b)).must(t, 200)
		if ct := r.header.Get("Content-Type"); ct != "text/event-stream" {
			t.Fatalf("content type %q", ct)
		}
		cs, done := chunks(t, r.body)
		if !done || len(cs) < 4 {
			t.Fatalf("%d chunks, done %v: %s", len(cs), done, r.body)
		}
		var text strings.Builder
		id := cs[0]["id"]
		for i, c := range cs {
			if c["object"] != "chat.completion.chunk" || c["id"] != id || c["model"] != agentID {
				t.Fatalf("chunk %d = %v", i, c)
			}
			choices := c["choices"].([]any)
			if i == len(cs)-1 {
				if len(choices) != 0 || c["usage"] == nil {
					t.Fatalf("last chunk should carry usage only: %v", c)
				}
				continue
			}
			ch := choices[0].(map[string]any)
			delta := ch["delta"].(map[string]any)
			if i == 0 && delta["role"] != "assistant" {
				t.Fatalf("first chunk without the role: %v", c)
			}
			if s, ok := delta["content"].(string); ok {
				text.WriteString(s)
			}
			if fr := ch["finish_reason"]; (i == len(cs)-2) != (fr == "stop") {
				t.Fatalf("chunk %d finish_reason %v", i, fr)
			}
		}
		if text.String() != llmtest.DefaultReply {
			t.Fatalf("streamed %q", text.String())
		}
	})

	t.Run("mid-stream failure", func(t *testing.T) {
		fake.Push(llmtest.Fault{Break: llmtest.ErrorEvent, After: 2})
		b, _ := json.Marshal(map[string]any{"model": "quill", "stream": true, "messages": []map[string]string{{"role": "user", "content": "hi"}}})
		r := key.do("POST", "/v1/chat/completions", "application/json", bytes.NewReader(b)).must(t, 200)
		cs, done := chunks(t, r.body)
		if done || len(cs) == 0 || cs[len(cs)-1]["error"] == nil {
			t.Fatalf("want chunks ending with an error object and no [DONE]: %s", r.body)
		}
	})

	bad := []struct {
		name   string
		body   string
		status int
		code   string
		param  any
	}{
		{"no model", `{"messages":[{"role":"user","content":"hi"}]}`, 400, "invalid_request", "model"},
		{"no messages", `{"model":"quill","messages":[]}`, 400, "invalid_request", "messages"},
		{"ends with assistant", `{"model":"quill","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"yo"}]}`, 400, "invalid_request", "messages"},
		{"tool role", `{"model":"quill","messages":[{"role":"tool","content":"x"}]}`, 400, "invalid_request", "messages[0].role"},
		{"image part", `{"model":"quill","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}`, 400, "invalid_request", "messages[0].content[0]"},
		{"n=2", `{"model":"quill","n":2,"messages":[{"role":"user","content":"hi"}]}`, 400, "invalid_request", "n"},
		{"tools", `{"model":"quill","tools":[{"type":"function"}],"messages":[{"role":"user","content":"hi"}]}`, 400, "invalid_request", "tools"},
		{"temperature 3", `{"model":"quill","temperature":3,"messages":[{"role":"user","content":"hi"}]}`, 400, "invalid_request", "temperature"},
		{"stop of the wrong type", `{"model":"quill","stop":5,"messages":[{"role":"user","content":"hi"}]}`, 400, "invalid_request", "stop"},
		{"messages of the wrong type", `{"model":"quill","messages":"hi"}`, 400, "invalid_request", "messages"},
		{"empty user message", `{"model":"quill","messages":[{"role":"user","content":"  "}]}`, 400, "empty_message", "messages[0].content"},
		{"JSON response format", `{"model":"quill","response_format":{"type":"json_object"},"messages":[{"role":"user","content":"hi"}]}`, 400, "invalid_request", "response_format"},
		{"unknown model", `{"model":"nobody","messages":[{"role":"user","content":"hi"}]}`, 404, "model_not_found", "model"},
		{"someone else's private agent", `{"model":"` + bobPrivate + `","messages":[{"role":"user","content":"hi"}]}`, 404, "model_not_found", "model"},
		{"not JSON", `{"model":`, 400, "invalid_request", "body"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			before := len(fake.Requests())
			r := key.do("POST", "/v1/chat/completions", "application/json", strings.NewReader(tc.body)).must(t, tc.status)
			code, typ, param := openAIError(t, r)
			if code != tc.code || param != tc.param || typ != "invalid_request_error" {
				t.Fatalf("error %s/%s param %v, want %s param %v: %s", code, typ, param, tc.code, tc.param, r.body)
			}
			if len(fake.Requests()) != before {
				t.Fatal("a refused request reached the model")
			}
		})
	}
	if r := key.do("POST", "/v1/chat/completions", "text/plain", strings.NewReader("hi")); r.status != http.StatusUnsupportedMediaType {
		t.Fatalf("text/plain: %d", r.status)
	}
}

func TestOpenAIOffline(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.signup("u")
	newAgent(t, u, map[string]any{"name": "Sage", "description": "{{char}} knows herbs."})
	key := u.withKey()
	r := key.json("POST", "/v1/chat/completions", map[string]any{"model": "sage", "messages": []map[string]string{{"role": "user", "content": "hello"}}}).must(t, 200).json(t)
	msg := r["choices"].([]any)[0].(map[string]any)["message"].(map[string]any)
	if r["offline"] != true || !strings.Contains(msg["content"].(string), "Sage knows herbs.") {
		t.Fatalf("offline completion = %v", r)
	}
	b, _ := json.Marshal(map[string]any{"model": "sage", "stream": true, "messages": []map[string]string{{"role": "user", "content": "hello"}}})
	cs, done := chunks(t, key.do("POST", "/v1/chat/completions", "application/json", bytes.NewReader(b)).must(t, 200).body)
	if !done {
		t.Fatal("no [DONE]")
	}
	for _, c := range cs {
		if c["offline"] != true {
			t.Fatalf("chunk not flagged offline: %v", c)
		}
	}
}
