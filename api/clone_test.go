package api_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/timbre-ai/timbre/voice/audio"
	"github.com/timbre-ai/timbre/voice/codec"
	"github.com/timbre-ai/timbre/voice/tts"
	"github.com/timbre-ai/timbre/voice/tts/ttstest"
)

var (
	speechOnce sync.Once
	speechClip audio.Frame
)

// recording is about eight seconds of Alan reading, as a stand-in for a
// person's recording, made once per test binary.
func recording(t *testing.T) audio.Frame {
	t.Helper()
	speechOnce.Do(func() {
		var samples []float32
		engine := ttstest.Piper(t)
		err := engine.Stream(context.Background(), tts.Request{Voice: "alan", Text: "I walked down to the harbour this morning. " +
			"The boats were painted blue and red, and the gulls were loud. Nobody knew when the ferry would come back."},
			func(c tts.Chunk) error {
				samples = append(samples, c.Samples...)
				return nil
			})
		if err != nil {
			t.Fatalf("synthesise the recording: %v", err)
		}
		// A little silence either side, as a person's recording has.
		pad := make([]float32, 22050/2)
		speechClip = audio.Frame{Format: audio.Format{SampleRate: 22050, Channels: 1},
			Samples: append(append(append([]float32{}, pad...), samples...), pad...)}
	})
	if len(speechClip.Samples) == 0 {
		t.Fatal("no recording")
	}
	return speechClip
}

