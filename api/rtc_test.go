package api_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log/slog"
	"mime/multipart"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/timbre-ai/timbre/voice/asr"
	"github.com/timbre-ai/timbre/voice/audio"
	"github.com/timbre-ai/timbre/voice/clone"
	"github.com/timbre-ai/timbre/voice/rtc"
	"github.com/timbre-ai/timbre/voice/rtc/rtctest"
	"github.com/timbre-ai/timbre/voice/talk"
	"github.com/timbre-ai/timbre/voice/tts/ttstest"
)

var (
	recOnce sync.Once
	rec     asr.Recognizer
	recErr  error
)

func sharedRecognizer(t *testing.T) asr.Recognizer {
	t.Helper()
	recOnce.Do(func() { rec, recErr = asr.Open(asr.Config{Decoders: 2}, nil) })
	if recErr != nil {
		t.Fatalf("pocketsphinx: %v (run `make test`: its setup installs it)", recErr)
	}
	return rec
}

// withVoiceChat serves voice calls and transcriptions.
func withVoiceChat(cfg talk.Config) envOption {
	return func(p *envParams) { p.voiceChat, p.talkCfg = true, cfg }
}

func newTalkManager(t *testing.T, p envParams) *talk.Manager {
	t.Helper()
	transport, err := rtc.NewTransport(rtc.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = transport.Close() })
	mgr := talk.NewManager(talk.Params{Transport: transport, Agents: p.Agents, Chat: p.Chat, Voice: p.Voice, ASR: p.ASR,
		VADModel: clone.VADModelPath(filepath.Dir(ttstest.Dir())), Config: p.talkCfg, Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = mgr.Close(ctx)
	})
	return mgr
}

// wavOf is text spoken by Alan as a 16-bit WAV.
func wavOf(t *testing.T, text string) []byte {
	t.Helper()
	samples := ttstest.Say(t, "alan", text)
	var buf bytes.Buffer
	if _, err := audio.EncodeWAV(&buf, audio.Frame{Format: audio.Format{SampleRate: ttstest.Rate, Channels: 1}, Samples: samples}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestTranscriptions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withVoiceChat(talk.Config{}))
	owner := e.signup("tom")
	key := owner.withKey()
	wav := wavOf(t, "What is the capital city of the country?")
	post := func(c *client, fields map[string]string, file []byte) response {
		t.Helper()
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		for k, v := range fields {
			if err := w.WriteField(k, v); err != nil {
				t.Fatal(err)
			}
		}
		if file != nil {
			fw, err := w.CreateFormFile("file", "speech.wav")
			if err != nil {
				t.Fatal(err)
			}
			fw.Write(file)
		}
		w.Close()
		return c.do("POST", "/v1/audio/transcriptions", w.FormDataContentType(), &buf)
	}
	got := post(key, map[string]string{"model": "whisper-1"}, wav).must(t, 200).json(t)
	if text, _ := got["text"].(string); !strings.Contains(text, "capital city") {
		t.Errorf("transcription %q, want the question", text)
	}
	if r := post(key, map[string]string{"model": "whisper-1", "response_format": "text"}, wav).must(t, 200); !strings.Contains(string(r.body), "capital") || strings.HasPrefix(string(r.body), "{") {
		t.Errorf("text format: %q", r.body)
	}
	verbose := post(key, map[string]string{"model": "x", "response_format": "verbose_json"}, wav).must(t, 200).json(t)
	if d, _ := verbose["duration"].(float64); d < 1.5 || d > 5 {
		t.Errorf("verbose_json duration %v", verbose["duration"])
	}
	// A WAV header that says six minutes (over the recogniser's five) over
	// a few seconds of data.
	sixMinutes := append([]byte(nil), wav...)
	binary.LittleEndian.PutUint32(sixMinutes[40:44], uint32(360*ttstest.Rate*2))
	binary.LittleEndian.PutUint32(sixMinutes[4:8], uint32(360*ttstest.Rate*2+36))
	for _, tc := range []struct {
		name   string
		c      *client
		fields map[string]string
		file   []byte
		status int
		code   string
	}{
		{"no key", owner, map[string]string{"model": "whisper-1"}, wav, 401, "invalid_api_key"},
		{"no file", key, map[string]string{"model": "whisper-1"}, nil, 400, "invalid_request"},
		{"no model", key, map[string]string{}, wav, 400, "invalid_request"},
		{"srt", key, map[string]string{"model": "m", "response_format": "srt"}, wav, 400, "invalid_request"},
		{"mp3", key, map[string]string{"model": "m"}, append([]byte("ID3\x04\x00\x00\x00\x00\x00\x00"), make([]byte, 200)...), 415, "unsupported_audio"},
		{"truncated wav", key, map[string]string{"model": "m"}, wav[:40], 422, "unreadable_audio"},
		{"a header claiming six minutes", key, map[string]string{"model": "m"}, sixMinutes, 413, "audio_too_long"},
	} {
		r := post(tc.c, tc.fields, tc.file)
		if r.status != tc.status {
			t.Errorf("%s: status %d, want %d: %s", tc.name, r.status, tc.status, r.body)
			continue
		}
		if code, _ := r.errorCode(t); code != tc.code {
			t.Errorf("%s: code %s, want %s", tc.name, code, tc.code)
		}
	}
	// Without speech recognition the endpoint says so.
	plain := newEnv(t)
	if r := post(plain.signup("tim").withKey(), map[string]string{"model": "m"}, wav); r.status != 503 {
		t.Errorf("no recogniser: status %d: %s", r.status, r.body)
	}
}

