package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/timbre-ai/timbre/db/dbtest"
	"github.com/timbre-ai/timbre/voice/audio"
	"github.com/timbre-ai/timbre/voice/tts/ttstest"
)

// The knowledge the voice tests' agent answers from, offline.
const (
	atlasCapital = "The capital city of the country is Marble Harbor, a town of bridges and bells with green copper roofs."
	atlasDoc     = "# Atlas of the country\n\n## Capital\n\n" + atlasCapital + "\n\n" +
		"## Rivers\n\nTwo slow rivers water the farms of the southern plain, and barges carry apples to the sea.\n"
	askCapital = "What is the capital city of the country?"
)

// micWAV writes a WAV for Chromium's fake microphone: each part is Alan
// saying a text, or a pause given as a duration. Chromium plays it in a
// loop, so it ends with a long silence.
func micWAV(t *testing.T, parts ...any) string {
	t.Helper()
	const rate = ttstest.Rate
	var samples []float32
	for _, p := range parts {
		switch p := p.(type) {
		case string:
			samples = append(samples, ttstest.Say(t, "alan", p)...)
		case time.Duration:
			samples = append(samples, make([]float32, int(p.Seconds()*rate))...)
		}
	}
	path := filepath.Join(t.TempDir(), "mic.wav")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := audio.EncodeWAV(f, audio.Frame{Format: audio.Format{SampleRate: rate, Channels: 1}, Samples: samples}); err != nil {
		t.Fatal(err)
	}
	return path
}

// talkSetup creates, through the API from the signed-in page, a knowledge
// base holding the atlas, an agent speaking with Jenny's voice that uses
// it, and an API key; it returns the agent's id and the key.
const talkSetup = `(async (doc) => {
	const me = await (await fetch('/api/me')).json();
	const csrf = { 'X-CSRF-Token': me.csrf_token };
	const json = { ...csrf, 'Content-Type': 'application/json' };
	const post = async (path, body) => {
		const r = await fetch(path, { method: 'POST', headers: json, body: JSON.stringify(body) });
		if (!r.ok) throw new Error(path + ': ' + r.status + ' ' + await r.text());
		return r.json();
	};
	const kb = (await post('/api/knowledge-bases', { name: 'Atlas' })).knowledge_base;
	const fd = new FormData();
	fd.append('file', new Blob([doc], { type: 'text/markdown' }), 'atlas.md');
	const up = await fetch('/api/knowledge-bases/' + kb.id + '/documents', { method: 'POST', headers: csrf, body: fd });
	if (!up.ok) throw new Error('upload: ' + up.status + ' ' + await up.text());
	const docID = (await up.json()).document.id;
	for (let i = 0; i < 300; i++) {
		const d = (await (await fetch('/api/knowledge-bases/' + kb.id + '/documents/' + docID)).json()).document;
		if (d.status === 'ready') break;
		if (d.status === 'failed') throw new Error('ingestion failed: ' + d.error);
		await new Promise((r) => setTimeout(r, 100));
	}
	const agent = (await post('/api/agents', { name: 'Atlas', description: 'Knows the country by heart.', voice_id: 'jenny' })).agent;
	const put = await fetch('/api/agents/' + agent.id + '/knowledge-bases/' + kb.id, { method: 'PUT', headers: csrf });
	if (!put.ok) throw new Error('attach: ' + put.status + ' ' + await put.text());
	const key = (await post('/api/keys', { name: 'test' })).key;
	return { agent: agent.id, key };
})(%s)`

// callRecorder records, once the call is up, the agent's audio (with
// MediaRecorder, as WebM-Opus) and its level every 20 ms against the time
// each channel message arrived, on the page's clock.
const callRecorder = `(() => {
	const c = window.timbreTalk;
	const rec = { chunks: [], levels: [], events: [] };
	window.__rec = rec;
	const ac = new AudioContext();
	const src = ac.createMediaStreamSource(c.remoteStream);
	const an = ac.createAnalyser();
	an.fftSize = 1024;
	src.connect(an);
	const buf = new Float32Array(an.fftSize);
	rec.timer = setInterval(() => {
		an.getFloatTimeDomainData(buf);
		let s = 0;
		for (const x of buf) s += x * x;
		rec.levels.push([performance.now(), Math.sqrt(s / buf.length)]);
	}, 20);
	c.dc.addEventListener('message', (e) => rec.events.push([performance.now(), JSON.parse(e.data)]));
	rec.mr = new MediaRecorder(c.remoteStream, { mimeType: 'audio/webm;codecs=opus' });
	rec.mr.ondataavailable = (e) => rec.chunks.push(e.data);
	rec.mr.start(250);
	return true;
})()`

