package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/timbre-ai/timbre/db/dbtest"
)

// speechWAV writes a WAV of Alan reading for a while, with a pause at the
// end (Chromium's fake microphone plays it in a loop).
func speechWAV(t *testing.T) string {
	return micWAV(t, "I walked down to the harbour this morning. "+
		"The boats were painted blue and red. Nobody knew when the ferry would come back.", 500*time.Millisecond)
}

// TestBrowserCloneVoice clones a voice the way a creator does: on the
// Voices page of a real browser, recording from the microphone (Chromium's
// fake one, playing a speech file) as WebM-Opus, ticking consent and
// sending. The new voice shows its profile and speaks.
func TestBrowserCloneVoice(t *testing.T) {
	t.Parallel()
	_, dbURL := dbtest.NewWithURL(t)
	srv := serve(t, dbURL, voiceDataDir(t))
	p := openBrowser(t, srv, fakeMicrophone(speechWAV(t))...)
	p.signUp("Creator", "creator@example.com", "a long passphrase")

	p.open("/voices")
	p.waitText("main .clone-panel h2", "Clone your voice")
	p.clickCSS("main .clone-panel .rec-btn")
	p.waitJS("the recording to start", `document.querySelector('main .clone-panel .rec-btn').dataset.recording === 'true'`)
	p.run("recording for eight seconds", chromedp.Sleep(8*time.Second))
	p.clickCSS("main .clone-panel .rec-btn")
	p.waitJS("the recording to stop", `document.querySelector('main .clone-panel .rec-btn').dataset.recording === 'false'`)
	p.fill("main .clone-panel", "Name", "My voice")
	p.clickCSS(`main .clone-panel input[name="consent"]`)
	p.click("main .clone-panel", "Clone voice")
	p.waitJS("the cloned voice's card", `!!document.querySelector('main .voice-card-cloned')`)

	voices := awaitJS[[]map[string]any](p, "the catalog", `fetch('/api/voices').then((r) => r.json()).then((b) => b.items.filter((v) => v.kind === 'cloned'))`)
	if len(voices) != 1 || voices[0]["name"] != "My voice" || voices[0]["base_voice"] != "alan" {
		p.fatalf("cloned voices %v, want one named My voice, based on Alan", voices)
	}
	// It was recorded as the browser records: WebM-Opus.
	if !strings.Contains(srv.output(), `msg="voice cloned"`) || !strings.Contains(srv.output(), "format=webm/opus") {
		p.fatalf("the server did not log a clone from WebM-Opus:\n%s", srv.output())
	}
	id := voices[0]["id"].(string)
	preview := awaitJS[map[string]any](p, "the cloned voice's preview", `fetch('/api/voices/`+id+`/preview').then(async (r) => ({status: r.status, type: r.headers.get('content-type'), size: (await r.arrayBuffer()).byteLength}))`)
	if preview["status"] != float64(200) || preview["type"] != "audio/wav" || preview["size"].(float64) < 20000 {
		p.fatalf("preview of the cloned voice: %v", preview)
	}
	p.noPageErrors()
	srv.stop(t)
}
