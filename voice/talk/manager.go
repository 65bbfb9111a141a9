package talk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/timbre-ai/timbre/agents"
	"github.com/timbre-ai/timbre/agents/chat"
	"github.com/timbre-ai/timbre/db"
	"github.com/timbre-ai/timbre/voice"
	"github.com/timbre-ai/timbre/voice/asr"
	"github.com/timbre-ai/timbre/voice/audio"
	"github.com/timbre-ai/timbre/voice/listen"
	"github.com/timbre-ai/timbre/voice/rtc"
)

// Agents finds the agent a session talks with (agents.Service).
type Agents interface {
	Agent(ctx context.Context, callerID, id string) (agents.Agent, error)
}

// Chat is the roleplay engine (chat.Service).
type Chat interface {
	Start(ctx context.Context, userID, userName, agentID string, greeting int) (chat.Conversation, *chat.Message, error)
	Conversation(ctx context.Context, userID, id string) (chat.Conversation, []chat.Message, error)
	Send(ctx context.Context, userID, userName, conversationID, content string, sink chat.Sink) (chat.Turn, error)
	RecordVoiceTurn(ctx context.Context, t chat.VoiceTurn) (string, error)
}

// Speaker speaks text in a voice (voice.Service).
type Speaker interface {
	Speak(ctx context.Context, sp voice.Speech, onAudio func(audio.Frame) error) error
}

// Params are a Manager's dependencies.
type Params struct {
	Transport *rtc.Transport
	Agents    Agents
	Chat      Chat
	Voice     Speaker
	ASR       asr.Recognizer
	// VADModel is the Silero VAD model's path (clone.VADModelPath).
	VADModel string
	Config   Config
	Logger   *slog.Logger
	Metrics  *Metrics
}

// Manager opens voice sessions and holds them until they end.
type Manager struct {
	p      Params
	cfg    Config
	logger *slog.Logger

	mu       sync.Mutex
	sessions map[string]*Session
	perUser  map[string]int
	closed   bool
	wg       sync.WaitGroup
}

// NewManager returns a Manager; p.Config must be valid.
func NewManager(p Params) *Manager {
	p.Config.defaults()
	if p.Logger == nil {
		p.Logger = slog.New(slog.DiscardHandler)
	}
	if p.Metrics == nil {
		p.Metrics = NewMetrics(nil)
	}
	return &Manager{p: p, cfg: p.Config, logger: p.Logger, sessions: map[string]*Session{}, perUser: map[string]int{}}
}

// OpenRequest asks for a voice session.
type OpenRequest struct {
	UserID, UserName string
	// EndUser is an embedding site's label for its visitor.
	EndUser string
	AgentID string
	// ConversationID continues a conversation; empty starts one (whose
	// greeting, if the agent has one, is spoken once the call connects).
	ConversationID string
	// SDP is the browser's offer.
	SDP string
}

// Opened is a session that has answered the browser.
type Opened struct {
	SessionID      string
	ConversationID string
	// SDP is the answer.
	SDP string
}

// Open starts a session: it checks the limits, the agent and the
// conversation, answers the offer, and starts a conversation unless one is
// continued. Nothing is left behind when it fails.
func (m *Manager) Open(ctx context.Context, req OpenRequest) (Opened, error) {
	if err := m.reserve(req.UserID); err != nil {
		return Opened{}, err
	}
	s, answer, err := m.open(ctx, req)
	if err != nil {
		m.release(req.UserID, "")
		return Opened{}, err
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		s.stop("shutdown")
		return Opened{}, ErrClosed
	}
	m.sessions[s.id] = s
	m.wg.Add(1)
	m.mu.Unlock()
	m.p.Metrics.sessions.Inc()
	go func() {
		defer m.wg.Done()
		defer close(s.done)
		s.run()
		m.release(req.UserID, s.id)
		m.p.Metrics.sessions.Dec()
	}()
	return Opened{SessionID: s.id, ConversationID: s.conv.ID, SDP: answer}, nil
}

func (m *Manager) reserve(userID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.closed:
		return ErrClosed
	case m.perUser[userID] >= m.cfg.MaxPerUser:
		return fmt.Errorf("%w (%d)", ErrTooManySessions, m.cfg.MaxPerUser)
	case m.count() >= m.cfg.MaxSessions:
		return ErrFull
	}
	m.perUser[userID]++
	return nil
}