func wavBytes(t *testing.T, f audio.Frame) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := audio.EncodeWAV(&buf, f); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func oggBytes(t *testing.T, f audio.Frame) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := codec.NewOggOpusWriter(&buf, f.SampleRate, codec.OggOpusOptions{Bitrate: 48000})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(f.Samples); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestCloneVoice(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withCloning(t))
	u := e.signup("creator")
	rec := recording(t)
	form := map[string]string{"name": "My voice", "consent": "true"}

	r := u.form("/api/voices", form, "me.ogg", oggBytes(t, rec)).must(t, 201)
	var created struct {
		Voice struct {
			ID, Name, Kind, BaseVoice string
			SampleRate                int     `json:"sample_rate"`
			ClipSeconds               float64 `json:"clip_seconds"`
			Profile                   struct {
				F0 float64 `json:"f0_median_hz"`
			}
		}
	}
	if err := json.Unmarshal(r.body, &created); err != nil {
		t.Fatal(err)
	}
	v := created.Voice
	if !strings.HasPrefix(v.ID, "vc_") || v.Name != "My voice" || v.Kind != "cloned" || v.SampleRate != 22050 ||
		v.ClipSeconds < 4 || v.ClipSeconds > 12 || v.Profile.F0 < 60 || v.Profile.F0 > 200 {
		t.Fatalf("cloned voice %+v", v)
	}
	// Alan's recording is nearest to Alan.
	if err := json.Unmarshal(r.body, &map[string]any{}); err != nil {
		t.Fatal(err)
	}
	var raw map[string]map[string]any
	_ = json.Unmarshal(r.body, &raw)
	if raw["voice"]["base_voice"] != "alan" {
		t.Fatalf("base voice %v, want alan", raw["voice"]["base_voice"])
	}

	// Consent is stored with who gave it.
	var consentBy, consentText, format string
	if err := e.pool.QueryRow(context.Background(), `SELECT consent_by, consent_text, upload_format FROM voices WHERE id = $1`, v.ID).
		Scan(&consentBy, &consentText, &format); err != nil {
		t.Fatal(err)
	}
	me := u.json("GET", "/api/me", nil).must(t, 200).json(t)["user"].(map[string]any)
	if consentBy != me["id"] || !strings.Contains(consentText, "permission") || format != "ogg/opus" {
		t.Fatalf("consent by %q (%q), format %q", consentBy, consentText, format)
	}

	// The catalog shows it to its owner only.
	ids := func(c *client) []string {
		var list struct{ Items []struct{ ID string } }
		if err := json.Unmarshal(c.json("GET", "/api/voices", nil).must(t, 200).body, &list); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, it := range list.Items {
			out = append(out, it.ID)
		}
		return out
	}
	if got := ids(u); len(got) != 3 || got[2] != v.ID {
		t.Fatalf("the owner's catalog: %v", got)
	}
	other := e.signup("other")
	if got := ids(other); len(got) != 2 {
		t.Fatalf("another user's catalog: %v", got)
	}
	if got := ids(e.client()); len(got) != 2 {
		t.Fatalf("the anonymous catalog: %v", got)
	}

	// It speaks: a preview, and /v1/audio/speech, near the recording's pitch.
	preview := decodeWAV(t, u.json("GET", "/api/voices/"+v.ID+"/preview?text=Good+morning+to+you.", nil).must(t, 200).body)
	if seconds(preview) < 0.5 || audio.RMS(preview.Samples) < 0.01 {
		t.Fatalf("preview: %.2f s, rms %.4f", seconds(preview), audio.RMS(preview.Samples))
	}
	key := u.withKey()
	speak := func(c *client, voice string) response {
		b, _ := json.Marshal(map[string]any{"input": "The ferry comes back at noon. Bring your ticket.", "voice": voice})
		return c.do("POST", "/v1/audio/speech", "application/json", bytes.NewReader(b))
	}
	speech := decodeWAV(t, speak(key, v.ID).must(t, 200).body)
	if seconds(speech) < 1 || audio.RMS(speech.Samples) < 0.01 {
		t.Fatalf("speech: %.2f s, rms %.4f", seconds(speech), audio.RMS(speech.Samples))
	}
	// Someone else's cloned voice is not theirs to use.
	if code, _, param := openAIError(t, speak(other.withKey(), v.ID).must(t, 400)); code != "invalid_request" || param != "voice" {
		t.Fatalf("another user's speech in the voice: %s %v", code, param)
	}
	other.json("GET", "/api/voices/"+v.ID+"/preview", nil).must(t, 404)
	other.json("GET", "/api/voices/"+v.ID+"/clip", nil).must(t, 404)

	// The clip is the trimmed speech.
	clip := decodeWAV(t, u.json("GET", "/api/voices/"+v.ID+"/clip", nil).must(t, 200).body)
	if d := seconds(clip); d > seconds(rec) || d < v.ClipSeconds*0.9 {
		t.Fatalf("clip of %.2f s from a recording of %.2f s with %.2f s of speech", d, seconds(rec), v.ClipSeconds)
	}

	// Similar voices: Alan is nearer than Jenny.
	var similar struct {
		Items []struct {
			Voice    struct{ ID string }
			Distance float64
		}
	}
	if err := json.Unmarshal(u.json("GET", "/api/voices/"+v.ID+"/similar", nil).must(t, 200).body, &similar); err != nil {
		t.Fatal(err)
	}
	if len(similar.Items) != 2 || similar.Items[0].Voice.ID != "alan" || similar.Items[0].Distance >= similar.Items[1].Distance {
		t.Fatalf("similar: %+v", similar.Items)
	}
	// A second clone of the same recording (as WAV) is the nearest to the first.
	second := u.form("/api/voices", map[string]string{"name": "Again", "consent": "true"}, "me.wav", wavBytes(t, rec)).must(t, 201).json(t)
	secondID := second["voice"].(map[string]any)["id"].(string)
	if err := json.Unmarshal(u.json("GET", "/api/voices/"+v.ID+"/similar", nil).must(t, 200).body, &similar); err != nil {
		t.Fatal(err)
	}
	if len(similar.Items) != 3 || similar.Items[0].Voice.ID != secondID || similar.Items[0].Distance > 0.05 {
		t.Fatalf("similar after a second clone: %+v", similar.Items)
	}

	// A public agent speaks its owner's cloned voice to everyone.
	agentID := newAgent(t, u, map[string]any{"name": "Harbourmaster", "voice_id": v.ID, "visibility": "public",
		"first_mes": "The ferry is late again. Mind the ropes on the quay."})
	conv, greeting := startChat(t, other, agentID)
	messageSpeech := "/api/conversations/" + conv + "/messages/" + greeting["id"].(string) + "/speech"
	if heard := decodeWAV(t, other.json("GET", messageSpeech, nil).must(t, 200).body); seconds(heard) < 1 {
		t.Fatalf("the agent's cloned voice to another user: %.2f s", seconds(heard))
	}

	// Deleting it: gone from the catalog, and speech in it is refused.
	other.json("DELETE", "/api/voices/"+v.ID, nil).must(t, 404)
	u.json("DELETE", "/api/voices/"+v.ID, nil).must(t, 204)
	u.json("DELETE", "/api/voices/"+v.ID, nil).must(t, 404)
	speak(key, v.ID).must(t, 400)
	if code, _ := other.json("GET", messageSpeech, nil).must(t, 422).errorCode(t); code != "agent_voice_unavailable" {
		t.Fatalf("an agent whose cloned voice was deleted: %s", code)
	}
	if got := ids(u); len(got) != 3 || got[2] != secondID {
		t.Fatalf("catalog after delete: %v", got)
	}
}