// dialHTTP opens a voice call through POST /api/rtc/sessions as c, with
// extra fields in the body.
func dialHTTP(t *testing.T, ctx context.Context, c *client, body map[string]any) (*rtctest.Client, map[string]any) {
	t.Helper()
	var created map[string]any
	cl, err := rtctest.Dial(ctx, func(offer string) (string, error) {
		body["sdp"] = offer
		r := c.json("POST", "/api/rtc/sessions", body)
		if r.status != 201 {
			return "", fmt.Errorf("status %d: %s", r.status, r.body)
		}
		created = r.json(t)
		return created["sdp"].(string), nil
	})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = cl.Close() })
	return cl, created
}

func waitType(t *testing.T, ctx context.Context, c *rtctest.Client, typ string) map[string]any {
	t.Helper()
	m, _, err := c.WaitMessage(ctx, 0, func(m rtctest.Message) bool { return m.Type == typ })
	if err != nil {
		t.Fatalf("waiting for %s: %v", typ, err)
	}
	var out map[string]any
	if err := json.Unmarshal(m.Data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRTCSessions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withVoiceChat(talk.Config{MaxPerUser: 2}))
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	owner := e.signup("ola")
	agent := agentOf(t, owner.json("POST", "/api/agents", map[string]any{"name": "Ferryman", "voice_id": "jenny", "first_mes": "Welcome aboard."}).must(t, 201))
	agentID := agent["id"].(string)
	mute := agentOf(t, owner.json("POST", "/api/agents", map[string]any{"name": "Mute"}).must(t, 201))["id"].(string)
	other := e.signup("pia")
	otherAgent := agentOf(t, other.json("POST", "/api/agents", map[string]any{"name": "Hidden", "visibility": "private", "voice_id": "alan"}).must(t, 201))["id"].(string)

	// A call by cookie: the greeting is spoken, a typed turn answered, and
	// DELETE hangs up.
	c, created := dialHTTP(t, ctx, owner, map[string]any{"agent_id": agentID})
	if id, _ := created["session_id"].(string); !strings.HasPrefix(id, "rtc_") || created["conversation_id"] == "" {
		t.Fatalf("created %v", created)
	}
	greeting := waitType(t, ctx, c, "turn")
	if greeting["said"] != "Welcome aboard." {
		t.Errorf("greeting turn %v", greeting)
	}
	owner.json("DELETE", "/api/rtc/sessions/"+created["session_id"].(string), nil).must(t, 204)
	if bye := waitType(t, ctx, c, "bye"); bye["reason"] != "hangup" {
		t.Errorf("bye %v", bye)
	}
	owner.json("DELETE", "/api/rtc/sessions/"+created["session_id"].(string), nil).must(t, 404)

	// Continuing the conversation by key.
	key := owner.withKey()
	c2, created2 := dialHTTP(t, ctx, key, map[string]any{"agent_id": agentID, "conversation_id": created["conversation_id"]})
	if created2["conversation_id"] != created["conversation_id"] {
		t.Errorf("conversation %v, want %v continued", created2["conversation_id"], created["conversation_id"])
	}
	waitType(t, ctx, c2, "session")
	_ = c2.Close()

	// An embed token opens a call without signing in, for its agent only.
	tok := owner.json("POST", "/api/agents/"+agentID+"/embed-tokens", map[string]any{"end_user": "visitor-7", "ttl_seconds": 300}).must(t, 201).json(t)
	token := tok["token"].(string)
	if !strings.HasPrefix(token, "emb_") {
		t.Fatalf("token %q", token)
	}
	anon := e.client()
	c3, created3 := dialHTTP(t, ctx, anon, map[string]any{"agent_id": agentID, "embed_token": token})
	waitType(t, ctx, c3, "session")
	anon.json("DELETE", "/api/rtc/sessions/"+created3["session_id"].(string), map[string]string{"embed_token": token}).must(t, 204)
	waitType(t, ctx, c3, "bye")

	for _, tc := range []struct {
		name   string
		c      *client
		body   any
		status int
		code   string
	}{
		{"anonymous", e.client(), map[string]any{"agent_id": agentID, "sdp": "v=0"}, 401, "unauthenticated"},
		{"no agent", owner, map[string]any{"sdp": "v=0"}, 400, "invalid_request"},
		{"no sdp", owner, map[string]any{"agent_id": agentID}, 400, "invalid_request"},
		{"sdp a number", owner, `{"agent_id":"x","sdp":5}`, 400, "invalid_request"},
		{"huge sdp", owner, map[string]any{"agent_id": agentID, "sdp": strings.Repeat("a", 70<<10)}, 413, ""},
		{"garbage sdp", owner, map[string]any{"agent_id": agentID, "sdp": "hello"}, 400, "invalid_offer"},
		{"unknown agent", owner, map[string]any{"agent_id": "agt_nope", "sdp": "v=0"}, 404, "agent_not_found"},
		{"private agent", owner, map[string]any{"agent_id": otherAgent, "sdp": "v=0"}, 404, "agent_not_found"},
		{"bad embed token", e.client(), map[string]any{"agent_id": agentID, "sdp": "v=0", "embed_token": "emb_nope"}, 401, "embed_token_invalid"},
		{"embed token, other agent", e.client(), map[string]any{"agent_id": otherAgent, "sdp": "v=0", "embed_token": token}, 403, "embed_token_wrong_agent"},
		{"embed token, a conversation", e.client(), map[string]any{"agent_id": agentID, "sdp": "v=0", "embed_token": token, "conversation_id": created["conversation_id"]}, 400, "invalid_request"},
		{"other's conversation", other, map[string]any{"agent_id": otherAgent, "sdp": "v=0", "conversation_id": created["conversation_id"]}, 404, "conversation_not_found"},
		{"agent without a voice", owner, map[string]any{"agent_id": mute, "sdp": "v=0"}, 422, "agent_has_no_voice"},
		{"unknown field", owner, map[string]any{"agent_id": agentID, "sdp": "v=0", "video": true}, 400, "invalid_request"},
	} {
		r := tc.c.json("POST", "/api/rtc/sessions", tc.body)
		if r.status != tc.status {
			t.Errorf("%s: status %d, want %d: %s", tc.name, r.status, tc.status, r.body)
			continue
		}
		if tc.code != "" {
			if code, _ := r.errorCode(t); code != tc.code {
				t.Errorf("%s: code %s, want %s (%s)", tc.name, code, tc.code, r.body)
			}
		}
	}
	for _, tc := range []struct {
		name   string
		body   any
		status int
	}{
		{"ttl too short", map[string]any{"ttl_seconds": 5}, 400},
		{"ttl too long", map[string]any{"ttl_seconds": 100000000}, 400},
		{"ttl a string", map[string]any{"ttl_seconds": "10"}, 400},
		{"end user control chars", map[string]any{"end_user": "a\x00b"}, 400},
	} {
		if r := owner.json("POST", "/api/agents/"+agentID+"/embed-tokens", tc.body); r.status != tc.status {
			t.Errorf("embed token %s: status %d: %s", tc.name, r.status, r.body)
		}
	}
	owner.json("POST", "/api/agents/"+otherAgent+"/embed-tokens", map[string]any{}).must(t, 404)
	e.client().json("POST", "/api/agents/"+agentID+"/embed-tokens", map[string]any{}).must(t, 401)
	if n := e.count("embed_tokens"); n != 1 {
		t.Errorf("%d embed tokens stored, want the 1 issued", n)
	}

	// Voice calls need a server that has them.
	plain := newEnv(t)
	u := plain.signup("quinn")
	r := u.json("POST", "/api/rtc/sessions", map[string]any{"agent_id": "agt_x", "sdp": "v=0"})
	if code, _ := r.errorCode(t); r.status != 503 || code != "voice_chat_unavailable" {
		t.Errorf("no voice chat: %d %s", r.status, r.body)
	}
}
