package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/timbre-ai/timbre/accounts"
	"github.com/timbre-ai/timbre/agents"
	"github.com/timbre-ai/timbre/agents/chat"
	"github.com/timbre-ai/timbre/agents/llm"
	"github.com/timbre-ai/timbre/agents/prompt"
	"github.com/timbre-ai/timbre/db"
	"github.com/timbre-ai/timbre/knowledge"
)

// Error is what a client sees: a status, a stable snake_case code and a safe
// human sentence; Field names the input at fault when there is one.
type Error struct {
	Status  int
	Code    string
	Message string
	Field   string
	// Reason refines Code where a client acts on it (why a clip was
	// rejected).
	Reason     string
	RetryAfter int // seconds, for 429
	// Err is the cause, kept for the log only.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Code + ": " + e.Message + ": " + e.Err.Error()
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// errorBody is the JSON shape API.md fixes.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field,omitempty"`
		Reason  string `json:"reason,omitempty"`
	} `json:"error"`
}

func newError(status int, code, message string) *Error {
	return &Error{Status: status, Code: code, Message: message}
}

// fieldError reports bad input in one field.
func fieldError(field, message string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "invalid_request", Message: field + " " + message, Field: field}
}

// toError maps any error to what the client may see. Unknown errors become a
// 500 whose message reveals nothing.
func toError(err error) *Error {
	var apiErr *Error
	if errors.As(err, &apiErr) {
		return apiErr
	}
	var agentField *agents.FieldError
	var accountField *accounts.FieldError
	var knowledgeField *knowledge.FieldError
	var chatInput *chat.InputError
	var httpErr *echo.HTTPError
	if e := chatError(err); e != nil {
		return e
	}
	if e := voiceError(err); e != nil {
		return e
	}
	if e := talkError(err); e != nil {
		return e
	}
	switch {
	case errors.As(err, &chatInput):
		e := fieldError(chatInput.Field, chatInput.Message)
		e.Err = err
		return e
	case errors.As(err, &agentField):
		e := fieldError(agentField.Field, agentField.Message)
		e.Err = err
		return e
	case errors.As(err, &accountField):
		e := fieldError(accountField.Field, accountField.Message)
		e.Err = err
		return e
	case errors.As(err, &knowledgeField):
		e := fieldError(knowledgeField.Field, knowledgeField.Message)
		e.Err = err
		return e
	case errors.Is(err, knowledge.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "No knowledge base or document with this id exists, or you may not see it.", Err: err}
	case errors.Is(err, knowledge.ErrUnsupported):
		return &Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_document", Message: "Unsupported document type: send text, Markdown, HTML or PDF. " + knowledgeMessage(err), Err: err}
	case errors.Is(err, knowledge.ErrEmpty):
		return &Error{Status: http.StatusUnprocessableEntity, Code: "empty_document", Message: "The document is empty.", Err: err}
	case errors.Is(err, knowledge.ErrTooLarge):
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: "The document is too large: " + knowledgeMessage(err), Err: err}
	case errors.Is(err, knowledge.ErrURLRefused):
		return &Error{Status: http.StatusUnprocessableEntity, Code: "url_refused", Message: knowledgeMessage(err), Field: "url", Err: err}
	case errors.Is(err, knowledge.ErrEmbedderUnavailable):
		return &Error{Status: http.StatusServiceUnavailable, Code: "embedder_unavailable", Message: "The embedding model could not be reached; try again shortly.", RetryAfter: 10, Err: err}
	case errors.Is(err, agents.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: "agent_not_found", Message: "No agent with this id exists, or you may not see it.", Err: err}
	case errors.Is(err, agents.ErrForbidden):
		return &Error{Status: http.StatusForbidden, Code: "forbidden", Message: "Only the agent's owner may do this.", Err: err}
	case errors.Is(err, agents.ErrTooLarge):
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: "The file is too large: " + err.Error(), Err: err}
	case errors.Is(err, agents.ErrImageTooLarge):
		return &Error{Status: http.StatusUnprocessableEntity, Code: "image_too_large", Message: "The image's dimensions are too large (4096×4096 at most).", Err: err}
	case errors.Is(err, agents.ErrUnsupportedFormat):
		return &Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_format", Message: "Unsupported file: " + safeMessage(err), Err: err}
	case errors.Is(err, agents.ErrUnsupportedSpec):
		return &Error{Status: http.StatusUnprocessableEntity, Code: "unsupported_spec", Message: "The card's spec is not chara_card_v2 or chara_card_v3: " + safeMessage(err), Err: err}
	case errors.Is(err, agents.ErrNoCardChunk):
		return &Error{Status: http.StatusUnprocessableEntity, Code: "no_card_in_png", Message: "The PNG holds no character card (no chara or ccv3 text chunk).", Err: err}
	case errors.Is(err, agents.ErrCorruptImage):
		return &Error{Status: http.StatusUnprocessableEntity, Code: "corrupt_image", Message: "The image is corrupt or truncated: " + safeMessage(err), Err: err}
	case errors.Is(err, agents.ErrUnsafeArchive):
		return &Error{Status: http.StatusUnprocessableEntity, Code: "unsafe_archive", Message: "The CHARX archive was refused: " + safeMessage(err), Err: err}
	case errors.Is(err, agents.ErrInvalidCard):
		return &Error{Status: http.StatusUnprocessableEntity, Code: "invalid_card", Message: "The card is not valid: " + safeMessage(err), Err: err}
	case errors.Is(err, accounts.ErrEmailTaken):
		return &Error{Status: http.StatusConflict, Code: "email_taken", Message: "An account with this email already exists.", Field: "email", Err: err}
	case errors.Is(err, accounts.ErrInvalidCredentials):
		return &Error{Status: http.StatusUnauthorized, Code: "invalid_credentials", Message: "Email or password is incorrect.", Err: err}
	case errors.Is(err, accounts.ErrUnauthenticated):
		return &Error{Status: http.StatusUnauthorized, Code: "unauthenticated", Message: "Sign in, or send a valid API key as 'Authorization: Bearer <key>'.", Err: err}
	case errors.Is(err, accounts.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "Not found.", Err: err}
	case errors.Is(err, context.Canceled):
		return &Error{Status: 499, Code: "client_closed", Message: "The client closed the request.", Err: err}
	case errors.As(err, &httpErr):
		return fromEcho(httpErr)
	case db.Unavailable(err):
		return &Error{Status: http.StatusServiceUnavailable, Code: "unavailable",
			Message: "The database is unreachable; try again shortly.", RetryAfter: 5, Err: err}
	}
	return &Error{Status: http.StatusInternalServerError, Code: "internal_error", Message: "Something went wrong on our side.", Err: err}
}