// count is the sessions open or opening; m.mu is held.
func (m *Manager) count() int {
	n := 0
	for _, c := range m.perUser {
		n += c
	}
	return n
}

func (m *Manager) release(userID, sessionID string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if sessionID != "" {
		delete(m.sessions, sessionID)
	}
	if m.perUser[userID]--; m.perUser[userID] <= 0 {
		delete(m.perUser, userID)
	}
}

func (m *Manager) open(ctx context.Context, req OpenRequest) (*Session, string, error) {
	a, err := m.p.Agents.Agent(ctx, req.UserID, req.AgentID)
	if err != nil {
		return nil, "", err
	}
	voiceID := a.VoiceID
	if voiceID == "" {
		voiceID = m.cfg.DefaultVoice
	}
	if voiceID == "" {
		return nil, "", ErrNoVoice
	}
	det, err := listen.NewDetector(m.p.VADModel, listen.Config{Silence: m.cfg.Silence, MinSpeech: m.cfg.MinSpeech, MaxTurn: m.cfg.MaxTurn})
	if err != nil {
		return nil, "", fmt.Errorf("talk: voice activity detector: %w", err)
	}
	if req.ConversationID != "" {
		c, _, err := m.p.Chat.Conversation(ctx, req.UserID, req.ConversationID)
		if err == nil && c.AgentID != a.ID {
			err = ErrWrongAgent
		}
		if err != nil {
			_ = det.Close()
			return nil, "", err
		}
	}
	// The offer is answered before a conversation is started, so that a
	// bad offer leaves nothing behind. Events wait in s.events until run.
	s := newSession(m, req, a, voiceID, det)
	peer, answer, err := m.p.Transport.Accept(ctx, req.SDP, rtc.Handlers{
		Audio:   s.hear,
		Message: func(b []byte) { s.post(evMessage{data: b}) },
		Open:    func() { s.post(evOpen{}) },
		Closed:  func(reason error) { s.post(evClosed{reason: reason}) },
	})
	if err != nil {
		s.cancel()
		_ = det.Close()
		return nil, "", err
	}
	s.attach(peer)
	if req.ConversationID != "" {
		s.conv, _, err = m.p.Chat.Conversation(ctx, req.UserID, req.ConversationID)
	} else {
		s.conv, s.greeting, err = m.p.Chat.Start(ctx, req.UserID, req.UserName, a.ID, 0)
	}
	if err != nil {
		s.cancel()
		_ = peer.Close()
		<-peer.Done() // no Audio call is running: the detector can go
		_ = det.Close()
		return nil, "", err
	}
	s.attach(peer)
	return s, answer, nil
}

// Hangup ends one of userID's sessions and waits until it has ended (its
// turn under way stored), or for ctx.
func (m *Manager) Hangup(ctx context.Context, userID, id string) error {
	m.mu.Lock()
	s, ok := m.sessions[id]
	m.mu.Unlock()
	if !ok || s.req.UserID != userID {
		return ErrNotFound
	}
	s.post(evHangup{})
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Count is the number of sessions open.
func (m *Manager) Count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.sessions)
}

// Close ends every session (saying "shutdown" to the browsers, storing the
// turns under way) and waits for them, or for ctx.
func (m *Manager) Close(ctx context.Context) error {
	m.mu.Lock()
	m.closed = true
	for _, s := range m.sessions {
		s.post(evShutdown{})
	}
	m.mu.Unlock()
	done := make(chan struct{})
	go func() { m.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("talk: sessions still closing: %w", ctx.Err())
	}
}

// newID is a session's or turn's id.
func newID(prefix string) string { return db.NewID(prefix) }

// errorCode is the code a browser gets for a failed turn.
func errorCode(err error) (string, string) {
	switch {
	case errors.Is(err, asr.ErrUnavailable), errors.Is(err, asr.ErrBusy):
		return "asr_unavailable", "Speech recognition is unavailable right now; try again, or type."
	case errors.Is(err, chat.ErrBusy):
		return "conversation_busy", "Another reply of this conversation is being written; wait for it."
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout", "That took too long; try again."
	default:
		return "turn_failed", "The agent could not answer that (see the server log)."
	}
}

// msBetween is the milliseconds from t0 to t1, or 0 when either is unset.
func msBetween(t0, t1 time.Time) int {
	if t0.IsZero() || t1.IsZero() {
		return 0
	}
	// Clocks of different stages may disagree by a frame's scheduling.
	return max(0, int(t1.Sub(t0).Milliseconds()))
}