// transcribeRecording stops the recorder and sends what it recorded to
// /v1/audio/transcriptions with the key.
const transcribeRecording = `(async (key) => {
	const rec = window.__rec;
	clearInterval(rec.timer);
	await new Promise((r) => { rec.mr.onstop = r; rec.mr.stop(); });
	const fd = new FormData();
	fd.append('file', new Blob(rec.chunks, { type: 'audio/webm' }), 'reply.webm');
	fd.append('model', 'whisper-1');
	const r = await fetch('/v1/audio/transcriptions', { method: 'POST', headers: { Authorization: 'Bearer ' + key }, body: fd });
	return { status: r.status, body: await r.text() };
})(%s)`

// inboundAudio reads the agent track's inbound-rtp statistics.
const inboundAudio = `(async () => {
	const stats = await window.timbreTalk.pc.getStats();
	for (const s of stats.values()) {
		if (s.type === 'inbound-rtp' && s.kind === 'audio') return { packets: s.packetsReceived, energy: s.totalAudioEnergy || 0, samples: s.totalSamplesReceived || 0 };
	}
	return { packets: 0, energy: 0, samples: 0 };
})()`

type inbound struct {
	Packets float64 `json:"packets"`
	Energy  float64 `json:"energy"`
	Samples float64 `json:"samples"`
}

// connectTalk opens the talk page for agent, connects, and starts the
// recorder once the agent's track is there.
func (p *page) connectTalk(agent string) {
	p.t.Helper()
	p.open("/talk/" + agent)
	p.waitText("#talk-title", "Atlas")
	p.clickCSS("#talk-connect")
	p.waitJS("the call to connect", `document.querySelector('.talk-page').dataset.call === 'connected' && !!window.timbreTalk.remoteStream && window.timbreTalk.dc && window.timbreTalk.dc.readyState === 'open'`)
	p.waitJS("the recorder", callRecorder)
}

// TestBrowserVoiceChat asks an agent a question aloud, in a real browser
// whose fake microphone plays the question (synthesised with Timbre's own
// voices): the server transcribes it, the agent answers offline from its
// knowledge, and its voice reaches the browser, where it is recorded and
// transcribed back to the knowledge passage's words.
func TestBrowserVoiceChat(t *testing.T) {
	t.Parallel()
	requireChromium(t)
	_, dbURL := dbtest.NewWithURL(t)
	srv := serve(t, dbURL, voiceDataDir(t), offlineEnv...)
	p := openBrowser(t, srv, fakeMicrophone(micWAV(t, 1500*time.Millisecond, askCapital, 60*time.Second))...)
	p.signUp("Vera Voss", "vera@example.com", "marble harbor bells")
	ids := awaitLong[map[string]string](p, "the agent and its knowledge", fmt.Sprintf(talkSetup, jsString(atlasDoc)), time.Minute)

	p.connectTalk(ids["agent"])
	p.waitLong("the question's transcript", `[...document.querySelectorAll('.talk-user.final')].some((e) => e.innerText.includes('capital'))`, 45*time.Second)
	heard := p.text(".talk-user.final")
	p.waitLong("the reply to be spoken in full", `document.querySelector('.talk-agent[data-status="done"]') !== null`, time.Minute)
	reply := p.text(".talk-agent .talk-text")
	if !strings.Contains(reply, "Marble Harbor") {
		p.fatalf("the agent answered %q, want the atlas's passage about the capital", reply)
	}
	if !strings.Contains(srv.output(), `msg="voice turn"`) || !strings.Contains(srv.output(), "capital city") {
		p.fatalf("the server log has no voice turn with the question:\n%s", lastLines(srv.output(), 30))
	}

	in := awaitJS[inbound](p, "inbound audio statistics", inboundAudio)
	if in.Packets < 200 || in.Energy <= 0.01 {
		p.fatalf("inbound audio: %+v, want the reply's packets (>200) carrying energy", in)
	}
	got := awaitLong[map[string]any](p, "the reply, transcribed", fmt.Sprintf(transcribeRecording, jsString(ids["key"])), 2*time.Minute)
	if got["status"] != float64(200) {
		p.fatalf("transcribing the recording: %v", got)
	}
	text := strings.ToLower(got["body"].(string))
	var found []string
	for _, w := range []string{"capital", "city", "country", "marble", "harbor", "town", "bridges", "bells", "green", "copper", "roofs"} {
		if strings.Contains(text, w) {
			found = append(found, w)
		}
	}
	if len(found) < 4 {
		p.fatalf("the received reply transcribes as %s: it holds %v of the passage's words, want at least 4", text, found)
	}
	t.Logf("heard %q; the reply came back as %s (passage words %v); inbound %+v", heard, text, found, in)
	p.noPageErrors()
	srv.stop(t)
}

// waitLong waits up to limit until the JavaScript expression is true: for
// what takes as long as speech does (a reply spoken in full).
func (p *page) waitLong(what, expr string, limit time.Duration) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, limit+time.Second)
	defer cancel()
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Poll[bool](expr, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(limit))(ctx, t)
		return err
	}))
	if err != nil {
		p.fatalf("waiting for %s: %v", what, err)
	}
}

