package llmtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Message is one message of a received prompt.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Received is one chat request as the server parsed it, and what the
// server did with it.
type Received struct {
	// Provider is the API the request came in on: OpenAI, Ollama or
	// Anthropic.
	Provider string
	Path     string
	Header   http.Header
	// Body is the raw JSON the client sent.
	Body  []byte
	Model string
	// Messages are the prompt's messages in order, with text parts of a
	// multi-part content joined. Anthropic's top-level system prompt comes
	// first, as a message with role "system".
	Messages []Message
	// Temperature is nil when the client sent none.
	Temperature *float64
	// MaxTokens is max_completion_tokens or max_tokens (OpenAI), max_tokens
	// (Anthropic) or options.num_predict (Ollama); 0 when absent.
	MaxTokens int
	// Stop holds OpenAI's stop, Anthropic's stop_sequences or Ollama's
	// options.stop.
	Stop []string
	// Stream is whether the client asked for a stream. Ollama streams when
	// the field is absent, as the real server does.
	Stream bool
	// IncludeUsage is OpenAI's stream_options.include_usage.
	IncludeUsage bool

	// Status is the HTTP status the server answered.
	Status int
	// Reply is the reply text the server meant to send, after stop
	// sequences and MaxTokens cut it.
	Reply string
	// Chunks counts the chunks of reply text written to the client.
	Chunks int
	// FirstChunkAt is when the first chunk of text was flushed; zero when
	// none was.
	FirstChunkAt time.Time
	// PromptTokens and CompletionTokens are the usage the server reported;
	// zero when it reported none.
	PromptTokens     int
	CompletionTokens int
	// Canceled is true when the client went away (or the server closed)
	// before the response was complete.
	Canceled bool

	id int // sequence number, for response ids
}

func (r *Received) clone() Received {
	c := *r
	c.Header = r.Header.Clone()
	c.Body = slices.Clone(r.Body)
	c.Messages = slices.Clone(r.Messages)
	c.Stop = slices.Clone(r.Stop)
	if r.Temperature != nil {
		t := *r.Temperature
		c.Temperature = &t
	}
	return c
}

// content decodes a message content that is either a string or an array of
// parts ({"type":"text","text":…}), keeping the text parts.
func content(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", fmt.Errorf("content is neither a string nor an array of parts: %w", err)
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Type == "text" {
			b.WriteString(p.Text)
		}
	}
	return b.String(), nil
}

// stopList decodes OpenAI's stop, which is a string or an array.
func stopList(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return []string{s}, nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("stop is neither a string nor an array of strings: %w", err)
	}
	return list, nil
}

type wireMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

func messages(in []wireMessage) ([]Message, error) {
	out := make([]Message, 0, len(in))
	for i, m := range in {
		text, err := content(m.Content)
		if err != nil {
			return nil, fmt.Errorf("messages[%d]: %w", i, err)
		}
		out = append(out, Message{Role: m.Role, Content: text})
	}
	return out, nil
}

// parse fills the request fields of r from body, as the provider's API
// defines them.
func (r *Received) parse(body []byte) error {
	var err error
	switch r.Provider {
	case OpenAI:
		var b struct {
			Model               string          `json:"model"`
			Messages            []wireMessage   `json:"messages"`
			Temperature         *float64        `json:"temperature"`
			MaxTokens           int             `json:"max_tokens"`
			MaxCompletionTokens int             `json:"max_completion_tokens"`
			Stop                json.RawMessage `json:"stop"`
			Stream              bool            `json:"stream"`
			StreamOptions       *struct {
				IncludeUsage bool `json:"include_usage"`
			} `json:"stream_options"`
		}
		if err = json.Unmarshal(body, &b); err != nil {
			return err
		}
		r.Model, r.Temperature, r.Stream = b.Model, b.Temperature, b.Stream
		r.MaxTokens = b.MaxTokens
		if b.MaxCompletionTokens > 0 {
			r.MaxTokens = b.MaxCompletionTokens
		}
		r.IncludeUsage = b.StreamOptions != nil && b.StreamOptions.IncludeUsage
		if r.Stop, err = stopList(b.Stop); err != nil {
			return err
		}
		r.Messages, err = messages(b.Messages)
		return err
	case Ollama:
		var b struct {
			Model    string        `json:"model"`
			Messages []wireMessage `json:"messages"`
			Stream   *bool         `json:"stream"`
			Options  struct {
				Temperature *float64 `json:"temperature"`
				NumPredict  int      `json:"num_predict"`
				Stop        []string `json:"stop"`
			} `json:"options"`
		}
		if err = json.Unmarshal(body, &b); err != nil {
			return err
		}
		r.Model, r.Temperature = b.Model, b.Options.Temperature
		r.MaxTokens, r.Stop = b.Options.NumPredict, b.Options.Stop
		r.Stream = b.Stream == nil || *b.Stream
		r.Messages, err = messages(b.Messages)
		return err
	case Anthropic:
		var b struct {
			Model         string          `json:"model"`
			System        json.RawMessage `json:"system"`
			Messages      []wireMessage   `json:"messages"`
			Temperature   *float64        `json:"temperature"`
			MaxTokens     int             `json:"max_tokens"`
			StopSequences []string        `json:"stop_sequences"`
			Stream        bool            `json:"stream"`
		}
		if err = json.Unmarshal(body, &b); err != nil {
			return err
		}
		r.Model, r.Temperature, r.Stream = b.Model, b.Temperature, b.Stream
		r.MaxTokens, r.Stop = b.MaxTokens, b.StopSequences
		system, err := content(b.System)
		if err != nil {
			return fmt.Errorf("system: %w", err)
		}
		if system != "" {
			r.Messages = append(r.Messages, Message{Role: "system", Content: system})
		}
		msgs, err := messages(b.Messages)
		r.Messages = append(r.Messages, msgs...)
		return err
	}
	return fmt.Errorf("unknown provider %q", r.Provider)
}
