package fetch

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Defaults for the Config fields left zero.
const (
	DefaultTimeout      = 20 * time.Second
	DefaultMaxBytes     = 20 << 20
	DefaultMaxRedirects = 5
	DefaultUserAgent    = "Timbre/1 (+knowledge fetcher)"
)

// MaxURLLength is the longest URL, in bytes, that the fetcher accepts.
const MaxURLLength = 2048

// acceptHeader asks for the formats knowledge/extract reads, best first, and
// still takes anything else rather than provoke a 406 from strict servers.
const acceptHeader = "text/html,application/xhtml+xml;q=0.9,application/pdf;q=0.9,text/plain;q=0.8,text/markdown;q=0.8,*/*;q=0.1"

// Config sets how a Fetcher fetches. Every zero field takes its default.
type Config struct {
	// Allow lists addresses that the policy would refuse but the operator
	// permits, usually parsed by ParseAllow from TIMBRE_FETCH_ALLOW.
	Allow []netip.Prefix
	// Timeout bounds the whole fetch: resolution, redirects and body.
	// Zero means DefaultTimeout.
	Timeout time.Duration
	// MaxBytes bounds the body after content decoding. Zero means
	// DefaultMaxBytes.
	MaxBytes int64
	// MaxRedirects is how many redirects are followed. Zero means
	// DefaultMaxRedirects; a negative value follows none.
	MaxRedirects int
	// UserAgent is sent with every request. Empty means DefaultUserAgent.
	UserAgent string
}

// Page is a fetched document.
type Page struct {
	// URL is the final URL, after redirects.
	URL string
	// ContentType is the response's Content-Type header, or the type sniffed
	// from the body when the server sent none.
	ContentType string
	// Filename comes from Content-Disposition or else the last segment of the
	// final URL's path, stripped of directories and characters unsafe in file
	// names; it is empty when neither gives one.
	Filename string
	// Body is the whole response body, decoded from any Content-Encoding.
	Body []byte
}

// resolver looks up host names; *net.Resolver satisfies it and tests stub it.
type resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// errDeadline is the cause a fetch's own timeout gives its context, which
// tells it apart from the caller's cancellation.
var errDeadline = errors.New("fetch: timeout")

// Fetcher fetches http and https URLs under the address policy. It is safe for
// concurrent use.
type Fetcher struct {
	timeout      time.Duration
	maxBytes     int64
	maxRedirects int
	userAgent    string
	policy       policy
	resolver     resolver
	dialer       *net.Dialer
	transport    *http.Transport
	client       *http.Client
}

// New returns a Fetcher for cfg, with defaults for its zero fields.
func New(cfg Config) *Fetcher {
	f := &Fetcher{
		timeout:      cfg.Timeout,
		maxBytes:     cfg.MaxBytes,
		maxRedirects: cfg.MaxRedirects,
		userAgent:    cfg.UserAgent,
		policy:       policy{allow: append([]netip.Prefix(nil), cfg.Allow...)},
		resolver:     net.DefaultResolver,
	}
	if f.timeout <= 0 {
		f.timeout = DefaultTimeout
	}
	if f.maxBytes <= 0 {
		f.maxBytes = DefaultMaxBytes
	}
	switch {
	case f.maxRedirects == 0:
		f.maxRedirects = DefaultMaxRedirects
	case f.maxRedirects < 0:
		f.maxRedirects = 0
	}
	if f.userAgent == "" {
		f.userAgent = DefaultUserAgent
	}
	f.dialer = &net.Dialer{
		KeepAlive:      30 * time.Second,
		ControlContext: f.control,
	}
	if f.timeout > 10*time.Second {
		// With several addresses, one that drops packets must not use up
		// the whole fetch before the next is tried.
		f.dialer.Timeout = 10 * time.Second
	}
	f.transport = &http.Transport{
		// Never a proxy: a proxy would make the connection, so the dial-time
		// check would see the proxy's address instead of the target's.
		Proxy:                  nil,
		DialContext:            f.dialContext,
		ForceAttemptHTTP2:      true,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    10 * time.Second,
		MaxIdleConns:           16,
		IdleConnTimeout:        30 * time.Second,
		MaxResponseHeaderBytes: 256 << 10,
	}
	f.client = &http.Client{
		Transport:     f.transport,
		CheckRedirect: f.checkRedirect,
	}
	return f
}

