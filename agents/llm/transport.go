package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"time"
)

// The langchaingo clients hide what a chat product needs to know about an
// answer: they drop the HTTP status into a string, skip chunks they cannot
// parse, stop quietly at the end of a body without checking that the
// stream was complete, and (Ollama) ignore read errors altogether. So
// every request goes through transport, which records what happened on the
// wire in the exchange the Stream call put in the request's context, and
// hands langchaingo a body that it has already checked line by line.

// exchangeKey keys the *exchange in a request's context.
type exchangeKey struct{}

// exchange is what the transport learns about one HTTP attempt. The
// request side is set before the attempt and read-only after.
type exchange struct {
	provider string
	timeout  time.Duration
	// patch rewrites the JSON request body; nil sends it as built.
	patch func(body []byte) ([]byte, error)
	// auth replaces the Authorization header ("" removes it); nil leaves it.
	auth *string

	mu         sync.Mutex
	sent       bool // the request went to the server
	connected  bool // a connection was made
	status     int
	retryAfter time.Duration
	message    string // the server's error message, from a non-2xx body
	connErr    error  // failure before any response
	readErr    error  // first failure reading the body
	timedOut   bool
	done       bool // the stream's end marker arrived
	meta       meta
}

// meta is what a stream said about its reply.
type meta struct {
	model, finish            string
	prompt, completion       int
	hasPrompt, hasCompletion bool
}

// outcome is a consistent copy of an exchange's findings.
type outcome struct {
	sent, connected, timedOut, done bool
	status                          int
	retryAfter                      time.Duration
	message                         string
	connErr, readErr                error
	meta                            meta
}

func (ex *exchange) snapshot() outcome {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	return outcome{sent: ex.sent, connected: ex.connected, timedOut: ex.timedOut, done: ex.done,
		status: ex.status, retryAfter: ex.retryAfter, message: ex.message,
		connErr: ex.connErr, readErr: ex.readErr, meta: ex.meta}
}

func (ex *exchange) set(f func(ex *exchange)) {
	ex.mu.Lock()
	f(ex)
	ex.mu.Unlock()
}

// fail records the first error met reading the body.
func (ex *exchange) fail(err error, m meta) {
	ex.set(func(ex *exchange) {
		if ex.readErr == nil {
			ex.readErr = err
		}
		ex.meta = m
	})
}

// errSilent is the cause given to a request the watchdog cancels.
var errSilent = errors.New("llm: the server stayed silent too long")

// transport records and checks each request it carries for a Stream call;
// other requests pass through untouched.
type transport struct {
	base http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ex, _ := req.Context().Value(exchangeKey{}).(*exchange)
	if ex == nil {
		return t.base.RoundTrip(req)
	}
	ctx, cancel := context.WithCancelCause(req.Context())
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) { ex.set(func(ex *exchange) { ex.connected = true }) },
	})
	out := req.Clone(ctx)
	if ex.auth != nil {
		out.Header.Del("Authorization")
		if *ex.auth != "" {
			out.Header.Set("Authorization", "Bearer "+*ex.auth)
		}
	}
	if ex.patch != nil && req.Body != nil {
		if err := patchBody(out, ex.patch); err != nil {
			cancel(nil)
			return nil, fmt.Errorf("llm: rewrite request body: %w", err)
		}
	}

	w := newWatchdog(ex.timeout, func() {
		ex.set(func(ex *exchange) { ex.timedOut = true })
		cancel(errSilent)
	})
	ex.set(func(ex *exchange) { ex.sent = true })
	w.enter()
	resp, err := t.base.RoundTrip(out)
	w.leave()
	if err != nil {
		w.stop()
		cancel(nil)
		if req.Context().Err() == nil && !w.hasFired() {
			ex.set(func(ex *exchange) { ex.connErr = err })
		}
		return nil, err
	}

	retryAfter := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	ex.set(func(ex *exchange) { ex.status, ex.retryAfter = resp.StatusCode, retryAfter })
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// Read the error body here, under the watchdog, so the server's
		// message is known whatever langchaingo makes of it.
		data, _ := readWatched(resp.Body, w, 64<<10)
		resp.Body.Close()
		w.stop()
		cancel(nil)
		ex.set(func(ex *exchange) { ex.message = errorMessage(data) })
		resp.Body = io.NopCloser(bytes.NewReader(data))
		return resp, nil
	}
	resp.Body = newStrictBody(resp.Body, ex, w, cancel)
	return resp, nil
}

