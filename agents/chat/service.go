package chat

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/timbre-ai/timbre/agents"
	"github.com/timbre-ai/timbre/agents/llm"
	"github.com/timbre-ai/timbre/agents/prompt"
	"github.com/timbre-ai/timbre/db"
	"github.com/timbre-ai/timbre/knowledge"
)

// Config tunes the Service.
type Config struct {
	// ContextTokens is the model's context window the prompt must fit.
	ContextTokens int
	// ReplyTokens is the reply length reserved in the window when the agent
	// sets no max_tokens.
	ReplyTokens int
	// MaxMessageBytes bounds a user's message.
	MaxMessageBytes int
	// Passages is how many knowledge passages a turn retrieves (default 4;
	// negative for none).
	Passages int
	// RenewEvery is how often a streaming reply's partial text is saved
	// (which also renews the conversation's lock).
	RenewEvery time.Duration
	// StaleAfter is how long a streaming reply may go unrenewed before the
	// next turn takes it for the remains of a crashed server.
	StaleAfter time.Duration
}

func (c *Config) defaults() {
	if c.ContextTokens == 0 {
		c.ContextTokens = 8192
	}
	if c.ReplyTokens == 0 {
		c.ReplyTokens = 512
	}
	if c.MaxMessageBytes == 0 {
		c.MaxMessageBytes = 32 << 10
	}
	if c.Passages == 0 {
		c.Passages = 4
	}
	if c.RenewEvery == 0 {
		c.RenewEvery = 5 * time.Second
	}
	if c.StaleAfter == 0 {
		c.StaleAfter = 12 * c.RenewEvery
	}
}

// Retriever finds an agent's knowledge; knowledge.Service implements it.
type Retriever interface {
	AgentBases(ctx context.Context, agentID string) ([]knowledge.Base, error)
	SearchBases(ctx context.Context, kbIDs []string, q knowledge.Query) (knowledge.Results, error)
}

// Params are the Service's dependencies.
type Params struct {
	Pool   *pgxpool.Pool
	Agents *agents.Service
	// Knowledge may be nil: replies then use no knowledge.
	Knowledge Retriever
	Models    *Models
	Config    Config
	Logger    *slog.Logger
}

// Service runs conversations.
type Service struct {
	store     store
	agents    *agents.Service
	knowledge Retriever
	models    *Models
	cfg       Config
	logger    *slog.Logger
	memory    *memory
}

// New returns a Service. Close stops its background memory work.
func New(p Params) *Service {
	p.Config.defaults()
	if p.Logger == nil {
		p.Logger = slog.New(slog.DiscardHandler)
	}
	if p.Models == nil {
		p.Models = NewModels(nil, llm.Config{}, "")
	}
	s := &Service{store: store{pool: p.Pool}, agents: p.Agents, knowledge: p.Knowledge, models: p.Models,
		cfg: p.Config, logger: p.Logger}
	s.memory = newMemory(s)
	return s
}

// Close waits for memory summaries under way and stops taking new ones.
func (s *Service) Close() { s.memory.close() }

// Model says which model answers an agent, or why it answers offline.
func (s *Service) Model(a agents.Agent) Model {
	_, m := s.models.For(a.LLM)
	return m
}

// Start begins a conversation of userID with an agent they may use and
// stores its greeting: the card's first_mes for greeting 0, alternate
// greeting i for greeting i. The greeting is nil when the card has none.
func (s *Service) Start(ctx context.Context, userID, userName, agentID string, greeting int) (Conversation, *Message, error) {
	a, err := s.agents.Agent(ctx, userID, agentID)
	if err != nil {
		return Conversation{}, nil, err
	}
	var text string
	switch {
	case greeting < 0 || greeting > len(a.Card.AlternateGreetings):
		return Conversation{}, nil, &InputError{Field: "greeting",
			Message: fmt.Sprintf("must be from 0 (first_mes) to %d (the alternate greetings)", len(a.Card.AlternateGreetings))}
	case greeting == 0:
		text = a.Card.FirstMes
	default:
		text = a.Card.AlternateGreetings[greeting-1]
	}
	text = strings.TrimSpace(prompt.Expand(text, prompt.CharName(a.Card), userName))
	c := Conversation{ID: db.NewID("cnv"), AgentID: a.ID, AgentName: a.Card.Name, UserID: userID}
	var greet *Message
	err = pgx.BeginFunc(ctx, s.store.pool, func(tx pgx.Tx) error {
		var err error
		if c, err = s.store.insertConversation(ctx, tx, c); err != nil {
			return err
		}
		if text == "" {
			return nil
		}
		m, err := s.store.insertMessage(ctx, tx, c.ID, Message{ID: db.NewID("msg"), Seq: 1, Role: llm.Assistant,
			Content: text, Status: StatusComplete, SwipeCount: 1})
		greet = &m
		c.Messages = 1
		return err
	})
	if err != nil {
		return Conversation{}, nil, err
	}
	return c, greet, nil
}

