package bus

import (
	"fmt"
	"strings"
)

// Wire headers of the request → streamed reply protocol (see the package
// documentation for how they are used).
const (
	// HeaderCancelSubject names, on a request, where the caller sends a
	// cancel message.
	HeaderCancelSubject = "Timbre-Cancel-Subject"
	// HeaderTimeout carries, on a request, the time left until the caller's
	// deadline, as a Go duration.
	HeaderTimeout = "Timbre-Timeout"
	// HeaderKind says, on a reply message, what it is (Kind* values).
	HeaderKind = "Timbre-Kind"
	// HeaderSeq numbers the reply messages of one request from 1.
	HeaderSeq = "Timbre-Seq"
)

// Values of the Timbre-Kind header.
const (
	// KindHeartbeat says the worker is alive; it has no payload.
	KindHeartbeat = "heartbeat"
	// KindChunk carries one chunk of the reply.
	KindChunk = "chunk"
	// KindEnd ends a successful reply; it has no payload.
	KindEnd = "end"
	// KindError ends a failed reply; its payload is the error text.
	KindError = "error"
)

// natsStatusHeader and natsNoResponders are how the NATS server says that a
// request reached no subscriber.
const (
	natsStatusHeader = "Status"
	natsNoResponders = "503"
)

// ValidateSubject checks a subject that is published to (wildcard false) or
// subscribed to (wildcard true); the error wraps ErrInvalidName.
func ValidateSubject(subject string, wildcard bool) error {
	if subject == "" {
		return fmt.Errorf("%w: empty subject", ErrInvalidName)
	}
	if strings.ContainsAny(subject, " \t\r\n") {
		return fmt.Errorf("%w: subject %q contains whitespace", ErrInvalidName, subject)
	}
	tokens := strings.Split(subject, ".")
	for i, tok := range tokens {
		switch {
		case tok == "":
			return fmt.Errorf("%w: subject %q has an empty token", ErrInvalidName, subject)
		case !wildcard && (tok == "*" || tok == ">"):
			return fmt.Errorf("%w: subject %q has a wildcard", ErrInvalidName, subject)
		case tok == ">" && i != len(tokens)-1:
			return fmt.Errorf("%w: subject %q has '>' before its last token", ErrInvalidName, subject)
		}
	}
	return nil
}

// validateQueueGroup checks a queue group name.
func validateQueueGroup(group string) error {
	if group == "" {
		return fmt.Errorf("%w: empty queue group", ErrInvalidName)
	}
	if strings.ContainsAny(group, " \t\r\n") {
		return fmt.Errorf("%w: queue group %q contains whitespace", ErrInvalidName, group)
	}
	return nil
}
