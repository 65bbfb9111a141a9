package chat

import "errors"

var (
	// ErrNotFound is a conversation or message that does not exist or
	// belongs to someone else.
	ErrNotFound = errors.New("chat: conversation not found")
	// ErrMessageNotFound is a message id that is not in the conversation.
	ErrMessageNotFound = errors.New("chat: message not found")
	// ErrEmpty is a message with no text.
	ErrEmpty = errors.New("chat: message is empty")
	// ErrTooLarge is a message longer than Config.MaxMessageBytes.
	ErrTooLarge = errors.New("chat: message too large")
	// ErrBusy is a second turn while the conversation's reply is still
	// being written.
	ErrBusy = errors.New("chat: a reply is already being written")
	// ErrNotLatest is a regenerate of a reply that is not the last one.
	ErrNotLatest = errors.New("chat: only the latest reply can be regenerated")
	// ErrBadRequest is input that is well-formed but unusable (a greeting
	// index out of range, a swipe that does not exist, a conversation
	// that does not end with a user message).
	ErrBadRequest = errors.New("chat: bad request")
)

// InputError is bad input, naming the field; it wraps ErrBadRequest.
type InputError struct {
	Field   string
	Message string
}

func (e *InputError) Error() string { return "chat: " + e.Field + " " + e.Message }

// Unwrap makes errors.Is(err, ErrBadRequest) hold.
func (e *InputError) Unwrap() error { return ErrBadRequest }
