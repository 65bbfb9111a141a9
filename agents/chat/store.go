package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/timbre-ai/timbre/agents/llm"
	"github.com/timbre-ai/timbre/db"
)

// querier runs SQL: the pool or a transaction.
type querier interface {
	Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
	Query(context.Context, string, ...any) (pgx.Rows, error)
	QueryRow(context.Context, string, ...any) pgx.Row
}

// store holds the chat SQL.
type store struct {
	pool *pgxpool.Pool
}

const conversationColumns = `c.id, c.agent_id, coalesce(a.card ->> 'name', ''), c.user_id, c.title,
	(SELECT count(*) FROM messages m WHERE m.conversation_id = c.id AND m.active),
	c.created_at, c.updated_at, c.summary, c.summary_seq`

func scanConversation(row pgx.Row) (Conversation, error) {
	var c Conversation
	err := row.Scan(&c.ID, &c.AgentID, &c.AgentName, &c.UserID, &c.Title, &c.Messages,
		&c.CreatedAt, &c.UpdatedAt, &c.Summary, &c.SummarySeq)
	return c, err
}

// conversation loads a conversation of userID; anyone else's is ErrNotFound.
func (s *store) conversation(ctx context.Context, userID, id string) (Conversation, error) {
	if !db.ValidID("cnv", id) {
		return Conversation{}, ErrNotFound
	}
	c, err := scanConversation(s.pool.QueryRow(ctx, `SELECT `+conversationColumns+`
		FROM conversations c JOIN agents a ON a.id = c.agent_id
		WHERE c.id = $1 AND c.user_id = $2`, id, userID))
	if errors.Is(err, pgx.ErrNoRows) {
		return Conversation{}, ErrNotFound
	}
	if err != nil {
		return Conversation{}, fmt.Errorf("chat: load conversation %s: %w", id, err)
	}
	return c, nil
}

