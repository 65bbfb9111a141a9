package fetch

import (
	"errors"
	"fmt"
	"net/netip"
)

// The messages below are shown to users, so they say what went wrong in plain
// words; the errors that wrap them add the URL or address concerned.

// ErrInvalidURL means the URL cannot be fetched as written: it is not http or
// https, carries a user name or password, has no host or a bad port, or is
// longer than 2048 characters.
var ErrInvalidURL = errors.New("invalid URL")

// ErrForbiddenAddress means the URL, a redirect, or the name it resolves to
// points at an address the fetcher refuses (loopback, private, link-local and
// so on). Errors that wrap it are *AddressError values that name the address.
var ErrForbiddenAddress = errors.New("address not allowed")

// ErrTooLarge means the response body exceeds Config.MaxBytes. The fetcher
// never returns a silently truncated document.
var ErrTooLarge = errors.New("document too large")

// ErrTimeout means the whole fetch, redirects and body included, did not
// finish within Config.Timeout.
var ErrTimeout = errors.New("timed out")

// ErrStatus means the server answered with a status other than 2xx. Errors
// that wrap it are *StatusError values that carry the status.
var ErrStatus = errors.New("the site answered with an error")

// ErrTooManyRedirects means the server redirected more than
// Config.MaxRedirects times.
var ErrTooManyRedirects = errors.New("too many redirects")

// ErrInsecureRedirect means an https URL redirected to plain http. The
// fetcher refuses such downgrades so that a document asked for over TLS is
// never read over an unauthenticated connection.
var ErrInsecureRedirect = errors.New("refused a redirect from https to http")

// ErrUnreachable means the host could not be resolved or connected to, or the
// connection failed (TLS error, connection reset) before the body was read.
var ErrUnreachable = errors.New("could not reach the site")

// AddressError reports an address refused by the fetcher's policy.
type AddressError struct {
	// Host is the name the URL used; empty when the URL held the address itself.
	Host string
	// Addr is the refused address.
	Addr netip.Addr
	// Class names the kind of address, as in "link-local" or "private".
	Class string
}

// Error says which address was refused, why, and how an operator may permit it.
func (e *AddressError) Error() string {
	target := e.Addr.String()
	if e.Host != "" && e.Host != target {
		target = e.Host + " (" + target + ")"
	}
	return fmt.Sprintf("refused to fetch %s: %s addresses are not allowed (set TIMBRE_FETCH_ALLOW to permit)", target, e.Class)
}

// Unwrap makes errors.Is(err, ErrForbiddenAddress) true.
func (e *AddressError) Unwrap() error { return ErrForbiddenAddress }

// StatusError reports a response whose status is not 2xx.
type StatusError struct {
	// Code is the numeric HTTP status, as in 404.
	Code int
	// Status is the status line's text, as in "404 Not Found".
	Status string
}

// Error gives the status the site answered with.
func (e *StatusError) Error() string {
	return "the site answered " + e.Status
}

// Unwrap makes errors.Is(err, ErrStatus) true.
func (e *StatusError) Unwrap() error { return ErrStatus }
