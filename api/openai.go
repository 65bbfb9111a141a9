package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/timbre-ai/timbre/agents"
	"github.com/timbre-ai/timbre/agents/chat"
	"github.com/timbre-ai/timbre/agents/llm"
)

// The OpenAI-compatible surface: /v1/models and /v1/chat/completions in
// OpenAI's wire format, so that OpenAI's client libraries work unchanged
// with an agent as the model. Errors on /v1 use OpenAI's error shape
// (errorHandler switches on the path).

// openAIUser is the name an agent calls the user of an API completion
// ({{user}}): the key's owner is a developer, not the person talking.
const openAIUser = "User"

type openAIModel struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
	// AgentID and Name are Timbre's additions.
	AgentID string `json:"agent_id"`
	Name    string `json:"name"`
}

func modelOf(a agents.Summary) openAIModel {
	owner := a.Creator
	if owner == "" {
		owner = "timbre"
	}
	return openAIModel{ID: a.Slug, Object: "model", Created: a.CreatedAt.Unix(), OwnedBy: owner, AgentID: a.ID, Name: a.Name}
}

// maxModels bounds /v1/models.
const maxModels = 500

func (h *handlers) listModels(c echo.Context) error {
	list, err := h.agents.Usable(c.Request().Context(), callerID(c), maxModels)
	if err != nil {
		return err
	}
	data := make([]openAIModel, len(list))
	for i, a := range list {
		data[i] = modelOf(a)
	}
	return c.JSON(http.StatusOK, map[string]any{"object": "list", "data": data})
}

func (h *handlers) getModel(c echo.Context) error {
	a, err := h.agents.Resolve(c.Request().Context(), callerID(c), c.Param("model"))
	if err != nil {
		return modelNotFound(c.Param("model"), err)
	}
	return c.JSON(http.StatusOK, modelOf(agents.Summary{ID: a.ID, Slug: a.Slug, Name: a.Card.Name,
		Creator: a.Card.Creator, CreatedAt: a.CreatedAt}))
}

func modelNotFound(model string, err error) error {
	if !errors.Is(err, agents.ErrNotFound) {
		return err
	}
	if len(model) > 100 {
		model = model[:100] + "…"
	}
	return &Error{Status: http.StatusNotFound, Code: "model_not_found", Field: "model", Err: err,
		Message: fmt.Sprintf("The model '%s' does not exist or you do not have access to it. Use an agent's id or slug (GET /v1/models lists them).", model)}
}