// Check validates raw without fetching it: syntax, scheme, host and port,
// then resolves the host and applies the address policy to every address.
// It returns the URL in the form Fetch requests it: host canonicalised (IPv4
// written in any inet_aton form becomes dotted decimal, names become
// lowercase ASCII), port without leading zeros, fragment dropped. Errors wrap
// ErrInvalidURL, ErrForbiddenAddress (as *AddressError) or ErrUnreachable.
//
// Check alone does not make a later request safe, because DNS may answer
// differently next time; Fetch enforces the policy again on each connection.
func (f *Fetcher) Check(ctx context.Context, raw string) (*url.URL, error) {
	u, err := parseURL(raw)
	if err != nil {
		return nil, err
	}
	host, _, err := f.resolve(ctx, u.Hostname())
	if err != nil {
		return nil, err
	}
	u.Host = joinHostPort(host, u.Port())
	return u, nil
}

// Fetch GETs raw and returns the document. Redirects are followed up to
// Config.MaxRedirects, each target checked like raw; an https URL never
// redirects to http. Errors wrap the package's sentinels, or the caller's
// context error when ctx ends first.
func (f *Fetcher) Fetch(ctx context.Context, raw string) (Page, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, f.timeout, errDeadline)
	defer cancel()

	u, err := f.Check(ctx, raw)
	if err != nil {
		if ctx.Err() != nil {
			return Page{}, f.describe(ctx, shorten(raw), err)
		}
		return Page{}, err
	}
	shown := shorten(u.String())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return Page{}, fmt.Errorf("%w %s: %w", ErrInvalidURL, shown, err)
	}
	req.Header.Set("User-Agent", f.userAgent)
	req.Header.Set("Accept", acceptHeader)

	resp, err := f.client.Do(req)
	if err != nil {
		return Page{}, f.describe(ctx, shown, err)
	}
	defer resp.Body.Close()

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return Page{}, fmt.Errorf("fetching %s: %w", shown, newStatusError(resp.StatusCode))
	}
	if resp.ContentLength > f.maxBytes {
		return Page{}, f.tooLarge(shown)
	}
	limit := f.maxBytes
	if limit < math.MaxInt64 {
		limit++ // one byte past the limit tells "exactly MaxBytes" from "more"
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		return Page{}, f.describe(ctx, shown, err)
	}
	if int64(len(body)) > f.maxBytes {
		return Page{}, f.tooLarge(shown)
	}

	final := resp.Request.URL
	contentType := resp.Header.Get("Content-Type")
	if contentType == "" {
		contentType = http.DetectContentType(body)
	}
	return Page{
		URL:         final.String(),
		ContentType: contentType,
		Filename:    filename(resp.Header.Get("Content-Disposition"), final),
		Body:        body,
	}, nil
}

// CloseIdleConnections closes connections kept alive from earlier fetches.
func (f *Fetcher) CloseIdleConnections() {
	f.transport.CloseIdleConnections()
}

// checkRedirect bounds the chain, refuses https-to-http downgrades and runs
// every target through Check, replacing it with the canonical form so that
// the request goes where the policy looked.
func (f *Fetcher) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > f.maxRedirects {
		return fmt.Errorf("%w (more than %d)", ErrTooManyRedirects, f.maxRedirects)
	}
	if req.URL.Scheme == "http" {
		for _, v := range via {
			if v.URL.Scheme == "https" {
				return fmt.Errorf("%w (%s to %s)", ErrInsecureRedirect, shorten(v.URL.String()), shorten(req.URL.String()))
			}
		}
	}
	u, err := f.Check(req.Context(), req.URL.String())
	if err != nil {
		return err
	}
	req.URL = u
	return nil
}

// resolve normalises a URL host, resolves it when it is a name, and admits
// the addresses under the policy. host is the canonical form.
func (f *Fetcher) resolve(ctx context.Context, raw string) (host string, addrs []netip.Addr, err error) {
	host, addr, err := normalizeHost(raw)
	if err != nil {
		return "", nil, fmt.Errorf("%w: %w", ErrInvalidURL, err)
	}
	if addr.IsValid() {
		addrs = []netip.Addr{addr}
	} else {
		addrs, err = f.resolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return "", nil, fmt.Errorf("%w: looking up %s: %w", ErrUnreachable, host, err)
		}
		if len(addrs) == 0 {
			return "", nil, fmt.Errorf("%w: %s has no addresses", ErrUnreachable, host)
		}
	}
	for i, a := range addrs {
		// Go's resolver reports IPv4 answers in IPv4-mapped form; unmapping
		// changes nothing the policy decides but gives plain messages.
		addrs[i] = a.Unmap().WithZone("")
	}
	if err := f.policy.admit(raw, addrs); err != nil {
		return "", nil, err
	}
	return host, addrs, nil
}