// callTimeline reads the recorder's levels and the channel messages with
// their arrival times.
const callTimeline = `(() => ({ levels: window.__rec.levels, events: window.__rec.events.map(([t, m]) => ({ t, m })) }))()`

type timeline struct {
	Levels [][2]float64 `json:"levels"`
	Events []struct {
		T float64        `json:"t"`
		M map[string]any `json:"m"`
	} `json:"events"`
}

// peak is the loudest level in (from, to], page milliseconds.
func (tl timeline) peak(from, to float64) float64 {
	m := 0.0
	for _, l := range tl.Levels {
		if l[0] > from && l[0] <= to {
			m = max(m, l[1])
		}
	}
	return m
}

// TestBrowserBargeIn talks over the agent in a real browser: the fake
// microphone asks a question, then, while the long answer is being spoken,
// says something else. The agent's audio stops at once (the browser hears
// silence until the next answer), the cut reply is stored as interrupted
// with only what was said, and the new question is answered.
func TestBrowserBargeIn(t *testing.T) {
	t.Parallel()
	requireChromium(t)
	_, dbURL := dbtest.NewWithURL(t)
	srv := serve(t, dbURL, voiceDataDir(t), offlineEnv...)
	// The answer takes ~15 s to say; the interruption comes ~9 s after the
	// question, while it is being said.
	p := openBrowser(t, srv, fakeMicrophone(micWAV(t, 1500*time.Millisecond, askCapital, 9*time.Second,
		"Wait, stop. Tell me about the rivers instead.", 60*time.Second))...)
	p.signUp("Ivo Ilic", "ivo@example.com", "marble harbor bells")
	ids := awaitLong[map[string]string](p, "the agent and its knowledge", fmt.Sprintf(talkSetup, jsString(atlasDoc)), time.Minute)
	p.connectTalk(ids["agent"])

	p.waitLong("the reply to be cut", `document.querySelector('.talk-agent[data-status="interrupted"]') !== null`, 45*time.Second)
	p.waitLong("the next reply to be spoken", `document.querySelectorAll('.talk-agent').length === 2 && document.querySelectorAll('.talk-agent')[1].dataset.status !== 'writing'`, 30*time.Second)
	tl := awaitJS[timeline](p, "the call's timeline", callTimeline)

	var paused, cut, nextSentence float64
	var said, messageID string
	conversationID := evalJS[string](p, "the conversation's id", `window.timbreTalk.conversationId`)
	for _, e := range tl.Events {
		switch {
		case e.M["type"] == "state" && e.M["state"] == "paused" && paused == 0:
			paused = e.T
		case e.M["type"] == "turn" && e.M["interrupted"] == true && cut == 0:
			cut = e.T
			said, _ = e.M["said"].(string)
			messageID, _ = e.M["message_id"].(string)
		case e.M["type"] == "sentence" && cut != 0 && nextSentence == 0:
			nextSentence = e.T
		}
	}
	if paused == 0 || cut == 0 || nextSentence == 0 || !(paused < cut && cut < nextSentence) {
		p.fatalf("timeline: paused at %.0f, cut at %.0f, next reply at %.0f ms; want them in that order", paused, cut, nextSentence)
	}
	before := tl.peak(paused-3000, paused)
	// The agent's audio already on its way (network and jitter buffer)
	// plays out in the first 250 ms.
	after := tl.peak(paused+250, nextSentence)
	if before < 0.02 || after > 0.01 {
		p.fatalf("the agent's level peaked at %.3f in the 3 s before the user talked over it and at %.3f from 250 ms after until its next reply; want loud, then silent", before, after)
	}
	full := "The capital city of the country is Marble Harbor"
	if said == "" || strings.Contains(said, "Two slow rivers") {
		p.fatalf("the cut reply said %q: want only its beginning", said)
	}
	conv := pageJSON[map[string]any](p, "the conversation", "/api/conversations/"+conversationID)
	var stored map[string]any
	for _, m := range conv["messages"].([]any) {
		if m := m.(map[string]any); m["id"] == messageID {
			stored = m
		}
	}
	if stored == nil || stored["status"] != "interrupted" || stored["content"] != said {
		p.fatalf("the cut reply is stored as %v; want status interrupted and the content %q", stored, said)
	}
	if !strings.Contains(p.text(".talk-agent:last-of-type"), "rivers") && !strings.Contains(p.text(".talk-agent:last-of-type"), "river") {
		t.Logf("the second reply reads %q", p.text(".talk-agent:last-of-type"))
	}
	t.Logf("cut %.0f ms after the pause; levels %.3f before, %.3f after; said %q (full answer starts %q)", cut-paused, before, after, said, full)
	p.noPageErrors()
	srv.stop(t)
}

// awaitLong evaluates a promise-returning expression, waiting up to limit:
// for work that takes as long as the audio it handles.
func awaitLong[T any](p *page, what, expr string, limit time.Duration) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, limit)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		p.fatalf("reading %s: %v", what, err)
	}
	return v
}
