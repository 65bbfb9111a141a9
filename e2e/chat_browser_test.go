package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/timbre-ai/timbre/agents/llm/llmtest"
	"github.com/timbre-ai/timbre/db/dbtest"
)

// offlineEnv leaves timbre serve with no language model whatever the
// environment of the test says (none also turns off the Ollama probe), so
// agents answer in offline mode.
var offlineEnv = []string{"TIMBRE_LLM_PROVIDER=none", "TIMBRE_LLM_BASE_URL=", "TIMBRE_LLM_MODEL=", "TIMBRE_LLM_API_KEY="}

// replyRecorder records every agent message element the chat page adds:
// its seq, status, whether it shows the typing indicator, its text and its
// status line. The page replaces a message's element whenever the message
// changes, so the records are the states a reply went through on screen.
const replyRecorder = `(() => {
	const list = document.querySelector('main .messages');
	if (!list) return false;
	window.__replies = [];
	new MutationObserver((records) => {
		for (const r of records) for (const n of r.addedNodes) {
			if (n.nodeType !== 1 || !n.matches('.msg-agent')) continue;
			const text = n.querySelector('.msg-text');
			const state = n.querySelector('.msg-state');
			window.__replies.push({ seq: n.dataset.seq, status: n.dataset.status, typing: !!n.querySelector('.typing'),
				text: text ? text.textContent : '', state: state ? state.textContent : '' });
		}
	}).observe(list, { childList: true });
	return true;
})()`

// shownReply is one record of replyRecorder.
type shownReply struct {
	Seq    string `json:"seq"`
	Status string `json:"status"`
	Typing bool   `json:"typing"`
	Text   string `json:"text"`
	State  string `json:"state"`
}

