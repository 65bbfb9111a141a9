package main

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/timbre-ai/timbre/agents"
	"github.com/timbre-ai/timbre/agents/llm/llmtest"
)

// TestNewModelsDetectsOllama: with no provider configured, serve uses the
// Ollama that answers (its first model unless one is named), and answers
// offline, saying why, when none does.
func TestNewModelsDetectsOllama(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	logger := slog.New(slog.DiscardHandler)
	base := func(m map[string]string) config {
		c, err := loadConfig("serve", nil, env(m), nil)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	fake := llmtest.NewServer(t, llmtest.Config{Models: []string{"llama3.2:1b", "qwen2.5"}})

	m := newModels(ctx, base(nil), fake.URL(), logger).Default()
	if m.Offline || m.Provider != "ollama" || m.Model != "llama3.2:1b" {
		t.Fatalf("detected = %+v, want ollama with its first model", m)
	}
	m = newModels(ctx, base(map[string]string{"TIMBRE_LLM_MODEL": "qwen2.5"}), fake.URL(), logger).Default()
	if m.Model != "qwen2.5" {
		t.Fatalf("named model = %+v", m)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	m = newModels(ctx, base(nil), closed, logger).Default()
	if !m.Offline || m.Reason == "" {
		t.Fatalf("no Ollama: %+v, want offline with a reason", m)
	}

	m = newModels(ctx, base(map[string]string{"TIMBRE_LLM_PROVIDER": "none"}), fake.URL(), logger).Default()
	if !m.Offline || !strings.Contains(m.Reason, "TIMBRE_LLM_PROVIDER=none") {
		t.Fatalf("provider none: %+v, want offline without probing", m)
	}
	if len(fake.Requests()) != 0 {
		t.Fatal("the probe is not a chat request")
	}

	// A configured provider is used as configured, and an agent asking for
	// a provider the server has no credentials for answers offline.
	models := newModels(ctx, base(map[string]string{"TIMBRE_LLM_PROVIDER": "openai", "TIMBRE_LLM_BASE_URL": fake.OpenAIURL(),
		"TIMBRE_LLM_MODEL": "gpt-test"}), closed, logger)
	if m := models.Default(); m.Provider != "openai" || m.Model != "gpt-test" || m.Offline {
		t.Fatalf("configured = %+v", m)
	}
	if p, m := models.For(agents.LLMSettings{Model: "other"}); p == nil || m.Model != "other" {
		t.Fatalf("agent's own model = %+v", m)
	}
	if p, m := models.For(agents.LLMSettings{Provider: "anthropic", Model: "claude"}); p != nil || !m.Offline || m.Reason == "" {
		t.Fatalf("unconfigured provider = %+v", m)
	}
}
