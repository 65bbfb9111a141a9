package api_test

import (
	"strings"
	"testing"
)

// TestBadInput: every malformed request gets the right status, a stable code
// and, where there is one, the field at fault.
func TestBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.signup("alice")
	bob := e.signup("bob")
	private := alice.json("POST", "/api/agents", map[string]any{"name": "Secret"}).must(t, 201).json(t)["agent"].(map[string]any)["id"].(string)
	anon := e.client()

	cases := []struct {
		name   string
		c      *client
		method string
		path   string
		ct     string
		body   string
		status int
		code   string
		field  string
	}{
		{"malformed json", alice, "POST", "/api/agents", "application/json", `{"name": "x",}`, 400, "invalid_request", "body"},
		{"json array", alice, "POST", "/api/agents", "application/json", `["x"]`, 400, "invalid_request", "body"},
		{"wrong type", alice, "POST", "/api/agents", "application/json", `{"name": 42}`, 400, "invalid_request", "name"},
		{"wrong nested type", alice, "POST", "/api/agents", "application/json", `{"name": "x", "llm": {"temperature": "hot"}}`, 400, "invalid_request", "llm.temperature"},
		{"temperature range", alice, "POST", "/api/agents", "application/json", `{"name": "x", "llm": {"temperature": 9}}`, 400, "invalid_request", "llm.temperature"},
		{"unknown field", alice, "POST", "/api/agents", "application/json", `{"name": "x", "nmae": "y"}`, 400, "invalid_request", "nmae"},
		{"lorebook entry wrong type", alice, "POST", "/api/agents", "application/json", `{"name": "x", "character_book": {"entries": [{"keys": "lamp", "content": "c"}]}}`, 400, "invalid_request", "character_book.entries[0].keys"},
		{"lorebook bad position", alice, "POST", "/api/agents", "application/json", `{"name": "x", "character_book": {"entries": [{"keys": ["a"], "content": "c", "position": "middle"}]}}`, 400, "invalid_request", "character_book.entries[0].position"},
		{"nul in name", alice, "POST", "/api/agents", "application/json", `{"name": "a\u0000b"}`, 400, "invalid_request", "name"},
		{"nul in description", alice, "POST", "/api/agents", "application/json", `{"name": "a", "description": "x\u0000"}`, 400, "invalid_request", "description"},
		{"nul in an extension", alice, "POST", "/api/agents", "application/json", `{"name": "a", "extensions": {"k": ["\u0000"]}}`, 400, "invalid_request", "card"},
		{"nul in a lorebook entry", alice, "POST", "/api/agents", "application/json", `{"name": "a", "character_book": {"entries": [{"keys": ["k"], "content": "\u0000"}]}}`, 400, "invalid_request", "character_book.entries[0].content"},
		{"invalid utf-8", alice, "POST", "/api/agents", "application/json", "{\"name\": \"\xff\"}", 400, "invalid_request", "body"},
		{"missing name", alice, "POST", "/api/agents", "application/json", `{"description": "no name"}`, 400, "invalid_request", "name"},
		{"bad visibility", alice, "POST", "/api/agents", "application/json", `{"name": "x", "visibility": "everyone"}`, 400, "invalid_request", "visibility"},
		{"wrong content type", alice, "POST", "/api/agents", "text/plain", `{"name": "x"}`, 415, "unsupported_media_type", ""},
		{"no content type", alice, "POST", "/api/agents", "", `{"name": "x"}`, 415, "unsupported_media_type", ""},
		{"body over limit", alice, "POST", "/api/agents", "application/json", `{"name": "` + strings.Repeat("a", 70<<10) + `"}`, 413, "body_too_large", ""},
		{"signup wrong type", anon, "POST", "/api/auth/signup", "application/json", `{"email": ["a"], "password": "12345678", "display_name": "A"}`, 400, "invalid_request", "email"},
		{"signup bad email", anon, "POST", "/api/auth/signup", "application/json", `{"email": "nope", "password": "12345678", "display_name": "A"}`, 400, "invalid_request", "email"},
		{"login missing password", anon, "POST", "/api/auth/login", "application/json", `{"email": "a@example.com"}`, 400, "invalid_request", "password"},
		{"anonymous create", anon, "POST", "/api/agents", "application/json", `{"name": "x"}`, 401, "unauthenticated", ""},
		{"anonymous mine", anon, "GET", "/api/agents?scope=mine", "", ``, 401, "unauthenticated", ""},
		{"someone else's private agent", bob, "GET", "/api/agents/" + private, "", ``, 404, "agent_not_found", ""},
		{"someone else's private agent export", bob, "GET", "/api/agents/" + private + "/export", "", ``, 404, "agent_not_found", ""},
		{"patch someone else's private agent", bob, "PATCH", "/api/agents/" + private, "application/json", `{"name": "mine now"}`, 404, "agent_not_found", ""},
		{"delete someone else's private agent", bob, "DELETE", "/api/agents/" + private, "", ``, 404, "agent_not_found", ""},
		{"garbage id", alice, "GET", "/api/agents/'%20OR%201=1", "", ``, 404, "agent_not_found", ""},
		{"bad cursor", alice, "GET", "/api/agents?cursor=bm9wZQ", "", ``, 400, "invalid_request", "cursor"},
		{"forged cursor", alice, "GET", "/api/agents?cursor=eyJ0IjoiMjAyNi0wMS0wMVQwMDowMDowMFoiLCJpIjoiXHUwMDAwIn0", "", ``, 400, "invalid_request", "cursor"},
		{"bad scope", alice, "GET", "/api/agents?scope=all", "", ``, 400, "invalid_request", "scope"},
		{"bad limit", alice, "GET", "/api/agents?limit=1000", "", ``, 400, "invalid_request", "limit"},
		{"bad export format", alice, "GET", "/api/agents/" + private + "/export?format=docx", "", ``, 400, "invalid_request", "format"},
		{"bad version number", alice, "GET", "/api/agents/" + private + "/versions/zero", "", ``, 400, "invalid_request", "number"},
		{"missing version", alice, "GET", "/api/agents/" + private + "/versions/7", "", ``, 404, "agent_not_found", ""},
		{"import as json body", alice, "POST", "/api/agents/import", "application/json", `{}`, 415, "unsupported_media_type", ""},
		{"unknown route", alice, "GET", "/api/nothing-here", "", ``, 404, "not_found", ""},
		{"wrong method", alice, "PUT", "/api/keys", "application/json", `{}`, 405, "method_not_allowed", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var body *strings.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			var r response
			if body != nil {
				r = tc.c.do(tc.method, tc.path, tc.ct, body)
			} else {
				r = tc.c.do(tc.method, tc.path, tc.ct, nil)
			}
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			code, field := r.errorCode(t)
			if code != tc.code || field != tc.field {
				t.Fatalf("code, field = %q, %q; want %q, %q (%s)", code, field, tc.code, tc.field, r.body)
			}
		})
	}
	if n := e.count("agents"); n != 1 {
		t.Fatalf("bad requests wrote agents: %d rows, want 1", n)
	}
}
