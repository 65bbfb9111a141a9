package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/timbre-ai/timbre/agents/llm/llmtest"
)

// TestChatProviderFaults: whatever the model server does wrong, the client
// gets a clear error event (or, for a passing 429, the reply), the user's
// message and any partial reply are kept and marked, and nothing hangs.
func TestChatProviderFaults(t *testing.T) {
	t.Parallel()
	pieces := llmtest.Split(llmtest.DefaultReply)
	partial := func(n int) string { return strings.Join(pieces[:n], "") }
	cases := []struct {
		name     string
		provider string
		faults   []llmtest.Fault
		code     string // "" for success
		partial  string
		requests int
	}{
		{name: "429 then 200", provider: "openai", faults: []llmtest.Fault{llmtest.Status(429, 0)}, requests: 2},
		{name: "503 twice then 200", provider: "ollama", faults: []llmtest.Fault{llmtest.Status(503, 0), llmtest.Status(503, 0)}, requests: 3},
		{name: "500 on every attempt", provider: "openai", faults: []llmtest.Fault{llmtest.Status(500, 0), llmtest.Status(500, 0), llmtest.Status(500, 0)},
			code: "llm_unavailable", requests: 3},
		{name: "500 mid-stream", provider: "openai", faults: []llmtest.Fault{{Break: llmtest.ErrorEvent, After: 3}}, code: "llm_interrupted", partial: partial(3), requests: 1},
		{name: "malformed chunk", provider: "openai", faults: []llmtest.Fault{{Break: llmtest.Malformed, After: 2}}, code: "llm_interrupted", partial: partial(2), requests: 1},
		{name: "malformed ollama line", provider: "ollama", faults: []llmtest.Fault{{Break: llmtest.Malformed, After: 2}}, code: "llm_interrupted", partial: partial(2), requests: 1},
		{name: "dropped connection", provider: "openai", faults: []llmtest.Fault{{Break: llmtest.Drop, After: 4}}, code: "llm_interrupted", partial: partial(4), requests: 1},
		{name: "stream cut without [DONE]", provider: "openai", faults: []llmtest.Fault{{Break: llmtest.Truncate, After: 100}}, code: "llm_interrupted", partial: llmtest.DefaultReply, requests: 1},
		{name: "stall mid-stream", provider: "openai", faults: []llmtest.Fault{{Break: llmtest.Stall, After: 2}}, code: "llm_timeout", partial: partial(2), requests: 1},
		{name: "stall before headers", provider: "anthropic", faults: []llmtest.Fault{{Break: llmtest.Stall, After: -1}}, code: "llm_timeout", requests: 1},
		{name: "401", provider: "openai", faults: []llmtest.Fault{llmtest.Status(401, 0)}, code: "llm_auth_failed", requests: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := llmtest.NewServer(t, llmtest.Config{})
			fake.Push(tc.faults...)
			e := newEnv(t, withModel(fake, tc.provider, 300*time.Millisecond))
			u := e.signup("u")
			convID, _ := startChat(t, u, newAgent(t, u, map[string]any{"name": "Fault", "first_mes": "Hi."}))
			status, events := u.stream("/api/conversations/"+convID+"/messages", map[string]string{"content": "Hello there"}, nil)
			if status != 200 {
				t.Fatalf("status %d: %v", status, last(events).data)
			}
			end := last(events)
			_, msgs := conversation(t, u, convID)
			if len(msgs) != 3 || msgs[1]["role"] != "user" || msgs[1]["content"] != "Hello there" {
				t.Fatalf("messages after the turn: %v", msgs)
			}
			reply := msgs[2]
			if tc.code == "" {
				if end.name != "done" || reply["status"] != "complete" || reply["content"] != llmtest.DefaultReply {
					t.Fatalf("want a complete reply; last event %s %v, stored %v", end.name, end.data, reply)
				}
			} else {
				if end.name != "error" {
					t.Fatalf("last event %s %v, want error", end.name, end.data)
				}
				e := end.data["error"].(map[string]any)
				if e["code"] != tc.code || e["message"] == "" {
					t.Fatalf("error event %v, want code %s", e, tc.code)
				}
				if reply["status"] != "failed" || reply["error"] == "" || reply["content"] != tc.partial || text(events) != tc.partial {
					t.Fatalf("stored reply %v (streamed %q), want failed with partial %q", reply, text(events), tc.partial)
				}
			}
			if !fake.WaitIdle(5 * time.Second) {
				t.Fatal("the fake model still has a request running: the provider stream was not closed")
			}
			if got := len(fake.Requests()); got != tc.requests {
				t.Fatalf("%d requests to the model, want %d", got, tc.requests)
			}
			var status2 string
			if err := e.pool.QueryRow(context.Background(), `SELECT status FROM usage_events`).Scan(&status2); err != nil {
				t.Fatalf("usage event: %v", err)
			}
			if want := map[bool]string{true: "complete", false: "failed"}[tc.code == ""]; status2 != want {
				t.Fatalf("usage event status %q, want %q", status2, want)
			}
		})
	}
}

