package worker

import "errors"

var (
	// ErrNoWorkers is a request that found no worker to take it: none is
	// advertising, none answered, or every one that could failed before
	// starting.
	ErrNoWorkers = errors.New("worker: no voice worker is available")
	// ErrBusy is a request that every worker it tried turned away for want
	// of a free slot, up to ClientConfig.MaxAttempts times.
	ErrBusy = errors.New("worker: every voice worker is busy")
	// ErrClosed is returned by a Client after Close.
	ErrClosed = errors.New("worker: client closed")
	// ErrProtocol is a message that does not follow the worker protocol: a
	// bad frame, a request the worker cannot read, frames out of order.
	ErrProtocol = errors.New("worker: malformed message")
	// ErrInvalidConfig is a Config or ClientConfig that cannot be used.
	ErrInvalidConfig = errors.New("worker: invalid config")
)
