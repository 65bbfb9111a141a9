package chat

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/timbre-ai/timbre/agents"
	"github.com/timbre-ai/timbre/agents/llm"
	"github.com/timbre-ai/timbre/agents/prompt"
)

// CompletionRequest is a stateless chat completion with an agent, as the
// OpenAI-compatible API receives it: the client keeps the history.
type CompletionRequest struct {
	Agent    agents.Agent
	UserID   string
	UserName string
	// Messages are the client's, oldest first. Its system messages are
	// added after the agent's own system prompt, never in its place; the
	// last message must be the user's.
	Messages    []llm.Message
	Temperature *float64
	MaxTokens   int
	Stop        []string
	// EndUser is the client's identifier of its own user, kept with the
	// usage record.
	EndUser string
}

// Completion is a finished completion.
type Completion struct {
	Text         string
	Usage        llm.Usage
	Model        Model
	FinishReason string
	Citations    []Citation
	Timings      Timings
}

// Complete answers a stateless completion and meters it.
func (s *Service) Complete(ctx context.Context, req CompletionRequest, sink Sink) (Completion, error) {
	start := time.Now()
	var system []string
	var history []prompt.Turn
	for i, m := range req.Messages {
		switch m.Role {
		case llm.System:
			system = append(system, m.Content)
		case llm.User, llm.Assistant:
			history = append(history, prompt.Turn{Role: m.Role, Content: m.Content})
		default:
			return Completion{}, &InputError{Field: fmt.Sprintf("messages[%d].role", i), Message: "must be system, user or assistant"}
		}
	}
	if len(history) == 0 || history[len(history)-1].Role != llm.User {
		return Completion{}, &InputError{Field: "messages", Message: "must end with a user message"}
	}
	last := &history[len(history)-1]
	content, err := s.checkContent(last.Content)
	if err != nil {
		return Completion{}, err
	}
	last.Content = content
	out, err := s.generate(ctx, generation{agent: req.Agent, userName: req.UserName, history: history,
		clientSystem: system, temperature: req.Temperature, maxTokens: req.MaxTokens, stop: req.Stop,
		start: start, sink: sink})
	status := StatusComplete
	switch {
	case err == nil:
	case out.clientGone || ctx.Err() != nil:
		status = StatusStopped
	default:
		status = StatusFailed
	}
	e := usageEvent(req.Agent.ID, req.UserID, "", "", "api", out, status)
	e.EndUser = truncateRunes(strings.TrimSpace(req.EndUser), 256)
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if uerr := s.store.recordUsage(wctx, s.store.pool, e); uerr != nil {
		s.logger.Error("usage not recorded", "agent_id", req.Agent.ID, "error", uerr)
	}
	return Completion{Text: out.text, Usage: out.usage, Model: out.model, FinishReason: out.finishReason,
		Citations: out.citations, Timings: *out.timings()}, err
}
