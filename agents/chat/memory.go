package chat

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/timbre-ai/timbre/agents"
	"github.com/timbre-ai/timbre/agents/llm"
	"github.com/timbre-ai/timbre/agents/prompt"
	"github.com/timbre-ai/timbre/tokens"
)

// summaryTokens bounds a conversation's long-term memory.
const summaryTokens = 400

// memoryJob folds a conversation's messages up to upTo into its summary.
type memoryJob struct {
	conversationID string
	agent          agents.Agent
	userName       string
	upTo           int
}

// memory keeps conversations' summaries up to date in the background, one
// job per conversation at a time. A job lost to a crash is not lost work:
// the next turn finds the same messages trimmed and schedules it again.
type memory struct {
	s      *Service
	mu     sync.Mutex
	queued map[string]memoryJob // by conversation; the newest upTo wins
	closed bool
	wg     sync.WaitGroup
	ctx    context.Context
	cancel context.CancelFunc
}

func newMemory(s *Service) *memory {
	ctx, cancel := context.WithCancel(context.Background())
	return &memory{s: s, queued: map[string]memoryJob{}, ctx: ctx, cancel: cancel}
}

// schedule queues a job; a job already queued for the conversation is
// replaced, and one running is followed by this one.
func (m *memory) schedule(j memoryJob) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	_, running := m.queued[j.conversationID]
	m.queued[j.conversationID] = j
	if running {
		return
	}
	m.wg.Go(func() { m.run(j.conversationID) })
}

// run works a conversation's jobs until none is queued.
func (m *memory) run(id string) {
	for {
		m.mu.Lock()
		j := m.queued[id]
		m.mu.Unlock()
		if err := m.s.summarize(m.ctx, j); err != nil && m.ctx.Err() == nil {
			m.s.logger.Warn("conversation memory not updated; the next turn retries", "conversation_id", id, "error", err)
		}
		m.mu.Lock()
		if m.queued[id].upTo == j.upTo || m.ctx.Err() != nil {
			delete(m.queued, id)
			m.mu.Unlock()
			return
		}
		m.mu.Unlock()
	}
}

// wait blocks until no job is queued or running.
func (m *memory) wait() { m.wg.Wait() }

func (m *memory) close() {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	m.cancel()
	m.wg.Wait()
}

// WaitMemory blocks until the background memory summaries under way are
// done. Tests and orderly shutdowns use it.
func (s *Service) WaitMemory() { s.memory.wait() }

// summarize folds the messages after the conversation's summary, up to
// j.upTo, into it: with the agent's model when it has one, else by keeping
// the first sentence of each message.
func (s *Service) summarize(ctx context.Context, j memoryJob) error {
	start := time.Now()
	c, err := s.store.memory(ctx, j.conversationID)
	if err != nil {
		return err
	}
	if c.SummarySeq >= j.upTo {
		return nil
	}
	msgs, err := s.store.messages(ctx, s.store.pool, j.conversationID, c.SummarySeq)
	if err != nil {
		return err
	}
	var fold []prompt.Turn
	for _, m := range msgs {
		if m.Seq <= j.upTo && strings.TrimSpace(m.Content) != "" {
			fold = append(fold, prompt.Turn{Role: m.Role, Content: m.Content})
		}
	}
	char := prompt.CharName(j.agent.Card)
	summary := ""
	out := outcome{}
	provider, model := s.models.For(j.agent.LLM)
	out.model = model
	if provider != nil {
		res, err := provider.Stream(ctx, llm.Request{Model: model.Model,
			Messages:  prompt.Summarize(c.Summary, fold, char, j.userName, summaryTokens),
			MaxTokens: summaryTokens}, func(string) error { return nil })
		out.usage, out.total = res.Usage, msSince(start)
		status := StatusComplete
		if err != nil {
			status = StatusFailed
		}
		if uerr := s.store.recordUsage(ctx, s.store.pool, usageEvent(j.agent.ID, c.UserID, j.conversationID, "", "summary", out, status)); uerr != nil {
			s.logger.Warn("summary usage not recorded", "conversation_id", j.conversationID, "error", uerr)
		}
		switch {
		case err == nil:
			summary = strings.TrimSpace(res.Text)
		case errors.Is(err, llm.ErrUnreachable):
			// The model is down: keep memory going as offline mode does.
			summary = extractiveSummary(c.Summary, fold, char, j.userName)
		default:
			return err
		}
	} else {
		summary = extractiveSummary(c.Summary, fold, char, j.userName)
	}
	_, err = s.store.setSummary(ctx, j.conversationID, tokens.Truncate(summary, summaryTokens*2), c.SummarySeq, j.upTo)
	return err
}

// extractiveSummary is offline memory: the previous summary and the first
// sentence of each folded message, the oldest dropped first when it grows
// past summaryTokens.
func extractiveSummary(previous string, fold []prompt.Turn, char, user string) string {
	lines := []string{}
	if previous != "" {
		lines = append(lines, strings.Split(previous, "\n")...)
	}
	for _, t := range fold {
		who := user
		if t.Role == llm.Assistant {
			who = char
		}
		if who == "" {
			who = string(t.Role)
		}
		lines = append(lines, who+": "+firstSentence(t.Content))
	}
	for len(lines) > 1 && tokens.Count(strings.Join(lines, "\n")) > summaryTokens {
		lines = lines[1:]
	}
	return strings.Join(lines, "\n")
}

// firstSentence is text's first sentence, at most about 200 characters.
func firstSentence(text string) string {
	text = strings.Join(strings.Fields(text), " ")
	for i, r := range text {
		if (r == '.' || r == '!' || r == '?') && i > 0 && (i+1 == len(text) || text[i+1] == ' ') {
			return excerpt(text[:i+1], 200)
		}
	}
	return excerpt(text, 200)
}
