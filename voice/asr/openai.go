package asr

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/timbre-ai/timbre/voice/audio"
)

// Defaults of the openai provider.
const (
	DefaultOpenAIBaseURL = "https://api.openai.com/v1"
	DefaultOpenAIModel   = "whisper-1"
	defaultOpenAITimeout = 30 * time.Second
	// maxReply bounds the reply read from a transcription server: a
	// transcription of MaxAudio is a few KiB.
	maxReply = 1 << 20
	// maxServerMessage bounds the part of a server's error message kept in
	// a ServerError.
	maxServerMessage = 300
)

// ServerError is a transcription server's answer other than 200. Status
// 429 and 5xx are the server's trouble, and the error then wraps
// ErrUnavailable; other statuses (400 bad audio, 401 bad key, 404 unknown
// model) are a request the server refuses, which retrying will not fix.
type ServerError struct {
	// Host is the server's host[:port].
	Host string
	// StatusCode is the HTTP status.
	StatusCode int
	// Message is the server's own explanation (its error.message, or the
	// start of its reply), cut to 300 characters.
	Message string
}

// Error says what the server answered.
func (e *ServerError) Error() string {
	return fmt.Sprintf("asr: transcription server %s answered %d %s: %s", e.Host, e.StatusCode, http.StatusText(e.StatusCode), e.Message)
}

// Unwrap returns ErrUnavailable for 429 and 5xx, nil otherwise.
func (e *ServerError) Unwrap() error {
	if e.StatusCode == http.StatusTooManyRequests || e.StatusCode >= 500 {
		return ErrUnavailable
	}
	return nil
}

// openAI is a client of an OpenAI-compatible /audio/transcriptions
// endpoint.
type openAI struct {
	endpoint string // BaseURL + /audio/transcriptions
	host     string // for messages: never the key
	apiKey   string
	model    string
	language string
	timeout  time.Duration
	client   *http.Client
	closed   atomic.Bool
}

