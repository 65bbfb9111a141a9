package api

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/timbre-ai/timbre/accounts"
)

// sessionCookie holds the session token.
const sessionCookie = "timbre_session"

// csrfHeader carries the CSRF token on cookie-authenticated mutations.
const csrfHeader = "X-CSRF-Token"

// identity is who made a request, set by identify.
type identity struct {
	user    accounts.User
	session *accounts.Session // nil when authenticated by API key
	key     *accounts.APIKey
}

const identityKey = "timbre.identity"

func identityOf(c echo.Context) *identity {
	id, _ := c.Get(identityKey).(*identity)
	return id
}

func callerID(c echo.Context) string {
	if id := identityOf(c); id != nil {
		return id.user.ID
	}
	return ""
}

// identify resolves the session cookie or bearer key, if any. A bearer key
// that is wrong or revoked fails the request at once; a stale cookie is
// treated as no cookie (it is cleared), so public pages keep working.
func (h *handlers) identify(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		if authz := c.Request().Header.Get(echo.HeaderAuthorization); authz != "" {
			scheme, key, _ := strings.Cut(authz, " ")
			if !strings.EqualFold(scheme, "Bearer") || key == "" {
				return newError(http.StatusUnauthorized, "unauthenticated", "Authorization must be 'Bearer <api key>'.")
			}
			user, k, err := h.accounts.AuthenticateKey(ctx, strings.TrimSpace(key))
			if err != nil {
				return err
			}
			c.Set(identityKey, &identity{user: user, key: &k})
			return next(c)
		}
		if ck, err := c.Cookie(sessionCookie); err == nil && ck.Value != "" {
			user, sess, err := h.accounts.Authenticate(ctx, ck.Value)
			switch {
			case err == nil:
				c.Set(identityKey, &identity{user: user, session: &sess})
			case errors.Is(err, accounts.ErrUnauthenticated):
				h.clearSessionCookie(c)
			default:
				return err
			}
		}
		return next(c)
	}
}

// requireUser rejects anonymous requests and, for cookie-authenticated
// mutations, requests without the session's CSRF token.
func (h *handlers) requireUser(next echo.HandlerFunc) echo.HandlerFunc {
	check := h.csrfIfSession(next)
	return func(c echo.Context) error {
		if identityOf(c) == nil {
			return accounts.ErrUnauthenticated
		}
		return check(c)
	}
}

// requireKey rejects requests not authenticated by an API key. The
// OpenAI-compatible surface takes keys only, as OpenAI's clients send them.
func (h *handlers) requireKey(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if id := identityOf(c); id == nil || id.key == nil {
			return &Error{Status: http.StatusUnauthorized, Code: "invalid_api_key", Err: accounts.ErrUnauthenticated,
				Message: "Send an API key as 'Authorization: Bearer <key>' (create one on the API keys page or with POST /api/keys)."}
		}
		return next(c)
	}
}

// csrfIfSession checks the CSRF token when a session cookie authenticated a
// state-changing request. API keys are not sent by browsers on their own, so
// they need no CSRF token.
func (h *handlers) csrfIfSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := identityOf(c)
		if id != nil && id.session != nil && !safeMethod(c.Request().Method) {
			got := c.Request().Header.Get(csrfHeader)
			if subtle.ConstantTimeCompare([]byte(got), []byte(id.session.CSRFToken)) != 1 {
				return newError(http.StatusForbidden, "csrf_token_invalid",
					"Missing or wrong X-CSRF-Token header; read it from GET /api/me.")
			}
		}
		return next(c)
	}
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// rateLimited applies the per-IP limit for signup and login.
func (h *handlers) rateLimited(c echo.Context) error {
	ok, wait := h.limiter.allow(c.RealIP(), time.Now())
	if !ok {
		return &Error{Status: http.StatusTooManyRequests, Code: "rate_limited",
			Message: "Too many attempts from this address; try again later.", RetryAfter: wait}
	}
	return nil
}

func (h *handlers) setSessionCookie(c echo.Context, s accounts.Session) {
	c.SetCookie(&http.Cookie{
		Name: sessionCookie, Value: s.Token, Path: "/", Expires: s.ExpiresAt,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: h.cfg.SecureCookies,
	})
}

func (h *handlers) clearSessionCookie(c echo.Context) {
	c.SetCookie(&http.Cookie{
		Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: h.cfg.SecureCookies,
	})
}