// chatError maps the chat engine's and the language models' errors; nil
// for others.
func chatError(err error) *Error {
	var le *llm.Error
	llmDetail := ""
	if errors.As(err, &le) && le.Message != "" {
		llmDetail = " The model server said: " + truncateText(le.Message, 300)
	}
	switch {
	case errors.Is(err, chat.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: "conversation_not_found", Message: "No conversation with this id exists, or it is not yours.", Err: err}
	case errors.Is(err, chat.ErrMessageNotFound):
		return &Error{Status: http.StatusNotFound, Code: "message_not_found", Message: "No message with this id is in the conversation.", Err: err}
	case errors.Is(err, chat.ErrEmpty):
		return &Error{Status: http.StatusBadRequest, Code: "empty_message", Message: "The message is empty.", Field: "content", Err: err}
	case errors.Is(err, chat.ErrTooLarge):
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: "message_too_large", Message: "The message is too long: " + strings.TrimPrefix(err.Error(), "chat: message too large: ") + ".", Field: "content", Err: err}
	case errors.Is(err, chat.ErrBusy):
		return &Error{Status: http.StatusConflict, Code: "conversation_busy", Message: "The agent is still replying in this conversation; wait for the reply to finish.", Err: err}
	case errors.Is(err, chat.ErrNotLatest):
		return &Error{Status: http.StatusConflict, Code: "not_latest_reply", Message: "Only the conversation's last reply can be regenerated or swiped.", Err: err}
	case errors.Is(err, prompt.ErrTooSmall):
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: "context_exceeded", Message: "The message does not fit the model's context window; send a shorter one.", Err: err}
	case errors.Is(err, llm.ErrRateLimited):
		e := &Error{Status: http.StatusTooManyRequests, Code: "llm_rate_limited", Message: "The language model is rate-limiting this server; try again shortly.", RetryAfter: 10, Err: err}
		if le != nil && le.RetryAfter > 0 {
			e.RetryAfter = int(le.RetryAfter.Seconds() + 0.999)
		}
		return e
	case errors.Is(err, llm.ErrUnavailable), errors.Is(err, llm.ErrUnreachable):
		return &Error{Status: http.StatusServiceUnavailable, Code: "llm_unavailable", Message: "The language model is unavailable; try again shortly." + llmDetail, RetryAfter: 10, Err: err}
	case errors.Is(err, llm.ErrTimeout):
		return &Error{Status: http.StatusGatewayTimeout, Code: "llm_timeout", Message: "The language model stopped answering in time.", Err: err}
	case errors.Is(err, llm.ErrInterrupted):
		return &Error{Status: http.StatusBadGateway, Code: "llm_interrupted", Message: "The language model's reply broke off." + llmDetail, Err: err}
	case errors.Is(err, llm.ErrAuth):
		return &Error{Status: http.StatusBadGateway, Code: "llm_auth_failed", Message: "The language model refused this server's credentials; the operator must fix TIMBRE_LLM_API_KEY.", Err: err}
	case errors.Is(err, llm.ErrBadRequest):
		return &Error{Status: http.StatusBadGateway, Code: "llm_rejected", Message: "The language model refused the request." + llmDetail, Err: err}
	}
	return nil
}

