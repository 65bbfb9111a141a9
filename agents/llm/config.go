package llm

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Provider kinds accepted in Config.Provider.
const (
	OpenAI    = "openai"
	Ollama    = "ollama"
	Anthropic = "anthropic"
)

// Default base URLs, used when Config.BaseURL is empty.
const (
	DefaultOpenAIURL    = "https://api.openai.com/v1"
	DefaultOllamaURL    = "http://127.0.0.1:11434"
	DefaultAnthropicURL = "https://api.anthropic.com/v1"
)

// Defaults of the Config fields left zero.
const (
	DefaultTimeout      = 30 * time.Second
	DefaultRetries      = 3
	DefaultRetryBase    = 500 * time.Millisecond
	DefaultMaxRetryWait = 10 * time.Second
)

// Config says which model server to talk to and how patiently.
type Config struct {
	// Provider is "openai" (any OpenAI-compatible server), "ollama" or
	// "anthropic".
	Provider string
	// BaseURL is the API root: http://host:port/v1 for OpenAI-compatible
	// servers, http://host:11434 for Ollama, https://api.anthropic.com/v1
	// for Anthropic. Empty takes the provider's default.
	BaseURL string
	// APIKey may be empty for local servers. It is required for
	// api.openai.com and api.anthropic.com.
	APIKey string
	// Model is the model used when a request names none.
	Model string
	// Timeout is the longest the server may stay silent: before the first
	// chunk of a reply, and between two chunks. Time spent in onDelta does
	// not count. Zero means DefaultTimeout; negative means no limit.
	Timeout time.Duration
	// Retries is how many more attempts are made after a connection
	// failure, a 429, a 5xx, or a stream that dropped or reported an error
	// before any text, as long as no reply text was delivered. Timeouts
	// and malformed streams are not retried. Zero means DefaultRetries;
	// negative means none.
	Retries int
	// RetryBase is the first wait between attempts; each later wait
	// doubles, with jitter. Zero means DefaultRetryBase.
	RetryBase time.Duration
	// MaxRetryWait caps one wait, a Retry-After included: a server that
	// asks for a longer wait is not retried. Zero means
	// DefaultMaxRetryWait.
	MaxRetryWait time.Duration
	// HTTPClient, when set, carries the requests (its Transport is wrapped,
	// not replaced). Leave its Timeout zero: it would cut long replies.
	HTTPClient *http.Client
}

// withDefaults validates c and fills in its defaults.
func (c Config) withDefaults() (Config, error) {
	c.Provider = strings.ToLower(strings.TrimSpace(c.Provider))
	switch c.Provider {
	case OpenAI, Ollama, Anthropic:
	case "":
		return c, fmt.Errorf("%w: no provider set: choose %q, %q or %q", ErrConfig, OpenAI, Ollama, Anthropic)
	default:
		return c, fmt.Errorf("%w: unknown provider %q: choose %q (any OpenAI-compatible server), %q or %q",
			ErrConfig, c.Provider, OpenAI, Ollama, Anthropic)
	}
	if c.BaseURL == "" {
		c.BaseURL = map[string]string{OpenAI: DefaultOpenAIURL, Ollama: DefaultOllamaURL, Anthropic: DefaultAnthropicURL}[c.Provider]
	}
	c.BaseURL = strings.TrimRight(strings.TrimSpace(c.BaseURL), "/")
	example := map[string]string{OpenAI: "http://127.0.0.1:8000/v1", Ollama: DefaultOllamaURL, Anthropic: DefaultAnthropicURL}[c.Provider]
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c, fmt.Errorf("%w: base URL %q is not an http(s) URL: write it like %s", ErrConfig, c.BaseURL, example)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return c, fmt.Errorf("%w: base URL %q has a query or fragment: write it like %s", ErrConfig, c.BaseURL, example)
	}
	if c.Provider == Ollama && strings.HasSuffix(u.Path, "/v1") {
		return c, fmt.Errorf("%w: base URL %q ends in /v1, which is Ollama's OpenAI-compatible API: "+
			"use %q with provider %q, or drop the /v1", ErrConfig, c.BaseURL, c.BaseURL, OpenAI)
	}
	if strings.TrimSpace(c.Model) == "" {
		hint := map[string]string{
			OpenAI:    "the name the server serves (GET " + c.BaseURL + "/models lists them)",
			Ollama:    "a pulled model such as llama3.2 (`ollama list` shows them)",
			Anthropic: "e.g. claude-sonnet-4-5",
		}[c.Provider]
		return c, fmt.Errorf("%w: no model set for %s: set it to %s", ErrConfig, c.Provider, hint)
	}
	if c.APIKey == "" && (u.Host == "api.openai.com" || u.Host == "api.anthropic.com") {
		return c, fmt.Errorf("%w: %s needs an API key: set it in the configuration", ErrConfig, u.Host)
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Retries == 0 {
		c.Retries = DefaultRetries
	}
	if c.Retries < 0 {
		c.Retries = 0
	}
	if c.RetryBase <= 0 {
		c.RetryBase = DefaultRetryBase
	}
	if c.MaxRetryWait <= 0 {
		c.MaxRetryWait = DefaultMaxRetryWait
	}
	return c, nil
}
