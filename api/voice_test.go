package api_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/timbre-ai/timbre/voice/audio"
	"github.com/timbre-ai/timbre/voice/codec"
)

func decodeWAV(t *testing.T, b []byte) audio.Frame {
	t.Helper()
	f, err := audio.DecodeWAV(bytes.NewReader(b), audio.WAVLimits{MaxDuration: time.Minute})
	if err != nil {
		t.Fatalf("not a WAV (%v): %d bytes", err, len(b))
	}
	return f
}

func seconds(f audio.Frame) float64 { return f.Duration().Seconds() }

func TestVoiceCatalogAndPreview(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.signup("u")
	list := e.client().json("GET", "/api/voices", nil).must(t, 200).json(t)
	seen := map[string]map[string]any{}
	for _, v := range list["items"].([]any) {
		v := v.(map[string]any)
		seen[v["id"].(string)] = v
	}
	if j := seen["jenny"]; j == nil || j["kind"] != "builtin" || j["sample_rate"] != 22050.0 || j["language"] != "en_GB" || j["gender"] != "female" {
		t.Fatalf("catalog = %v", list)
	}
	if seen["alan"] == nil {
		t.Fatalf("catalog lacks alan: %v", list)
	}

	r := u.json("GET", "/api/voices/alan/preview?text=Testing%20one%20two.", nil).must(t, 200)
	if ct := r.header.Get("Content-Type"); ct != "audio/wav" {
		t.Fatalf("content type %q", ct)
	}
	f := decodeWAV(t, r.body)
	if f.SampleRate != 22050 || f.Channels != 1 || seconds(f) < 0.5 || seconds(f) > 5 || audio.RMS(f.Samples) < 0.01 {
		t.Fatalf("preview: %v, %.2f s, rms %.4f", f.Format, seconds(f), audio.RMS(f.Samples))
	}
	again := u.json("GET", "/api/voices/alan/preview?text=Testing%20one%20two.", nil).must(t, 200)
	if !bytes.Equal(again.body, r.body) {
		t.Fatal("the second preview differs from the cached first")
	}
	intro := decodeWAV(t, u.json("GET", "/api/voices/jenny/preview", nil).must(t, 200).body)
	if seconds(intro) < 1.5 {
		t.Fatalf("the default introduction lasts %.2f s", seconds(intro))
	}

	if code, _ := u.json("GET", "/api/voices/nobody/preview", nil).must(t, 404).errorCode(t); code != "voice_not_found" {
		t.Fatalf("unknown voice: %s", code)
	}
	if _, field := u.json("GET", "/api/voices/jenny/preview?text="+strings.Repeat("a", 301), nil).must(t, 400).errorCode(t); field != "text" {
		t.Fatalf("long preview text: field %q", field)
	}
	e.client().json("GET", "/api/voices/jenny/preview", nil).must(t, 401)
}