// Conversation returns one of userID's conversations with its active
// messages, oldest first. A reply left streaming by a server that died is
// marked failed first, so that nobody waits for it.
func (s *Service) Conversation(ctx context.Context, userID, id string) (Conversation, []Message, error) {
	c, err := s.store.conversation(ctx, userID, id)
	if err != nil {
		return Conversation{}, nil, err
	}
	if err := s.store.failStale(ctx, s.store.pool, id, s.cfg.StaleAfter); err != nil {
		return Conversation{}, nil, err
	}
	msgs, err := s.store.messages(ctx, s.store.pool, id, 0)
	if err != nil {
		return Conversation{}, nil, err
	}
	return c, msgs, nil
}

// Message returns one message (active or not) of one of userID's
// conversations, with the conversation.
func (s *Service) Message(ctx context.Context, userID, conversationID, messageID string) (Message, Conversation, error) {
	c, err := s.store.conversation(ctx, userID, conversationID)
	if err != nil {
		return Message{}, Conversation{}, err
	}
	m, err := s.store.message(ctx, s.store.pool, conversationID, messageID)
	return m, c, err
}

// Cursor marks where a page of conversations ends.
type Cursor struct {
	UpdatedAt time.Time `json:"u"`
	ID        string    `json:"i"`
}

// Page is one page of conversations.
type Page struct {
	Items      []Conversation `json:"items"`
	NextCursor string         `json:"next_cursor"`
}

// Conversations lists userID's conversations, most recent first, with one
// agent only when agentID is set.
func (s *Service) Conversations(ctx context.Context, userID, agentID, cursor string, limit int) (Page, error) {
	var after *Cursor
	if cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(cursor)
		after = new(Cursor)
		if err != nil || json.Unmarshal(raw, after) != nil || !db.ValidID("cnv", after.ID) {
			return Page{}, &InputError{Field: "cursor", Message: "is not a cursor this server made"}
		}
	}
	if limit < 1 || limit > 100 {
		return Page{}, &InputError{Field: "limit", Message: "must be from 1 to 100"}
	}
	items, err := s.store.conversations(ctx, userID, agentID, after, limit+1)
	if err != nil {
		return Page{}, err
	}
	p := Page{Items: items}
	if len(items) > limit {
		p.Items = items[:limit]
		last := p.Items[limit-1]
		p.NextCursor = base64.RawURLEncoding.EncodeToString(encodeJSON(Cursor{UpdatedAt: last.UpdatedAt, ID: last.ID}))
	}
	return p, nil
}

// Delete removes one of userID's conversations with its messages. Its
// usage events stay: they are the agent's earnings record.
func (s *Service) Delete(ctx context.Context, userID, id string) error {
	return s.store.deleteConversation(ctx, userID, id)
}

// Turn is a finished (or failed) turn.
type Turn struct {
	// User is the user's message; nil for a regenerate.
	User  *Message
	Reply Message
	Model Model
}

// checkContent validates a user's message.
func (s *Service) checkContent(content string) (string, error) {
	if len(content) > s.cfg.MaxMessageBytes {
		return "", fmt.Errorf("%w: at most %d bytes", ErrTooLarge, s.cfg.MaxMessageBytes)
	}
	content = strings.TrimSpace(content)
	if content == "" {
		return "", ErrEmpty
	}
	if strings.ContainsRune(content, 0) {
		return "", &InputError{Field: "content", Message: "contains a NUL character"}
	}
	return content, nil
}

