package llm

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Kinds of failure. A Stream error matches exactly one of them with
// errors.Is, except when the caller's context ended (context.Canceled or
// context.DeadlineExceeded) or onDelta failed (its own error).
var (
	// ErrConfig: New was given a configuration it cannot use.
	ErrConfig = errors.New("llm: invalid configuration")
	// ErrUnreachable: no connection to the model server could be made
	// (refused, unknown host, no connection within Config.Timeout), or it
	// closed every connection before answering. The chat engine falls back
	// to offline mode on this error.
	ErrUnreachable = errors.New("llm: model server not reachable")
	// ErrRateLimited: the server answered 429, and kept answering it
	// through the retries.
	ErrRateLimited = errors.New("llm: rate limited")
	// ErrUnavailable: the server answered 5xx, and kept answering it
	// through the retries.
	ErrUnavailable = errors.New("llm: model server unavailable")
	// ErrAuth: the server refused the credentials (401 or 403).
	ErrAuth = errors.New("llm: not authorized")
	// ErrBadRequest: the server refused the request (another 4xx, such as
	// an unknown model).
	ErrBadRequest = errors.New("llm: request refused")
	// ErrTimeout: the server sent nothing for longer than Config.Timeout,
	// before the reply started or between two of its chunks.
	ErrTimeout = errors.New("llm: timed out")
	// ErrInterrupted: the reply broke after the server had accepted the
	// request: a malformed chunk, a dropped connection, an error event, or
	// a stream that ended without its end marker.
	ErrInterrupted = errors.New("llm: reply interrupted")
)

// Error is a failed completion. Its Kind is one of the package's sentinels,
// which errors.Is matches; Err, when set, is the underlying cause.
type Error struct {
	// Kind is ErrUnreachable, ErrRateLimited, ErrUnavailable, ErrAuth,
	// ErrBadRequest, ErrTimeout or ErrInterrupted.
	Kind error
	// Provider is "openai", "ollama" or "anthropic".
	Provider string
	// URL is the base URL of the server.
	URL string
	// Status is the HTTP status of the last answer; 0 when there was none.
	Status int
	// RetryAfter is the wait the server asked for in its Retry-After
	// header; 0 when it asked for none.
	RetryAfter time.Duration
	// Started is true when some reply text had been passed to onDelta.
	Started bool
	// Message says what went wrong: the server's own error message when it
	// sent one, otherwise a description.
	Message string
	// Err is the underlying error, if any.
	Err error
}

// Error is a sentence a person can act on.
func (e *Error) Error() string {
	msg := e.Message
	if msg == "" && e.Err != nil {
		msg = e.Err.Error()
	}
	switch e.Kind {
	case ErrUnreachable:
		return fmt.Sprintf("llm: %s at %s is not reachable: %s", e.Provider, e.URL, msg)
	case ErrTimeout:
		return fmt.Sprintf("llm: %s (timeout)", msg)
	case ErrInterrupted:
		return fmt.Sprintf("llm: the reply from %s broke off: %s", e.Provider, msg)
	}
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	s := fmt.Sprintf("llm: %s answered %d: %s", e.Provider, e.Status, msg)
	switch e.Kind {
	case ErrAuth:
		s += " (check the API key)"
	case ErrRateLimited:
		if e.RetryAfter > 0 {
			s += fmt.Sprintf(" (rate limited; it asks to retry after %s)", e.RetryAfter)
		} else {
			s += " (rate limited)"
		}
	case ErrUnavailable:
		s += " (server unavailable)"
	}
	return s
}

// Is matches the error's Kind.
func (e *Error) Is(target error) bool { return target == e.Kind }

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }
