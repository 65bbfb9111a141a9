package api

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/timbre-ai/timbre/agents"
	"github.com/timbre-ai/timbre/agents/chat"
	"github.com/timbre-ai/timbre/agents/llm"
)

// conversationResponse is a conversation with its messages and the model
// that answers it.
type conversationResponse struct {
	Conversation chat.Conversation `json:"conversation"`
	Messages     []chat.Message    `json:"messages,omitempty"`
	Greeting     *chat.Message     `json:"greeting,omitempty"`
	Model        chat.Model        `json:"model"`
}

// turnResponse is a finished turn: the JSON answer, and the data of the
// SSE "done" event.
type turnResponse struct {
	Message     chat.Message  `json:"message"`
	UserMessage *chat.Message `json:"user_message,omitempty"`
	Usage       *llm.Usage    `json:"usage"`
	Timings     *chat.Timings `json:"timings"`
	Offline     bool          `json:"offline"`
	// OfflineReason says why no language model answered.
	OfflineReason string     `json:"offline_reason,omitempty"`
	Model         chat.Model `json:"model"`
}

func (h *handlers) startConversation(c echo.Context) error {
	var in struct {
		Greeting *int `json:"greeting"`
	}
	if c.Request().ContentLength != 0 {
		if err := bindJSON(c, &in); err != nil {
			return err
		}
	}
	greeting := 0
	if in.Greeting != nil {
		greeting = *in.Greeting
	}
	id := identityOf(c)
	ctx := c.Request().Context()
	conv, greet, err := h.chat.Start(ctx, id.user.ID, id.user.DisplayName, c.Param("id"), greeting)
	if err != nil {
		return err
	}
	a, err := h.agents.Agent(ctx, id.user.ID, conv.AgentID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, conversationResponse{Conversation: conv, Greeting: greet, Model: h.chat.Model(a)})
}

func (h *handlers) listConversations(c echo.Context) error {
	limit := 20
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fieldError("limit", "must be a number from 1 to 100")
		}
		limit = n
	}
	page, err := h.chat.Conversations(c.Request().Context(), callerID(c), c.QueryParam("agent_id"), c.QueryParam("cursor"), limit)
	if err != nil {
		return err
	}
	if page.Items == nil {
		page.Items = []chat.Conversation{}
	}
	return c.JSON(http.StatusOK, page)
}

func (h *handlers) getConversation(c echo.Context) error {
	ctx := c.Request().Context()
	conv, msgs, err := h.chat.Conversation(ctx, callerID(c), c.Param("id"))
	if err != nil {
		return err
	}
	// A conversation stays readable by its user after its agent went
	// private; it only cannot go on.
	model := chat.Model{Offline: true, Reason: "this agent is no longer available to you"}
	a, err := h.agents.Agent(ctx, callerID(c), conv.AgentID)
	switch {
	case err == nil:
		model = h.chat.Model(a)
	case !errors.Is(err, agents.ErrNotFound):
		return err
	}
	if msgs == nil {
		msgs = []chat.Message{}
	}
	return c.JSON(http.StatusOK, conversationResponse{Conversation: conv, Messages: msgs, Model: model})
}

func (h *handlers) deleteConversation(c echo.Context) error {
	if err := h.chat.Delete(c.Request().Context(), callerID(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h *handlers) sendMessage(c echo.Context) error {
	var in struct {
		Content *string `json:"content"`
	}
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	if in.Content == nil {
		return fieldError("content", "is required")
	}
	id := identityOf(c)
	return h.turn(c, func(ctx context.Context, sink chat.Sink) (chat.Turn, error) {
		return h.chat.Send(ctx, id.user.ID, id.user.DisplayName, c.Param("id"), *in.Content, sink)
	})
}

func (h *handlers) regenerate(c echo.Context) error {
	id := identityOf(c)
	return h.turn(c, func(ctx context.Context, sink chat.Sink) (chat.Turn, error) {
		return h.chat.Regenerate(ctx, id.user.ID, id.user.DisplayName, c.Param("id"), c.Param("message_id"), sink)
	})
}

func (h *handlers) swipe(c echo.Context) error {
	var in struct {
		Index *int `json:"index"`
	}
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	if in.Index == nil {
		return fieldError("index", "is required")
	}
	m, err := h.chat.Swipe(c.Request().Context(), callerID(c), c.Param("id"), c.Param("message_id"), *in.Index)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"message": m})
}

// wantsEventStream reports whether the client asked for server-sent events.
func wantsEventStream(c echo.Context) bool {
	for _, part := range strings.Split(c.Request().Header.Get(echo.HeaderAccept), ",") {
		if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == "text/event-stream" {
			return true
		}
	}
	return false
}

// turn runs a chat turn and answers with its reply: as server-sent events
// (start, delta, citation, then done or error) when the client accepts
// them, else as JSON once the reply is complete. Errors before the reply's
// row exists are ordinary HTTP errors.
func (h *handlers) turn(c echo.Context, run func(context.Context, chat.Sink) (chat.Turn, error)) error {
	ctx := c.Request().Context()
	if !wantsEventStream(c) {
		t, err := run(ctx, chat.Sink{})
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, doneOf(t))
	}
	w := c.Response()
	sink := chat.Sink{
		Start: func(user *chat.Message, reply chat.Message) error {
			w.Header().Set(echo.HeaderContentType, "text/event-stream")
			w.Header().Set("Cache-Control", "no-cache")
			w.Header().Set("X-Accel-Buffering", "no")
			w.WriteHeader(http.StatusOK)
			return flushSSE(w, "start", map[string]any{"user_message": user, "message": reply})
		},
		Delta:    func(text string) error { return flushSSE(w, "delta", map[string]string{"text": text}) },
		Citation: func(ct chat.Citation) error { return flushSSE(w, "citation", ct) },
	}
	t, err := run(ctx, sink)
	switch {
	case err == nil:
		_ = flushSSE(w, "done", doneOf(t))
		return nil
	case !w.Committed:
		return err // refused before the reply began: an HTTP error
	case ctx.Err() != nil || errors.Is(err, context.Canceled):
		return nil // the client left; the reply is stored as stopped
	}
	e := toError(err)
	h.logger.Warn("reply failed", "request_id", w.Header().Get(echo.HeaderXRequestID), "message_id", t.Reply.ID,
		"code", e.Code, "error", err)
	body := map[string]any{"error": map[string]string{"code": e.Code, "message": e.Message}, "message": t.Reply}
	_ = flushSSE(w, "error", body)
	return nil
}

// doneOf is a finished turn's answer.
func doneOf(t chat.Turn) turnResponse {
	return turnResponse{Message: t.Reply, UserMessage: t.User, Usage: t.Reply.Usage, Timings: t.Reply.Timings,
		Offline: t.Reply.Offline, OfflineReason: t.Model.Reason, Model: t.Model}
}

// flushSSE writes one event and sends it at once.
func flushSSE(w *echo.Response, event string, v any) error {
	if err := writeSSE(w, event, v); err != nil {
		return err
	}
	w.Flush()
	return nil
}
