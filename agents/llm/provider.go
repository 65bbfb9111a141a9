package llm

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"

	"github.com/tmc/langchaingo/llms"
	"github.com/tmc/langchaingo/llms/anthropic"
	"github.com/tmc/langchaingo/llms/ollama"
	"github.com/tmc/langchaingo/llms/openai"
)

// placeholderKey is sent where langchaingo insists on a token that the
// server does not need (local OpenAI-compatible servers, proxies).
const placeholderKey = "no-key"

// provider is a Provider built on a langchaingo model.
type provider struct {
	cfg   Config
	model llms.Model
	// legacyMaxTokens sends max_tokens instead of max_completion_tokens:
	// most OpenAI-compatible servers (llama.cpp, LM Studio, older vLLM)
	// know only the former, and api.openai.com refuses it for its
	// reasoning models.
	legacyMaxTokens bool
}

// New builds the Provider cfg describes. It checks the configuration but
// does not contact the server.
func New(cfg Config) (Provider, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	client := &http.Client{}
	if cfg.HTTPClient != nil {
		c := *cfg.HTTPClient
		client = &c
	}
	base := client.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	client.Transport = &transport{base: base}

	key := cfg.APIKey
	if key == "" {
		key = placeholderKey
	}
	p := &provider{cfg: cfg}
	switch cfg.Provider {
	case OpenAI:
		u, _ := url.Parse(cfg.BaseURL) // checked by withDefaults
		p.legacyMaxTokens = u.Host != "api.openai.com"
		p.model, err = openai.New(openai.WithToken(key), openai.WithModel(cfg.Model),
			openai.WithBaseURL(cfg.BaseURL), openai.WithHTTPClient(client))
	case Ollama:
		p.model, err = ollama.New(ollama.WithModel(cfg.Model), ollama.WithServerURL(cfg.BaseURL),
			ollama.WithHTTPClient(client))
	case Anthropic:
		p.model, err = anthropic.New(anthropic.WithToken(key), anthropic.WithModel(cfg.Model),
			anthropic.WithBaseURL(cfg.BaseURL), anthropic.WithHTTPClient(client))
	}
	if err != nil {
		return nil, fmt.Errorf("llm: build %s client: %w", cfg.Provider, err)
	}
	return p, nil
}

// Name implements Provider.
func (p *provider) Name() string { return p.cfg.Provider }

// Model implements Provider.
func (p *provider) Model() string { return p.cfg.Model }

// Stream implements Provider. It retries connection failures, 429s, 5xxs
// and streams that broke before any text (up to Config.Retries more
// attempts), and never retries once text has reached onDelta.
func (p *provider) Stream(ctx context.Context, req Request, onDelta func(text string) error) (Result, error) {
	model := req.Model
	if model == "" {
		model = p.cfg.Model
	}
	res := Result{Model: model}
	msgs, err := p.messages(req.Messages)
	if err != nil {
		return res, err
	}
	opts := p.options(req, model)
	c := &call{onDelta: onDelta}
	defer c.close()
	for attempt := 1; ; attempt++ {
		if ctx.Err() != nil {
			return res, p.stopped(ctx)
		}
		res.Attempts = attempt
		ex := p.exchange(req)
		_, genErr := p.model.GenerateContent(context.WithValue(ctx, exchangeKey{}, ex), msgs,
			append(opts, llms.WithStreamingFunc(c.deliverer(attempt)))...)
		out := ex.snapshot()
		retry, err := p.judge(ctx, out, c, genErr)
		res.Text = c.text()
		if out.meta.model != "" {
			res.Model = out.meta.model
		}
		if err == nil {
			res.FinishReason = out.meta.finish
			res.Usage = usageOf(out.meta, req.Messages, res.Text)
			return res, nil
		}
		var e *Error
		if !retry || attempt > p.cfg.Retries || !errors.As(err, &e) || e.RetryAfter > p.cfg.MaxRetryWait {
			return res, err
		}
		if sleep(ctx, backoff(attempt, p.cfg.RetryBase, p.cfg.MaxRetryWait, e.RetryAfter)) != nil {
			return res, p.stopped(ctx)
		}
	}
}

