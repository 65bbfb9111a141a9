package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/timbre-ai/timbre/agents/llm/llmtest"
)

// sseEvent is one server-sent event.
type sseEvent struct {
	name string
	data map[string]any
}

// stream posts a JSON body with Accept: text/event-stream and reads every
// event until the server ends the response. onEvent, when set, sees each
// event as it arrives and may stop reading by returning false (the request
// is then cancelled, as a client that goes away).
func (c *client) stream(path string, body any, onEvent func(sseEvent) bool) (int, []sseEvent) {
	c.e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return c.streamCtx(ctx, path, body, onEvent)
}

// streamCtx is stream under ctx; when ctx ends first, it returns what it
// read (so it may run on another goroutine than the test's).
func (c *client) streamCtx(ctx context.Context, path string, body any, onEvent func(sseEvent) bool) (int, []sseEvent) {
	b, err := json.Marshal(body)
	if err != nil {
		c.e.t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(ctx, "POST", c.e.srv.URL+path, strings.NewReader(string(b)))
	if err != nil {
		c.e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, nil
		}
		c.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, []sseEvent{{name: "http_error", data: m}}
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		c.e.t.Fatalf("content type %q, want text/event-stream", ct)
	}
	var events []sseEvent
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var name string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			var data map[string]any
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &data); err != nil {
				c.e.t.Fatalf("event %s: data is not JSON: %s", name, line)
			}
			ev := sseEvent{name: name, data: data}
			events = append(events, ev)
			if onEvent != nil && !onEvent(ev) {
				return resp.StatusCode, events
			}
		}
	}
	if err := sc.Err(); err != nil && ctx.Err() == nil {
		c.e.t.Fatalf("reading the event stream: %v (events so far: %v)", err, names(events))
	}
	return resp.StatusCode, events
}

func names(events []sseEvent) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.name
	}
	return out
}

// text joins the delta events.
func text(events []sseEvent) string {
	var b strings.Builder
	for _, e := range events {
		if e.name == "delta" {
			b.WriteString(e.data["text"].(string))
		}
	}
	return b.String()
}

func last(events []sseEvent) sseEvent {
	if len(events) == 0 {
		return sseEvent{name: "none"}
	}
	return events[len(events)-1]
}

// newAgent creates an agent of c's from a card (JSON fields) and returns its id.
func newAgent(t *testing.T, c *client, fields map[string]any) string {
	t.Helper()
	r := c.json("POST", "/api/agents", fields).must(t, 201).json(t)
	return r["agent"].(map[string]any)["id"].(string)
}

// startChat starts a conversation and returns its id and greeting.
func startChat(t *testing.T, c *client, agentID string) (string, map[string]any) {
	t.Helper()
	r := c.json("POST", "/api/agents/"+agentID+"/conversations", nil).must(t, 201).json(t)
	g, _ := r["greeting"].(map[string]any)
	return r["conversation"].(map[string]any)["id"].(string), g
}

// conversation reads a conversation's messages.
func conversation(t *testing.T, c *client, id string) (map[string]any, []map[string]any) {
	t.Helper()
	r := c.json("GET", "/api/conversations/"+id, nil).must(t, 200).json(t)
	var msgs []map[string]any
	for _, m := range r["messages"].([]any) {
		msgs = append(msgs, m.(map[string]any))
	}
	return r, msgs
}

// systemOf is the first (system) message a fake model received.
func systemOf(r llmtest.Received) string {
	if len(r.Messages) == 0 || r.Messages[0].Role != "system" {
		return ""
	}
	return r.Messages[0].Content
}

// chatRequests are the requests a fake model received for chat turns (not
// memory summaries).
func chatRequests(fake *llmtest.Server) []llmtest.Received {
	var out []llmtest.Received
	for _, r := range fake.Requests() {
		if !isSummaryRequest(r) {
			out = append(out, r)
		}
	}
	return out
}

func isSummaryRequest(r llmtest.Received) bool {
	n := len(r.Messages)
	return n > 0 && strings.Contains(r.Messages[n-1].Content, "<transcript>")
}

