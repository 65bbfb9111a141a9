package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/timbre-ai/timbre/db/dbtest"
	"github.com/timbre-ai/timbre/voice/tts/ttstest"
)

// voiceDataDir is a data directory for `timbre serve` whose voices are the
// ones `make setup` prepared (linked, not copied: a voice is 60 MB). It
// fails the test, saying how to prepare them, when they are missing.
func voiceDataDir(t *testing.T) string {
	t.Helper()
	voices, err := filepath.Abs(ttstest.Dir())
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"jenny", "alan"} {
		if _, err := os.Stat(filepath.Join(voices, id, "manifest.json")); err != nil {
			t.Fatalf("the Piper voices are not prepared in %s: run `make setup` (or `make test`, which runs it): %v", voices, err)
		}
	}
	dir := t.TempDir()
	if err := os.Symlink(voices, filepath.Join(dir, "voices")); err != nil {
		t.Fatal(err)
	}
	// The VAD model, for cloning.
	if err := os.Symlink(filepath.Join(filepath.Dir(voices), "models"), filepath.Join(dir, "models")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// playerState is what the page's audio player and a play button show.
type playerState struct {
	Pressed  string  `json:"pressed"`  // the button's aria-pressed
	State    string  `json:"state"`    // the button's data-state
	Src      string  `json:"src"`      // the <audio> element's src
	Paused   bool    `json:"paused"`   // the <audio> element is paused
	Ready    int     `json:"ready"`    // the <audio> element's readyState
	Duration float64 `json:"duration"` // the <audio> element's duration, in seconds
}

// playerStateJS reads a playerState for the button matching a selector.
const playerStateJS = `((css) => {
	const b = document.querySelector(css);
	const a = document.getElementById('voice-player');
	return {
		pressed: b ? b.getAttribute('aria-pressed') || '' : 'no button',
		state: b ? b.dataset.state || '' : '',
		src: a ? a.getAttribute('src') || '' : '',
		paused: a ? a.paused : true,
		ready: a ? a.readyState : 0,
		duration: a && Number.isFinite(a.duration) ? a.duration : 0,
	};
})(%s)`

// playingJS is true while the button matching a selector shows its audio
// playing and the audio element really plays a loaded blob with a length.
const playingJS = `((css) => {
	const b = document.querySelector(css);
	const a = document.getElementById('voice-player');
	return !!b && !!a && b.dataset.state === 'playing' && b.getAttribute('aria-pressed') === 'true'
		&& (a.getAttribute('src') || '').startsWith('blob:') && !a.paused && a.readyState >= 2 && a.duration > 0.5;
})(%s)`

// buttonPlayingJS is true while the button matching a selector shows its
// audio playing.
const buttonPlayingJS = `((css) => {
	const b = document.querySelector(css);
	return !!b && b.dataset.state === 'playing' && b.getAttribute('aria-pressed') === 'true';
})(%s)`

// stateRecorder records every data-state a play button takes, as
// "voice:state", in window.__playStates.
const stateRecorder = `(() => {
	window.__playStates = [];
	new MutationObserver((records) => {
		for (const r of records) {
			const b = r.target;
			const s = (b.dataset.voice || '') + ':' + b.dataset.state;
			// paint sets the state again when the audio resumes playing.
			if (b.dataset.state && window.__playStates.at(-1) !== s) window.__playStates.push(s);
		}
	}).observe(document.querySelector('main'), { subtree: true, attributes: true, attributeFilter: ['data-state'] });
	return true;
})()`

// previewRequests lists the texts of the voice preview requests the page
// made, as "voice:text" (the text empty for a voice's introduction).
const previewRequests = `performance.getEntriesByType('resource')
	.map((e) => new URL(e.name))
	.filter((u) => /^\/api\/voices\/[^/]+\/preview$/.test(u.pathname))
	.map((u) => u.pathname.split('/')[3] + ':' + (u.searchParams.get('text') || ''))`

// TestBrowserAgentVoice gives an agent a voice in the editor of a real
// browser: the picker lists the catalog, a preview plays (one voice at a
// time; pressing a playing one stops it), the choice is saved and survives
// a reload, and in a chat with the agent each reply has a Listen button
// that streams the whole message in the agent's voice.
func TestBrowserAgentVoice(t *testing.T) {
	t.Parallel()
	requireChromium(t)
	_, dbURL := dbtest.NewWithURL(t)
	srv := serve(t, dbURL, voiceDataDir(t), offlineEnv...)
	p := openBrowser(t, srv)

	const greeting = "Good evening. The kettle is on, and the lamp is lit."
	// The offline reply quotes the description: long enough to be cut.
	description := strings.Repeat("Nell keeps the light on Skerryvore and logs every ship that passes the reef at night. ", 5)
	p.signUp("Nell Chapman", "nell@example.com", "skerryvore light")
	agentPath := p.newAgentDraft("Nell", strings.TrimSpace(description), greeting)
	agentID := strings.TrimPrefix(agentPath, "/agents/")

	// The picker lists the catalog with each voice's traits; a new agent
	// has no voice.
	alanCard := `main .voice-choice:has(input[value="alan"])`
	alanPreview := `main button.voice-preview[data-voice="alan"]`
	jennyPreview := `main button.voice-preview[data-voice="jenny"]`
	p.waitText(alanCard, "Alan")
	for card, want := range map[string]string{alanCard: "Male · British English", `main .voice-choice:has(input[value="jenny"])`: "Female · British English"} {
		if got := p.text(card + " label"); !strings.Contains(got, want) {
			p.fatalf("the voice card reads %q, want it to say %q", got, want)
		}
	}
	if got := evalJS[string](p, "the checked voice", `document.querySelector('main .voice-picker input:checked').value`); got != "" {
		p.fatalf("a new agent has voice %q checked, want No voice", got)
	}
	if name := evalJS[string](p, "the preview button's name", fmt.Sprintf(`document.querySelector(%s).innerText.replace(/\s+/g, ' ').trim()`, jsString(alanPreview))); !strings.Contains(name, "Preview") || !strings.Contains(name, "Alan") {
		p.fatalf("Alan's preview button reads %q, want it named Preview … Alan", name)
	}

	// Choose Alan.
	p.clickCSS(alanCard + " label")
	p.waitText("main .editor-sub", "Unsaved changes")

	// Preview Alan: the button goes loading, then playing while the audio
	// element plays the WAV, then back when it ends.
	p.waitJS("the state recorder", stateRecorder)
	if s := evalJS[playerState](p, "the player", fmt.Sprintf(playerStateJS, jsString(alanPreview))); s.Pressed != "false" || s.State != "idle" {
		p.fatalf("before the preview, Alan's button shows %+v, want not pressed and idle", s)
	}
	p.clickCSS(alanPreview)
	p.waitJS("Alan's preview playing", fmt.Sprintf(playingJS, jsString(alanPreview)))
	p.waitJS("the end of Alan's preview", fmt.Sprintf(`(b => b.dataset.state === 'idle' && b.getAttribute('aria-pressed') === 'false')(document.querySelector(%s))`, jsString(alanPreview)))
	if s := evalJS[playerState](p, "the player", fmt.Sprintf(playerStateJS, jsString(alanPreview))); s.Src != "" || !s.Paused {
		p.fatalf("after the preview ended the player shows %+v, want it emptied", s)
	}
	if got := evalJS[[]string](p, "the button states", `window.__playStates`); strings.Join(got, " ") != "alan:loading alan:playing alan:idle" {
		p.fatalf("Alan's preview button went through %q, want loading, playing, idle", got)
	}
	if got := evalJS[[]string](p, "the preview requests", previewRequests); len(got) != 1 || got[0] != "alan:" {
		p.fatalf("the page asked for previews %q, want Alan's introduction once", got)
	}
	wav := awaitJS[map[string]any](p, "Alan's preview over HTTP", `fetch('/api/voices/alan/preview').then(async (r) => {
		const b = new Uint8Array(await r.arrayBuffer());
		return { status: r.status, type: r.headers.get('Content-Type'), magic: String.fromCharCode(...b.slice(0, 4)) + String.fromCharCode(...b.slice(8, 12)), size: b.length };
	})`)
	if wav["status"] != 200.0 || wav["type"] != "audio/wav" || wav["magic"] != "RIFFWAVE" || wav["size"].(float64) < 22050 {
		p.fatalf("GET /api/voices/alan/preview answered %v, want 200 audio/wav holding a RIFF WAVE of a second or more", wav)
	}

	// One voice at a time: Jenny's preview stops Alan's, and pressing the
	// playing button stops it.
	p.clickCSS(jennyPreview)
	p.waitJS("Jenny's preview playing", fmt.Sprintf(playingJS, jsString(jennyPreview)))
	p.clickCSS(alanPreview)
	p.waitJS("Alan's preview playing", fmt.Sprintf(playingJS, jsString(alanPreview)))
	if s := evalJS[playerState](p, "Jenny's button", fmt.Sprintf(playerStateJS, jsString(jennyPreview))); s.Pressed != "false" || s.State != "idle" {
		p.fatalf("while Alan plays, Jenny's button shows %+v, want it not pressed", s)
	}
	p.clickCSS(alanPreview)
	if s := evalJS[playerState](p, "the player", fmt.Sprintf(playerStateJS, jsString(alanPreview))); s.Pressed != "false" || s.State != "idle" || !s.Paused || s.Src != "" {
		p.fatalf("pressing Alan's playing preview left %+v, want it stopped", s)
	}

	// Save; after a reload Alan is still the choice, and the API says so.
	p.click("main .editor-head", "Save")
	p.waitText("main .editor-sub", "All changes saved")
	p.reload()
	p.waitText(alanCard, "Alan")
	if got := evalJS[string](p, "the checked voice", `document.querySelector('main .voice-picker input:checked').value`); got != "alan" {
		p.fatalf("after saving and reloading, voice %q is checked, want alan", got)
	}
	stored := pageJSON[struct {
		Agent struct {
			VoiceID string `json:"voice_id"`
		} `json:"agent"`
	}](p, "the agent", "/api/agents/"+agentID)
	if stored.Agent.VoiceID != "alan" {
		p.fatalf("GET /api/agents/%s has voice_id %q, want alan", agentID, stored.Agent.VoiceID)
	}

	// In a chat, the greeting has Listen; it streams the whole greeting in
	// Alan's voice from the message's speech endpoint and stops when pressed
	// again.
	p.click("main .editor-head", "Chat")
	p.waitJS("the new chat's page", `/^\/chat\/[^/]+$/.test(location.pathname)`)
	evalJS[bool](p, "a record of the page's fetches", `(() => {
		window.__fetched = [];
		const f = window.fetch;
		window.fetch = (u, ...rest) => { window.__fetched.push(new URL(String(u), location.href).pathname); return f(u, ...rest); };
		return true;
	})()`)
	speechFetches := `window.__fetched.filter((u) => /^\/api\/conversations\/[^/]+\/messages\/[^/]+\/speech$/.test(u))`
	greetingListen := `main .msg-agent[data-seq="1"] button.msg-listen`
	p.waitText(greetingListen, "Listen")
	if title := evalJS[string](p, "Listen's title", fmt.Sprintf(`document.querySelector(%s).title`, jsString(greetingListen))); !strings.Contains(title, "Alan") || !strings.Contains(title, "whole reply") {
		p.fatalf("the greeting's Listen button has the title %q, want it to name Alan and say the whole reply is read", title)
	}
	p.clickCSS(greetingListen)
	p.waitJS("the greeting read aloud", fmt.Sprintf(buttonPlayingJS, jsString(greetingListen)))
	p.clickCSS(greetingListen)
	if s := evalJS[playerState](p, "the player", fmt.Sprintf(playerStateJS, jsString(greetingListen))); s.Pressed != "false" || s.State != "idle" {
		p.fatalf("pressing the playing Listen button left %+v, want it stopped", s)
	}
	if got := evalJS[[]string](p, "the speech requests", speechFetches); len(got) != 1 {
		p.fatalf("the chat fetched %q, want the greeting's speech once", got)
	}
	if got := evalJS[[]string](p, "the preview requests", previewRequests); len(got) != 0 {
		p.fatalf("the chat asked for previews %q, want none: messages are read whole", got)
	}

	// The offline reply quotes the long description: Listen reads all of it.
	p.fill("main .composer", "Message Nell", "Who are you?")
	p.pressEnter()
	replyListen := `main .msg-agent[data-seq="3"][data-status="complete"] button.msg-listen`
	p.waitText(replyListen, "Listen")
	p.clickCSS(replyListen)
	p.waitJS("the reply read aloud", fmt.Sprintf(buttonPlayingJS, jsString(replyListen)))
	if got := evalJS[[]string](p, "the speech requests", speechFetches); len(got) != 2 || got[0] == got[1] {
		p.fatalf("the chat fetched %q, want the greeting's speech, then the reply's", got)
	}
	// Leaving the page stops the voice.
	p.click("#site-header", "Chats")
	p.waitPath("/chat")
	if s := evalJS[playerState](p, "the player", fmt.Sprintf(playerStateJS, jsString("none"))); !s.Paused || s.Src != "" {
		p.fatalf("after leaving the chat the player shows %+v, want it stopped", s)
	}

	p.noPageErrors()
	srv.stop(t)
}

// TestBrowserAgentVoiceWithoutVoices checks the editor on a server with no
// voices installed: it says so and how to install them, keeps a voice the
// agent already names (offering to clear it), and the chat offers no
// Listen button.
func TestBrowserAgentVoiceWithoutVoices(t *testing.T) {
	t.Parallel()
	requireChromium(t)
	_, dbURL := dbtest.NewWithURL(t)
	srv := serve(t, dbURL, t.TempDir(), offlineEnv...)
	p := openBrowser(t, srv)

	p.signUp("Grace Darling", "grace@example.com", "longstone light")
	agentPath := p.newAgentDraft("Grace", "Rows out to the Forfarshire in the storm.", "The storm is rising.")
	p.waitText("main .voice-none", "No voices are installed")
	if note := p.text("main .voice-none"); !strings.Contains(note, "make setup") {
		p.fatalf("the note reads %q, want it to say how to install voices (make setup)", note)
	}
	if n := evalJS[int](p, "the voice choices", `document.querySelectorAll('main .voice-picker input').length`); n != 0 {
		p.fatalf("with no voices and none chosen the picker offers %d choices, want none", n)
	}

	// An agent naming a voice this server lacks keeps it, marked.
	patched := awaitJS[string](p, "setting voice_id through the API", fmt.Sprintf(`(async () => {
		const me = await (await fetch('/api/me')).json();
		const r = await fetch(%s, { method: 'PATCH', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf_token }, body: '{"voice_id":"alan"}' });
		return (await r.json()).agent.voice_id;
	})()`, jsString("/api"+agentPath)))
	if patched != "alan" {
		p.fatalf("PATCH voice_id answered %q, want alan", patched)
	}
	p.reload()
	p.waitText(`main .voice-choice:has(input[value="alan"])`, "Not installed on this server")
	if got := evalJS[string](p, "the checked voice", `document.querySelector('main .voice-picker input:checked').value`); got != "alan" {
		p.fatalf("the agent's uninstalled voice is not kept checked (got %q)", got)
	}
	p.waitText("main .editor-sub", "All changes saved")

	p.click("main .editor-head", "Chat")
	p.waitJS("the new chat's page", `/^\/chat\/[^/]+$/.test(location.pathname)`)
	p.waitText(`main .msg-agent[data-seq="1"] .msg-text`, "The storm is rising.")
	if n := evalJS[int](p, "Listen buttons", `document.querySelectorAll('main .msg-listen').length`); n != 0 {
		p.fatalf("the chat offers %d Listen buttons though the server has no voices", n)
	}
	p.noPageErrors()
	srv.stop(t)
}

// awaitJS evaluates expr in the page, waits for the promise it gives and
// decodes its value into T.
func awaitJS[T any](p *page, what, expr string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		p.fatalf("reading %s: %v", what, err)
	}
	return v
}
