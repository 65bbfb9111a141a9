package embed

import (
	"errors"
	"fmt"
	"time"
)

var (
	// ErrUnavailable is returned when a provider cannot answer now: the
	// connection was refused or dropped, a request timed out, or the server
	// said 408, 429 or 5xx. The call may be retried later; a
	// *UnavailableError in the chain carries the status and any Retry-After.
	ErrUnavailable = errors.New("embedder unavailable")
	// ErrBadResponse is returned when a provider answered 2xx with something
	// unusable: malformed JSON, the wrong number of vectors, vectors of the
	// wrong length, non-finite or all-zero values.
	ErrBadResponse = errors.New("embedder sent a bad response")
	// ErrConfig is returned for a configuration that cannot work: an unknown
	// provider or model, a bad base URL, or a server that refuses the key
	// (401, 403) or does not know the model (404). Retrying will not help;
	// the message says what to fix.
	ErrConfig = errors.New("embedder misconfigured")
	// ErrRejected is returned when a provider refuses the input itself (400,
	// 413, 422, e.g. a text over the model's context length) or when a call
	// passes more than MaxBatch texts. Retrying the same input will not help.
	ErrRejected = errors.New("embedder rejected the input")
	// ErrMissingTable is returned by New for the wink model when the word
	// vector table has not been prepared; `make setup` prepares it.
	ErrMissingTable = errors.New("word vector table missing")
	// ErrCorruptTable is returned when a word vector table is truncated,
	// fails its checksum, or is not a table at all.
	ErrCorruptTable = errors.New("word vector table corrupt")
)

// UnavailableError describes a provider answer that makes it unavailable
// for now. It unwraps to ErrUnavailable.
type UnavailableError struct {
	// Provider is "openai" or "ollama".
	Provider string
	// Status is the HTTP status line ("429 Too Many Requests"); empty when
	// no answer came (refused, dropped, timed out).
	Status string
	// Message is the provider's error message, or what went wrong on the
	// connection.
	Message string
	// RetryAfter is the delay the server asked for in Retry-After; zero
	// when it asked for none.
	RetryAfter time.Duration
}

// Error reads like `embed: openai: 503 Service Unavailable: "overloaded":
// embedder unavailable`; the provider's message is quoted, a connection
// problem is not.
func (e *UnavailableError) Error() string {
	s := "embed: " + e.Provider + ": "
	if e.Status != "" {
		s += e.Status + ": " + fmt.Sprintf("%q", e.Message)
	} else {
		s += e.Message
	}
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	return s + ": " + ErrUnavailable.Error()
}

// Unwrap returns ErrUnavailable.
func (e *UnavailableError) Unwrap() error { return ErrUnavailable }

// RetryAfter returns the delay a provider asked for before the next call,
// when err carries one (a 429 or 503 with a Retry-After header).
func RetryAfter(err error) (time.Duration, bool) {
	var u *UnavailableError
	if errors.As(err, &u) && u.RetryAfter > 0 {
		return u.RetryAfter, true
	}
	return 0, false
}
