// Package chat is the roleplay engine: conversations between a user and an
// agent, each turn assembled from the agent's card, lorebook, retrieved
// knowledge and long-term memory (agents/prompt), streamed from a language
// model (agents/llm), stored, and metered in usage_events. When no model is
// configured or reachable, replies come from offline mode: the agent's best
// knowledge passages (or its card), framed in its voice and marked offline,
// never presented as model output.
//
// A turn stores the user's message and a placeholder reply in one
// transaction before the model is called. The placeholder's "streaming"
// status is the conversation's lock (one reply at a time) and is renewed
// while the reply streams, with the partial text, so a crashed server's
// reply is found stale and marked failed by the next turn. The reply is
// stored complete, stopped (the client went away) or failed (the model
// failed), with whatever text arrived.
//
// chat may import agents, its subpackages, knowledge, tokens and db; it
// never imports api.
package chat

import (
	"encoding/json"
	"time"

	"github.com/timbre-ai/timbre/agents/llm"
)

// Message statuses.
const (
	StatusStreaming = "streaming"
	StatusComplete  = "complete"
	StatusStopped   = "stopped"
	StatusFailed    = "failed"
	// StatusInterrupted is a spoken reply the user talked over: its content
	// is what the agent said aloud before it was cut off.
	StatusInterrupted = "interrupted"
)

// Conversation is a chat between one user and one agent.
type Conversation struct {
	ID        string    `json:"id"`
	AgentID   string    `json:"agent_id"`
	AgentName string    `json:"agent_name"`
	UserID    string    `json:"user_id"`
	Title     string    `json:"title"`
	Messages  int       `json:"message_count"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Summary is the long-term memory of the messages up to SummarySeq.
	Summary    string `json:"summary"`
	SummarySeq int    `json:"summary_seq"`
}

// Message is one message of a conversation.
type Message struct {
	ID      string   `json:"id"`
	Seq     int      `json:"seq"`
	Role    llm.Role `json:"role"`
	Content string   `json:"content"`
	Status  string   `json:"status"`
	Error   string   `json:"error,omitempty"`
	Offline bool     `json:"offline"`
	// Citations are the knowledge passages the reply cites by marker.
	Citations []Citation `json:"citations"`
	Usage     *llm.Usage `json:"usage"`
	Timings   *Timings   `json:"timings"`
	// SwipeIndex and SwipeCount place a reply among its regenerated
	// alternatives.
	SwipeIndex int       `json:"swipe_index"`
	SwipeCount int       `json:"swipe_count"`
	CreatedAt  time.Time `json:"created_at"`
}

// Citation is a knowledge passage a reply cites as [Marker].
type Citation struct {
	Marker          int      `json:"marker"`
	ChunkID         string   `json:"chunk_id"`
	DocumentID      string   `json:"document_id"`
	KnowledgeBaseID string   `json:"knowledge_base_id"`
	Title           string   `json:"title"`
	Headings        []string `json:"heading_path"`
	Page            int      `json:"page,omitempty"`
	URL             string   `json:"url,omitempty"`
	Start           int      `json:"start"`
	End             int      `json:"end"`
	// Text is the passage, so a client can show it without another call.
	Text string `json:"text"`
}

// Timings measure a reply, in milliseconds from the request.
type Timings struct {
	// FirstTokenMS is nil when no text came.
	FirstTokenMS *int `json:"first_token_ms"`
	TotalMS      int  `json:"total_ms"`
}

// Model says which language model answers an agent, or why none does.
type Model struct {
	Provider string `json:"provider"`
	Model    string `json:"model"`
	Offline  bool   `json:"offline"`
	// Reason says why the agent answers offline.
	Reason string `json:"reason,omitempty"`
}

func encodeJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Only plain structs of strings and numbers are encoded here.
		panic(err)
	}
	return b
}
