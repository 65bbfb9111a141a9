package talk

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/timbre-ai/timbre/agents"
	"github.com/timbre-ai/timbre/agents/chat"
	"github.com/timbre-ai/timbre/voice/listen"
	"github.com/timbre-ai/timbre/voice/rtc"
)

// MaxTypedRunes bounds a typed turn.
const MaxTypedRunes = 4000

// Turn states, as the browser sees them.
const (
	StateListening = "listening"
	StateHearing   = "hearing"
	StateThinking  = "thinking"
	StateSpeaking  = "speaking"
	StatePaused    = "paused"
)

// Session is one voice call. Its state is owned by run; the audio
// callback (hear) owns the utterance being heard, and each turn's reply
// runs in its own goroutine (respond).
type Session struct {
	m       *Manager
	id      string
	req     OpenRequest
	agent   agents.Agent
	voiceID string
	conv    chat.Conversation

	ctx    context.Context
	cancel context.CancelFunc
	events chan event
	done   chan struct{} // closed when the session has ended

	sendMu sync.Mutex
	// nextTagN numbers the sentences played, across turns.
	nextTagMu sync.Mutex
	nextTagN  int
	peer      *rtc.Peer
	player    *rtc.Player

	// Owned by hear.
	det *listen.Detector
	utt *utterance

	// Owned by run.
	greeting *chat.Message
	state    string
	cur      *turn
	hearing  bool
	uttID    string
	ended    bool
}

func newSession(m *Manager, req OpenRequest, a agents.Agent, voiceID string, det *listen.Detector) *Session {
	ctx, cancel := context.WithCancel(context.Background())
	return &Session{m: m, id: newID("rtc"), req: req, agent: a, voiceID: voiceID, det: det,
		ctx: ctx, cancel: cancel, events: make(chan event, 256), done: make(chan struct{}), state: StateListening}
}

func (s *Session) attach(p *rtc.Peer) {
	s.peer = p
	s.player = p.Player()
}

// event is something run reacts to.
type event interface{}

type (
	evOpen        struct{}
	evHangup      struct{}
	evShutdown    struct{}
	evClosed      struct{ reason error }
	evMessage     struct{ data []byte }
	evSpeechStart struct {
		id string
		// start is the wall time the user's speech started (the
		// detector's decision came a few windows later).
		start time.Time
	}
	evPartial   struct{ id, text string }
	evDiscarded struct{ id string }
	evUtterance struct {
		id   string
		text string
		err  error
		// audio is the utterance's length; end the wall time its speech
		// ended, decided when the detector said so, transcribed when the
		// final text was ready.
		audio                     time.Duration
		end, decided, transcribed time.Time
	}
	evReplyDone struct {
		t   *turn
		err error
	}
)

// post hands ev to run; it gives up when the session has ended.
func (s *Session) post(ev event) {
	select {
	case s.events <- ev:
	case <-s.ctx.Done():
	}
}

// send writes a message to the browser's data channel.
func (s *Session) send(v any) {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	if s.peer == nil {
		return
	}
	if err := s.peer.Send(v); err != nil && s.ctx.Err() == nil {
		s.m.logger.Debug("voice session message not sent", "session_id", s.id, "error", err)
	}
}

func (s *Session) setState(st string) {
	if s.state == st {
		return
	}
	s.state = st
	s.send(map[string]any{"type": "state", "state": st})
}

// stop ends a session that never ran.
func (s *Session) stop(reason string) {
	s.send(map[string]any{"type": "bye", "reason": reason})
	s.cancel()
	_ = s.peer.Close()
	<-s.peer.Done()
	_ = s.det.Close()
}

// run is the session's control loop: it owns the turn state until the
// call ends.
func (s *Session) run() {
	log := s.m.logger.With("session_id", s.id, "agent_id", s.agent.ID, "conversation_id", s.conv.ID)
	log.Info("voice session started", "user_id", s.req.UserID, "voice", s.voiceID)
	started := time.Now()
	idle := time.NewTimer(s.m.cfg.IdleTimeout)
	defer idle.Stop()
	limit := time.NewTimer(s.m.cfg.MaxDuration)
	defer limit.Stop()
	reason := ""
	for reason == "" {
		select {
		case ev := <-s.events:
			reason = s.handle(ev, idle)
		case pe, ok := <-s.player.Events():
			if ok {
				s.playerEvent(pe)
			}
		case <-idle.C:
			if s.cur != nil || s.hearing {
				idle.Reset(s.m.cfg.IdleTimeout)
				continue
			}
			reason = "idle"
		case <-limit.C:
			reason = "too_long"
		}
	}
	if s.cur != nil {
		s.interrupt(s.cur)
	}
	s.send(map[string]any{"type": "bye", "reason": reason})
	s.cancel()
	_ = s.peer.Close()
	<-s.peer.Done() // the last Audio call has returned
	s.closeHearing()
	st, ps := s.player.Stats(), s.peer.Stats()
	log.Info("voice session ended", "reason", reason, "duration", time.Since(started).Round(time.Millisecond).String(),
		"frames_sent", st.Frames, "frames_late", st.Late, "max_late_ms", st.MaxLate.Milliseconds(),
		"frames_received", ps.FramesIn, "frames_dropped", ps.FramesDropped, "frames_concealed", ps.ConcealedFrames)
	s.m.p.Metrics.lateFrames.Add(float64(st.Late))
	s.m.p.Metrics.droppedFrames.Add(float64(ps.FramesDropped))
}