func TestSpeech(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.signup("u")
	key := u.withKey()
	text := "The tide turns at dawn. Bring a lantern, and mind the third step."
	speak := func(body map[string]any) response {
		b, _ := json.Marshal(body)
		return key.do("POST", "/v1/audio/speech", "application/json", bytes.NewReader(b))
	}

	r := speak(map[string]any{"model": "tts-1", "input": text, "voice": "jenny"}).must(t, 200)
	if ct := r.header.Get("Content-Type"); ct != "audio/wav" {
		t.Fatalf("content type %q", ct)
	}
	wav := decodeWAV(t, r.body)
	if wav.SampleRate != 24000 || wav.Channels != 1 || seconds(wav) < 2 || seconds(wav) > 10 || audio.RMS(wav.Samples) < 0.01 {
		t.Fatalf("speech: %v, %.2f s, rms %.4f", wav.Format, seconds(wav), audio.RMS(wav.Samples))
	}

	r = speak(map[string]any{"model": "tts-1", "input": text, "voice": "jenny", "response_format": "pcm", "sample_rate": 16000}).must(t, 200)
	if len(r.body)%2 != 0 {
		t.Fatalf("pcm of %d bytes is not whole 16-bit samples", len(r.body))
	}
	// VITS draws its durations at random: two syntheses of one text differ
	// by a few percent.
	pcmSeconds := float64(len(r.body)/2) / 16000
	if ratio := pcmSeconds / seconds(wav); ratio < 0.85 || ratio > 1.15 {
		t.Fatalf("pcm lasts %.3f s at 16 kHz, the wav %.3f s at 24 kHz", pcmSeconds, seconds(wav))
	}
	pcm, err := audio.AppendFloatFromPCM16(nil, r.body)
	if err != nil || audio.RMS(pcm) < 0.01 {
		t.Fatalf("pcm: rms %.4f (%v)", audio.RMS(pcm), err)
	}
	r = speak(map[string]any{"input": text, "voice": "jenny", "response_format": "opus"}).must(t, 200)
	if ct := r.header.Get("Content-Type"); ct != "audio/ogg; codecs=opus" {
		t.Fatalf("opus content type %q", ct)
	}
	ogg, err := codec.Decode(r.body, codec.Limits{})
	if err != nil {
		t.Fatalf("decode the Ogg-Opus speech: %v", err)
	}
	if ogg.Container != codec.ContainerOgg || ogg.Codec != codec.CodecOpus || ogg.SourceRate != 24000 || ogg.SourceChannels != 1 {
		t.Fatalf("opus speech is %s/%s at %d Hz, %d channels", ogg.Container, ogg.Codec, ogg.SourceRate, ogg.SourceChannels)
	}
	if ratio := seconds(ogg.Audio) / seconds(wav); ratio < 0.85 || ratio > 1.15 || audio.RMS(ogg.Audio.Samples) < 0.01 {
		t.Fatalf("opus lasts %.3f s (rms %.4f), the wav %.3f s", seconds(ogg.Audio), audio.RMS(ogg.Audio.Samples), seconds(wav))
	}
	fast := decodeWAV(t, speak(map[string]any{"input": text, "voice": "jenny", "speed": 2}).must(t, 200).body)
	if ratio := seconds(fast) / seconds(wav); ratio < 0.35 || ratio > 0.7 {
		t.Fatalf("speed 2 lasts %.2f of speed 1", ratio)
	}

	// An agent with a voice lends it when the request names the agent.
	newAgent(t, u, map[string]any{"name": "Crier", "voice_id": "alan"})
	alan := decodeWAV(t, speak(map[string]any{"model": "crier", "input": "Hear ye."}).must(t, 200).body)
	if seconds(alan) < 0.3 {
		t.Fatalf("agent's voice: %.2f s", seconds(alan))
	}

	bad := []struct {
		name  string
		body  map[string]any
		code  string
		param string
	}{
		{"no input", map[string]any{"voice": "jenny"}, "invalid_request", "input"},
		{"empty input", map[string]any{"voice": "jenny", "input": "  "}, "invalid_request", "input"},
		{"20,000 characters", map[string]any{"voice": "jenny", "input": strings.Repeat("word ", 4000)}, "invalid_request", "input"},
		{"only emoji", map[string]any{"voice": "jenny", "input": "😀🎉 ✨"}, "nothing_to_say", "input"},
		{"unknown voice", map[string]any{"voice": "nobody", "input": "hi"}, "invalid_request", "voice"},
		{"no voice", map[string]any{"input": "hi"}, "invalid_request", "voice"},
		{"mp3", map[string]any{"voice": "jenny", "input": "hi", "response_format": "mp3"}, "invalid_request", "response_format"},
		{"speed 5", map[string]any{"voice": "jenny", "input": "hi", "speed": 5}, "invalid_request", "speed"},
		{"sample rate 5", map[string]any{"voice": "jenny", "input": "hi", "sample_rate": 5}, "invalid_request", "sample_rate"},
		{"input of the wrong type", map[string]any{"voice": "jenny", "input": 42}, "invalid_request", "input"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			code, typ, param := openAIError(t, speak(tc.body).must(t, 400))
			if code != tc.code || param != tc.param || typ != "invalid_request_error" {
				t.Fatalf("error %s/%s param %v, want %s param %s", code, typ, param, tc.code, tc.param)
			}
		})
	}
	// Speech takes API keys only.
	openAIError(t, u.json("POST", "/v1/audio/speech", map[string]any{"voice": "jenny", "input": "hi"}).must(t, 401))
}

func TestMessageSpeech(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u, other := e.signup("u"), e.signup("other")
	voiced := newAgent(t, u, map[string]any{"name": "Crier", "voice_id": "alan", "first_mes": "Hear ye, hear ye! The market opens at dawn."})
	conv, greeting := startChat(t, u, voiced)
	path := "/api/conversations/" + conv + "/messages/" + greeting["id"].(string) + "/speech"
	r := u.json("GET", path, nil).must(t, 200)
	f := decodeWAV(t, r.body)
	if r.header.Get("Content-Type") != "audio/wav" || f.SampleRate != 24000 || seconds(f) < 1.5 || audio.RMS(f.Samples) < 0.01 {
		t.Fatalf("message speech: %s, %v, %.2f s", r.header.Get("Content-Type"), f.Format, seconds(f))
	}
	if code, _ := other.json("GET", path, nil).must(t, 404).errorCode(t); code != "conversation_not_found" {
		t.Fatalf("someone else's message: %s", code)
	}
	if code, _ := u.json("GET", "/api/conversations/"+conv+"/messages/msg_aaaaaaaaaaaaaaaa/speech", nil).must(t, 404).errorCode(t); code != "message_not_found" {
		t.Fatalf("unknown message: %s", code)
	}
	silent := newAgent(t, u, map[string]any{"name": "Mime", "first_mes": "..."})
	conv2, g2 := startChat(t, u, silent)
	if code, _ := u.json("GET", "/api/conversations/"+conv2+"/messages/"+g2["id"].(string)+"/speech", nil).must(t, 422).errorCode(t); code != "agent_has_no_voice" {
		t.Fatalf("agent without a voice: %s", code)
	}
}