// completionRequest is the part of OpenAI's request this server reads.
// Other parameters (top_p, presence_penalty, seed…) are accepted and
// ignored, as OpenAI-compatible servers do.
type completionRequest struct {
	Model         *string           `json:"model"`
	Messages      []completionInput `json:"messages"`
	Stream        bool              `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	Temperature         *float64        `json:"temperature"`
	MaxTokens           *int            `json:"max_tokens"`
	MaxCompletionTokens *int            `json:"max_completion_tokens"`
	Stop                json.RawMessage `json:"stop"`
	User                string          `json:"user"`
	N                   *int            `json:"n"`
	Tools               json.RawMessage `json:"tools"`
	Functions           json.RawMessage `json:"functions"`
	ResponseFormat      *struct {
		Type string `json:"type"`
	} `json:"response_format"`
}

type completionInput struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// maxStop is OpenAI's limit on stop sequences.
const maxStop = 4

// parse checks the request and turns it into llm messages.
func (r *completionRequest) parse() (model string, msgs []llm.Message, stop []string, maxTokens int, err error) {
	if r.Model == nil || strings.TrimSpace(*r.Model) == "" {
		return "", nil, nil, 0, fieldError("model", "is required: an agent's id or slug")
	}
	if len(r.Messages) == 0 {
		return "", nil, nil, 0, fieldError("messages", "is required and must not be empty")
	}
	if r.N != nil && *r.N != 1 {
		return "", nil, nil, 0, fieldError("n", "must be 1: one choice per request")
	}
	if len(r.Tools) > 0 && string(r.Tools) != "null" || len(r.Functions) > 0 && string(r.Functions) != "null" {
		return "", nil, nil, 0, fieldError("tools", "are not supported: agents answer in text")
	}
	if f := r.ResponseFormat; f != nil && f.Type != "" && f.Type != "text" {
		return "", nil, nil, 0, fieldError("response_format", "must be text: agents answer in prose, not JSON")
	}
	if t := r.Temperature; t != nil && (*t < 0 || *t > 2) {
		return "", nil, nil, 0, fieldError("temperature", "must be between 0 and 2")
	}
	mt := r.MaxCompletionTokens
	if mt == nil {
		mt = r.MaxTokens
	}
	if mt != nil {
		if *mt < 1 || *mt > 1_000_000 {
			return "", nil, nil, 0, fieldError("max_tokens", "must be between 1 and 1000000")
		}
		maxTokens = *mt
	}
	if stop, err = parseStop(r.Stop); err != nil {
		return "", nil, nil, 0, err
	}
	for i, m := range r.Messages {
		field := fmt.Sprintf("messages[%d]", i)
		var role llm.Role
		switch m.Role {
		case "system", "developer":
			role = llm.System
		case "user":
			role = llm.User
		case "assistant":
			role = llm.Assistant
		case "":
			return "", nil, nil, 0, fieldError(field+".role", "is required")
		default:
			return "", nil, nil, 0, fieldError(field+".role", "must be system, developer, user or assistant (tools are not supported)")
		}
		if role == llm.Assistant && isNull(m.Content) {
			continue // an assistant turn that only called tools, as OpenAI allows
		}
		text, err := contentText(field+".content", m.Content)
		if err != nil {
			return "", nil, nil, 0, err
		}
		if i == len(r.Messages)-1 && role == llm.User && strings.TrimSpace(text) == "" {
			return "", nil, nil, 0, &Error{Status: http.StatusBadRequest, Code: "empty_message",
				Message: "The last message is empty.", Field: field + ".content"}
		}
		msgs = append(msgs, llm.Message{Role: role, Content: text})
	}
	return strings.TrimSpace(*r.Model), msgs, stop, maxTokens, nil
}

func isNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}

// parseStop reads OpenAI's stop: a string, an array of strings, or null.
func parseStop(raw json.RawMessage) ([]string, error) {
	if isNull(raw) {
		return nil, nil
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, fieldError("stop", "must be a string or an array of strings")
	}
	if len(many) > maxStop {
		return nil, fieldError("stop", fmt.Sprintf("may hold at most %d sequences", maxStop))
	}
	return many, nil
}

// contentText reads a message's content: a string, or an array of parts of
// which only text parts are supported.
func contentText(field string, raw json.RawMessage) (string, error) {
	if isNull(raw) {
		return "", fieldError(field, "is required")
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var parts []struct {
		Type string  `json:"type"`
		Text *string `json:"text"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", fieldError(field, "must be a string or an array of content parts")
	}
	var b strings.Builder
	for i, p := range parts {
		if p.Type != "text" || p.Text == nil {
			return "", fieldError(fmt.Sprintf("%s[%d]", field, i), "must be a text part: images, audio and files are not supported")
		}
		b.WriteString(*p.Text)
	}
	return b.String(), nil
}

type completionChoice struct {
	Index        int             `json:"index"`
	Message      *choiceMessage  `json:"message,omitempty"`
	Delta        *choiceMessage  `json:"delta,omitempty"`
	Logprobs     json.RawMessage `json:"logprobs"`
	FinishReason *string         `json:"finish_reason"`
}

type choiceMessage struct {
	Role    string  `json:"role,omitempty"`
	Content *string `json:"content,omitempty"`
	Refusal *string `json:"refusal,omitempty"`
}

type completionUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// completionObject is a chat.completion or a chat.completion.chunk.
type completionObject struct {
	ID                string             `json:"id"`
	Object            string             `json:"object"`
	Created           int64              `json:"created"`
	Model             string             `json:"model"`
	SystemFingerprint string             `json:"system_fingerprint"`
	Choices           []completionChoice `json:"choices"`
	Usage             *completionUsage   `json:"usage,omitempty"`
	// Offline and Citations are Timbre's additions: offline says the reply
	// was quoted from the agent's knowledge with no language model.
	Offline   bool            `json:"offline"`
	Citations []chat.Citation `json:"citations,omitempty"`
}

var jsonNull = json.RawMessage("null")

func newCompletionID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "chatcmpl-" + hex.EncodeToString(b)
}

func usageOf(u llm.Usage) *completionUsage {
	return &completionUsage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens,
		TotalTokens: u.PromptTokens + u.CompletionTokens}
}

// finishReason maps a provider's reason to OpenAI's vocabulary.
func finishReason(r string) string {
	switch r {
	case "length", "max_tokens":
		return "length"
	case "content_filter":
		return "content_filter"
	}
	return "stop"
}