// handle reacts to one event; a non-empty result ends the session.
func (s *Session) handle(ev event, idle *time.Timer) string {
	switch ev := ev.(type) {
	case evOpen:
		s.send(map[string]any{"type": "session", "session_id": s.id, "conversation_id": s.conv.ID,
			"agent": map[string]string{"id": s.agent.ID, "name": s.agent.Card.Name}})
		s.send(map[string]any{"type": "state", "state": s.state})
		if g := s.greeting; g != nil {
			s.greeting = nil
			s.startTurn(&turn{id: newID("turn"), input: chat.InputGreeting, transcript: g.Content, replyMsgID: g.ID})
		}
	case evHangup:
		return "hangup"
	case evShutdown:
		return "shutdown"
	case evClosed:
		if errors.Is(ev.reason, rtc.ErrICEFailed) {
			return "ice_failed"
		}
		return "hangup"
	case evMessage:
		return s.message(ev.data, idle)
	case evSpeechStart:
		idle.Reset(s.m.cfg.IdleTimeout)
		s.hearing, s.uttID = true, ev.id
		if t := s.cur; t != nil {
			if !t.paused {
				s.player.Pause()
				t.paused = true
				// The audio stops at the next 20 ms frame.
				stop := time.Since(ev.start) + 20*time.Millisecond
				s.m.p.Metrics.bargeInStop.Observe(stop.Seconds())
				s.m.logger.Debug("agent paused: the user speaks", "session_id", s.id, "turn_id", t.id,
					"speech_to_stop_ms", stop.Milliseconds())
			}
			s.setState(StatePaused)
			return ""
		}
		s.setState(StateHearing)
	case evPartial:
		if ev.id == s.uttID && s.hearing {
			s.send(map[string]any{"type": "user", "turn_id": ev.id, "text": ev.text, "final": false})
		}
	case evDiscarded:
		s.hearing = false
		s.resume()
	case evUtterance:
		s.hearing = false
		idle.Reset(s.m.cfg.IdleTimeout)
		s.utterance(ev)
	case evReplyDone:
		ev.t.finished = true
		if ev.err != nil {
			code, msg := errorCode(ev.err)
			s.send(map[string]any{"type": "error", "code": code, "message": msg})
		}
		if ev.t == s.cur && s.player.Buffered() == 0 && !ev.t.paused {
			s.finish(ev.t, false)
		}
	}
	return ""
}

// message handles a data channel message from the browser.
func (s *Session) message(data []byte, idle *time.Timer) string {
	var msg struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(data, &msg); err != nil {
		s.send(map[string]any{"type": "error", "code": "bad_message", "message": "Messages must be JSON objects with a type."})
		return ""
	}
	switch msg.Type {
	case "hangup":
		return "hangup"
	case "text":
		text := strings.TrimSpace(msg.Text)
		switch {
		case text == "" || !utf8.ValidString(text) || strings.ContainsRune(text, 0):
			s.send(map[string]any{"type": "error", "code": "bad_message", "message": "A text message needs some text."})
			return ""
		case utf8.RuneCountInString(text) > MaxTypedRunes:
			s.send(map[string]any{"type": "error", "code": "bad_message", "message": "A text message is at most 4000 characters."})
			return ""
		}
		idle.Reset(s.m.cfg.IdleTimeout)
		if s.cur != nil {
			s.interrupt(s.cur)
		}
		id := newID("turn")
		s.send(map[string]any{"type": "user", "turn_id": id, "text": text, "final": true})
		s.startTurn(&turn{id: id, input: chat.InputText, transcript: text})
	default:
		s.send(map[string]any{"type": "error", "code": "bad_message", "message": "Unknown message type " + strings.ToValidUTF8(msg.Type, "?") + "."})
	}
	return ""
}

// utterance decides what the user's finished utterance does.
func (s *Session) utterance(ev evUtterance) {
	if ev.err != nil {
		code, msg := errorCode(ev.err)
		s.m.logger.Warn("utterance not transcribed", "session_id", s.id, "error", ev.err)
		s.send(map[string]any{"type": "error", "code": code, "message": msg})
		s.resume()
		return
	}
	text := strings.TrimSpace(ev.text)
	if t := s.cur; t != nil && (text == "" || s.m.cfg.backchannel(text)) {
		if text != "" {
			s.send(map[string]any{"type": "backchannel", "text": text})
		}
		s.resume()
		return
	}
	if text == "" {
		s.setState(StateListening)
		return
	}
	if s.cur != nil {
		s.interrupt(s.cur)
	}
	s.send(map[string]any{"type": "user", "turn_id": ev.id, "text": text, "final": true})
	s.startTurn(&turn{id: ev.id, input: chat.InputVoice, transcript: text, userAudio: ev.audio,
		speechEnd: ev.end, decided: ev.decided, transcribed: ev.transcribed})
}

