package llm

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// maxLine bounds one line of a stream; a longer one is an error rather
// than unbounded memory.
const maxLine = 1 << 20

// wireError is a stream that broke in a way the protocol defines: an error
// event, a malformed chunk, a cut connection, a missing end marker.
type wireError struct {
	msg string
	// transient is true when the fault is the network's or the server's
	// state (a drop, an error event, a cut stream), which a new attempt may
	// not meet; false for a broken protocol (a malformed chunk).
	transient bool
	err       error
}

func (e *wireError) Error() string {
	if e.err != nil {
		return e.msg + ": " + e.err.Error()
	}
	return e.msg
}

func (e *wireError) Unwrap() error { return e.err }

func malformed(data []byte, err error) error {
	const show = 120
	if len(data) > show {
		data = append(data[:show:show], "…"...)
	}
	return &wireError{msg: fmt.Sprintf("a chunk was not valid JSON (%q)", data), err: err}
}

func errorEvent(msg string) error {
	return &wireError{msg: "the server reported an error mid-stream: " + msg, transient: true}
}

// errSilence is returned by a read the watchdog cut short.
var errSilence = errors.New("the server stayed silent too long")

// checker validates one provider's stream a line at a time.
type checker interface {
	// line checks one line, without its end of line. keep=false withholds
	// it from langchaingo: error events are reported by the body's Read
	// instead, so that langchaingo's readers see one error, once.
	line(l []byte) (keep bool, err error)
	// finished reports whether the end marker has arrived.
	finished() bool
	meta() meta
	// marker names the end marker, for messages.
	marker() string
}

func newChecker(provider string) checker {
	switch provider {
	case Ollama:
		return &ollamaChecker{}
	case Anthropic:
		return &anthropicChecker{}
	}
	return &openaiChecker{}
}

// strictBody hands langchaingo only complete lines that passed the
// provider's checker, and turns every way a stream can go wrong into an
// error from Read: a malformed line, an error event, a read failure, the
// watchdog's timeout, and EOF before the end marker. After the end marker
// it reports EOF without reading further.
type strictBody struct {
	body   io.ReadCloser
	ex     *exchange
	w      *watchdog
	cancel context.CancelCauseFunc
	check  checker

	raw []byte // read, not yet split into lines
	out []byte // checked lines not yet handed out
	off int    // how much of out was handed out
	err error  // returned once out is drained
}

func newStrictBody(body io.ReadCloser, ex *exchange, w *watchdog, cancel context.CancelCauseFunc) *strictBody {
	return &strictBody{body: body, ex: ex, w: w, cancel: cancel, check: newChecker(ex.provider),
		raw: make([]byte, 0, 8192)}
}

// Read implements io.Reader.
func (b *strictBody) Read(p []byte) (int, error) {
	for b.off == len(b.out) && b.err == nil {
		b.fill()
	}
	if b.off < len(b.out) {
		n := copy(p, b.out[b.off:])
		b.off += n
		return n, nil
	}
	return 0, b.err
}

// Close implements io.Closer.
func (b *strictBody) Close() error {
	b.w.stop()
	err := b.body.Close()
	b.cancel(nil)
	return err
}

// fill reads once from the server and moves the complete lines it finds to
// out, or sets err.
func (b *strictBody) fill() {
	b.out, b.off = b.out[:0], 0
	if len(b.raw) == cap(b.raw) {
		b.raw = append(b.raw, make([]byte, len(b.raw))...)[:len(b.raw)]
	}
	b.w.enter()
	n, err := b.body.Read(b.raw[len(b.raw):cap(b.raw)])
	b.w.leave()
	b.raw = b.raw[:len(b.raw)+n]

	start := 0
	for {
		i := bytes.IndexByte(b.raw[start:], '\n')
		if i < 0 {
			break
		}
		end := start + i + 1
		if !b.take(b.raw[start:end]) {
			return
		}
		start = end
	}
	b.raw = b.raw[:copy(b.raw, b.raw[start:])]
	if len(b.raw) > maxLine {
		b.fail(&wireError{msg: fmt.Sprintf("a line of the stream is longer than %d bytes", maxLine)})
		return
	}

	switch {
	case err == nil:
	case err == io.EOF:
		// A last line without a newline is still a line.
		if len(b.raw) > 0 && !b.take(b.raw) {
			return
		}
		b.fail(&wireError{msg: "the stream ended before its end marker (" + b.check.marker() + ")",
			transient: true, err: io.ErrUnexpectedEOF})
	case b.w.hasFired():
		b.fail(errSilence)
	default:
		b.fail(&wireError{msg: "the connection dropped", transient: true, err: err})
	}
}

// take checks one line (with its newline) and queues it; false means the
// stream ended, with an error or its end marker.
func (b *strictBody) take(line []byte) bool {
	keep, err := b.check.line(bytes.TrimRight(line, "\r\n"))
	if err != nil {
		b.fail(err)
		return false
	}
	if keep {
		b.out = append(b.out, line...)
	}
	if b.check.finished() {
		b.err = io.EOF
		b.w.stop()
		m := b.check.meta()
		b.ex.set(func(ex *exchange) { ex.done, ex.meta = true, m })
		return false
	}
	return true
}

func (b *strictBody) fail(err error) {
	b.err = err
	b.ex.fail(err, b.check.meta())
}

// sseData returns the payload of an SSE data: line.
func sseData(l []byte) ([]byte, bool) {
	data, ok := bytes.CutPrefix(l, []byte("data:"))
	return bytes.TrimSpace(data), ok
}

// openaiChecker checks OpenAI's stream: every data: line is a JSON chunk,
// or the final [DONE]. OpenAI-compatible servers report mid-stream
// failures as a chunk with an "error" object.
type openaiChecker struct {
	m    meta
	done bool
}

