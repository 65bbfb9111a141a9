package bus

import (
	"errors"
	"fmt"
)

var (
	// ErrInvalidConfig is returned for a Config or QueueConfig that cannot be used.
	ErrInvalidConfig = errors.New("bus: invalid config")
	// ErrInvalidName is returned for a queue name or subject that is not allowed.
	ErrInvalidName = errors.New("bus: invalid name")
	// ErrInvalidArgument is returned for a bad job ID, a nil handler or a
	// non-positive limit.
	ErrInvalidArgument = errors.New("bus: invalid argument")
	// ErrClosed is returned by operations on a Bus that has been closed.
	ErrClosed = errors.New("bus: closed")
	// ErrNotReady is returned by Open when the embedded server does not start in time.
	ErrNotReady = errors.New("bus: nats server not ready")
	// ErrNotConnected is returned by Ping while the connection is down.
	ErrNotConnected = errors.New("bus: not connected")
	// ErrNoJetStream is returned by Open when the NATS server has no JetStream.
	ErrNoJetStream = errors.New("bus: JetStream not available")
	// ErrNoResponders is returned by ReplyStream.Next when no worker serves
	// the subject.
	ErrNoResponders = errors.New("bus: no responders")
	// ErrWorkerLost is returned by ReplyStream.Next when the worker sent
	// nothing, not even a heartbeat, for the idle timeout.
	ErrWorkerLost = errors.New("bus: worker lost")
	// ErrSequence is returned by ReplyStream.Next when a reply message arrives
	// out of order, duplicated, or after a gap (a dropped message).
	ErrSequence = errors.New("bus: reply out of sequence")
	// ErrProtocol is returned by ReplyStream.Next for a reply message that does
	// not follow the protocol (missing or unknown headers).
	ErrProtocol = errors.New("bus: malformed reply")
	// ErrStreamClosed is returned by ReplyStream.Next after Close.
	ErrStreamClosed = errors.New("bus: reply stream closed")
	// ErrStreamEnded is returned by StreamWriter.Send after the handler returned.
	ErrStreamEnded = errors.New("bus: reply stream ended")
	// ErrHandlerPanic is the error recorded for a job or stream handler that
	// panicked.
	ErrHandlerPanic = errors.New("bus: handler panicked")
	// ErrPermanent matches, with errors.Is, every error made by Permanent.
	ErrPermanent = errors.New("bus: permanent failure")
)

// RemoteError is the error a worker's handler returned, as seen by the caller
// of RequestStream.
type RemoteError struct {
	// Subject is the subject the request was sent to.
	Subject string
	// Message is the worker handler's error text.
	Message string
}

// Error implements error.
func (e *RemoteError) Error() string {
	return fmt.Sprintf("bus: worker on %q failed: %s", e.Subject, e.Message)
}

// permanentError marks a job failure that retrying cannot fix.
type permanentError struct {
	err error
}

// Permanent wraps err so that a job handler returning it sends the job to the
// dead-letter stream at once, without retries. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

func (e *permanentError) Error() string { return e.err.Error() }

func (e *permanentError) Unwrap() error { return e.err }

// Is makes errors.Is(err, ErrPermanent) true.
func (e *permanentError) Is(target error) bool { return target == ErrPermanent }