// TestBrowserChatOffline chats with an agent in a real browser while no
// language model is connected: start a chat from the agent's page, type a
// two-line message (Shift+Enter, then Enter sends), watch the reply stream
// in marked offline under the offline banner, reload and find it all
// stored, regenerate and swipe between the two replies, delete the chat
// from the list of chats, and chat with someone else's public agent from
// its card in Explore and from its page.
func TestBrowserChatOffline(t *testing.T) {
	t.Parallel()
	requireChromium(t)
	_, dbURL := dbtest.NewWithURL(t)
	srv := serve(t, dbURL, t.TempDir(), offlineEnv...)
	p := openBrowser(t, srv)

	const (
		description = "Keeps the lighthouse on the northern cape."
		greeting    = "The lamp is lit. Who climbs my stairs tonight?"
	)
	p.signUp("Abbie Burgess", "abbie@example.com", "matinicus rock")
	p.newAgentDraft("Mira", description, greeting)

	// Chat, on the agent's page, opens a new conversation that starts with
	// the agent's greeting, under the offline banner.
	p.click("main .editor-head", "Chat")
	p.waitJS("the new chat's page", `/^\/chat\/[^/]+$/.test(location.pathname)`)
	chatPath := p.path()
	p.waitText("main .chat-head h1", "Mira")
	p.waitText(`main .msg-agent[data-seq="1"] .msg-text`, greeting)
	p.waitText("main .offline-banner", "Offline mode")
	banner := p.text("main .offline-banner")
	for _, want := range []string{"answers from its knowledge only", "runs without a language model",
		"TIMBRE_LLM_PROVIDER", "TIMBRE_LLM_BASE_URL", "TIMBRE_LLM_MODEL", "127.0.0.1:11434"} {
		if !strings.Contains(banner, want) {
			p.fatalf("the offline banner reads %q, want it to mention %q", banner, want)
		}
	}
	if author := p.text(`main .msg-agent[data-seq="1"] .msg-author`); author != "Mira" {
		p.fatalf("the greeting is signed %q, want the agent's name", author)
	}
	if evalJS[bool](p, "whether the greeting is labelled offline", `!!document.querySelector('main .msg-agent[data-seq="1"] .badge-offline')`) {
		p.fatalf("the greeting is labelled offline; it is the card's text, not a reply")
	}
	if n := evalJS[int](p, "the greeting's actions", `document.querySelectorAll('main .msg-agent[data-seq="1"] .msg-actions button').length`); n != 0 {
		p.fatalf("the greeting offers %d actions, want none (a greeting is not regenerated)", n)
	}

	// Shift+Enter starts a new line; Enter sends.
	p.waitJS("the reply recorder", replyRecorder)
	p.fill("main .composer", "Message Mira", "Good evening, Mira.")
	p.pressEnter(chromedp.ModifierShift)
	p.run("typing the second line", chromedp.KeyEvent("What do you keep?"))
	p.pressEnter()
	p.waitJS("the finished reply", `!!document.querySelector('main .msg-agent[data-seq="3"][data-status="complete"]')`)

	if got := p.text(`main .msg-user[data-seq="2"] .msg-text`); got != "Good evening, Mira.\nWhat do you keep?" {
		p.fatalf("the sent message reads %q, want its two lines", got)
	}
	if v := evalJS[string](p, "the composer", `document.querySelector('main .composer textarea').value`); v != "" {
		p.fatalf("after sending, the composer holds %q, want it empty", v)
	}
	reply := p.text(`main .msg-agent[data-seq="3"] .msg-text`)
	if !strings.HasPrefix(reply, "Mira here.") || !strings.Contains(reply, description) {
		p.fatalf("the offline reply reads %q, want Mira introducing herself with her description", reply)
	}
	if label := p.text(`main .msg-agent[data-seq="3"] .badge-offline`); label != "offline · quoted from knowledge" {
		p.fatalf("the reply's offline label reads %q, want %q", label, "offline · quoted from knowledge")
	}
	// The reply was on screen while it streamed: first with the typing
	// indicator, and its final text is the one the server stored.
	shown := evalJS[[]shownReply](p, "the states of the reply", `window.__replies.filter((r) => r.seq === '3')`)
	if len(shown) < 2 || shown[0].Status != "streaming" || !shown[0].Typing || shown[len(shown)-1].Status != "complete" {
		p.fatalf("the reply went through %+v on screen, want it streaming with the typing indicator first and complete last", shown)
	}
	stored := pageJSON[conversationJSON](p, "the stored conversation", "/api/conversations/"+strings.TrimPrefix(chatPath, "/chat/"))
	if n := len(stored.Messages); n != 3 || stored.Messages[2].Status != "complete" || !stored.Messages[2].Offline {
		p.fatalf("the server stored %+v, want 3 messages ending with a complete offline reply", stored.Messages)
	}
	if got, want := strings.Join(strings.Fields(reply), " "), strings.Join(strings.Fields(stored.Messages[2].Content), " "); got != want {
		p.fatalf("the page shows the reply as %q, but the server stored %q", got, want)
	}

	// A reload shows the stored conversation.
	p.reload()
	p.waitText(`main .msg-agent[data-seq="3"] .msg-text`, "Mira here.")
	p.waitText(`main .msg-user[data-seq="2"] .msg-text`, "What do you keep?")
	p.waitText(`main .msg-agent[data-seq="1"] .msg-text`, greeting)
	p.waitText("main .offline-banner", "runs without a language model")
	p.waitText(`main .msg-agent[data-seq="3"] .badge-offline`, "offline · quoted from knowledge")

	// Regenerate the last reply: it becomes the second of two, and the
	// arrows go back to the first; the choice is stored.
	p.click(`main .msg-agent[data-seq="3"] .msg-actions`, "Regenerate")
	p.waitText(`main .msg-agent[data-seq="3"][data-status="complete"] .swipe-pos`, "2/2")
	p.waitText(`main .msg-agent[data-seq="3"] .msg-text`, "Mira here.")
	p.click(`main .msg-agent[data-seq="3"] .swipe`, "‹")
	p.waitText(`main .msg-agent[data-seq="3"] .swipe-pos`, "1/2")
	p.reload()
	p.waitText(`main .msg-agent[data-seq="3"] .swipe-pos`, "1/2")

	// The list of chats shows it with its agent, title and time; delete it
	// there.
	p.click("#site-header", "Chats")
	p.waitPath("/chat")
	p.waitText("main h1", "Chats")
	row := fmt.Sprintf(`main .chat-row:has(a[href="%s"])`, chatPath)
	p.waitText(row, "Good evening, Mira.")
	listed := p.text(row)
	for _, want := range []string{"Mira", "3 messages", "active "} {
		if !strings.Contains(listed, want) {
			p.fatalf("the chat's row reads %q, want it to mention %q", listed, want)
		}
	}
	if evalJS[string](p, "the row's time", fmt.Sprintf(`document.querySelector(%s).getAttribute('datetime') || ''`, jsString(row+" time"))) == "" {
		p.fatalf("the chat's row has no machine-readable time")
	}
	p.click(row, "Delete")
	p.click("dialog", "Delete chat")
	p.waitText("main .empty", "No chats yet")
	p.open(chatPath)
	p.waitText("main h1", "Chat not found")

	// Someone else's public agent has Chat on its card in Explore and on
	// its page.
	owner := newUser(t, srv.url)
	owner.call("POST", "/api/auth/signup", `{"email":"keeper@example.com","password":"a long passphrase","display_name":"Keeper"}`, 201)
	owner.csrf = owner.call("GET", "/api/me", "", 200)["csrf_token"].(string)
	tom := owner.call("POST", "/api/agents", `{"name":"Old Tom","visibility":"public","first_mes":"Ahoy from the foghorn."}`, 201)["agent"].(map[string]any)
	p.click("#site-header", "Explore")
	p.waitPath("/explore")
	p.waitText("main .agent-grid", "Old Tom")
	p.click("main .agent-grid", "Chat")
	p.waitJS("the chat with Old Tom", `/^\/chat\/[^/]+$/.test(location.pathname)`)
	p.waitText(`main .msg-agent[data-seq="1"] .msg-text`, "Ahoy from the foghorn.")
	p.waitText("main .msg-agent .msg-author", "Old Tom")
	p.open("/agents/" + tom["id"].(string))
	p.waitText("main .detail-head h1", "Old Tom")
	p.click("main .detail-head", "Chat")
	p.waitJS("a second chat with Old Tom", `/^\/chat\/[^/]+$/.test(location.pathname)`)
	p.waitText(`main .msg-agent[data-seq="1"] .msg-text`, "Ahoy from the foghorn.")
	p.click("#site-header", "Chats")
	p.waitText("main .list-status", "2 chats shown.")

	p.noPageErrors()
	srv.stop(t)
}