func (h *handlers) chatCompletions(c echo.Context) error {
	var req completionRequest
	body, err := readJSON(c)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, &req); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fieldError(te.Field, "has the wrong type (expected "+te.Type.String()+")")
		}
		return fieldError("body", "is not valid: "+err.Error())
	}
	model, msgs, stop, maxTokens, err := req.parse()
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	a, err := h.agents.Resolve(ctx, callerID(c), model)
	if err != nil {
		return modelNotFound(model, err)
	}
	creq := chat.CompletionRequest{Agent: a, UserID: callerID(c), UserName: openAIUser, Messages: msgs,
		Temperature: req.Temperature, MaxTokens: maxTokens, Stop: stop, EndUser: req.User}
	obj := completionObject{ID: newCompletionID(), Created: time.Now().Unix(), Model: model, SystemFingerprint: "timbre"}
	if !req.Stream {
		done, err := h.chat.Complete(ctx, creq, chat.Sink{})
		if err != nil {
			return err
		}
		reason := finishReason(done.FinishReason)
		obj.Object, obj.Offline, obj.Citations = "chat.completion", done.Model.Offline, done.Citations
		obj.Choices = []completionChoice{{Message: &choiceMessage{Role: "assistant", Content: &done.Text},
			Logprobs: jsonNull, FinishReason: &reason}}
		obj.Usage = usageOf(done.Usage)
		return c.JSON(http.StatusOK, obj)
	}
	return h.streamCompletion(c, creq, obj, req.StreamOptions != nil && req.StreamOptions.IncludeUsage)
}

// streamCompletion answers with chat.completion.chunk events, as OpenAI
// does: a first chunk with the role, one per piece of text, one with the
// finish reason, the usage chunk when asked for, then [DONE]. A failure
// after the stream began is sent as an error object, as OpenAI does.
func (h *handlers) streamCompletion(c echo.Context, creq chat.CompletionRequest, obj completionObject, includeUsage bool) error {
	w := c.Response()
	obj.Object = "chat.completion.chunk"
	started := false
	send := func(o completionObject) error {
		data, err := json.Marshal(o)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "data: %s\n\n", data); err != nil {
			return err
		}
		w.Flush()
		return nil
	}
	chunk := func(delta choiceMessage, reason *string) completionObject {
		o := obj
		o.Choices = []completionChoice{{Delta: &delta, Logprobs: jsonNull, FinishReason: reason}}
		return o
	}
	begin := func() error {
		if started {
			return nil
		}
		started = true
		w.Header().Set(echo.HeaderContentType, "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("X-Accel-Buffering", "no")
		w.WriteHeader(http.StatusOK)
		empty := ""
		return send(chunk(choiceMessage{Role: "assistant", Content: &empty}, nil))
	}
	done, err := h.chat.Complete(c.Request().Context(), creq, chat.Sink{
		Answering: func(m chat.Model) { obj.Offline = m.Offline },
		Delta: func(text string) error {
			if err := begin(); err != nil {
				return err
			}
			return send(chunk(choiceMessage{Content: &text}, nil))
		},
	})
	switch {
	case err != nil && !started:
		return err
	case err != nil:
		if errors.Is(err, context.Canceled) || c.Request().Context().Err() != nil {
			return nil
		}
		e := toError(err)
		h.logger.Warn("completion failed mid-stream", "request_id", w.Header().Get(echo.HeaderXRequestID), "code", e.Code, "error", err)
		data, _ := json.Marshal(openAIErrorBody(e))
		_, _ = fmt.Fprintf(w, "data: %s\n\n", data)
		w.Flush()
		return nil
	}
	if err := begin(); err != nil {
		return nil
	}
	reason := finishReason(done.FinishReason)
	obj.Offline, obj.Citations = done.Model.Offline, done.Citations
	if send(chunk(choiceMessage{}, &reason)) != nil {
		return nil
	}
	if includeUsage {
		u := obj
		u.Choices, u.Usage = []completionChoice{}, usageOf(done.Usage)
		if send(u) != nil {
			return nil
		}
	}
	_, _ = w.Write([]byte("data: [DONE]\n\n"))
	w.Flush()
	return nil
}

// openAIError is OpenAI's error object.
type openAIError struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    string  `json:"code"`
}

// openAIErrorBody is an Error in OpenAI's shape.
func openAIErrorBody(e *Error) map[string]openAIError {
	typ := "invalid_request_error"
	switch {
	case e.Status == http.StatusUnauthorized:
		typ = "authentication_error"
	case e.Status == http.StatusForbidden:
		typ = "permission_error"
	case e.Status == http.StatusTooManyRequests:
		typ = "rate_limit_error"
	case e.Status >= 500:
		typ = "server_error"
	}
	var param *string
	if e.Field != "" {
		param = &e.Field
	}
	code := e.Code
	if code == "unauthenticated" {
		code = "invalid_api_key"
	}
	return map[string]openAIError{"error": {Message: e.Message, Type: typ, Param: param, Code: code}}
}