// patchBody replaces a request's body with patch's rewrite of it.
func patchBody(req *http.Request, patch func([]byte) ([]byte, error)) error {
	body, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return err
	}
	if body, err = patch(body); err != nil {
		return err
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	return nil
}

// dropField removes the field at path from a JSON object; langchaingo
// always sends a temperature, and sending 0 is not the same as asking for
// the server's default.
func dropField(body []byte, path ...string) ([]byte, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		return nil, err
	}
	inner, ok := obj[path[0]]
	if !ok {
		return body, nil
	}
	if len(path) == 1 {
		delete(obj, path[0])
	} else {
		patched, err := dropField(inner, path[1:]...)
		if err != nil {
			return nil, err
		}
		obj[path[0]] = patched
	}
	return json.Marshal(obj)
}

// readWatched reads at most limit bytes of r, each read under w.
func readWatched(r io.Reader, w *watchdog, limit int) ([]byte, error) {
	var buf bytes.Buffer
	chunk := make([]byte, 4096)
	for buf.Len() < limit {
		w.enter()
		n, err := r.Read(chunk[:min(len(chunk), limit-buf.Len())])
		w.leave()
		buf.Write(chunk[:n])
		if err == io.EOF {
			return buf.Bytes(), nil
		}
		if err != nil {
			return buf.Bytes(), err
		}
	}
	return buf.Bytes(), nil
}

// errorMessage finds the message in an error body, whichever of the usual
// shapes it has: {"error":{"message":…}} (OpenAI, Anthropic),
// {"error":"…"} (Ollama) or {"message":…}; otherwise the body's text.
func errorMessage(body []byte) string {
	var obj struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
	}
	if err := json.Unmarshal(body, &obj); err == nil {
		if msg := errorText(obj.Error); msg != "" {
			return msg
		}
		if obj.Message != "" {
			return obj.Message
		}
	}
	text := strings.TrimSpace(string(body))
	if len(text) > 300 {
		text = text[:300] + "…"
	}
	return text
}

// errorText reads an "error" value: a string, or an object with a message.
func errorText(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s
	}
	var obj struct {
		Message string `json:"message"`
		Type    string `json:"type"`
	}
	if err := json.Unmarshal(raw, &obj); err == nil && (obj.Message != "" || obj.Type != "") {
		if obj.Message == "" {
			return obj.Type
		}
		return obj.Message
	}
	return string(raw)
}

// watchdog cancels a request when the server stays silent longer than its
// timeout. Only time spent waiting on the server counts: between reads the
// consumer may be busy (onDelta feeding speech synthesis, say), and that is
// not the server's silence.
type watchdog struct {
	timeout time.Duration
	onFire  func()
	timer   *time.Timer

	mu      sync.Mutex
	waiting bool      // a read or the round trip is in progress
	since   time.Time // when the current wait began
	fired   bool
	stopped bool
}

// newWatchdog starts a watchdog; a timeout ≤ 0 never fires.
func newWatchdog(timeout time.Duration, onFire func()) *watchdog {
	w := &watchdog{timeout: timeout, onFire: onFire}
	if timeout > 0 {
		// check reads timer under the lock; hold it until timer is set.
		w.mu.Lock()
		w.timer = time.AfterFunc(timeout, w.check)
		w.mu.Unlock()
	}
	return w
}

// enter marks the start of a wait on the server.
func (w *watchdog) enter() {
	if w.timer == nil {
		return
	}
	w.mu.Lock()
	w.waiting, w.since = true, time.Now()
	w.mu.Unlock()
}

// leave marks the end of a wait.
func (w *watchdog) leave() {
	if w.timer == nil {
		return
	}
	w.mu.Lock()
	w.waiting = false
	w.mu.Unlock()
}

func (w *watchdog) check() {
	w.mu.Lock()
	if w.stopped || w.fired {
		w.mu.Unlock()
		return
	}
	if !w.waiting {
		w.timer.Reset(w.timeout)
		w.mu.Unlock()
		return
	}
	if idle := time.Since(w.since); idle < w.timeout {
		w.timer.Reset(w.timeout - idle)
		w.mu.Unlock()
		return
	}
	w.fired = true
	w.mu.Unlock()
	w.onFire()
}

func (w *watchdog) hasFired() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.fired
}

func (w *watchdog) stop() {
	if w.timer == nil {
		return
	}
	w.mu.Lock()
	w.stopped = true
	w.mu.Unlock()
	w.timer.Stop()
}
