package embed

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// maxResponseBytes bounds a provider's answer: 256 vectors of 4096 numbers
// written out in JSON stay well under it.
const maxResponseBytes = 64 << 20

// remote holds what the HTTP embedders share: where to send, how, and the
// dimension fixed by the first good answer.
type remote struct {
	provider string // "openai" or "ollama"
	model    string
	base     *url.URL
	apiKey   string
	timeout  time.Duration
	client   *http.Client
	dim      atomic.Int64
}

func newRemote(provider string, cfg Config, base *url.URL) remote {
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{}
	}
	return remote{provider: provider, model: cfg.Model, base: base, apiKey: cfg.APIKey, timeout: cfg.Timeout, client: client}
}

// Name returns "<provider>/<model>".
func (r *remote) Name() string { return r.provider + "/" + r.model }

// Dim returns the vector length, 0 until a first good answer.
func (r *remote) Dim() int { return int(r.dim.Load()) }

// reply is a provider's HTTP answer, read in full.
type reply struct {
	status int
	line   string // "503 Service Unavailable"
	header http.Header
	body   []byte
}

// post sends body as JSON to path under the base URL and reads the whole
// answer within the per-request timeout. Errors are classified: the
// caller's ctx ends → its error; timeout, refused or dropped connection →
// *UnavailableError; unknown host → ErrConfig.
func (r *remote) post(ctx context.Context, path string, body any) (reply, error) {
	payload, err := json.Marshal(body)
	if err != nil {
		return reply{}, fmt.Errorf("embed: %s: encode request: %w", r.provider, err)
	}
	rctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	u := r.base.JoinPath(path)
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, u.String(), bytes.NewReader(payload))
	if err != nil {
		return reply{}, fmt.Errorf("embed: %s: %w: %w", r.provider, err, ErrConfig)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if r.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+r.apiKey)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			// Say it once, without Go's quoting, and without any password.
			err = fmt.Errorf("POST %s: %w", u.Redacted(), uerr.Err)
		}
		return reply{}, r.transportError(ctx, rctx, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return reply{}, r.transportError(ctx, rctx, fmt.Errorf("reading the %s answer: %w", resp.Status, err))
	}
	if len(data) > maxResponseBytes {
		return reply{}, fmt.Errorf("embed: %s: answer over %d MiB: %w", r.provider, maxResponseBytes>>20, ErrBadResponse)
	}
	return reply{status: resp.StatusCode, line: resp.Status, header: resp.Header, body: data}, nil
}

// transportError classifies an error from sending a request or reading its
// answer.
func (r *remote) transportError(ctx, rctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("embed: %s: %w", r.provider, cerr)
	}
	if errors.Is(rctx.Err(), context.DeadlineExceeded) {
		return &UnavailableError{Provider: r.provider, Message: fmt.Sprintf("no answer from %s within %s", r.base.Redacted(), r.timeout)}
	}
	var dns *net.DNSError
	if errors.As(err, &dns) && dns.IsNotFound {
		return fmt.Errorf("embed: %s: host %q not found: check the base URL: %w", r.provider, dns.Name, ErrConfig)
	}
	return &UnavailableError{Provider: r.provider, Message: err.Error()}
}

// statusError turns a non-2xx answer into an error carrying its status and
// the provider's message. notFound says what a 404 most likely means.
func (r *remote) statusError(rep reply, notFound string) error {
	msg := providerMessage(rep.body, rep.status)
	switch {
	case rep.status == http.StatusUnauthorized || rep.status == http.StatusForbidden:
		return fmt.Errorf("embed: %s: %s: %q: check the API key and that it may use model %q: %w", r.provider, rep.line, msg, r.model, ErrConfig)
	case rep.status == http.StatusNotFound:
		return fmt.Errorf("embed: %s: %s: %q: %s: %w", r.provider, rep.line, msg, notFound, ErrConfig)
	case rep.status == http.StatusRequestTimeout || rep.status == http.StatusTooManyRequests || rep.status >= 500:
		return &UnavailableError{Provider: r.provider, Status: rep.line, Message: msg, RetryAfter: retryAfter(rep.header.Get("Retry-After"), time.Now())}
	case rep.status >= 400:
		return fmt.Errorf("embed: %s: %s: %q: %w", r.provider, rep.line, msg, ErrRejected)
	default:
		return fmt.Errorf("embed: %s: unexpected %s: %w", r.provider, rep.line, ErrBadResponse)
	}
}