// TestBrowserChatCitesKnowledge checks that an agent answering from an
// attached knowledge base shows its sources: a numbered chip with the
// document's title and headings under the reply, whose passage opens from
// the chip or from the marker in the reply's text, and survives a reload.
func TestBrowserChatCitesKnowledge(t *testing.T) {
	t.Parallel()
	requireChromium(t)
	_, dbURL := dbtest.NewWithURL(t)
	srv := serve(t, dbURL, t.TempDir(), offlineEnv...)
	p := openBrowser(t, srv)

	const sentence = "Polish the Fresnel lens with walnut oil every Thursday before the midnight watch."
	manual := filepath.Join(t.TempDir(), "keepers-handbook.md")
	if err := os.WriteFile(manual, []byte("# Keeper's handbook\n\n"+
		"## The lamp room\n\n"+sentence+"\n\n"+
		"## Fog signals\n\nSound the horn twice a minute while the fog lasts; log the hours in the red book.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p.signUp("Ida Lewis", "ida@example.com", "lime rock light")

	p.click("#site-header", "Knowledge")
	p.waitPath("/knowledge")
	p.click("main .page-head", "New knowledge base")
	p.fill("main .kb-create", "Name", "Lighthouse notes")
	p.click("main .kb-create", "Create knowledge base")
	p.waitText("main h1", "Lighthouse notes")
	p.upload("main input[type=file]", manual)
	p.waitText(`main tr[data-status="ready"] .doc-status`, "Ready")

	// An agent without a greeting: the chat starts empty.
	p.newAgentDraft("Ida", "Keeper of the Lime Rock light.", "")
	p.choose("main .kb-panel", "Attach a knowledge base", "Lighthouse notes")
	p.click("main .kb-panel", "Attach")
	p.waitText("main .kb-attached", "Lighthouse notes")
	p.click("main .editor-head", "Chat")
	p.waitJS("the new chat's page", `/^\/chat\/[^/]+$/.test(location.pathname)`)
	p.waitText("main .chat-empty", "Say hello to Ida.")

	p.fill("main .composer", "Message Ida", "When is the lens polished with walnut oil?")
	p.pressEnter()
	const lastReply = `main .msg-agent[data-status="complete"]:last-child`
	p.waitText(lastReply+" .msg-text", sentence)
	if label := p.text(lastReply + " .badge-offline"); label != "offline · quoted from knowledge" {
		p.fatalf("the reply's offline label reads %q, want %q", label, "offline · quoted from knowledge")
	}

	checkSource := func() {
		p.t.Helper()
		chip := lastReply + ` .msg-sources .source[data-marker="1"]`
		p.waitText(chip+" summary", "Keeper's handbook › The lamp room")
		if where := p.text(chip + " .source-where"); where != "Keeper's handbook › The lamp room" {
			p.fatalf("source 1 reads %q, want the document's title and the heading above the passage", where)
		}
		if evalJS[bool](p, "whether the passage shows before the chip is opened", fmt.Sprintf(`document.querySelector(%s).checkVisibility()`, jsString(chip+" .source-text"))) {
			p.fatalf("the passage of source 1 shows before its chip is opened")
		}
		// The marker [1] in the reply's text opens the chip.
		p.click(lastReply+" .msg-text", "1")
		p.waitText(chip+" .source-text", sentence)
	}
	checkSource()
	p.reload()
	checkSource()

	p.noPageErrors()
	srv.stop(t)
}

// TestBrowserChatStreamsAndStops chats with an agent whose replies come
// from a language model (a fake one, speaking OpenAI's wire format at a
// word every 120 ms): the reply grows on screen word by word with no
// offline banner, Stop ends a long reply (the server stores it stopped),
// Retry makes another, a reply that fails midway shows why and can be
// retried, and a reply that another session is getting shows as being
// written (a message sent meanwhile is refused, and the text kept) until
// it ends.
func TestBrowserChatStreamsAndStops(t *testing.T) {
	t.Parallel()
	requireChromium(t)
	const (
		short = "The lamp burns whale oil, and I trim its wick at dusk and at two."
		long  = "Once upon a time a keeper climbed one hundred and twelve steps every night to light the lamp, " +
			"and every night the ships passed safely by the rocks below, and the keeper counted them one by one " +
			"until the dawn came up grey over the water and the lamp could rest again for another day."
		retried = "The story ends there: the light never failed."
	)
	var longs atomic.Int32
	fake := llmtest.NewServer(t, llmtest.Config{Interval: 120 * time.Millisecond, Reply: func(r llmtest.Received) string {
		last := ""
		for _, m := range r.Messages {
			if m.Role == "user" {
				last = m.Content
			}
		}
		if strings.Contains(last, "long story") {
			if longs.Add(1) == 1 {
				return long
			}
			return retried
		}
		return short
	}})
	_, dbURL := dbtest.NewWithURL(t)
	srv := serve(t, dbURL, t.TempDir(),
		"TIMBRE_LLM_PROVIDER=openai", "TIMBRE_LLM_BASE_URL="+fake.OpenAIURL(), "TIMBRE_LLM_MODEL=fake-model",
		"TIMBRE_LLM_API_KEY=", "TIMBRE_LLM_RETRIES=0")
	p := openBrowser(t, srv)

	p.signUp("Fannie Salter", "fannie@example.com", "turkey point light")
	p.newAgentDraft("Mira", "Keeps the lighthouse on the northern cape.", "The lamp is lit.")
	p.click("main .editor-head", "Chat")
	p.waitJS("the new chat's page", `/^\/chat\/[^/]+$/.test(location.pathname)`)
	p.waitText(`main .msg-agent[data-seq="1"] .msg-text`, "The lamp is lit.")
	if evalJS[bool](p, "whether the offline banner shows", `document.querySelector('main .offline-banner').checkVisibility()`) {
		p.fatalf("the offline banner shows though a language model is connected: %q", p.text("main .offline-banner"))
	}

	// The reply grows word by word; Stop stands in for Send meanwhile.
	p.waitJS("the reply recorder", replyRecorder)
	p.fill("main .composer", "Message Mira", "What does the lamp burn?")
	p.pressEnter()
	p.waitJS("part of the reply while it streams", `(() => {
		const m = document.querySelector('main .msg-agent[data-seq="3"][data-status="streaming"] .msg-text');
		return !!m && m.textContent.startsWith('The lamp burns')
			&& document.querySelector('main .composer-stop').checkVisibility()
			&& !document.querySelector('main .composer-send').checkVisibility();
	})()`)
	p.waitJS("the finished reply", `!!document.querySelector('main .msg-agent[data-seq="3"][data-status="complete"]')`)
	if got := p.text(`main .msg-agent[data-seq="3"] .msg-text`); got != short {
		p.fatalf("the finished reply reads %q, want %q", got, short)
	}
	var partial []string
	for _, r := range evalJS[[]shownReply](p, "the states of the reply", `window.__replies.filter((r) => r.seq === '3')`) {
		if r.Status == "streaming" && r.State != "" {
			p.fatalf("while this page streamed the reply, it was marked %q", r.State)
		}
		if r.Status == "streaming" && r.Text != "" {
			if !strings.HasPrefix(short, r.Text) {
				p.fatalf("while streaming the reply read %q, which does not begin the reply %q", r.Text, short)
			}
			partial = append(partial, r.Text)
		}
	}
	if len(partial) < 3 {
		p.fatalf("the reply showed %d partial texts while streaming (%q), want it to grow word by word", len(partial), partial)
	}
	if evalJS[int](p, "offline labels", `document.querySelectorAll('main .badge-offline').length`) != 0 {
		p.fatalf("a reply from the model is labelled offline")
	}

	// Stop a long reply midway: the page and, after a reload, the server
	// keep what was written, marked stopped, with Retry.
	p.fill("main .composer", "Message Mira", "Tell me a long story.")
	p.pressEnter()
	p.waitText(`main .msg-agent[data-seq="5"][data-status="streaming"] .msg-text`, "Once upon a time a keeper")
	p.click("main .composer", "Stop")
	p.waitText(`main .msg-agent[data-seq="5"][data-status="stopped"] .msg-state`, "Stopped before the reply was finished.")
	if !fake.WaitIdle(10 * time.Second) {
		p.fatalf("the model server still streams the stopped reply 10 s after Stop")
	}
	p.reload()
	p.waitText(`main .msg-agent[data-seq="5"][data-status="stopped"] .msg-state`, "Stopped")
	kept := p.text(`main .msg-agent[data-seq="5"] .msg-text`)
	if !strings.HasPrefix(long, kept) || len(kept) < len("Once upon a time a keeper") || kept == long {
		p.fatalf("the stopped reply kept %q, want the beginning of the story and not all of it", kept)
	}
	p.click(`main .msg-agent[data-seq="5"] .msg-actions`, "Retry")
	p.waitText(`main .msg-agent[data-seq="5"][data-status="complete"] .msg-text`, retried)
	p.waitText(`main .msg-agent[data-seq="5"] .swipe-pos`, "2/2")

	// A reply the model breaks off shows the failure and is retried.
	fake.Push(llmtest.FailAfter(2, llmtest.ErrorEvent))
	p.fill("main .composer", "Message Mira", "And the fog horn?")
	p.pressEnter()
	p.waitText(`main .msg-agent[data-seq="7"][data-status="failed"] .msg-state`, "The reply failed.")
	if why := strings.TrimSpace(strings.TrimPrefix(p.text(`main .msg-agent[data-seq="7"] .msg-state`), "The reply failed.")); why == "" {
		p.fatalf("the failed reply does not say why it failed")
	}
	p.click(`main .msg-agent[data-seq="7"] .msg-actions`, "Retry")
	p.waitText(`main .msg-agent[data-seq="7"][data-status="complete"] .msg-text`, short)
	p.waitText(`main .msg-agent[data-seq="7"] .swipe-pos`, "2/2")

	// Another session of the same user asks for a reply that stalls after
	// three words.
	fake.Push(llmtest.Fault{Break: llmtest.Stall, After: 3})
	before := len(fake.Requests())
	other := newUser(t, srv.url)
	other.call("POST", "/api/auth/login", `{"email":"fannie@example.com","password":"turkey point light"}`, 200)
	other.csrf = other.call("GET", "/api/me", "", 200)["csrf_token"].(string)
	elsewhere, cancelElsewhere := context.WithCancel(context.Background())
	defer cancelElsewhere()
	req, err := http.NewRequestWithContext(elsewhere, http.MethodPost,
		srv.url+"/api/conversations/"+strings.TrimPrefix(p.path(), "/chat/")+"/messages", strings.NewReader(`{"content":"Are you there?"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("X-CSRF-Token", other.csrf)
	answered := make(chan error, 1)
	go func() {
		res, err := other.client.Do(req)
		if err == nil {
			_, err = io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
		answered <- err
	}()
	deadline := time.Now().Add(stepTimeout)
	for {
		reqs := fake.Requests()
		if n := len(reqs); n > before && reqs[n-1].Chunks >= 3 {
			break
		}
		if time.Now().After(deadline) {
			p.fatalf("the other session's reply did not reach the model server's stall within %s", stepTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.reload()
	p.waitText(`main .msg-user[data-seq="8"] .msg-text`, "Are you there?")
	p.waitText(`main .msg-agent[data-seq="9"][data-status="streaming"] .msg-state`, "Still being written…")
	p.fill("main .composer", "Message Mira", "Hello?")
	p.pressEnter()
	p.waitText("main .composer-alert", "still replying")
	if v := evalJS[string](p, "the composer", `document.querySelector('main .composer textarea').value`); v != "Hello?" {
		p.fatalf("after a refused message the composer holds %q, want the message back", v)
	}
	if n := evalJS[int](p, "the user messages", `document.querySelectorAll('main .msg-user').length`); n != 4 {
		p.fatalf("after a refused message the page shows %d user messages, want 4 (the refused one is not kept)", n)
	}
	// The other session goes away: the page, which reads the conversation
	// again while a reply is being written, shows it stopped.
	cancelElsewhere()
	<-answered
	p.waitText(`main .msg-agent[data-seq="9"][data-status="stopped"] .msg-state`, "Stopped")
	p.waitJS("the Retry of the stopped reply", `[...document.querySelectorAll('main .msg-agent[data-seq="9"] .msg-actions button')].some((b) => b.innerText === 'Retry')`)

	p.noPageErrors()
	srv.stop(t)
}

// newAgentDraft creates an agent in the editor (greeting may be empty) and
// waits for its page; it returns the page's path.
func (p *page) newAgentDraft(name, description, greeting string) string {
	p.t.Helper()
	p.click("#site-header", "My agents")
	p.waitPath("/agents")
	p.click("main .page-head", "New agent")
	p.waitPath("/agents/new")
	p.fill("main", "Name", name)
	p.fill("main", "Description", description)
	if greeting != "" {
		p.fill("main", "First message", greeting)
	}
	p.click("main .editor-head", "Create draft")
	p.waitJS("the editor of the new agent", `/^\/agents\/[^/]+$/.test(location.pathname) && location.pathname !== '/agents/new'`)
	p.waitText("main h1", name)
	return p.path()
}

// pressEnter presses Enter, with modifiers, in the focused element the way
// a keyboard does: one keydown carrying the line break, then a keyup. The
// KeyEvent action sends the line break in a separate char event instead,
// which a page that cancels the keydown (to send the message) cannot stop
// as it can a real key press.
func (p *page) pressEnter(modifiers ...chromedp.Modifier) {
	p.t.Helper()
	var mods int64
	for _, m := range modifiers {
		mods |= int64(m)
	}
	down := input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyDown, Key: "Enter", Code: "Enter",
		WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13, Text: "\r", UnmodifiedText: "\r", Modifiers: mods}
	up := input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyUp, Key: "Enter", Code: "Enter",
		WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13, Modifiers: mods}
	what := "pressing Enter"
	if mods != 0 {
		what = "pressing Enter with modifiers"
	}
	p.run(what, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		for _, ev := range []input.DispatchKeyEventParams{down, up} {
			if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, ev); err != nil {
				return err
			}
		}
		return nil
	}))
}

// conversationJSON is what GET /api/conversations/{id} answers, as far as
// these tests read it.
type conversationJSON struct {
	Messages []struct {
		Seq     int    `json:"seq"`
		Status  string `json:"status"`
		Content string `json:"content"`
		Offline bool   `json:"offline"`
	} `json:"messages"`
}

// pageJSON GETs path of the API from the page, with the page's session, and
// decodes the JSON answer into T.
func pageJSON[T any](p *page, what, path string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](fmt.Sprintf(
		`fetch(%s, { headers: { Accept: 'application/json' } }).then((r) => r.ok ? r.json() : Promise.reject(new Error('HTTP ' + r.status)))`,
		jsString(path)), chromedp.EvalAwaitPromise))
	if err != nil {
		p.fatalf("reading %s (GET %s): %v", what, path, err)
	}
	return v
}
