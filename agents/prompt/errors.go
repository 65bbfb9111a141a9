package prompt

import "errors"

var (
	// ErrTooSmall is returned by Build when the parts it must always send
	// (the system prompt with the card's fields, the client's system
	// messages, the post-history instructions and the newest turn) do not
	// fit in the context window less the tokens reserved for the reply.
	ErrTooSmall = errors.New("prompt: context window too small")
	// ErrInvalidTurn is returned by Build for a history turn whose role is
	// neither llm.User nor llm.Assistant.
	ErrInvalidTurn = errors.New("prompt: invalid history turn")
)