// Send adds the user's message to a conversation and makes the agent's
// reply. The user's message and the reply's row are stored before the model
// is called; the reply is stored with whatever text arrived when the model
// fails or ctx ends (the client went away). The returned error is the
// model's when the Turn's Reply is set.
func (s *Service) Send(ctx context.Context, userID, userName, conversationID, content string, sink Sink) (Turn, error) {
	start := time.Now()
	content, err := s.checkContent(content)
	if err != nil {
		return Turn{}, err
	}
	var user, reply Message
	c, a, err := s.change(ctx, userID, conversationID, func(tx pgx.Tx, seq int) error {
		var err error
		user, err = s.store.insertMessage(ctx, tx, conversationID, Message{ID: db.NewID("msg"), Seq: seq + 1, Role: llm.User,
			Content: content, Status: StatusComplete, SwipeCount: 1})
		if err != nil {
			return err
		}
		reply, err = s.store.insertMessage(ctx, tx, conversationID, Message{ID: db.NewID("msg"), Seq: seq + 2, Role: llm.Assistant,
			Status: StatusStreaming, SwipeCount: 1})
		if err != nil {
			return err
		}
		return s.store.touch(ctx, tx, conversationID, title(content))
	})
	if err != nil {
		return Turn{}, err
	}
	return s.reply(ctx, c, a, userName, &user, reply, start, sink)
}

// Regenerate makes another reply in place of the conversation's last one,
// keeping the earlier replies as alternatives (swipes).
func (s *Service) Regenerate(ctx context.Context, userID, userName, conversationID, messageID string, sink Sink) (Turn, error) {
	start := time.Now()
	var reply Message
	c, a, err := s.change(ctx, userID, conversationID, func(tx pgx.Tx, seq int) error {
		m, err := s.store.message(ctx, tx, conversationID, messageID)
		if err != nil {
			return err
		}
		switch {
		case m.Role != llm.Assistant:
			return &InputError{Field: "message_id", Message: "is the user's message; only replies can be regenerated"}
		case m.Seq != seq:
			return ErrNotLatest
		case seq == 1:
			return &InputError{Field: "message_id", Message: "is the greeting; start a new conversation to choose another"}
		}
		next, err := s.store.deactivate(ctx, tx, conversationID, seq)
		if err != nil {
			return err
		}
		reply, err = s.store.insertMessage(ctx, tx, conversationID, Message{ID: db.NewID("msg"), Seq: seq, SwipeIndex: next,
			SwipeCount: next + 1, Role: llm.Assistant, Status: StatusStreaming})
		if err != nil {
			return err
		}
		return s.store.touch(ctx, tx, conversationID, "")
	})
	if err != nil {
		return Turn{}, err
	}
	return s.reply(ctx, c, a, userName, nil, reply, start, sink)
}

// Swipe makes alternative index of a reply the active one.
func (s *Service) Swipe(ctx context.Context, userID, conversationID, messageID string, index int) (Message, error) {
	var m Message
	_, _, err := s.change(ctx, userID, conversationID, func(tx pgx.Tx, seq int) error {
		cur, err := s.store.message(ctx, tx, conversationID, messageID)
		if err != nil {
			return err
		}
		if cur.Seq != seq {
			return ErrNotLatest
		}
		id, err := s.store.activate(ctx, tx, conversationID, seq, index)
		if err != nil {
			return err
		}
		m, err = s.store.message(ctx, tx, conversationID, id)
		return err
	})
	return m, err
}

// change loads one of userID's conversations with its agent and runs fn in
// a transaction that holds the conversation's lock, once no reply of it is
// streaming. fn gets the conversation's last message seq.
func (s *Service) change(ctx context.Context, userID, conversationID string, fn func(tx pgx.Tx, seq int) error) (Conversation, agents.Agent, error) {
	c, err := s.store.conversation(ctx, userID, conversationID)
	if err != nil {
		return Conversation{}, agents.Agent{}, err
	}
	a, err := s.agents.Agent(ctx, userID, c.AgentID)
	if err != nil {
		return Conversation{}, agents.Agent{}, err
	}
	err = pgx.BeginFunc(ctx, s.store.pool, func(tx pgx.Tx) error {
		seq, err := s.store.lockConversation(ctx, tx, c.ID)
		if err != nil {
			return err
		}
		if err := s.store.claim(ctx, tx, c.ID, s.cfg.StaleAfter); err != nil {
			return err
		}
		return fn(tx, seq)
	})
	return c, a, err
}

