package talk

import "errors"

var (
	// ErrTooManySessions means the user already has Config.MaxPerUser
	// sessions open.
	ErrTooManySessions = errors.New("talk: too many voice sessions open for this user")
	// ErrFull means the server holds Config.MaxSessions sessions.
	ErrFull = errors.New("talk: the server holds as many voice sessions as it can")
	// ErrNoVoice means neither the agent nor the server has a voice.
	ErrNoVoice = errors.New("talk: the agent has no voice and the server none to lend")
	// ErrNotFound means no open session has this id for this user.
	ErrNotFound = errors.New("talk: no such voice session")
	// ErrWrongAgent means the conversation is with another agent.
	ErrWrongAgent = errors.New("talk: the conversation is with another agent")
	// ErrClosed means the manager is shutting down.
	ErrClosed = errors.New("talk: shutting down")
)
