package llmtest

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
)

// anthropicDialect writes Anthropic's messages format: named SSE events
// message_start, content_block_start, ping, content_block_delta (one per
// piece of text), content_block_stop, message_delta (stop reason and output
// tokens) and message_stop.
type anthropicDialect struct {
	id    string
	model string
}

func msgID(n int) string { return "msg_llmtest" + strconv.Itoa(n) }

type anthropicUsage struct {
	InputTokens  int `json:"input_tokens"`
	OutputTokens int `json:"output_tokens"`
}

type anthropicText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type anthropicMessage struct {
	ID           string          `json:"id"`
	Type         string          `json:"type"`
	Role         string          `json:"role"`
	Model        string          `json:"model"`
	Content      []anthropicText `json:"content"`
	StopReason   *string         `json:"stop_reason"`
	StopSequence *string         `json:"stop_sequence"`
	Usage        anthropicUsage  `json:"usage"`
}

func (d *anthropicDialect) streamType() string { return "text/event-stream; charset=utf-8" }

func (d *anthropicDialect) event(b *bytes.Buffer, name string, payload any) {
	d.frame(b, name, mustJSON(payload))
}

func (d *anthropicDialect) start(b *bytes.Buffer, u usage) {
	type start struct {
		Type    string           `json:"type"`
		Message anthropicMessage `json:"message"`
	}
	// The real API counts the prompt before it streams, and reports one
	// output token at the start.
	d.event(b, "message_start", start{Type: "message_start", Message: anthropicMessage{
		ID: d.id, Type: "message", Role: "assistant", Model: d.model, Content: []anthropicText{},
		Usage: anthropicUsage{InputTokens: u.prompt, OutputTokens: 1}}})
	type blockStart struct {
		Type         string        `json:"type"`
		Index        int           `json:"index"`
		ContentBlock anthropicText `json:"content_block"`
	}
	d.event(b, "content_block_start", blockStart{Type: "content_block_start", ContentBlock: anthropicText{Type: "text"}})
	d.event(b, "ping", struct {
		Type string `json:"type"`
	}{"ping"})
}

func (d *anthropicDialect) chunk(text string) (string, []byte) {
	type delta struct {
		Type  string        `json:"type"`
		Index int           `json:"index"`
		Delta anthropicText `json:"delta"`
	}
	return "content_block_delta", mustJSON(delta{Type: "content_block_delta", Delta: anthropicText{Type: "text_delta", Text: text}})
}

func (d *anthropicDialect) frame(b *bytes.Buffer, event string, payload []byte) {
	b.WriteString("event: ")
	b.WriteString(event)
	b.WriteString("\ndata: ")
	b.Write(payload)
	b.WriteString("\n\n")
}

func anthropicErrorType(status int) string {
	switch {
	case status == http.StatusUnauthorized:
		return "authentication_error"
	case status == http.StatusForbidden:
		return "permission_error"
	case status == http.StatusNotFound:
		return "not_found_error"
	case status == http.StatusRequestEntityTooLarge:
		return "request_too_large"
	case status == http.StatusTooManyRequests:
		return "rate_limit_error"
	case status == 529:
		return "overloaded_error"
	case status >= 500:
		return "api_error"
	}
	return "invalid_request_error"
}

func anthropicError(typ, msg string) any {
	type detail struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	}
	return struct {
		Type  string `json:"type"`
		Error detail `json:"error"`
	}{"error", detail{typ, msg}}
}

func (d *anthropicDialect) errorEvent(b *bytes.Buffer, msg string) {
	if msg == "" {
		msg = "Overloaded"
	}
	d.event(b, "error", anthropicError("overloaded_error", msg))
}

func (d *anthropicDialect) stop(end ending, seq string) (*string, *string) {
	reason := "end_turn"
	switch end {
	case endStop:
		reason = "stop_sequence"
		return &reason, &seq
	case endLength:
		reason = "max_tokens"
	}
	return &reason, nil
}

func (d *anthropicDialect) finish(b *bytes.Buffer, end ending, seq string, u usage) {
	d.event(b, "content_block_stop", struct {
		Type  string `json:"type"`
		Index int    `json:"index"`
	}{"content_block_stop", 0})
	type delta struct {
		StopReason   *string `json:"stop_reason"`
		StopSequence *string `json:"stop_sequence"`
	}
	type outUsage struct {
		OutputTokens int `json:"output_tokens"`
	}
	reason, sequence := d.stop(end, seq)
	d.event(b, "message_delta", struct {
		Type  string   `json:"type"`
		Delta delta    `json:"delta"`
		Usage outUsage `json:"usage"`
	}{"message_delta", delta{reason, sequence}, outUsage{u.completion}})
	d.event(b, "message_stop", struct {
		Type string `json:"type"`
	}{"message_stop"})
}

func (d *anthropicDialect) whole(text string, end ending, seq string, u usage) []byte {
	reason, sequence := d.stop(end, seq)
	return mustJSON(anthropicMessage{ID: d.id, Type: "message", Role: "assistant", Model: d.model,
		Content: []anthropicText{{Type: "text", Text: text}}, StopReason: reason, StopSequence: sequence,
		Usage: anthropicUsage{u.prompt, u.completion}})
}

func (d *anthropicDialect) errorBody(status int, msg string) []byte {
	if msg == "" {
		switch status {
		case http.StatusUnauthorized:
			msg = "invalid x-api-key"
		case http.StatusTooManyRequests:
			msg = "Number of requests has exceeded your rate limit. Please try again later."
		case 529:
			msg = "Overloaded"
		case http.StatusInternalServerError:
			msg = "Internal server error"
		default:
			msg = http.StatusText(status)
		}
	}
	return mustJSON(anthropicError(anthropicErrorType(status), msg))
}

func (d *anthropicDialect) missingModel(model string) string {
	return fmt.Sprintf("model: %s", model)
}

func (d *anthropicDialect) authorized(h http.Header, key string) bool {
	return h.Get("X-Api-Key") == key
}
