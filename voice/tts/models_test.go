package tts_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/timbre-ai/timbre/voice/tts"
	"github.com/timbre-ai/timbre/voice/tts/ttstest"
)

// writeVoice writes a voice folder named id under dir with manifest m.
func writeVoice(t *testing.T, dir, id string, m map[string]any) {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, id), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, id, "manifest.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// jennyFiles are the absolute paths of the prepared Jenny voice's files.
func jennyFiles(t *testing.T) (model, tokens, espeak string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(ttstest.Dir(), "jenny", "manifest.json"))
	if err != nil {
		t.Fatalf("the Piper voices are not prepared: run `make setup`: %v", err)
	}
	var m struct {
		Model      string `json:"model"`
		Tokens     string `json:"tokens"`
		EspeakData string `json:"espeak_data"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	abs := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(ttstest.Dir(), "jenny", p)
	}
	return abs(m.Model), abs(m.Tokens), m.EspeakData
}

// An operator adds a model by path: a folder with a manifest.json naming
// its files, wherever they are.
func TestModelFromPath(t *testing.T) {
	t.Parallel()
	model, tokens, espeak := jennyFiles(t)
	dir := t.TempDir()
	writeVoice(t, dir, "narrator", map[string]any{"id": "narrator", "name": "Narrator", "language": "en_GB",
		"sample_rate": 22050, "type": "vits", "model": model, "tokens": tokens, "espeak_data": espeak, "length_scale": 1.2})
	e, err := tts.OpenPiper(tts.PiperConfig{Dir: dir})
	if err != nil {
		t.Fatalf("OpenPiper: %v", err)
	}
	defer e.Close()
	voices := e.Voices()
	if len(voices) != 1 || voices[0].ID != "narrator" || voices[0].Engine != "vits" || voices[0].SampleRate != 22050 {
		t.Fatalf("voices %+v", voices)
	}
	var n int
	err = e.Stream(context.Background(), tts.Request{Voice: "narrator", Text: "Once upon a time."}, func(c tts.Chunk) error {
		n += len(c.Samples)
		return nil
	})
	if err != nil || n < 22050/2 {
		t.Fatalf("Stream: %d samples, %v", n, err)
	}
}

// A manifest that cannot work is refused when the engine opens, naming
// the voice and what is wrong, before any model loads.
func TestModelManifestErrors(t *testing.T) {
	t.Parallel()
	model, tokens, espeak := jennyFiles(t)
	cases := []struct {
		name     string
		manifest map[string]any
		want     string
	}{
		{"unknown type", map[string]any{"id": "x", "sample_rate": 22050, "type": "tacotron", "model": model, "tokens": tokens}, `model type "tacotron"`},
		{"no id", map[string]any{"sample_rate": 22050, "model": model, "tokens": tokens}, "needs an id"},
		{"no sample rate", map[string]any{"id": "x", "model": model, "tokens": tokens}, "sample_rate"},
		{"negative speaker", map[string]any{"id": "x", "sample_rate": 22050, "speaker": -1, "model": model, "tokens": tokens}, "speaker"},
		{"kokoro without voices.bin", map[string]any{"id": "x", "sample_rate": 24000, "type": "kokoro", "model": model, "tokens": tokens, "espeak_data": espeak}, "lacks a file"},
		{"kokoro whose voices.bin is missing", map[string]any{"id": "x", "sample_rate": 24000, "type": "kokoro", "model": model, "voices": "voices.bin", "tokens": tokens}, "voices.bin"},
		{"matcha without its vocoder file", map[string]any{"id": "x", "sample_rate": 22050, "type": "matcha", "model": model, "vocoder": "/nonexistent/vocos.onnx", "tokens": tokens}, "vocos.onnx"},
		{"vits whose model is missing", map[string]any{"id": "x", "sample_rate": 22050, "model": "gone.onnx", "tokens": tokens}, "gone.onnx"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			writeVoice(t, dir, "x", tc.manifest)
			e, err := tts.OpenPiper(tts.PiperConfig{Dir: dir})
			if err == nil {
				e.Close()
				t.Fatalf("OpenPiper accepted %v", tc.manifest)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}