// dialContext is the transport's only way to open connections. It resolves
// the host itself, admits the addresses and dials them by number, so the
// resolver that the policy saw is the one whose answer is used; control then
// checks the socket's address once more.
func (f *Fetcher) dialContext(ctx context.Context, network, address string) (net.Conn, error) {
	h, p, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("fetch: dial %q: %w", address, err)
	}
	port, err := strconv.ParseUint(p, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("fetch: dial %q: bad port", address)
	}
	_, addrs, err := f.resolve(ctx, h)
	if err != nil {
		return nil, err
	}
	var first error
	for _, a := range addrs {
		conn, err := f.dialer.DialContext(ctx, network, netip.AddrPortFrom(a.Unmap(), uint16(port)).String())
		if err == nil {
			return conn, nil
		}
		if first == nil {
			first = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, first
}

// control runs on every socket after it is created and before it connects,
// with the numeric address the kernel will use. No resolver, redirect or
// proxy setting can change what it sees, which makes it the check that
// cannot be bypassed.
func (f *Fetcher) control(_ context.Context, network, address string, _ syscall.RawConn) error {
	if network != "tcp4" && network != "tcp6" {
		return fmt.Errorf("%w: network %q is not TCP", ErrForbiddenAddress, network)
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot read dial address %q", ErrForbiddenAddress, address)
	}
	return f.policy.admit("", []netip.Addr{ap.Addr()})
}

// describe turns an error from the client or the body into one that says
// what happened in terms of the package's sentinels.
func (f *Fetcher) describe(ctx context.Context, shown string, err error) error {
	if cause := context.Cause(ctx); cause != nil {
		if errors.Is(cause, errDeadline) {
			return fmt.Errorf("fetching %s %w after %s", shown, ErrTimeout, f.timeout)
		}
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("fetching %s: %w: %w", shown, ErrTimeout, cause)
		}
		return fmt.Errorf("fetching %s: %w", shown, cause)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // drop the repeated method and URL
	}
	var ae *AddressError
	if errors.As(err, &ae) {
		return fmt.Errorf("fetching %s: %w", shown, ae)
	}
	for _, known := range []error{ErrInvalidURL, ErrForbiddenAddress, ErrTooManyRedirects, ErrInsecureRedirect, ErrUnreachable} {
		if errors.Is(err, known) {
			return fmt.Errorf("fetching %s: %w", shown, err)
		}
	}
	return fmt.Errorf("fetching %s: %w: %w", shown, ErrUnreachable, err)
}

func (f *Fetcher) tooLarge(shown string) error {
	return fmt.Errorf("fetching %s: %w (over the %s limit)", shown, ErrTooLarge, formatBytes(f.maxBytes))
}

func newStatusError(code int) *StatusError {
	status := strconv.Itoa(code)
	// The server's own reason phrase is not shown: it is text a hostile site
	// would control.
	if text := http.StatusText(code); text != "" {
		status += " " + text
	}
	return &StatusError{Code: code, Status: status}
}

// parseURL checks everything about raw that needs no network.
func parseURL(raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, fmt.Errorf("%w: the URL is empty", ErrInvalidURL)
	}
	if len(raw) > MaxURLLength {
		return nil, fmt.Errorf("%w: longer than %d characters", ErrInvalidURL, MaxURLLength)
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%w %s: %w", ErrInvalidURL, shorten(raw), err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("%w %s: only http and https links can be fetched", ErrInvalidURL, shorten(raw))
	case u.User != nil:
		return nil, fmt.Errorf("%w %s: links with a user name or password are not fetched", ErrInvalidURL, shorten(raw))
	case u.Host == "" || u.Opaque != "":
		return nil, fmt.Errorf("%w %s: the link has no host", ErrInvalidURL, shorten(raw))
	}
	if p := u.Port(); p != "" {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil || n == 0 {
			return nil, fmt.Errorf("%w %s: port %s is out of range", ErrInvalidURL, shorten(raw), p)
		}
		u.Host = joinHostPort(u.Hostname(), strconv.FormatUint(n, 10))
	}
	u.Fragment, u.RawFragment = "", ""
	return u, nil
}

// joinHostPort writes host and an optional port as a URL authority.
func joinHostPort(host, port string) string {
	if port == "" {
		if strings.Contains(host, ":") {
			return "[" + host + "]"
		}
		return host
	}
	return net.JoinHostPort(host, port)
}

// shorten quotes a URL for a message, cut so that a 2 KB link does not
// become a 2 KB error.
func shorten(s string) string {
	const max = 120
	if len(s) > max {
		cut := max
		for cut > 0 && s[cut]&0xC0 == 0x80 {
			cut-- // do not split a UTF-8 sequence
		}
		s = s[:cut] + "…"
	}
	return strconv.Quote(s)
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}