// reply makes and stores the reply whose streaming row is stored.
func (s *Service) reply(ctx context.Context, c Conversation, a agents.Agent, userName string, user *Message, reply Message, start time.Time, sink Sink) (Turn, error) {
	if sink.Start != nil {
		// A client already gone shows in ctx; the reply is then stopped.
		_ = sink.Start(user, reply)
	}
	msgs, err := s.store.messages(ctx, s.store.pool, c.ID, c.SummarySeq)
	if err == nil && len(msgs) > 0 && msgs[len(msgs)-1].ID == reply.ID {
		msgs = msgs[:len(msgs)-1]
	}
	history, seqs := turns(msgs)

	var mu sync.Mutex
	partial := ""
	outer := sink.Delta
	sink.Delta = func(text string) error {
		mu.Lock()
		partial += text
		mu.Unlock()
		if outer != nil {
			return outer(text)
		}
		return nil
	}
	stopRenew := s.renewWhile(reply.ID, func() string { mu.Lock(); defer mu.Unlock(); return partial })

	var out outcome
	if err == nil {
		out, err = s.generate(ctx, generation{agent: a, userName: userName, history: history, summary: c.Summary,
			start: start, sink: sink})
	} else {
		out.total = msSince(start)
	}
	stopRenew()

	reply.Content, reply.Offline, reply.Citations = out.text, out.model.Offline, out.citations
	reply.Usage, reply.Timings = &out.usage, out.timings()
	reply.Status = StatusComplete
	switch {
	case err == nil:
	case out.clientGone || ctx.Err() != nil:
		reply.Status = StatusStopped
	default:
		reply.Status, reply.Error = StatusFailed, errorText(err)
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	werr := pgx.BeginFunc(wctx, s.store.pool, func(tx pgx.Tx) error {
		if err := s.store.finish(wctx, tx, reply); err != nil {
			return err
		}
		return s.store.recordUsage(wctx, tx, usageEvent(a.ID, c.UserID, c.ID, reply.ID, "chat", out, reply.Status))
	})
	if werr != nil {
		s.logger.Error("reply not stored; the next turn will mark it failed", "message_id", reply.ID, "error", werr)
	}
	if out.dropped > 0 && out.dropped <= len(seqs) {
		s.memory.schedule(memoryJob{conversationID: c.ID, agent: a, userName: userName, upTo: seqs[out.dropped-1]})
	}
	return Turn{User: user, Reply: reply, Model: out.model}, err
}

// renewWhile saves a streaming reply's partial text every RenewEvery until
// the returned stop is called.
func (s *Service) renewWhile(id string, text func() string) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(s.cfg.RenewEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				ctx, cancel := context.WithTimeout(context.Background(), s.cfg.RenewEvery)
				if err := s.store.renew(ctx, id, text()); err != nil {
					s.logger.Warn("streaming reply not renewed", "message_id", id, "error", err)
				}
				cancel()
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

// turns turns stored messages into prompt history, leaving out replies that
// failed before saying anything.
func turns(msgs []Message) ([]prompt.Turn, []int) {
	history := make([]prompt.Turn, 0, len(msgs))
	seqs := make([]int, 0, len(msgs))
	for _, m := range msgs {
		if m.Role == llm.Assistant && strings.TrimSpace(m.Content) == "" {
			continue
		}
		history = append(history, prompt.Turn{Role: m.Role, Content: m.Content})
		seqs = append(seqs, m.Seq)
	}
	return history, seqs
}

func usageEvent(agentID, userID, conversationID, messageID, source string, out outcome, status string) UsageEvent {
	provider := out.model.Provider
	if out.model.Offline {
		provider = "offline"
	}
	return UsageEvent{AgentID: agentID, UserID: userID, ConversationID: conversationID, MessageID: messageID,
		Source: source, Provider: provider, Model: out.model.Model, Usage: out.usage, FirstTokenMS: out.firstToken,
		TotalMS: out.total, Offline: out.model.Offline, Status: status}
}

// errorText is the sentence stored with a failed reply.
func errorText(err error) string {
	var le *llm.Error
	if errors.As(err, &le) {
		return le.Error()
	}
	if errors.Is(err, prompt.ErrTooSmall) {
		return "the message does not fit the model's context window"
	}
	return "the reply could not be made (see the server log)"
}

// title is a conversation's title from its first message: its first line,
// cut at a word to about 60 characters.
func title(content string) string {
	line, _, _ := strings.Cut(content, "\n")
	line = strings.TrimSpace(line)
	if len([]rune(line)) <= 60 {
		return line
	}
	cut := truncateRunes(line, 60)
	if i := strings.LastIndexFunc(cut, unicode.IsSpace); i > 20 {
		cut = cut[:i]
	}
	return cut + "…"
}
