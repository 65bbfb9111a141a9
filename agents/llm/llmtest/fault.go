package llmtest

import (
	"math"
	"strconv"
	"time"
)

// Break is how a stream goes wrong.
type Break int

// Ways a stream breaks. Each is written in the provider's own wire format.
const (
	// None answers normally.
	None Break = iota
	// ErrorEvent sends the provider's mid-stream error and ends the
	// stream: OpenAI-compatible servers send data: {"error":{…}} then
	// data: [DONE]; Ollama an {"error":"…"} line; Anthropic an
	// "event: error" with an overloaded_error.
	ErrorEvent
	// Malformed sends one chunk that is not valid JSON in place of the next
	// text chunk, then goes on with the rest of the reply and its normal
	// end, so that a client that skips bad chunks gets a reply with a hole.
	Malformed
	// Drop takes over the connection and closes it: the client sees the
	// stream cut in the middle of its chunked encoding.
	Drop
	// Stall stops writing and holds the response open until the client
	// goes away or the server closes.
	Stall
	// Truncate ends the response cleanly but without the provider's end
	// marker (data: [DONE], "done": true, message_stop).
	Truncate
)

// String names the break.
func (b Break) String() string {
	switch b {
	case None:
		return "none"
	case ErrorEvent:
		return "error-event"
	case Malformed:
		return "malformed"
	case Drop:
		return "drop"
	case Stall:
		return "stall"
	case Truncate:
		return "truncate"
	}
	return "break(" + strconv.Itoa(int(b)) + ")"
}

// Fault is what the server does to one request instead of answering
// normally. The zero Fault answers normally, so a queue can let requests
// through between faults.
type Fault struct {
	// Status, when not zero, answers with this HTTP status and the
	// provider's error body.
	Status int
	// RetryAfter is the Retry-After header sent with Status ("" for none):
	// seconds ("2") or an HTTP date.
	RetryAfter string
	// Message replaces the provider's usual error message for Status or
	// ErrorEvent.
	Message string
	// Break, when not None, breaks the stream after After chunks of reply
	// text. After may exceed the number of chunks: the break then comes
	// after all the text, before the stream's end. A negative After breaks
	// before the response headers are written (Drop resets the connection,
	// Stall holds the request without answering).
	Break Break
	After int
}

// Status answers a request with an error status in the provider's shape;
// retryAfter > 0 adds a Retry-After header in whole seconds, rounded up.
func Status(code int, retryAfter time.Duration) Fault {
	f := Fault{Status: code}
	if retryAfter > 0 {
		f.RetryAfter = strconv.Itoa(int(math.Ceil(retryAfter.Seconds())))
	}
	return f
}

// FailAfter streams n chunks of reply text, then breaks the stream in the
// given way.
func FailAfter(n int, kind Break) Fault {
	return Fault{Break: kind, After: n}
}
