package embed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync/atomic"
)

// ollamaMaxBatch is the most inputs sent in one /api/embed request.
const ollamaMaxBatch = 64

// Ollama embeds through an Ollama server's POST /api/embed. A server too old
// to have it (404 without a JSON error) is remembered and asked through the
// legacy POST /api/embeddings, one text per request. It is safe for
// concurrent use and does not retry.
type Ollama struct {
	remote
	legacy atomic.Bool
}

func newOllama(cfg Config, base *url.URL) *Ollama {
	return &Ollama{remote: newRemote(ProviderOllama, cfg, base)}
}

// MaxBatch returns 64.
func (*Ollama) MaxBatch() int { return ollamaMaxBatch }

// Embed returns the unit-length vectors of texts in input order.
func (o *Ollama) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if err := checkBatch(o.Name(), len(texts), ollamaMaxBatch); err != nil {
		return nil, err
	}
	if len(texts) == 0 {
		return [][]float32{}, nil
	}
	if !o.legacy.Load() {
		out, err := o.embed(ctx, texts)
		if !errors.Is(err, errLegacy) {
			return out, err
		}
		o.legacy.Store(true)
	}
	return o.embedLegacy(ctx, texts)
}

// errLegacy says the server has no /api/embed; it never leaves the package.
var errLegacy = errors.New("embed: ollama: no /api/embed")

// embed uses POST /api/embed {"model","input"} → {"embeddings":[[…]]}.
func (o *Ollama) embed(ctx context.Context, texts []string) ([][]float32, error) {
	rep, err := o.post(ctx, "api/embed", struct {
		Model string   `json:"model"`
		Input []string `json:"input"`
	}{o.model, texts})
	if err != nil {
		return nil, err
	}
	if rep.status == http.StatusNotFound && !isJSONError(rep.body) {
		// Ollama before 0.3 answers a plain "404 page not found" for the
		// route; a missing model is a 404 with a JSON error.
		return nil, errLegacy
	}
	if rep.status/100 != 2 {
		return nil, o.statusError(rep, o.modelHint())
	}
	var resp struct {
		Embeddings [][]float32 `json:"embeddings"`
	}
	if err := o.decodeJSON(rep.body, &resp); err != nil {
		return nil, err
	}
	if resp.Embeddings == nil {
		return nil, fmt.Errorf("embed: ollama: answer has no \"embeddings\": %w", ErrBadResponse)
	}
	return o.vectors(resp.Embeddings, len(texts))
}

// embedLegacy uses POST /api/embeddings {"model","prompt"} → {"embedding":[…]},
// one request per text.
func (o *Ollama) embedLegacy(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		rep, err := o.post(ctx, "api/embeddings", struct {
			Model  string `json:"model"`
			Prompt string `json:"prompt"`
		}{o.model, t})
		if err != nil {
			return nil, err
		}
		if rep.status/100 != 2 {
			return nil, o.statusError(rep, o.modelHint())
		}
		var resp struct {
			Embedding []float32 `json:"embedding"`
		}
		if err := o.decodeJSON(rep.body, &resp); err != nil {
			return nil, err
		}
		if len(resp.Embedding) == 0 {
			return nil, fmt.Errorf("embed: ollama: empty vector for text %d: %w", i, ErrBadResponse)
		}
		out[i] = resp.Embedding
	}
	return o.vectors(out, len(texts))
}

func (o *Ollama) modelHint() string {
	return fmt.Sprintf("model %q not found: run `ollama pull %s`, or check that %s is an Ollama server", o.model, o.model, o.base.Redacted())
}

// isJSONError reports whether body is a JSON object with an "error" member.
func isJSONError(body []byte) bool {
	var e struct {
		Error json.RawMessage `json:"error"`
	}
	return json.Unmarshal(body, &e) == nil && len(e.Error) > 0
}
