package chat

import (
	"fmt"
	"sync"

	"github.com/timbre-ai/timbre/agents"
	"github.com/timbre-ai/timbre/agents/llm"
)

// Models chooses the language model that answers each agent: the platform
// default, or the agent's own llm settings. An agent that asks for the
// default provider with another model uses that model; one that asks for
// Ollama on a server whose default is something else uses the Ollama on
// 127.0.0.1:11434; one that asks for a provider this server has no
// credentials for answers offline, saying why.
type Models struct {
	def    llm.Provider // nil when none is configured
	reason string       // why def is nil
	base   llm.Config   // timeouts and retries for providers built here

	mu    sync.Mutex
	extra map[string]llm.Provider
}

// NewModels returns Models with def as the platform default. When def is
// nil, every agent answers offline and reason says why.
func NewModels(def llm.Provider, base llm.Config, reason string) *Models {
	if reason == "" {
		reason = "no language model is configured"
	}
	return &Models{def: def, reason: reason, base: base, extra: map[string]llm.Provider{}}
}

// Default is the platform's model, or why there is none.
func (m *Models) Default() Model {
	if m.def == nil {
		return Model{Offline: true, Reason: m.reason}
	}
	return Model{Provider: m.def.Name(), Model: m.def.Model()}
}

// For returns the provider and model for an agent's settings; the provider
// is nil when the agent answers offline.
func (m *Models) For(s agents.LLMSettings) (llm.Provider, Model) {
	if s.Provider == "" || (m.def != nil && s.Provider == m.def.Name()) {
		if m.def == nil {
			return nil, Model{Offline: true, Reason: m.reason}
		}
		model := m.def.Model()
		if s.Model != "" {
			model = s.Model
		}
		return m.def, Model{Provider: m.def.Name(), Model: model}
	}
	if s.Provider != "ollama" {
		return nil, Model{Provider: s.Provider, Model: s.Model, Offline: true,
			Reason: fmt.Sprintf("this agent asks for %s, which this server has no credentials for", s.Provider)}
	}
	if s.Model == "" {
		return nil, Model{Provider: s.Provider, Offline: true, Reason: "this agent asks for ollama but names no model"}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.extra[s.Model]
	if !ok {
		cfg := m.base
		cfg.Provider, cfg.BaseURL, cfg.APIKey, cfg.Model = "ollama", "", "", s.Model
		var err error
		if p, err = llm.New(cfg); err != nil {
			return nil, Model{Provider: s.Provider, Model: s.Model, Offline: true, Reason: err.Error()}
		}
		m.extra[s.Model] = p
	}
	return p, Model{Provider: p.Name(), Model: s.Model}
}