// messages converts the prompt for langchaingo.
func (p *provider) messages(in []Message) ([]llms.MessageContent, error) {
	if len(in) == 0 {
		return nil, p.refuse("the request has no messages")
	}
	out := make([]llms.MessageContent, 0, len(in))
	var system []string
	for i, m := range in {
		var role llms.ChatMessageType
		switch m.Role {
		case System:
			if p.cfg.Provider == Anthropic {
				// Anthropic takes one system prompt, outside the messages;
				// langchaingo would glue several together with no space.
				system = append(system, m.Content)
				continue
			}
			role = llms.ChatMessageTypeSystem
		case User:
			role = llms.ChatMessageTypeHuman
		case Assistant:
			role = llms.ChatMessageTypeAI
		default:
			return nil, p.refuse(fmt.Sprintf("message %d has role %q; use %q, %q or %q", i, m.Role, System, User, Assistant))
		}
		out = append(out, llms.TextParts(role, m.Content))
	}
	if len(system) > 0 {
		out = append([]llms.MessageContent{llms.TextParts(llms.ChatMessageTypeSystem, strings.Join(system, "\n\n"))}, out...)
	}
	return out, nil
}

func (p *provider) refuse(msg string) error {
	return &Error{Kind: ErrBadRequest, Provider: p.cfg.Provider, URL: p.cfg.BaseURL, Message: msg}
}

// options are langchaingo's call options for req.
func (p *provider) options(req Request, model string) []llms.CallOption {
	opts := []llms.CallOption{llms.WithModel(model)}
	if req.Temperature != nil {
		opts = append(opts, llms.WithTemperature(*req.Temperature))
	}
	if req.MaxTokens > 0 {
		opts = append(opts, llms.WithMaxTokens(req.MaxTokens))
		if p.legacyMaxTokens {
			opts = append(opts, openai.WithLegacyMaxTokensField())
		}
	}
	if len(req.Stop) > 0 {
		opts = append(opts, llms.WithStopWords(req.Stop))
	}
	return opts
}

// exchange prepares the transport's record of one attempt.
func (p *provider) exchange(req Request) *exchange {
	ex := &exchange{provider: p.cfg.Provider, timeout: p.cfg.Timeout}
	if req.Temperature == nil {
		path := []string{"temperature"}
		if p.cfg.Provider == Ollama {
			path = []string{"options", "temperature"}
		}
		ex.patch = func(body []byte) ([]byte, error) { return dropField(body, path...) }
	}
	switch {
	case p.cfg.Provider == OpenAI && p.cfg.APIKey == "":
		none := "" // no key: send no Authorization rather than a placeholder
		ex.auth = &none
	case p.cfg.Provider == Ollama && p.cfg.APIKey != "":
		key := p.cfg.APIKey // Ollama behind an authenticating proxy
		ex.auth = &key
	}
	return ex
}