func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// safeMessage returns the innermost domain message of a card error: those are
// written for users (offsets, field names, limits) and hold no secrets.
func safeMessage(err error) string {
	// Drop the package and step prefixes the domain adds for the log.
	msg := err.Error()
	for _, prefix := range []string{"agents: ", "import: ", "card json: ", "card png: ", "charx: ", "avatar: "} {
		msg = strings.ReplaceAll(msg, prefix, "")
	}
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	return msg
}

// knowledgeMessage is the user-facing part of a knowledge error: the
// extract and fetch packages write their messages for users.
func knowledgeMessage(err error) string {
	msg := err.Error()
	for _, prefix := range []string{"knowledge: url refused: ", "knowledge: unsupported document type: ", "knowledge: document too large: ", "knowledge: "} {
		msg = strings.ReplaceAll(msg, prefix, "")
	}
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	return msg
}

func fromEcho(e *echo.HTTPError) *Error {
	out := &Error{Status: e.Code, Err: e}
	switch e.Code {
	case http.StatusNotFound:
		out.Code, out.Message = "not_found", "No such endpoint. The API is described at /api/openapi.json."
	case http.StatusMethodNotAllowed:
		out.Code, out.Message = "method_not_allowed", "This endpoint does not accept that method."
	case http.StatusRequestEntityTooLarge:
		out.Code, out.Message = "body_too_large", "The request body is larger than this endpoint accepts."
	case http.StatusUnsupportedMediaType:
		out.Code, out.Message = "unsupported_media_type", "Unsupported Content-Type."
	case http.StatusTooManyRequests:
		out.Code, out.Message = "rate_limited", "Too many requests; slow down."
	default:
		out.Code = "http_" + strconv.Itoa(e.Code)
		out.Message = http.StatusText(e.Code)
	}
	return out
}

// errorHandler is Echo's HTTPErrorHandler: the one place errors become HTTP.
func errorHandler(logger *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		e := toError(err)
		reqID := c.Response().Header().Get(echo.HeaderXRequestID)
		if e.Status >= 500 {
			e.Message += " (request id " + reqID + ")"
			logger.Error("request failed", "request_id", reqID, "method", c.Request().Method,
				"route", c.Path(), "status", e.Status, "error", err)
		} else {
			logger.Debug("request refused", "request_id", reqID, "route", c.Path(), "status", e.Status, "error", err)
		}
		if c.Response().Committed {
			return
		}
		if e.RetryAfter > 0 {
			c.Response().Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
		}
		status := e.Status
		if status == 499 {
			return
		}
		if c.Request().Method == http.MethodHead {
			_ = c.NoContent(status)
			return
		}
		var body any
		if strings.HasPrefix(c.Request().URL.Path, "/v1/") {
			body = openAIErrorBody(e)
		} else {
			var b errorBody
			b.Error.Code, b.Error.Message, b.Error.Field, b.Error.Reason = e.Code, e.Message, e.Field, e.Reason
			body = b
		}
		b, _ := json.Marshal(body)
		_ = c.JSONBlob(status, b)
	}
}
