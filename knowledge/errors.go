package knowledge

import "errors"

var (
	// ErrNotFound is returned for a knowledge base or document that does not
	// exist or that the caller may not see.
	ErrNotFound = errors.New("knowledge: not found")
	// ErrInvalid is returned for bad input; the wrapped text is for users.
	// Field-level problems come as a *FieldError, which unwraps to it.
	ErrInvalid = errors.New("knowledge: invalid input")
	// ErrUnsupported is returned for a file type that cannot be ingested.
	ErrUnsupported = errors.New("knowledge: unsupported document type")
	// ErrEmpty is returned for a document that holds no text.
	ErrEmpty = errors.New("knowledge: document is empty")
	// ErrTooLarge is returned for a document over Config.MaxDocumentBytes.
	ErrTooLarge = errors.New("knowledge: document too large")
	// ErrURLRefused is returned for a URL the fetcher will not fetch (bad
	// syntax, or an address the SSRF policy refuses).
	ErrURLRefused = errors.New("knowledge: url refused")
	// ErrEmbedderUnavailable is returned when the embedder a knowledge base
	// needs cannot be reached or is not configured.
	ErrEmbedderUnavailable = errors.New("knowledge: embedder unavailable")
)

// FieldError names the input field at fault and says why.
type FieldError struct {
	Field   string
	Message string
}

// Error returns "<field> <message>".
func (e *FieldError) Error() string { return e.Field + " " + e.Message }

// Unwrap returns ErrInvalid.
func (e *FieldError) Unwrap() error { return ErrInvalid }
