// Package llm talks to language models: OpenAI-compatible servers (OpenAI,
// vLLM, llama.cpp server, LM Studio…), Ollama and Anthropic, through
// github.com/tmc/langchaingo. It adds what a chat product needs around the
// clients: streaming with a first-token and a between-chunk timeout,
// retries with backoff on 429 and 5xx before the first token, strict reading
// of the wire format (a malformed chunk or a stream cut before its end is an
// error, not a short reply), token usage (reported, or estimated), and
// errors a person can read.
//
// llm may import the standard library, langchaingo and tokens; it never
// imports api, the database or the bus.
package llm

import (
	"context"
)

// Role is who said a message.
type Role string

// Roles of a chat.
const (
	System    Role = "system"
	User      Role = "user"
	Assistant Role = "assistant"
)

// Message is one message of a chat prompt.
type Message struct {
	Role    Role   `json:"role"`
	Content string `json:"content"`
}

// Request is one chat completion.
type Request struct {
	// Model overrides the provider's configured model; empty keeps it.
	Model    string
	Messages []Message
	// Temperature is nil for the provider's default.
	Temperature *float64
	// MaxTokens bounds the reply; 0 is the provider's default.
	MaxTokens int
	// Stop sequences end the reply early.
	Stop []string
}

// Usage counts the tokens of one completion.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	// Estimated is true when the provider did not report usage and the
	// counts come from the tokens package.
	Estimated bool `json:"estimated,omitempty"`
}

// Result is a finished completion.
type Result struct {
	Text  string
	Usage Usage
	// Model is the model that answered.
	Model string
	// FinishReason is the provider's reason ("stop", "length", …) when it
	// gave one.
	FinishReason string
	// Attempts counts HTTP requests made, retries included.
	Attempts int
}

// Provider streams chat completions from one configured model server.
type Provider interface {
	// Name is the provider kind: "openai", "ollama" or "anthropic".
	Name() string
	// Model is the model used when a request names none.
	Model() string
	// Stream runs req and calls onDelta with each piece of the reply as it
	// arrives, in order. An error from onDelta stops the stream and is
	// returned. On failure the returned Result still holds the text
	// received so far.
	Stream(ctx context.Context, req Request, onDelta func(text string) error) (Result, error)
}