// resume lets a paused reply go on.
func (s *Session) resume() {
	t := s.cur
	if t == nil {
		s.setState(StateListening)
		return
	}
	if t.paused {
		t.paused = false
		s.player.Resume()
	}
	switch {
	case t.finished && s.player.Buffered() == 0:
		s.finish(t, false)
	case t.audioStarted():
		s.setState(StateSpeaking)
	default:
		s.setState(StateThinking)
	}
}

// playerEvent follows the reply's audio.
func (s *Session) playerEvent(pe rtc.PlayerEvent) {
	t := s.cur
	if t == nil {
		return
	}
	switch pe.Kind {
	case rtc.TagStarted:
		sp, idx, ok := t.sentence(pe.Tag)
		if !ok {
			return
		}
		if idx == 0 {
			t.mu.Lock()
			t.firstAudio = pe.At
			t.mu.Unlock()
		}
		if !t.paused {
			s.setState(StateSpeaking)
		}
		s.send(map[string]any{"type": "sentence", "turn_id": t.id, "index": idx, "text": sp.text})
	case rtc.Drained:
		if t.finished && !t.paused && s.player.Buffered() == 0 {
			s.finish(t, false)
		}
	}
}

// startTurn makes t the current turn and starts its reply.
func (s *Session) startTurn(t *turn) {
	t.ctx, t.cancel = context.WithCancel(s.ctx)
	t.done = make(chan struct{})
	s.cur = t
	if s.hearing {
		// The user already speaks again: hold the reply's audio until that
		// utterance is judged.
		s.player.Pause()
		t.paused = true
		s.setState(StatePaused)
	} else {
		s.setState(StateThinking)
	}
	go s.respond(t)
}

// interrupt cuts the current reply: its audio stops, its model and speech
// streams are cancelled, and it is stored with what was said.
func (s *Session) interrupt(t *turn) {
	s.player.Clear()
	if t.paused {
		s.player.Resume()
		t.paused = false
	}
	t.cancel()
	select {
	case <-t.done:
	case <-time.After(10 * time.Second):
		s.m.logger.Error("reply did not stop within 10 s of its cancellation", "session_id", s.id, "turn_id", t.id)
	}
	s.m.p.Metrics.bargeIns.Inc()
	s.finish(t, true)
}

// finish stores t and tells the browser; the session listens again.
func (s *Session) finish(t *turn, interrupted bool) {
	said, played, synthesized := t.spoken(s.player, interrupted)
	latency := t.latency()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), 10*time.Second)
	defer cancel()
	userID, replyID := t.ids()
	rec := chat.VoiceTurn{SessionID: s.id, ConversationID: s.conv.ID, AgentID: s.agent.ID, UserID: s.req.UserID,
		EndUser: s.req.EndUser, UserMessageID: userID, ReplyMessageID: replyID, Input: t.input, Transcript: t.transcript,
		Said: said, Interrupted: interrupted, UserAudio: t.userAudio, ReplyAudio: played, Synthesized: synthesized,
		Voice: s.voiceID, Latency: latency}
	if t.input == chat.InputVoice {
		rec.ASRProvider = s.m.p.ASR.Name()
	}
	if t.input == chat.InputGreeting {
		rec.Transcript = ""
	}
	if _, err := s.m.p.Chat.RecordVoiceTurn(ctx, rec); err != nil {
		s.m.logger.Error("voice turn not stored", "session_id", s.id, "turn_id", t.id, "error", err)
	}
	result := "complete"
	if interrupted {
		result = "interrupted"
	}
	s.m.p.Metrics.turns.WithLabelValues(result).Inc()
	if ms, ok := latency["total_ms"]; ok && t.input == chat.InputVoice {
		s.m.p.Metrics.firstAudio.Observe(float64(ms) / 1000)
	}
	s.send(map[string]any{"type": "turn", "turn_id": t.id, "interrupted": interrupted, "said": said,
		"user_message_id": userID, "message_id": replyID, "latency": latency})
	s.m.logger.Info("voice turn", "session_id", s.id, "turn_id", t.id, "input", t.input, "interrupted", interrupted,
		"transcript", clip(t.transcript, 120), "said_chars", len(said), "latency", latency)
	if s.cur == t {
		s.cur = nil
	}
	if s.hearing {
		s.setState(StateHearing)
	} else {
		s.setState(StateListening)
	}
}

// clip shortens s for a log line.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
