package embed

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"time"
)

// Embedder turns texts into unit-length vectors.
type Embedder interface {
	// Name identifies the model; it is stored with every vector:
	// "local/ngram-v1", "local/wink-sg100d-v1", "openai/<model>",
	// "ollama/<model>".
	Name() string
	// Dim is the vector length; for remote embedders it is 0 until the
	// first successful Embed and fixed from then on.
	Dim() int
	// MaxBatch is the most texts one Embed call takes.
	MaxBatch() int
	// Embed returns one L2-normalized vector per text, in order.
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// Config chooses and configures an embedder. Zero fields take the defaults.
type Config struct {
	// Provider is "local" (default), "openai" or "ollama".
	Provider string
	// Model: for local "ngram" (default) or "wink"; for openai default
	// "text-embedding-3-small"; for ollama default "nomic-embed-text".
	Model string
	// BaseURL is the server: openai default https://api.openai.com/v1,
	// ollama default http://127.0.0.1:11434.
	BaseURL string
	// APIKey is sent as a Bearer token; required for api.openai.com.
	APIKey string
	// DataDir holds the wink table at <DataDir>/embeddings/wink-sg100d.vec.
	DataDir string
	// Timeout bounds each HTTP request, body included (default 30s).
	Timeout time.Duration
	// HTTPClient makes the requests (default: a client of its own with
	// http.DefaultTransport's settings and no overall timeout).
	HTTPClient *http.Client
}

// Provider names and defaults.
const (
	ProviderLocal  = "local"
	ProviderOpenAI = "openai"
	ProviderOllama = "ollama"

	ModelNgram = "ngram"
	ModelWink  = "wink"

	DefaultOpenAIModel   = "text-embedding-3-small"
	DefaultOpenAIBaseURL = "https://api.openai.com/v1"
	DefaultOllamaModel   = "nomic-embed-text"
	DefaultOllamaBaseURL = "http://127.0.0.1:11434"
	DefaultTimeout       = 30 * time.Second
)

// WinkTablePath is where New looks for the wink table under a data directory.
func WinkTablePath(dataDir string) string {
	return filepath.Join(dataDir, "embeddings", "wink-sg100d.vec")
}

// New builds the embedder cfg names. Remote embedders make no request
// here; their problems show on the first Embed.
func New(cfg Config) (Embedder, error) {
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("embed: timeout %s is negative: %w", cfg.Timeout, ErrConfig)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	switch strings.ToLower(strings.TrimSpace(cfg.Provider)) {
	case "", ProviderLocal:
		switch strings.ToLower(strings.TrimSpace(cfg.Model)) {
		case "", ModelNgram:
			return NewNgram(), nil
		case ModelWink:
			if cfg.DataDir == "" {
				return nil, fmt.Errorf("embed: local/wink needs a data directory (TIMBRE_DATA_DIR): %w", ErrConfig)
			}
			return LoadWink(WinkTablePath(cfg.DataDir))
		default:
			return nil, fmt.Errorf("embed: local model %q unknown: use %q or %q: %w", cfg.Model, ModelNgram, ModelWink, ErrConfig)
		}
	case ProviderOpenAI:
		if cfg.Model == "" {
			cfg.Model = DefaultOpenAIModel
		}
		if cfg.BaseURL == "" {
			cfg.BaseURL = DefaultOpenAIBaseURL
		}
		base, err := baseURL(ProviderOpenAI, cfg.BaseURL)
		if err != nil {
			return nil, err
		}
		if cfg.APIKey == "" && base.Host == "api.openai.com" {
			return nil, fmt.Errorf("embed: openai: api.openai.com needs an API key: %w", ErrConfig)
		}
		return newOpenAI(cfg, base), nil
	case ProviderOllama:
		if cfg.Model == "" {
			cfg.Model = DefaultOllamaModel
		}
		if cfg.BaseURL == "" {
			cfg.BaseURL = DefaultOllamaBaseURL
		}
		base, err := baseURL(ProviderOllama, cfg.BaseURL)
		if err != nil {
			return nil, err
		}
		return newOllama(cfg, base), nil
	default:
		return nil, fmt.Errorf("embed: provider %q unknown: use %q, %q or %q: %w",
			cfg.Provider, ProviderLocal, ProviderOpenAI, ProviderOllama, ErrConfig)
	}
}

// baseURL checks a provider's base URL and drops a trailing slash.
func baseURL(provider, raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("embed: %s: base URL %q must be http(s)://host[:port][/path]: %w", provider, raw, ErrConfig)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("embed: %s: base URL %q must have no query or fragment: %w", provider, raw, ErrConfig)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// normalize scales v to unit length in place. It reports false for a vector
// that cannot be normalized: all zeros, or holding NaN or ±Inf.
func normalize(v []float32) bool {
	var sum float64
	for _, x := range v {
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return false
		}
		sum += f * f
	}
	if sum == 0 || math.IsInf(sum, 0) {
		return false
	}
	inv := 1 / math.Sqrt(sum)
	for i, x := range v {
		v[i] = float32(float64(x) * inv)
	}
	return true
}

// checkBatch refuses more texts than an embedder takes at once.
func checkBatch(name string, n, most int) error {
	if n > most {
		return fmt.Errorf("embed: %s: %d texts exceed the batch limit of %d: %w", name, n, most, ErrRejected)
	}
	return nil
}
