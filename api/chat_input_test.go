package api_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestChatBadInput: bad requests get clear errors and store nothing.
func TestChatBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice, bob := e.signup("alice"), e.signup("bob")
	agentID := newAgent(t, alice, map[string]any{"name": "Private", "first_mes": "Hello {{user}}", "alternate_greetings": []string{"Hey {{user}}"}})
	convID, _ := startChat(t, alice, agentID)
	messages := "/api/conversations/" + convID + "/messages"
	before := e.count("messages")

	cases := []struct {
		name   string
		c      *client
		method string
		path   string
		body   any
		status int
		code   string
		field  string
	}{
		{"empty message", alice, "POST", messages, map[string]string{"content": "  \n "}, 400, "empty_message", "content"},
		{"missing content", alice, "POST", messages, map[string]string{}, 400, "invalid_request", "content"},
		{"content of the wrong type", alice, "POST", messages, `{"content": 42}`, 400, "invalid_request", "content"},
		{"unknown field", alice, "POST", messages, map[string]any{"content": "hi", "role": "system"}, 400, "invalid_request", "role"},
		{"malformed JSON", alice, "POST", messages, `{"content": "hi"`, 400, "invalid_request", "body"},
		{"40 kB message", alice, "POST", messages, map[string]string{"content": strings.Repeat("a", 40_000)}, 413, "message_too_large", "content"},
		// This server's body limit is 64 KiB (the default is 1 MiB).
		{"100 kB message", alice, "POST", messages, map[string]string{"content": strings.Repeat("a", 100_000)}, 413, "body_too_large", ""},
		{"NUL in message", alice, "POST", messages, map[string]string{"content": "a\x00b"}, 400, "invalid_request", "content"},
		{"unknown conversation", alice, "POST", "/api/conversations/cnv_aaaaaaaaaaaaaaaa/messages", map[string]string{"content": "hi"}, 404, "conversation_not_found", ""},
		{"garbage conversation id", alice, "GET", "/api/conversations/'; DROP TABLE messages; --", nil, 404, "conversation_not_found", ""},
		{"someone else's conversation", bob, "POST", messages, map[string]string{"content": "hi"}, 404, "conversation_not_found", ""},
		{"someone else's conversation, read", bob, "GET", "/api/conversations/" + convID, nil, 404, "conversation_not_found", ""},
		{"someone else's conversation, delete", bob, "DELETE", "/api/conversations/" + convID, nil, 404, "conversation_not_found", ""},
		{"someone else's private agent", bob, "POST", "/api/agents/" + agentID + "/conversations", nil, 404, "agent_not_found", ""},
		{"unknown agent", alice, "POST", "/api/agents/agt_aaaaaaaaaaaaaaaa/conversations", nil, 404, "agent_not_found", ""},
		{"greeting out of range", alice, "POST", "/api/agents/" + agentID + "/conversations", map[string]int{"greeting": 2}, 400, "invalid_request", "greeting"},
		{"unknown message", alice, "POST", messages + "/msg_aaaaaaaaaaaaaaaa/regenerate", nil, 404, "message_not_found", ""},
		{"bad cursor", alice, "GET", "/api/conversations?cursor=zzz", nil, 400, "invalid_request", "cursor"},
		{"bad limit", alice, "GET", "/api/conversations?limit=1000", nil, 400, "invalid_request", "limit"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.c.json(tc.method, tc.path, tc.body).must(t, tc.status)
			code, field := r.errorCode(t)
			if code != tc.code || field != tc.field {
				t.Fatalf("error %s (field %q), want %s (field %q): %s", code, field, tc.code, tc.field, r.body)
			}
		})
	}
	if after := e.count("messages"); after != before {
		t.Fatalf("refused requests stored %d messages", after-before)
	}

	// Anonymous callers are refused; CSRF applies to cookie sessions.
	anon := e.client()
	anon.json("POST", messages, map[string]string{"content": "hi"}).must(t, http.StatusUnauthorized)
	noCSRF := *alice
	noCSRF.csrf = ""
	noCSRF.json("POST", messages, map[string]string{"content": "hi"}).must(t, http.StatusForbidden)

	// The alternate greeting, listing and delete.
	r := alice.json("POST", "/api/agents/"+agentID+"/conversations", map[string]int{"greeting": 1}).must(t, 201).json(t)
	if g := r["greeting"].(map[string]any); g["content"] != "Hey alice" {
		t.Fatalf("alternate greeting = %v", g)
	}
	list := alice.json("GET", "/api/conversations?agent_id="+agentID+"&limit=1", nil).must(t, 200).json(t)
	if items := list["items"].([]any); len(items) != 1 || list["next_cursor"] == "" {
		t.Fatalf("page 1 = %v", list)
	}
	page2 := alice.json("GET", "/api/conversations?limit=1&cursor="+list["next_cursor"].(string), nil).must(t, 200).json(t)
	if items := page2["items"].([]any); len(items) != 1 || items[0].(map[string]any)["id"] == list["items"].([]any)[0].(map[string]any)["id"] {
		t.Fatalf("page 2 = %v", page2)
	}
	if items := bob.json("GET", "/api/conversations", nil).must(t, 200).json(t)["items"].([]any); len(items) != 0 {
		t.Fatalf("bob sees alice's conversations: %v", items)
	}
	// A conversation with a public agent that goes private stays readable
	// by its user, who may no longer send to it.
	public := newAgent(t, bob, map[string]any{"name": "Fickle", "visibility": "public", "first_mes": "Hi"})
	fickle, _ := startChat(t, alice, public)
	bob.json("PATCH", "/api/agents/"+public, map[string]string{"visibility": "private"}).must(t, 200)
	got := alice.json("GET", "/api/conversations/"+fickle, nil).must(t, 200).json(t)
	if m := got["model"].(map[string]any); m["offline"] != true || len(got["messages"].([]any)) != 1 {
		t.Fatalf("conversation with a now-private agent = %v", got)
	}
	if code, _ := alice.json("POST", "/api/conversations/"+fickle+"/messages", map[string]string{"content": "hi"}).must(t, 404).errorCode(t); code != "agent_not_found" {
		t.Fatalf("sending to a now-private agent: %s", code)
	}

	alice.json("DELETE", "/api/conversations/"+convID, nil).must(t, 204)
	alice.json("GET", "/api/conversations/"+convID, nil).must(t, 404)
}

