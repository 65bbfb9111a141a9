package llmtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// openaiDialect writes OpenAI's chat completions format: a stream of
// chat.completion.chunk objects on SSE data lines, the first carrying the
// role, the last before the usage chunk carrying finish_reason, then
// data: [DONE].
type openaiDialect struct {
	id           string
	created      int64
	model        string
	includeUsage bool // stream_options.include_usage: every chunk has "usage"
	omitUsage    bool
}

func chatID(n int) string { return "chatcmpl-llmtest" + strconv.Itoa(n) }

type openaiDelta struct {
	Role    string  `json:"role,omitempty"`
	Content *string `json:"content,omitempty"`
}

type openaiChunkChoice struct {
	Index        int             `json:"index"`
	Delta        openaiDelta     `json:"delta"`
	Logprobs     json.RawMessage `json:"logprobs"`
	FinishReason *string         `json:"finish_reason"`
}

type openaiUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

type openaiChunk struct {
	ID                string              `json:"id"`
	Object            string              `json:"object"`
	Created           int64               `json:"created"`
	Model             string              `json:"model"`
	SystemFingerprint string              `json:"system_fingerprint"`
	Choices           []openaiChunkChoice `json:"choices"`
	// Usage is null on every chunk but the last when the client asked for
	// usage, and absent when it did not.
	Usage json.RawMessage `json:"usage,omitempty"`
}

var null = json.RawMessage("null")

func (d *openaiDialect) chunkOf(choices []openaiChunkChoice, u *openaiUsage) []byte {
	c := openaiChunk{ID: d.id, Object: "chat.completion.chunk", Created: d.created, Model: d.model,
		SystemFingerprint: "fp_llmtest", Choices: choices}
	if d.includeUsage {
		c.Usage = null
		if u != nil {
			c.Usage, _ = json.Marshal(u)
		}
	}
	return mustJSON(c)
}

func (d *openaiDialect) streamType() string { return "text/event-stream; charset=utf-8" }

func (d *openaiDialect) start(b *bytes.Buffer, _ usage) {
	empty := ""
	d.frame(b, "", d.chunkOf([]openaiChunkChoice{{Delta: openaiDelta{Role: "assistant", Content: &empty}, Logprobs: null}}, nil))
}

func (d *openaiDialect) chunk(text string) (string, []byte) {
	return "", d.chunkOf([]openaiChunkChoice{{Delta: openaiDelta{Content: &text}, Logprobs: null}}, nil)
}

func (d *openaiDialect) frame(b *bytes.Buffer, _ string, payload []byte) {
	b.WriteString("data: ")
	b.Write(payload)
	b.WriteString("\n\n")
}

func (d *openaiDialect) reason(end ending) string {
	if end == endLength {
		return "length"
	}
	return "stop"
}

func (d *openaiDialect) errorEvent(b *bytes.Buffer, msg string) {
	if msg == "" {
		msg = "The server had an error while processing your request. Sorry about that!"
	}
	// OpenAI-compatible servers (vLLM, llama.cpp) report a failure that
	// happens after the headers as an error object on a data line, then end
	// the stream normally.
	d.frame(b, "", mustJSON(openaiError(msg, "server_error", nil)))
	b.WriteString("data: [DONE]\n\n")
}

func (d *openaiDialect) finish(b *bytes.Buffer, end ending, _ string, u usage) {
	reason := d.reason(end)
	d.frame(b, "", d.chunkOf([]openaiChunkChoice{{Delta: openaiDelta{}, Logprobs: null, FinishReason: &reason}}, nil))
	if d.includeUsage && !d.omitUsage {
		d.frame(b, "", d.chunkOf([]openaiChunkChoice{}, &openaiUsage{u.prompt, u.completion, u.prompt + u.completion}))
	}
	b.WriteString("data: [DONE]\n\n")
}

func (d *openaiDialect) whole(text string, end ending, _ string, u usage) []byte {
	type message struct {
		Role    string          `json:"role"`
		Content string          `json:"content"`
		Refusal json.RawMessage `json:"refusal"`
	}
	type choice struct {
		Index        int             `json:"index"`
		Message      message         `json:"message"`
		Logprobs     json.RawMessage `json:"logprobs"`
		FinishReason string          `json:"finish_reason"`
	}
	var body struct {
		ID                string       `json:"id"`
		Object            string       `json:"object"`
		Created           int64        `json:"created"`
		Model             string       `json:"model"`
		Choices           []choice     `json:"choices"`
		Usage             *openaiUsage `json:"usage,omitempty"`
		SystemFingerprint string       `json:"system_fingerprint"`
	}
	body.ID, body.Object, body.Created, body.Model = d.id, "chat.completion", d.created, d.model
	body.SystemFingerprint = "fp_llmtest"
	body.Choices = []choice{{Message: message{Role: "assistant", Content: text, Refusal: null},
		Logprobs: null, FinishReason: d.reason(end)}}
	if !d.omitUsage {
		body.Usage = &openaiUsage{u.prompt, u.completion, u.prompt + u.completion}
	}
	return mustJSON(body)
}

func openaiError(msg, typ string, code any) any {
	type detail struct {
		Message string `json:"message"`
		Type    string `json:"type"`
		Param   any    `json:"param"`
		Code    any    `json:"code"`
	}
	return struct {
		Error detail `json:"error"`
	}{detail{Message: msg, Type: typ, Code: code}}
}

func (d *openaiDialect) errorBody(status int, msg string) []byte {
	typ, code, usual := "invalid_request_error", any(nil), http.StatusText(status)
	switch {
	case status == http.StatusUnauthorized:
		code, usual = "invalid_api_key", "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys."
	case status == http.StatusNotFound:
		code = "model_not_found"
	case status == http.StatusTooManyRequests:
		typ, code, usual = "requests", "rate_limit_exceeded", "Rate limit reached for requests. Please try again later."
	case status == http.StatusServiceUnavailable:
		typ, usual = "server_error", "The engine is currently overloaded, please try again later."
	case status >= 500:
		typ, usual = "server_error", "The server had an error while processing your request. Sorry about that!"
	}
	if msg == "" {
		msg = usual
	}
	return mustJSON(openaiError(msg, typ, code))
}

func (d *openaiDialect) missingModel(model string) string {
	return fmt.Sprintf("The model `%s` does not exist or you do not have access to it.", model)
}

func (d *openaiDialect) authorized(h http.Header, key string) bool {
	return h.Get("Authorization") == "Bearer "+key
}

// openaiModels answers GET /v1/models.
func (s *Server) openaiModels(w http.ResponseWriter, _ *http.Request) {
	type model struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Created int64  `json:"created"`
		OwnedBy string `json:"owned_by"`
	}
	list := struct {
		Object string  `json:"object"`
		Data   []model `json:"data"`
	}{Object: "list", Data: []model{}}
	created := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	for _, m := range s.models() {
		list.Data = append(list.Data, model{ID: m, Object: "model", Created: created, OwnedBy: "llmtest"})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(mustJSON(list)) //nolint:errcheck // the client may be gone
}

// mustJSON marshals values built from plain structs, which cannot fail.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("llmtest: marshal %T: %v", v, err))
	}
	return b
}