// providerMessage digs the message out of an error body: OpenAI's
// {"error":{"message":…}}, Ollama's {"error":"…"}, a bare {"message":"…"},
// else the start of the body as text, else the status text.
func providerMessage(body []byte, status int) string {
	var e struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
	}
	if json.Unmarshal(body, &e) == nil {
		var s string
		var o struct {
			Message string `json:"message"`
		}
		switch {
		case json.Unmarshal(e.Error, &s) == nil && s != "":
			return clip(s)
		case json.Unmarshal(e.Error, &o) == nil && o.Message != "":
			return clip(o.Message)
		case e.Message != "":
			return clip(e.Message)
		}
	}
	if s := strings.TrimSpace(string(body)); s != "" && utf8.ValidString(s) {
		return clip(s)
	}
	return http.StatusText(status)
}

// clip shortens a provider message to 300 bytes, on a rune boundary.
func clip(s string) string {
	const most = 300
	if len(s) <= most {
		return s
	}
	cut := most
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// retryAfter parses a Retry-After header: delay-seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, 24*3600)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now).Round(time.Second)
	}
	return 0
}

// vectors checks a decoded batch and normalizes it: one vector per text,
// every one the same non-zero length, equal to the fixed dimension once
// there is one, finite and not all zero. It fixes the dimension on the
// first good batch.
func (r *remote) vectors(out [][]float32, want int) ([][]float32, error) {
	if len(out) != want {
		return nil, fmt.Errorf("embed: %s: %d vectors for %d texts: %w", r.provider, len(out), want, ErrBadResponse)
	}
	for i, v := range out {
		if v == nil {
			return nil, fmt.Errorf("embed: %s: no vector for text %d: %w", r.provider, i, ErrBadResponse)
		}
		if len(v) == 0 {
			return nil, fmt.Errorf("embed: %s: vector %d is empty: %w", r.provider, i, ErrBadResponse)
		}
		if len(v) != len(out[0]) {
			return nil, fmt.Errorf("embed: %s: vector %d has %d numbers, vector 0 has %d: %w", r.provider, i, len(v), len(out[0]), ErrBadResponse)
		}
		if !normalize(v) {
			return nil, fmt.Errorf("embed: %s: vector %d is all zeros or not finite: %w", r.provider, i, ErrBadResponse)
		}
	}
	if len(out) == 0 {
		return out, nil
	}
	d := int64(len(out[0]))
	if !r.dim.CompareAndSwap(0, d) {
		if fixed := r.dim.Load(); fixed != d {
			return nil, fmt.Errorf("embed: %s: vectors have %d numbers, earlier ones had %d: %w", r.provider, d, fixed, ErrBadResponse)
		}
	}
	return out, nil
}

// decodeJSON decodes a 2xx answer, calling a malformed one a bad response.
func (r *remote) decodeJSON(body []byte, v any) error {
	if bytes.Contains(body, []byte("null")) {
		// A null among the numbers would decode as 0 without complaint.
		var probe any
		if json.Unmarshal(body, &probe) == nil && hasNullNumber(probe) {
			return fmt.Errorf("embed: %s: null in a vector: %w", r.provider, ErrBadResponse)
		}
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("embed: %s: malformed answer: %w: %w", r.provider, err, ErrBadResponse)
	}
	return nil
}

// hasNullNumber reports whether a decoded JSON value holds an array with a
// null among numbers.
func hasNullNumber(v any) bool {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			if e == nil || hasNullNumber(e) {
				return true
			}
		}
	case map[string]any:
		for _, e := range x {
			if hasNullNumber(e) {
				return true
			}
		}
	}
	return false
}