// TestCloneVoiceBadInput sends recordings that cannot be cloned: each gets
// a clear reason and nothing is stored.
func TestCloneVoiceBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withCloning(t))
	u := e.signup("creator")
	rec := recording(t)
	rate := rec.SampleRate
	second := func(n float64) int { return int(n * float64(rate)) }
	frame := func(samples []float32) audio.Frame {
		return audio.Frame{Format: audio.Format{SampleRate: rate, Channels: 1}, Samples: samples}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	noise := make([]float32, second(8))
	for i := range noise {
		noise[i] = float32(rng.NormFloat64() * 0.2)
	}
	clipped := make([]float32, len(rec.Samples))
	for i, s := range rec.Samples {
		clipped[i] = float32(math.Max(-1, math.Min(1, float64(s)*10)))
	}
	oneSecond := frame(rec.Samples[second(1.5):second(2.5)])
	ogg := oggBytes(t, rec)
	fixture := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("..", "voice", "codec", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// A WAV header that says ten minutes over a few seconds of data.
	lying := wavBytes(t, rec)
	binary.LittleEndian.PutUint32(lying[40:44], uint32(600*rate*2))
	binary.LittleEndian.PutUint32(lying[4:8], uint32(600*rate*2+36))
	tenMinutes := wavBytes(t, audio.Frame{Format: audio.Format{SampleRate: 8000, Channels: 1}, Samples: make([]float32, 600*8000)})

	tests := []struct {
		name   string
		fields map[string]string
		file   []byte
		status int
		code   string
		reason string
	}{
		{"no consent", map[string]string{"name": "x"}, wavBytes(t, rec), 422, "consent_required", ""},
		{"consent false", map[string]string{"name": "x", "consent": "false"}, wavBytes(t, rec), 422, "consent_required", ""},
		{"no name", map[string]string{"consent": "true"}, wavBytes(t, rec), 400, "invalid_request", ""},
		{"no audio", map[string]string{"name": "x", "consent": "true"}, nil, 400, "invalid_request", ""},
		{"one second", nil, wavBytes(t, oneSecond), 422, "clip_rejected", "too_short"},
		{"ten minutes", nil, tenMinutes, 422, "clip_rejected", "too_long"},
		{"a header claiming ten minutes", nil, lying, 422, "clip_rejected", "too_long"},
		{"silence", nil, wavBytes(t, frame(make([]float32, second(8)))), 422, "clip_rejected", "not_speech"},
		{"white noise", nil, wavBytes(t, frame(noise)), 422, "clip_rejected", ""},
		{"clipped", nil, wavBytes(t, frame(clipped)), 422, "clip_rejected", "clipping"},
		{"corrupt bytes", nil, bytes.Repeat([]byte{0x13, 0x37, 0xc0, 0xde}, 2000), 415, "unsupported_audio", ""},
		{"truncated Ogg", nil, ogg[:len(ogg)/2], 422, "unreadable_audio", ""},
		{"a WAV header on Ogg data", nil, append(wavBytes(t, frame(nil))[:44:44], ogg...), 422, "unreadable_audio", ""},
		{"MP3", nil, fixture("tone.mp3"), 415, "unsupported_audio", ""},
		{"Vorbis", nil, fixture("vorbis.ogg"), 415, "unsupported_audio", ""},
		// Chrome's MediaRecorder: 48 kHz stereo WebM-Opus, read, but 1.4 s
		// of a tone is no voice to clone.
		{"48 kHz stereo WebM of a tone", nil, fixture("chrome_mediarecorder.webm"), 422, "clip_rejected", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fields := tc.fields
			if fields == nil {
				fields = map[string]string{"name": "x", "consent": "true"}
			}
			r := u.form("/api/voices", fields, "clip", tc.file).must(t, tc.status)
			var body struct {
				Error struct{ Code, Message, Reason, Field string }
			}
			if err := json.Unmarshal(r.body, &body); err != nil {
				t.Fatal(err)
			}
			if body.Error.Code != tc.code || (tc.reason != "" && body.Error.Reason != tc.reason) || body.Error.Message == "" {
				t.Fatalf("error %+v, want %s/%s", body.Error, tc.code, tc.reason)
			}
			if tc.code == "clip_rejected" && body.Error.Reason == "" {
				t.Fatalf("a rejected clip without a reason: %+v", body.Error)
			}
		})
	}
	if n := e.count("voices"); n != 0 {
		t.Fatalf("%d voices stored from bad recordings", n)
	}
	e.client().form("/api/voices", map[string]string{"name": "x", "consent": "true"}, "me.wav", wavBytes(t, rec)).must(t, 401)
}