// conversations lists userID's conversations, most recently active first,
// after the cursor, optionally with one agent only.
func (s *store) conversations(ctx context.Context, userID, agentID string, after *Cursor, limit int) ([]Conversation, error) {
	sql := `SELECT ` + conversationColumns + ` FROM conversations c JOIN agents a ON a.id = c.agent_id
		WHERE c.user_id = $1 AND ($2 = '' OR c.agent_id = $2)`
	args := []any{userID, agentID, limit}
	if after != nil {
		sql += ` AND (c.updated_at, c.id) < ($4, $5)`
		args = append(args, after.UpdatedAt, after.ID)
	}
	sql += ` ORDER BY c.updated_at DESC, c.id DESC LIMIT $3`
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("chat: list conversations: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Conversation, error) { return scanConversation(r) })
	if err != nil {
		return nil, fmt.Errorf("chat: list conversations: %w", err)
	}
	return out, nil
}

const messageColumns = `m.id, m.seq, m.role, m.content, m.status, m.error, m.offline, m.citations, m.usage, m.timings,
	m.swipe, (SELECT count(*) FROM messages o WHERE o.conversation_id = m.conversation_id AND o.seq = m.seq), m.created_at`

func scanMessage(row pgx.Row) (Message, error) {
	var m Message
	var citations, usage, timings []byte
	err := row.Scan(&m.ID, &m.Seq, &m.Role, &m.Content, &m.Status, &m.Error, &m.Offline, &citations, &usage, &timings,
		&m.SwipeIndex, &m.SwipeCount, &m.CreatedAt)
	if err != nil {
		return Message{}, err
	}
	if err := json.Unmarshal(citations, &m.Citations); err != nil {
		return Message{}, fmt.Errorf("chat: decode citations of %s: %w", m.ID, err)
	}
	if usage != nil {
		m.Usage = new(llm.Usage)
		if err := json.Unmarshal(usage, m.Usage); err != nil {
			return Message{}, fmt.Errorf("chat: decode usage of %s: %w", m.ID, err)
		}
	}
	if timings != nil {
		m.Timings = new(Timings)
		if err := json.Unmarshal(timings, m.Timings); err != nil {
			return Message{}, fmt.Errorf("chat: decode timings of %s: %w", m.ID, err)
		}
	}
	return m, nil
}

// messages returns a conversation's active messages after seq, in order.
func (s *store) messages(ctx context.Context, q querier, conversationID string, afterSeq int) ([]Message, error) {
	rows, err := q.Query(ctx, `SELECT `+messageColumns+` FROM messages m
		WHERE m.conversation_id = $1 AND m.active AND m.seq > $2 ORDER BY m.seq`, conversationID, afterSeq)
	if err != nil {
		return nil, fmt.Errorf("chat: load messages of %s: %w", conversationID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Message, error) { return scanMessage(r) })
	if err != nil {
		return nil, fmt.Errorf("chat: load messages of %s: %w", conversationID, err)
	}
	return out, nil
}

// message loads one message (active or not) of a conversation.
func (s *store) message(ctx context.Context, q querier, conversationID, id string) (Message, error) {
	if !db.ValidID("msg", id) {
		return Message{}, ErrMessageNotFound
	}
	m, err := scanMessage(q.QueryRow(ctx, `SELECT `+messageColumns+` FROM messages m
		WHERE m.conversation_id = $1 AND m.id = $2`, conversationID, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Message{}, ErrMessageNotFound
	}
	if err != nil {
		return Message{}, fmt.Errorf("chat: load message %s: %w", id, err)
	}
	return m, nil
}

func (s *store) insertConversation(ctx context.Context, tx pgx.Tx, c Conversation) (Conversation, error) {
	err := tx.QueryRow(ctx, `INSERT INTO conversations (id, agent_id, user_id, title) VALUES ($1, $2, $3, $4)
		RETURNING created_at, updated_at`, c.ID, c.AgentID, c.UserID, c.Title).Scan(&c.CreatedAt, &c.UpdatedAt)
	if err != nil {
		return Conversation{}, fmt.Errorf("chat: insert conversation: %w", err)
	}
	return c, nil
}

// jsonColumns encodes a message's citations, usage and timings (the last
// two NULL when unset).
func jsonColumns(m Message) (citations, usage, timings []byte) {
	if m.Usage != nil {
		usage = encodeJSON(m.Usage)
	}
	if m.Timings != nil {
		timings = encodeJSON(m.Timings)
	}
	if m.Citations == nil {
		m.Citations = []Citation{}
	}
	return encodeJSON(m.Citations), usage, timings
}

// insertMessage adds m to a conversation as the active row of its seq.
func (s *store) insertMessage(ctx context.Context, tx pgx.Tx, conversationID string, m Message) (Message, error) {
	citations, usage, timings := jsonColumns(m)
	err := tx.QueryRow(ctx, `INSERT INTO messages (id, conversation_id, seq, swipe, role, content, status, error, offline, citations, usage, timings)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING created_at`,
		m.ID, conversationID, m.Seq, m.SwipeIndex, m.Role, m.Content, m.Status, m.Error, m.Offline,
		citations, usage, timings).Scan(&m.CreatedAt)
	if err != nil {
		return Message{}, fmt.Errorf("chat: insert message: %w", err)
	}
	return m, nil
}

// lockConversation locks a conversation's row (turns of one conversation queue on
// it) and returns its highest message seq.
func (s *store) lockConversation(ctx context.Context, tx pgx.Tx, id string) (int, error) {
	var seq int
	err := tx.QueryRow(ctx, `SELECT coalesce((SELECT max(seq) FROM messages WHERE conversation_id = c.id), 0)
		FROM conversations c WHERE c.id = $1 FOR UPDATE`, id).Scan(&seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("chat: lock conversation %s: %w", id, err)
	}
	return seq, nil
}

// failStale marks failed the conversation's streaming reply when it has
// not been renewed for staleAfter: the process writing it died. The
// database's clock decides, as it stamped updated_at.
func (s *store) failStale(ctx context.Context, q querier, conversationID string, staleAfter time.Duration) error {
	_, err := q.Exec(ctx, `UPDATE messages SET status = 'failed', updated_at = now(),
		error = 'the server stopped while writing this reply'
		WHERE conversation_id = $1 AND status = 'streaming' AND updated_at <= now() - make_interval(secs => $2)`,
		conversationID, staleAfter.Seconds())
	if err != nil {
		return fmt.Errorf("chat: fail stale reply: %w", err)
	}
	return nil
}

// claim checks, in the transaction that holds the conversation's lock, that
// no reply of it is streaming, after failing a stale one.
func (s *store) claim(ctx context.Context, tx pgx.Tx, conversationID string, staleAfter time.Duration) error {
	if err := s.failStale(ctx, tx, conversationID, staleAfter); err != nil {
		return err
	}
	var busy bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM messages WHERE conversation_id = $1 AND status = 'streaming')`,
		conversationID).Scan(&busy)
	if err != nil {
		return fmt.Errorf("chat: check streaming reply: %w", err)
	}
	if busy {
		return ErrBusy
	}
	return nil
}

// renew records a streaming reply's text so far and keeps its lock.
func (s *store) renew(ctx context.Context, id, content string) error {
	_, err := s.pool.Exec(ctx, `UPDATE messages SET content = $2, updated_at = now() WHERE id = $1 AND status = 'streaming'`, id, content)
	if err != nil {
		return fmt.Errorf("chat: renew reply %s: %w", id, err)
	}
	return nil
}

// finish stores a reply's outcome.
func (s *store) finish(ctx context.Context, tx pgx.Tx, m Message) error {
	citations, usage, timings := jsonColumns(m)
	_, err := tx.Exec(ctx, `UPDATE messages SET content = $2, status = $3, error = $4, offline = $5, citations = $6,
		usage = $7, timings = $8, updated_at = now() WHERE id = $1`,
		m.ID, m.Content, m.Status, m.Error, m.Offline, citations, usage, timings)
	if err != nil {
		return fmt.Errorf("chat: store reply %s: %w", m.ID, err)
	}
	return nil
}

// touch marks a conversation active now, and titles it when untitled.
func (s *store) touch(ctx context.Context, tx pgx.Tx, id, title string) error {
	_, err := tx.Exec(ctx, `UPDATE conversations SET updated_at = now(),
		title = CASE WHEN title = '' THEN $2 ELSE title END WHERE id = $1`, id, title)
	if err != nil {
		return fmt.Errorf("chat: touch conversation %s: %w", id, err)
	}
	return nil
}

// deactivate makes every row of a seq inactive and returns the next swipe
// index.
func (s *store) deactivate(ctx context.Context, tx pgx.Tx, conversationID string, seq int) (int, error) {
	var next int
	err := tx.QueryRow(ctx, `WITH off AS (
			UPDATE messages SET active = false WHERE conversation_id = $1 AND seq = $2 RETURNING swipe)
		SELECT coalesce(max(swipe), -1) + 1 FROM off`, conversationID, seq).Scan(&next)
	if err != nil {
		return 0, fmt.Errorf("chat: deactivate seq %d: %w", seq, err)
	}
	return next, nil
}

// activate makes one swipe of a seq the active row.
func (s *store) activate(ctx context.Context, tx pgx.Tx, conversationID string, seq, swipe int) (string, error) {
	if _, err := tx.Exec(ctx, `UPDATE messages SET active = false WHERE conversation_id = $1 AND seq = $2`, conversationID, seq); err != nil {
		return "", fmt.Errorf("chat: select swipe: %w", err)
	}
	var id string
	err := tx.QueryRow(ctx, `UPDATE messages SET active = true WHERE conversation_id = $1 AND seq = $2 AND swipe = $3 RETURNING id`,
		conversationID, seq, swipe).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", &InputError{Field: "index", Message: "is not one of this reply's alternatives"}
	}
	if err != nil {
		return "", fmt.Errorf("chat: select swipe: %w", err)
	}
	return id, nil
}

func (s *store) deleteConversation(ctx context.Context, userID, id string) error {
	if !db.ValidID("cnv", id) {
		return ErrNotFound
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM conversations WHERE id = $1 AND user_id = $2`, id, userID)
	if err != nil {
		return fmt.Errorf("chat: delete conversation %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// memory reads a conversation's summary, how far it goes, and its user.
func (s *store) memory(ctx context.Context, id string) (Conversation, error) {
	c := Conversation{ID: id}
	err := s.pool.QueryRow(ctx, `SELECT summary, summary_seq, user_id FROM conversations WHERE id = $1`, id).
		Scan(&c.Summary, &c.SummarySeq, &c.UserID)
	if err != nil {
		return Conversation{}, fmt.Errorf("chat: read memory of %s: %w", id, err)
	}
	return c, nil
}

// setSummary replaces a conversation's memory if nobody else has moved it
// since it was read.
func (s *store) setSummary(ctx context.Context, id, summary string, fromSeq, toSeq int) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE conversations SET summary = $2, summary_seq = $4
		WHERE id = $1 AND summary_seq = $3`, id, summary, fromSeq, toSeq)
	if err != nil {
		return false, fmt.Errorf("chat: store summary of %s: %w", id, err)
	}
	return tag.RowsAffected() == 1, nil
}

// UsageEvent is one metered model turn.
type UsageEvent struct {
	AgentID        string
	UserID         string
	ConversationID string
	MessageID      string
	// EndUser is the API caller's own identifier for its user.
	EndUser string
	// Source is "chat", "api", "summary", "voice", "asr" or "tts".
	Source       string
	Provider     string
	Model        string
	Usage        llm.Usage
	FirstTokenMS *int
	TotalMS      int
	Offline      bool
	// Status is "complete", "stopped" or "failed".
	Status string
	// AudioSeconds is the audio an asr or tts event metered.
	AudioSeconds float64
}

func (s *store) recordUsage(ctx context.Context, q querier, e UsageEvent) error {
	_, err := q.Exec(ctx, `INSERT INTO usage_events (agent_id, user_id, conversation_id, message_id, end_user, source, provider, model,
		prompt_tokens, completion_tokens, tokens_estimated, first_token_ms, total_ms, offline, status, audio_seconds)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
		e.AgentID, e.UserID, e.ConversationID, e.MessageID, e.EndUser, e.Source, e.Provider, e.Model,
		e.Usage.PromptTokens, e.Usage.CompletionTokens, e.Usage.Estimated, e.FirstTokenMS, e.TotalMS, e.Offline, e.Status, e.AudioSeconds)
	if err != nil {
		return fmt.Errorf("chat: record usage: %w", err)
	}
	return nil
}
