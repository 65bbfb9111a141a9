package llmtest

import (
	"bytes"
	"fmt"
	"net/http"
	"time"
)

// ollamaDialect writes Ollama's chat format: one JSON object per line
// (NDJSON), each with a piece of the message, the last with "done": true,
// done_reason and the token counts.
type ollamaDialect struct {
	model     string
	now       time.Time
	omitUsage bool
}

type ollamaMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type ollamaChunk struct {
	Model     string        `json:"model"`
	CreatedAt string        `json:"created_at"`
	Message   ollamaMessage `json:"message"`
	Done      bool          `json:"done"`
}

type ollamaFinal struct {
	Model              string        `json:"model"`
	CreatedAt          string        `json:"created_at"`
	Message            ollamaMessage `json:"message"`
	DoneReason         string        `json:"done_reason"`
	Done               bool          `json:"done"`
	TotalDuration      int64         `json:"total_duration"`
	LoadDuration       int64         `json:"load_duration"`
	PromptEvalCount    *int          `json:"prompt_eval_count,omitempty"`
	PromptEvalDuration int64         `json:"prompt_eval_duration,omitempty"`
	EvalCount          *int          `json:"eval_count,omitempty"`
	EvalDuration       int64         `json:"eval_duration,omitempty"`
}

func (d *ollamaDialect) createdAt() string { return d.now.UTC().Format(time.RFC3339Nano) }

func (d *ollamaDialect) streamType() string { return "application/x-ndjson" }

func (d *ollamaDialect) start(*bytes.Buffer, usage) {}

func (d *ollamaDialect) chunk(text string) (string, []byte) {
	return "", mustJSON(ollamaChunk{Model: d.model, CreatedAt: d.createdAt(),
		Message: ollamaMessage{Role: "assistant", Content: text}})
}

func (d *ollamaDialect) frame(b *bytes.Buffer, _ string, payload []byte) {
	b.Write(payload)
	b.WriteByte('\n')
}

func (d *ollamaDialect) errorEvent(b *bytes.Buffer, msg string) {
	if msg == "" {
		msg = "an error was encountered while running the model: unexpected EOF"
	}
	d.frame(b, "", mustJSON(struct {
		Error string `json:"error"`
	}{msg}))
}

func (d *ollamaDialect) final(text string, end ending, u usage) ollamaFinal {
	f := ollamaFinal{Model: d.model, CreatedAt: d.createdAt(), Message: ollamaMessage{Role: "assistant", Content: text},
		DoneReason: "stop", Done: true, TotalDuration: 1_500_000, LoadDuration: 100_000}
	if end == endLength {
		f.DoneReason = "length"
	}
	if !d.omitUsage {
		f.PromptEvalCount, f.EvalCount = &u.prompt, &u.completion
		f.PromptEvalDuration, f.EvalDuration = 400_000, 1_000_000
	}
	return f
}

func (d *ollamaDialect) finish(b *bytes.Buffer, end ending, _ string, u usage) {
	d.frame(b, "", mustJSON(d.final("", end, u)))
}

func (d *ollamaDialect) whole(text string, end ending, _ string, u usage) []byte {
	return mustJSON(d.final(text, end, u))
}

func (d *ollamaDialect) errorBody(status int, msg string) []byte {
	if msg == "" {
		switch status {
		case http.StatusUnauthorized:
			msg = "unauthorized"
		case http.StatusServiceUnavailable:
			msg = "server busy, please try again.  maximum pending requests exceeded"
		default:
			msg = http.StatusText(status)
		}
	}
	return mustJSON(struct {
		Error string `json:"error"`
	}{msg})
}

func (d *ollamaDialect) missingModel(model string) string {
	return fmt.Sprintf("model %q not found, try pulling it first", model)
}

func (d *ollamaDialect) authorized(h http.Header, key string) bool {
	return h.Get("Authorization") == "Bearer "+key
}

// ollamaTags answers GET /api/tags, the list of local models.
func (s *Server) ollamaTags(w http.ResponseWriter, _ *http.Request) {
	type details struct {
		Format            string `json:"format"`
		Family            string `json:"family"`
		ParameterSize     string `json:"parameter_size"`
		QuantizationLevel string `json:"quantization_level"`
	}
	type model struct {
		Name       string  `json:"name"`
		Model      string  `json:"model"`
		ModifiedAt string  `json:"modified_at"`
		Size       int64   `json:"size"`
		Digest     string  `json:"digest"`
		Details    details `json:"details"`
	}
	var list struct {
		Models []model `json:"models"`
	}
	list.Models = []model{}
	for i, m := range s.models() {
		list.Models = append(list.Models, model{Name: m, Model: m, ModifiedAt: "2024-01-01T00:00:00Z",
			Size: 1 << 30, Digest: fmt.Sprintf("%064x", i+1),
			Details: details{Format: "gguf", Family: "llama", ParameterSize: "1B", QuantizationLevel: "Q4_K_M"}})
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write(mustJSON(list)) //nolint:errcheck // the client may be gone
}
