package api_test

import (
	"net/http"
	"strings"
	"testing"
)

func TestSessionLifecycleAndCSRF(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client()

	r := c.json("POST", "/api/auth/signup", map[string]string{"email": "ada@example.com", "password": "lovelace-1815", "display_name": "Ada"}).must(t, 201)
	var cookie *http.Cookie
	for _, ck := range (&http.Response{Header: r.header}).Cookies() {
		if ck.Name == "timbre_session" {
			cookie = ck
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie = %+v, want HttpOnly SameSite=Lax", cookie)
	}
	if strings.Contains(string(r.body), "password") {
		t.Fatalf("signup response mentions the password: %s", r.body)
	}
	me := c.json("GET", "/api/me", nil).must(t, 200).json(t)
	if me["user"].(map[string]any)["email"] != "ada@example.com" || me["csrf_token"] == "" {
		t.Fatalf("me = %v", me)
	}

	// A cookie-authenticated mutation without the CSRF token is refused.
	if code, _ := c.json("POST", "/api/keys", map[string]string{"name": "k"}).must(t, 403).errorCode(t); code != "csrf_token_invalid" {
		t.Fatalf("code = %q", code)
	}
	c.csrf = "wrong"
	c.json("POST", "/api/keys", map[string]string{"name": "k"}).must(t, 403)
	c.csrf = me["csrf_token"].(string)
	c.json("POST", "/api/keys", map[string]string{"name": "k"}).must(t, 201)

	c.json("POST", "/api/auth/logout", nil).must(t, 204)
	c.json("GET", "/api/me", nil).must(t, 401)

	c.json("POST", "/api/auth/login", map[string]string{"email": "ada@example.com", "password": "nope-nope"}).must(t, 401)
	c.json("POST", "/api/auth/login", map[string]string{"email": "ADA@example.com", "password": "lovelace-1815"}).must(t, 200)
	c.json("GET", "/api/me", nil).must(t, 200)
	c.json("POST", "/api/auth/signup", map[string]string{"email": "Ada@Example.com", "password": "lovelace-1815", "display_name": "Ada"}).must(t, 409)
}

func TestAPIKeysOverHTTP(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner := e.signup("keyowner")
	k := owner.json("POST", "/api/keys", map[string]string{"name": "laptop"}).must(t, 201).json(t)
	secret := k["key"].(string)
	list := owner.json("GET", "/api/keys", nil).must(t, 200)
	if strings.Contains(string(list.body), secret) {
		t.Fatal("the key list shows the secret")
	}
	dev := e.client()
	dev.key = secret
	dev.json("GET", "/api/me", nil).must(t, 200)
	// API keys need no CSRF token: browsers do not attach them on their own.
	dev.json("POST", "/api/agents", map[string]any{"name": "Via key"}).must(t, 201)

	// Someone else cannot revoke it.
	e.signup("stranger").json("DELETE", "/api/keys/"+k["id"].(string), nil).must(t, 404)
	owner.json("DELETE", "/api/keys/"+k["id"].(string), nil).must(t, 204)
	if code, _ := dev.json("GET", "/api/me", nil).must(t, 401).errorCode(t); code != "unauthenticated" {
		t.Fatalf("revoked key: code %q", code)
	}
	// A revoked key fails even on endpoints that allow anonymous callers.
	dev.json("GET", "/api/agents?scope=public", nil).must(t, 401)

	bad := e.client()
	for _, h := range []string{"Basic Zm9vOmJhcg==", "Bearer", "Bearer tmb_nothing", "Bearer " + strings.Repeat("x", 5000)} {
		r := bad.do("GET", "/api/me", "", nil, "Authorization", h)
		if r.status != 401 {
			t.Errorf("Authorization %.30q: status %d, want 401", h, r.status)
		}
	}
}

func TestLoginIsRateLimitedPerIP(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(p *envParams) { p.Config.AuthRatePerMinute = 4 })
	c := e.client()
	var limited response
	for i := range 10 {
		r := c.json("POST", "/api/auth/login", map[string]string{"email": "x@example.com", "password": "whatever1"})
		if r.status == 429 {
			limited = r
			if i < 2 {
				t.Fatalf("limited after only %d attempts", i)
			}
			break
		}
		r.must(t, 401)
	}
	if limited.status != 429 {
		t.Fatal("10 rapid logins were never rate limited")
	}
	if limited.header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	if code, _ := limited.errorCode(t); code != "rate_limited" {
		t.Fatalf("code = %q", code)
	}
}

func TestLogoutEverywhere(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	laptop := e.signup("roamer")
	phone := e.client()
	phone.json("POST", "/api/auth/login", map[string]string{"email": "roamer@example.com", "password": "password-roamer"}).must(t, 200)
	phone.csrf = phone.json("GET", "/api/me", nil).must(t, 200).json(t)["csrf_token"].(string)
	dev := laptop.withKey()

	phone.json("POST", "/api/auth/logout-everywhere", nil).must(t, 200)
	laptop.json("GET", "/api/me", nil).must(t, 401)
	phone.json("GET", "/api/me", nil).must(t, 401)
	dev.json("GET", "/api/me", nil).must(t, 200) // keys are not sessions
	// Without the CSRF token a cookie cannot do it.
	other := e.signup("victim")
	other.csrf = ""
	other.json("POST", "/api/auth/logout-everywhere", nil).must(t, 403)
}