// judge turns one attempt's findings into whether another attempt may
// help, and the attempt's error (nil for success).
func (p *provider) judge(ctx context.Context, out outcome, c *call, genErr error) (bool, error) {
	started, deltaErr := c.state()
	if deltaErr != nil {
		return false, deltaErr
	}
	if ctx.Err() != nil {
		return false, p.stopped(ctx)
	}
	e := &Error{Provider: p.cfg.Provider, URL: p.cfg.BaseURL, Status: out.status, RetryAfter: out.retryAfter, Started: started}
	switch {
	case out.timedOut && !out.connected:
		e.Kind, e.Message = ErrUnreachable, fmt.Sprintf("no connection after %s", p.cfg.Timeout)
		return false, e
	case out.timedOut && !started:
		e.Kind, e.Message = ErrTimeout, fmt.Sprintf("the model sent nothing for %s", p.cfg.Timeout)
		return false, e
	case out.timedOut:
		e.Kind, e.Message = ErrTimeout, fmt.Sprintf("the model stopped sending for %s in the middle of its reply", p.cfg.Timeout)
		return false, e
	case out.connErr != nil:
		e.Kind, e.Message, e.Err = ErrUnreachable, describeConnErr(out.connErr), out.connErr
		return !isCertError(out.connErr), e
	case out.status != 0 && (out.status < 200 || out.status > 299):
		e.Message, e.Err = out.message, genErr
		switch {
		case out.status == http.StatusUnauthorized || out.status == http.StatusForbidden:
			e.Kind = ErrAuth
		case out.status == http.StatusTooManyRequests:
			e.Kind = ErrRateLimited
		case out.status >= 500:
			e.Kind = ErrUnavailable
		default:
			e.Kind = ErrBadRequest
		}
		return e.Kind == ErrRateLimited || e.Kind == ErrUnavailable, e
	case out.readErr != nil:
		e.Kind, e.Message, e.Err = ErrInterrupted, out.readErr.Error(), out.readErr
		var we *wireError
		return !started && errors.As(out.readErr, &we) && we.transient, e
	case genErr != nil && out.done && errors.Is(genErr, anthropic.ErrEmptyResponse):
		return false, nil // a complete stream with no text: an empty reply
	case genErr != nil && !out.sent:
		e.Kind, e.Message, e.Err = ErrBadRequest, "the request could not be built: "+genErr.Error(), genErr
		return false, e
	case genErr != nil:
		e.Kind, e.Message, e.Err = ErrInterrupted, genErr.Error(), genErr
		return false, e
	case !out.done:
		// langchaingo stopped reading without an error and before the end
		// marker; strictBody would have reported a cut stream, so this is
		// a client that gave up early.
		e.Kind, e.Message = ErrInterrupted, "the stream ended before its end marker"
		return false, e
	}
	return false, nil
}

// stopped is the error for a caller's context that ended.
func (p *provider) stopped(ctx context.Context) error {
	return fmt.Errorf("llm: stopped waiting for %s: %w", p.cfg.Provider, ctx.Err())
}

// describeConnErr says in a few words why a connection failed.
func describeConnErr(err error) string {
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return "no such host " + dnsErr.Name
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return "the server closed the connection without answering"
	case isCertError(err):
		return "its TLS certificate was not accepted: " + err.Error()
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Err != nil {
		return opErr.Err.Error()
	}
	return err.Error()
}

// isCertError reports whether err is a TLS certificate failure, which no
// retry will fix.
func isCertError(err error) bool {
	var verr *tls.CertificateVerificationError
	var uerr x509.UnknownAuthorityError
	var herr x509.HostnameError
	return errors.As(err, &verr) || errors.As(err, &uerr) || errors.As(err, &herr)
}

// call is the state of one Stream call shared with langchaingo's
// streaming callback, which may run on another goroutine.
type call struct {
	onDelta func(string) error

	mu      sync.Mutex
	attempt int // the attempt whose deltas are taken
	buf     strings.Builder
	started bool
	err     error // onDelta's error
	closed  bool  // Stream returned: no more deltas
}

// errLate stops a langchaingo reader that outlived its attempt.
var errLate = errors.New("llm: delta after its attempt ended")

// deliverer is the streaming callback of one attempt. It passes non-empty
// chunks to onDelta, in order, never after a later attempt began or Stream
// returned.
func (c *call) deliverer(attempt int) func(context.Context, []byte) error {
	c.mu.Lock()
	c.attempt = attempt
	c.mu.Unlock()
	return func(_ context.Context, chunk []byte) error {
		if len(chunk) == 0 {
			return nil // OpenAI's role and finish chunks carry no text
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.closed || c.attempt != attempt {
			return errLate
		}
		if c.err != nil {
			return c.err
		}
		text := string(chunk)
		c.buf.WriteString(text)
		c.started = true
		if err := c.onDelta(text); err != nil {
			c.err = err
			return err
		}
		return nil
	}
}

func (c *call) state() (started bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.started, c.err
}

func (c *call) text() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

func (c *call) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
}