// TestChatOffline: with no language model, the agent answers from its
// knowledge, quoting and citing the best passages, every reply flagged
// offline; without knowledge it answers from its card.
func TestChatOffline(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.signup("u")
	agentID := newAgent(t, u, map[string]any{"name": "Archivist", "description": "{{char}} guards the town archive for {{user}}."})
	docID := uploadDoc(t, u, agentID, "bells.md", "# The bells\n\nThe harbour bell was cast in 1852 from melted cannons. It rings at noon.\n\n# Tides\n\nHigh tide comes at 6:40.\n")
	convID, greeting := startChat(t, u, agentID)
	if greeting != nil {
		t.Fatalf("a card without first_mes got greeting %v", greeting)
	}
	events := u.streamOKBody(t, "/api/conversations/"+convID+"/messages", map[string]string{"content": "When was the harbour bell cast?"})
	done := last(events).data
	reply := done["message"].(map[string]any)
	content := reply["content"].(string)
	if done["offline"] != true || reply["offline"] != true || done["offline_reason"] == "" {
		t.Fatalf("not flagged offline: %v", done)
	}
	if !strings.HasPrefix(content, "Archivist here.") || !strings.Contains(content, "cast in 1852 from melted cannons") || !strings.Contains(content, "[1]") {
		t.Fatalf("offline reply = %q", content)
	}
	if text(events) != content {
		t.Fatalf("streamed %q, stored %q", text(events), content)
	}
	var citation map[string]any
	for _, ev := range events {
		if ev.name == "citation" && citation == nil {
			citation = ev.data
		}
	}
	if citation == nil || citation["document_id"] != docID || citation["marker"] != 1.0 {
		t.Fatalf("citation = %v", citation)
	}

	// JSON answers say offline too; an agent without knowledge speaks from its card.
	bare := newAgent(t, u, map[string]any{"name": "Bare", "description": "{{char}} sells maps to {{user}}."})
	conv2, _ := startChat(t, u, bare)
	r := u.json("POST", "/api/conversations/"+conv2+"/messages", map[string]string{"content": "hello"}).must(t, 200).json(t)
	msg := r["message"].(map[string]any)
	if r["offline"] != true || !strings.Contains(msg["content"].(string), "Bare sells maps to u.") {
		t.Fatalf("card reply = %v", r)
	}
	conv := u.json("GET", "/api/conversations/"+conv2, nil).must(t, 200).json(t)
	if m := conv["model"].(map[string]any); m["offline"] != true || m["reason"] == "" {
		t.Fatalf("conversation model = %v", m)
	}
	var offline int
	if err := e.pool.QueryRow(t.Context(), `SELECT count(*) FROM usage_events WHERE offline AND provider = 'offline'`).Scan(&offline); err != nil || offline != 2 {
		t.Fatalf("offline usage events = %d (%v), want 2", offline, err)
	}
}