func openOpenAI(cfg Config) (*openAI, error) {
	base := cfg.BaseURL
	if base == "" {
		base = DefaultOpenAIBaseURL
	}
	u, err := url.Parse(base)
	switch {
	case err != nil:
		return nil, fmt.Errorf("asr: openai base URL: %w", err)
	case u.User != nil: // not echoed: it holds a password
		return nil, errors.New("asr: openai base URL: must not hold credentials (set the API key instead)")
	case (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("asr: openai base URL %q: must be http(s)://host[:port]/path, without a query", base)
	}
	model := cfg.Model
	if model == "" {
		model = DefaultOpenAIModel
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = defaultOpenAITimeout
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	return &openAI{
		endpoint: strings.TrimRight(u.String(), "/") + "/audio/transcriptions",
		host:     u.Host,
		apiKey:   cfg.APIKey,
		model:    model,
		language: cfg.Language,
		timeout:  timeout,
		client:   &http.Client{Transport: transport},
	}, nil
}

// Name implements Recognizer.
func (o *openAI) Name() string { return ProviderOpenAI + "/" + o.model }

// Close implements Recognizer.
func (o *openAI) Close() error {
	o.closed.Store(true)
	o.client.CloseIdleConnections()
	return nil
}

// Transcribe implements Recognizer: it sends the audio as a 16 kHz 16-bit
// WAV and returns the server's text. Each request is bounded by
// Config.Timeout as well as by ctx; running out of the former is
// ErrUnavailable, ctx ending is ctx's error.
func (o *openAI) Transcribe(ctx context.Context, samples []float32, rate int) (Result, error) {
	if o.closed.Load() {
		return Result{}, ErrClosed
	}
	in, err := prepare(samples, rate)
	if err != nil {
		return Result{}, err
	}
	res := Result{Audio: duration(len(samples), rate)}
	if len(in) == 0 {
		return res, nil
	}
	body, contentType, err := o.form(in)
	if err != nil {
		return Result{}, err
	}
	rctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, o.endpoint, bytes.NewReader(body))
	if err != nil {
		return Result{}, fmt.Errorf("asr: openai: %w", err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Accept", "application/json")
	if o.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+o.apiKey)
	}
	resp, err := o.client.Do(req)
	if err != nil {
		return Result{}, o.transportError(ctx, err)
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(io.LimitReader(resp.Body, maxReply+1))
	if err != nil {
		return Result{}, o.transportError(ctx, err)
	}
	if len(reply) > maxReply {
		return Result{}, fmt.Errorf("asr: openai: %s sent a reply larger than %d KiB: %w", o.host, maxReply>>10, ErrUnavailable)
	}
	if resp.StatusCode != http.StatusOK {
		return Result{}, &ServerError{Host: o.host, StatusCode: resp.StatusCode, Message: serverMessage(reply)}
	}
	var out struct {
		Text *string `json:"text"`
	}
	if err := json.Unmarshal(reply, &out); err != nil || out.Text == nil {
		return Result{}, fmt.Errorf("asr: openai: %s answered 200 without a JSON {\"text\": …}: %q: %w", o.host, clip(string(reply), 80), ErrUnavailable)
	}
	res.Text = strings.TrimSpace(*out.Text)
	return res, nil
}

// form is the multipart request body: the audio as file, model,
// response_format and the optional language.
func (o *openAI) form(samples []float32) ([]byte, string, error) {
	var buf bytes.Buffer
	buf.Grow(2*len(samples) + 1024)
	w := multipart.NewWriter(&buf)
	fields := [][2]string{{"model", o.model}, {"response_format", "json"}}
	if o.language != "" {
		fields = append(fields, [2]string{"language", o.language})
	}
	for _, f := range fields {
		if err := w.WriteField(f[0], f[1]); err != nil {
			return nil, "", fmt.Errorf("asr: openai: build request: %w", err)
		}
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; filename="audio.wav"`)
	h.Set("Content-Type", "audio/wav")
	part, err := w.CreatePart(h)
	if err != nil {
		return nil, "", fmt.Errorf("asr: openai: build request: %w", err)
	}
	if _, err := audio.EncodeWAV(part, audio.Frame{Format: audio.Format{SampleRate: modelRate, Channels: 1}, Samples: samples}); err != nil {
		return nil, "", fmt.Errorf("asr: openai: encode WAV: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, "", fmt.Errorf("asr: openai: build request: %w", err)
	}
	return buf.Bytes(), w.FormDataContentType(), nil
}

// transportError classifies a failed exchange: the caller's ctx ending
// is its own error; anything else (refused, reset, our timeout) is
// ErrUnavailable.
func (o *openAI) transportError(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("asr: openai: %w", ctxErr)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("asr: openai: no answer from %s within %s: %w", o.host, o.timeout, ErrUnavailable)
	}
	return fmt.Errorf("asr: openai: %s: %w: %w", o.host, ErrUnavailable, err)
}

// serverMessage is the explanation in an error reply: OpenAI's
// {"error": {"message": …}}, {"error": "…"}, FastAPI's {"detail": …}, or
// else the reply's text.
func serverMessage(reply []byte) string {
	var v struct {
		Error  json.RawMessage `json:"error"`
		Detail json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(reply, &v) == nil {
		var obj struct {
			Message string `json:"message"`
		}
		var s string
		switch {
		case json.Unmarshal(v.Error, &obj) == nil && obj.Message != "":
			return clip(obj.Message, maxServerMessage)
		case json.Unmarshal(v.Error, &s) == nil && s != "":
			return clip(s, maxServerMessage)
		case json.Unmarshal(v.Detail, &s) == nil && s != "":
			return clip(s, maxServerMessage)
		case len(v.Detail) > 0:
			return clip(string(v.Detail), maxServerMessage)
		}
	}
	if msg := clip(string(reply), maxServerMessage); msg != "" {
		return msg
	}
	return "(no message)"
}

// clip is s with control characters as spaces, trimmed, cut to n runes.
func clip(s string, n int) string {
	s = strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s))
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

var _ Recognizer = (*openAI)(nil)