// TestChatClientLeaves: a client that goes away mid-reply stops the model's
// stream; the partial reply is stored as stopped, and the conversation is
// free for the next turn.
func TestChatClientLeaves(t *testing.T) {
	t.Parallel()
	fake := llmtest.NewServer(t, llmtest.Config{Interval: 20 * time.Millisecond})
	fake.Push(llmtest.Fault{Break: llmtest.Stall, After: 3})
	e := newEnv(t, withModel(fake, "openai", 10*time.Second))
	u := e.signup("u")
	convID, _ := startChat(t, u, newAgent(t, u, map[string]any{"name": "Leaver"}))
	deltas := 0
	u.stream("/api/conversations/"+convID+"/messages", map[string]string{"content": "Talk to me"}, func(ev sseEvent) bool {
		if ev.name == "delta" {
			deltas++
		}
		return deltas < 3
	})
	if !fake.WaitIdle(5 * time.Second) {
		t.Fatal("the model's request is still open after the client left")
	}
	var reply map[string]any
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, msgs := conversation(t, u, convID)
		reply = msgs[len(msgs)-1]
		if reply["status"] != "streaming" || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if want := strings.Join(llmtest.Split(llmtest.DefaultReply)[:3], ""); reply["status"] != "stopped" || reply["content"] != want {
		t.Fatalf("reply %v, want stopped with %q", reply, want)
	}
	// The conversation takes the next turn.
	u.streamOKBody(t, "/api/conversations/"+convID+"/messages", map[string]string{"content": "Again"})
}

// TestChatBusy: a second turn while a reply streams is refused with 409.
func TestChatBusy(t *testing.T) {
	t.Parallel()
	fake := llmtest.NewServer(t, llmtest.Config{})
	fake.Push(llmtest.Fault{Break: llmtest.Stall, After: 1})
	e := newEnv(t, withModel(fake, "openai", 10*time.Second))
	u := e.signup("u")
	convID, _ := startChat(t, u, newAgent(t, u, map[string]any{"name": "Busy"}))
	started := make(chan struct{})
	finished := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		defer close(finished)
		u.streamCtx(ctx, "/api/conversations/"+convID+"/messages", map[string]string{"content": "first"}, func(ev sseEvent) bool {
			if ev.name == "delta" {
				close(started)
			}
			return true
		})
	}()
	<-started
	r := u.json("POST", "/api/conversations/"+convID+"/messages", map[string]string{"content": "second"})
	if code, _ := r.must(t, 409).errorCode(t); code != "conversation_busy" {
		t.Fatalf("second turn: %s", code)
	}
	cancel()
	<-finished
}

// TestChatCrashedReply: a reply left "streaming" by a server that died is
// taken for stale once it goes unrenewed, marked failed, and the
// conversation goes on; a live one keeps the conversation busy.
func TestChatCrashedReply(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(p *envParams) { p.chatCfg.RenewEvery = time.Second })
	u := e.signup("u")
	convID, _ := startChat(t, u, newAgent(t, u, map[string]any{"name": "Phoenix", "first_mes": "Hi."}))
	crashed := "msg_crashedcrashedcr"
	_, err := e.pool.Exec(context.Background(), `INSERT INTO messages (id, conversation_id, seq, role, content, status)
		VALUES ($1, $2, 2, 'assistant', 'half a rep', 'streaming')`, crashed, convID)
	if err != nil {
		t.Fatal(err)
	}
	// Renewed just now: another server may be writing it.
	if code, _ := u.json("POST", "/api/conversations/"+convID+"/messages", map[string]string{"content": "hello"}).must(t, 409).errorCode(t); code != "conversation_busy" {
		t.Fatalf("live reply: %s", code)
	}
	if _, msgs := conversation(t, u, convID); msgs[1]["status"] != "streaming" {
		t.Fatalf("a live reply read as %v", msgs[1]["status"])
	}
	if _, err := e.pool.Exec(context.Background(), `UPDATE messages SET updated_at = now() - interval '1 hour' WHERE id = $1`, crashed); err != nil {
		t.Fatal(err)
	}
	// Reading the conversation already shows the stale reply as failed.
	if _, msgs := conversation(t, u, convID); msgs[1]["status"] != "failed" {
		t.Fatalf("a stale reply read as %v", msgs[1]["status"])
	}
	u.streamOKBody(t, "/api/conversations/"+convID+"/messages", map[string]string{"content": "hello again"})
	_, msgs := conversation(t, u, convID)
	if len(msgs) != 4 || msgs[1]["id"] != crashed || msgs[1]["status"] != "failed" || msgs[1]["content"] != "half a rep" || msgs[1]["error"] == "" {
		t.Fatalf("messages = %v", msgs)
	}
	if msgs[3]["status"] != "complete" {
		t.Fatalf("new reply = %v", msgs[3])
	}
	// A stale reply that nobody read is failed by the next turn itself.
	_, err = e.pool.Exec(context.Background(), `INSERT INTO messages (id, conversation_id, seq, role, content, status, updated_at)
		VALUES ('msg_crashedagaincrash', $1, 5, 'assistant', '', 'streaming', now() - interval '1 hour')`, convID)
	if err != nil {
		t.Fatal(err)
	}
	u.streamOKBody(t, "/api/conversations/"+convID+"/messages", map[string]string{"content": "and again"})
	var status string
	if err := e.pool.QueryRow(context.Background(), `SELECT status FROM messages WHERE id = 'msg_crashedagaincrash'`).Scan(&status); err != nil || status != "failed" {
		t.Fatalf("second stale reply: %q %v", status, err)
	}
}