func (c *openaiChecker) line(l []byte) (bool, error) {
	data, ok := sseData(l)
	if !ok {
		return true, nil // blank lines, comments, event:, id:, retry:
	}
	if string(data) == "[DONE]" {
		c.done = true
		return true, nil
	}
	var chunk struct {
		Object  string `json:"object"`
		Message string `json:"message"`
		Model   string `json:"model"`
		Choices []struct {
			FinishReason *string `json:"finish_reason"`
		} `json:"choices"`
		Usage *struct {
			PromptTokens     *int `json:"prompt_tokens"`
			CompletionTokens *int `json:"completion_tokens"`
		} `json:"usage"`
		Error json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(data, &chunk); err != nil {
		return false, malformed(data, err)
	}
	if msg := errorText(chunk.Error); msg != "" {
		return false, errorEvent(msg)
	}
	if chunk.Object == "error" {
		// Some servers (older vLLM) send their error object bare.
		return false, errorEvent(cmp.Or(chunk.Message, string(data)))
	}
	if chunk.Model != "" {
		c.m.model = chunk.Model
	}
	for _, ch := range chunk.Choices {
		if ch.FinishReason != nil && *ch.FinishReason != "" {
			c.m.finish = *ch.FinishReason
		}
	}
	if u := chunk.Usage; u != nil {
		if u.PromptTokens != nil {
			c.m.prompt, c.m.hasPrompt = *u.PromptTokens, true
		}
		if u.CompletionTokens != nil {
			c.m.completion, c.m.hasCompletion = *u.CompletionTokens, true
		}
	}
	return true, nil
}

func (c *openaiChecker) finished() bool { return c.done }
func (c *openaiChecker) meta() meta     { return c.m }
func (c *openaiChecker) marker() string { return "data: [DONE]" }

// ollamaChecker checks Ollama's NDJSON: every line is a JSON object; the
// last has "done": true; a line with "error" is the server's failure.
type ollamaChecker struct {
	m    meta
	done bool
}

func (c *ollamaChecker) line(l []byte) (bool, error) {
	l = bytes.TrimSpace(l)
	if len(l) == 0 {
		return false, nil // langchaingo would fail on a blank line; NDJSON allows none, so skip it
	}
	var obj struct {
		Model           string          `json:"model"`
		Done            bool            `json:"done"`
		DoneReason      string          `json:"done_reason"`
		PromptEvalCount *int            `json:"prompt_eval_count"`
		EvalCount       *int            `json:"eval_count"`
		Error           json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(l, &obj); err != nil {
		return false, malformed(l, err)
	}
	if msg := errorText(obj.Error); msg != "" {
		return false, errorEvent(msg)
	}
	if obj.Model != "" {
		c.m.model = obj.Model
	}
	if obj.Done {
		c.done = true
		c.m.finish = obj.DoneReason
		if obj.PromptEvalCount != nil {
			c.m.prompt, c.m.hasPrompt = *obj.PromptEvalCount, true
		}
		if obj.EvalCount != nil {
			c.m.completion, c.m.hasCompletion = *obj.EvalCount, true
		}
	}
	return true, nil
}

func (c *ollamaChecker) finished() bool { return c.done }
func (c *ollamaChecker) meta() meta     { return c.m }
func (c *ollamaChecker) marker() string { return `an object with "done": true` }

// anthropicChecker checks Anthropic's SSE: every data: line is a JSON
// event with a type; "error" events are the server's failure; the stream
// ends with message_stop.
type anthropicChecker struct {
	m     meta
	event string // the current event's name
	done  bool
}

func (c *anthropicChecker) line(l []byte) (bool, error) {
	if name, ok := bytes.CutPrefix(l, []byte("event:")); ok {
		c.event = string(bytes.TrimSpace(name))
		return true, nil
	}
	data, ok := sseData(l)
	if !ok {
		if len(l) == 0 {
			c.event = ""
		}
		return true, nil
	}
	type usage struct {
		InputTokens  *int `json:"input_tokens"`
		OutputTokens *int `json:"output_tokens"`
	}
	var ev struct {
		Type    string `json:"type"`
		Message *struct {
			Model string `json:"model"`
			Usage *usage `json:"usage"`
		} `json:"message"`
		Delta *struct {
			StopReason *string `json:"stop_reason"`
		} `json:"delta"`
		Usage *usage          `json:"usage"`
		Error json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(data, &ev); err != nil {
		return false, malformed(data, err)
	}
	if ev.Type == "error" || c.event == "error" {
		msg := errorText(ev.Error)
		if msg == "" {
			msg = string(data)
		}
		return false, errorEvent(msg)
	}
	if ev.Type == "" {
		return false, malformed(data, errors.New("the event has no type"))
	}
	var u *usage
	switch ev.Type {
	case "message_start":
		if ev.Message != nil {
			c.m.model = ev.Message.Model
			u = ev.Message.Usage
		}
	case "message_delta":
		if ev.Delta != nil && ev.Delta.StopReason != nil {
			c.m.finish = *ev.Delta.StopReason
		}
		u = ev.Usage
	case "message_stop":
		c.done = true
	}
	if u != nil {
		if u.InputTokens != nil {
			c.m.prompt, c.m.hasPrompt = *u.InputTokens, true
		}
		if u.OutputTokens != nil {
			c.m.completion, c.m.hasCompletion = *u.OutputTokens, true
		}
	}
	return true, nil
}

func (c *anthropicChecker) finished() bool { return c.done }
func (c *anthropicChecker) meta() meta     { return c.m }
func (c *anthropicChecker) marker() string { return "event: message_stop" }
