package chat

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/timbre-ai/timbre/db"
)

// Voice turn inputs.
const (
	InputVoice    = "voice"
	InputText     = "text"
	InputGreeting = "greeting"
)

// VoiceTurn is one turn of a real-time voice session, as it is stored:
// what the user said (transcribed), what the agent said aloud, and how
// long each stage took.
type VoiceTurn struct {
	SessionID      string
	ConversationID string
	AgentID        string
	UserID         string
	// EndUser is an embedding site's label for its visitor.
	EndUser string
	// UserMessageID is empty for a spoken greeting.
	UserMessageID  string
	ReplyMessageID string
	// Input is InputVoice, InputText or InputGreeting.
	Input      string
	Transcript string
	// Said is the reply as far as its audio was sent; when Interrupted, it
	// replaces the stored reply's content.
	Said        string
	Interrupted bool
	// UserAudio is the user's utterance sent to speech recognition;
	// ReplyAudio the agent's audio sent; Synthesized the audio the voice
	// workers made (more than ReplyAudio when the reply was cut).
	UserAudio, ReplyAudio, Synthesized time.Duration
	ASRProvider                        string
	// Voice is the voice that spoke.
	Voice string
	// Latency holds stage timings in milliseconds.
	Latency map[string]int
}

// RecordVoiceTurn stores t, marks its reply interrupted (with what was
// said) when it was, and meters its speech recognition and synthesis
// seconds, in one transaction. It returns the turn's id.
func (s *Service) RecordVoiceTurn(ctx context.Context, t VoiceTurn) (string, error) {
	id := db.NewID("vt")
	latency := t.Latency
	if latency == nil {
		latency = map[string]int{}
	}
	err := pgx.BeginFunc(ctx, s.store.pool, func(tx pgx.Tx) error {
		if t.Interrupted && t.ReplyMessageID != "" {
			_, err := tx.Exec(ctx, `UPDATE messages SET content = $2, status = $3, updated_at = now()
				WHERE id = $1 AND conversation_id = $4 AND role = 'assistant' AND status <> 'streaming'`,
				t.ReplyMessageID, t.Said, StatusInterrupted, t.ConversationID)
			if err != nil {
				return fmt.Errorf("chat: mark reply %s interrupted: %w", t.ReplyMessageID, err)
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO voice_turns (id, session_id, conversation_id, user_message_id, reply_message_id,
				input, transcript, said, interrupted, user_audio_ms, reply_audio_ms, asr_provider, latency)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			id, t.SessionID, t.ConversationID, t.UserMessageID, t.ReplyMessageID, t.Input, t.Transcript, t.Said,
			t.Interrupted, t.UserAudio.Milliseconds(), t.ReplyAudio.Milliseconds(), t.ASRProvider, encodeJSON(latency))
		if err != nil {
			return fmt.Errorf("chat: insert voice turn: %w", err)
		}
		meter := func(source, provider, model string, d time.Duration, status string) error {
			if d <= 0 {
				return nil
			}
			return s.store.recordUsage(ctx, tx, UsageEvent{AgentID: t.AgentID, UserID: t.UserID, ConversationID: t.ConversationID,
				MessageID: t.ReplyMessageID, EndUser: t.EndUser, Source: source, Provider: provider, Model: model,
				TotalMS: int(d.Milliseconds()), Status: status, AudioSeconds: d.Seconds()})
		}
		if err := meter("asr", t.ASRProvider, "", t.UserAudio, StatusComplete); err != nil {
			return err
		}
		status := StatusComplete
		if t.Interrupted {
			status = StatusStopped
		}
		return meter("tts", "timbre", t.Voice, t.Synthesized, status)
	})
	if err != nil {
		return "", err
	}
	return id, nil
}