// uploadDoc adds a Markdown document to a new knowledge base of c's,
// attaches it to the agent and waits until it is ready.
func uploadDoc(t *testing.T, c *client, agentID, name, markdown string) string {
	t.Helper()
	kb := c.json("POST", "/api/knowledge-bases", map[string]string{"name": "kb"}).must(t, 201).json(t)
	kbID := kb["knowledge_base"].(map[string]any)["id"].(string)
	doc := c.upload("POST", "/api/knowledge-bases/"+kbID+"/documents", "file", name, []byte(markdown)).must(t, 202).json(t)
	docID := doc["document"].(map[string]any)["id"].(string)
	deadline := time.Now().Add(20 * time.Second)
	for {
		d := c.json("GET", "/api/knowledge-bases/"+kbID+"/documents/"+docID, nil).must(t, 200).json(t)
		status := d["document"].(map[string]any)["status"]
		if status == "ready" {
			break
		}
		if status == "failed" || time.Now().After(deadline) {
			t.Fatalf("document not ingested: %v", d)
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.json("PUT", "/api/agents/"+agentID+"/knowledge-bases/"+kbID, nil).must(t, 200)
	return docID
}

// TestChatConversation holds a multi-turn conversation with a wire-faithful
// fake model: lore entries activate on their keywords, knowledge passages
// are cited, history past the context budget is summarised into memory,
// and the last reply is regenerated and swiped back.
func TestChatConversation(t *testing.T) {
	t.Parallel()
	turn := 0
	fake := llmtest.NewServer(t, llmtest.Config{Reply: func(r llmtest.Received) string {
		if isSummaryRequest(r) {
			return "SUMMARY: alice asked Mira about storms, ghosts and the lighthouse's long history."
		}
		turn++
		return fmt.Sprintf("Reply %d. The pier tide is early [1], as my log says.", turn)
	}})
	e := newEnv(t, withModel(fake, "openai", 5*time.Second), func(p *envParams) {
		p.chatCfg.ContextTokens = 900
		p.chatCfg.ReplyTokens = 100
	})
	alice := e.signup("alice")
	agentID := newAgent(t, alice, map[string]any{
		"name":        "Mira",
		"description": "{{char}} keeps the lighthouse on the cape and talks with {{user}}.",
		"personality": "dry, patient",
		"first_mes":   "Welcome to the lighthouse, {{user}}.",
		"character_book": map[string]any{"scan_depth": 2, "entries": []any{
			map[string]any{"keys": []string{"storm"}, "content": "LORE-STORM: storms on the cape last three days.", "enabled": true, "insertion_order": 1},
			map[string]any{"keys": []string{"ghost"}, "secondary_keys": []string{"lantern"}, "selective": true,
				"content": "LORE-GHOST: the ghost walks only when the lantern is lit.", "enabled": true, "insertion_order": 2},
		}},
	})
	docID := uploadDoc(t, alice, agentID, "tides.md", "# Tide tables\n\nHigh tide at the north pier comes at 6:40 in the morning, earlier in winter.\n")

	convID, greeting := startChat(t, alice, agentID)
	if greeting == nil || greeting["content"] != "Welcome to the lighthouse, alice." {
		t.Fatalf("greeting = %v, want first_mes with {{user}} expanded", greeting)
	}

	say := func(content string) []sseEvent {
		t.Helper()
		status, events := alice.stream("/api/conversations/"+convID+"/messages", map[string]string{"content": content}, nil)
		if status != 200 || last(events).name != "done" {
			t.Fatalf("turn %q: status %d, events %v (last %v)", content, status, names(events), last(events).data)
		}
		return events
	}

	// Turn 1: the storm entry fires, the ghost entry does not; the passage is cited.
	events := say("Tell me about the storm season on the cape.")
	if events[0].name != "start" {
		t.Fatalf("first event %q, want start", events[0].name)
	}
	var cited map[string]any
	for _, ev := range events {
		if ev.name == "citation" {
			cited = ev.data
		}
	}
	if cited == nil || cited["marker"] != 1.0 || cited["document_id"] != docID {
		t.Fatalf("citation event = %v, want marker 1 of document %s", cited, docID)
	}
	done := last(events).data
	msg := done["message"].(map[string]any)
	if got, want := text(events), "Reply 1. The pier tide is early [1], as my log says."; got != want || msg["content"] != want {
		t.Fatalf("streamed %q, stored %q; want %q", got, msg["content"], want)
	}
	if done["offline"] != false || msg["status"] != "complete" {
		t.Fatalf("done = %v", done)
	}
	if u := done["usage"].(map[string]any); u["prompt_tokens"].(float64) <= 0 || u["completion_tokens"].(float64) <= 0 {
		t.Fatalf("usage = %v", u)
	}
	reqs := chatRequests(fake)
	sys := systemOf(reqs[0])
	for _, want := range []string{"Mira keeps the lighthouse on the cape and talks with alice.", "LORE-STORM", "High tide at the north pier"} {
		if !strings.Contains(sys, want) {
			t.Errorf("turn 1 system prompt lacks %q:\n%s", want, sys)
		}
	}
	if strings.Contains(sys, "LORE-GHOST") {
		t.Errorf("the ghost entry fired without its keyword:\n%s", sys)
	}
	if first := reqs[0].Messages[1]; first.Role != "assistant" || first.Content != "Welcome to the lighthouse, alice." {
		t.Errorf("history starts with %+v, want the greeting", first)
	}

	// Turn 2: "ghost" alone does not fire a selective entry; with "lantern" it does.
	say("Is there a ghost here?")
	if sys := systemOf(chatRequests(fake)[1]); strings.Contains(sys, "LORE-GHOST") {
		t.Errorf("selective entry fired without its secondary key")
	}
	say("Does the ghost come when the lantern burns?")
	if sys := systemOf(chatRequests(fake)[2]); !strings.Contains(sys, "LORE-GHOST") {
		t.Errorf("selective entry did not fire with both keys:\n%s", sys)
	}

	// Long turns push the oldest history out of the 900-token window; it is
	// summarised in the background, and later prompts carry the summary.
	long := strings.Repeat("The keeper's log tells of ships, fog, bells and the old brass lamp that never failed. ", 6)
	for i := range 6 {
		say(fmt.Sprintf("Story %d: %s", i, long))
	}
	e.chat.WaitMemory()
	say("What do you remember of our first talk?")
	reqs = chatRequests(fake)
	final := reqs[len(reqs)-1]
	if !strings.Contains(systemOf(final), "SUMMARY: alice asked Mira") {
		t.Fatalf("the last prompt lacks the conversation's summary:\n%s", systemOf(final))
	}
	for _, m := range final.Messages {
		if strings.Contains(m.Content, "Tell me about the storm season") {
			t.Fatalf("the first turn is still in the prompt after it was summarised")
		}
	}
	conv, msgs := conversation(t, alice, convID)
	c := conv["conversation"].(map[string]any)
	if c["summary"] == "" || c["summary_seq"].(float64) < 2 {
		t.Fatalf("conversation memory = %q up to %v", c["summary"], c["summary_seq"])
	}
	if len(msgs) != 1+2*10 {
		t.Fatalf("%d messages, want the greeting and 10 turns", len(msgs))
	}

	// Regenerate the last reply: a second alternative; swipe back to the first.
	lastReply := msgs[len(msgs)-1]
	events = alice.streamOK(t, "/api/conversations/"+convID+"/messages/"+lastReply["id"].(string)+"/regenerate")
	regen := last(events).data["message"].(map[string]any)
	if regen["swipe_index"] != 1.0 || regen["swipe_count"] != 2.0 || regen["content"] == lastReply["content"] {
		t.Fatalf("regenerated = %v, previous %v", regen, lastReply)
	}
	if last(events).data["user_message"] != nil {
		t.Fatalf("a regenerate stored a user message: %v", last(events).data)
	}
	_, msgs = conversation(t, alice, convID)
	if got := msgs[len(msgs)-1]; got["id"] != regen["id"] || len(msgs) != 21 {
		t.Fatalf("after regenerate the last message is %v (of %d)", got, len(msgs))
	}
	sw := alice.json("POST", "/api/conversations/"+convID+"/messages/"+regen["id"].(string)+"/swipe", map[string]int{"index": 0}).must(t, 200).json(t)
	if m := sw["message"].(map[string]any); m["id"] != lastReply["id"] || m["swipe_count"] != 2.0 {
		t.Fatalf("swipe 0 = %v, want the first reply", m)
	}
	if code, _ := alice.json("POST", "/api/conversations/"+convID+"/messages/"+regen["id"].(string)+"/swipe", map[string]int{"index": 5}).must(t, 400).errorCode(t); code != "invalid_request" {
		t.Fatalf("swipe 5: %s", code)
	}
	first := msgs[1]["id"].(string)
	if code, _ := alice.json("POST", "/api/conversations/"+convID+"/messages/"+msgs[2]["id"].(string)+"/regenerate", nil).must(t, 409).errorCode(t); code != "not_latest_reply" {
		t.Fatalf("regenerating an old reply: %s", code)
	}
	if code, _ := alice.json("POST", "/api/conversations/"+convID+"/messages/"+first+"/regenerate", nil).must(t, 400).errorCode(t); code != "invalid_request" {
		t.Fatalf("regenerating a user message: %s", code)
	}

	// Every model call was metered: 11 chat turns (one a regenerate) and the summaries.
	var chats, summaries, withTiming int
	rows, err := e.pool.Query(context.Background(), `SELECT source, provider, model, prompt_tokens, first_token_ms IS NOT NULL FROM usage_events WHERE agent_id = $1`, agentID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var source, provider, model string
		var prompt int
		var timed bool
		if err := rows.Scan(&source, &provider, &model, &prompt, &timed); err != nil {
			t.Fatal(err)
		}
		if provider != "openai" || model != "fake-model" || prompt <= 0 {
			t.Errorf("usage event %s: provider %q model %q prompt %d", source, provider, model, prompt)
		}
		switch source {
		case "chat":
			chats++
			if timed {
				withTiming++
			}
		case "summary":
			summaries++
		}
	}
	if chats != 11 || withTiming != 11 || summaries == 0 {
		t.Fatalf("usage events: %d chat (%d with a first-token time), %d summary; want 11, 11, ≥1", chats, withTiming, summaries)
	}
}

// streamOK posts an empty object and expects an event stream ending in done.
func (c *client) streamOK(t *testing.T, path string) []sseEvent {
	t.Helper()
	return c.streamOKBody(t, path, map[string]any{})
}

// streamOKBody posts body and expects an event stream ending in done.
func (c *client) streamOKBody(t *testing.T, path string, body any) []sseEvent {
	t.Helper()
	status, events := c.stream(path, body, nil)
	if status != 200 || last(events).name != "done" {
		t.Fatalf("%s: status %d, events %v, last %v", path, status, names(events), last(events).data)
	}
	return events
}

// TestChatAgentModelSettings: an agent's llm settings reach the model.
func TestChatAgentModelSettings(t *testing.T) {
	t.Parallel()
	fake := llmtest.NewServer(t, llmtest.Config{})
	e := newEnv(t, withModel(fake, "openai", 5*time.Second))
	u := e.signup("u")
	tuned := newAgent(t, u, map[string]any{"name": "Tuned", "llm": map[string]any{"model": "special-model", "temperature": 0.9, "max_tokens": 77}})
	conv, _ := startChat(t, u, tuned)
	u.streamOKBody(t, "/api/conversations/"+conv+"/messages", map[string]string{"content": "hi"})
	got := fake.Requests()[0]
	if got.Model != "special-model" || got.Temperature == nil || *got.Temperature != 0.9 || got.MaxTokens != 77 {
		t.Fatalf("model %q temperature %v max_tokens %d", got.Model, got.Temperature, got.MaxTokens)
	}
	other := newAgent(t, u, map[string]any{"name": "Elsewhere", "llm": map[string]any{"provider": "anthropic", "model": "claude"}})
	conv, _ = startChat(t, u, other)
	done := last(u.streamOKBody(t, "/api/conversations/"+conv+"/messages", map[string]string{"content": "hi"})).data
	if done["offline"] != true || !strings.Contains(done["offline_reason"].(string), "anthropic") || len(fake.Requests()) != 1 {
		t.Fatalf("an agent asking for an unconfigured provider: %v", done)
	}
}
