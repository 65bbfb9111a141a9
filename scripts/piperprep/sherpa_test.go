package main

import (
	"math"
	"path/filepath"
	"testing"
	"time"

	sherpa "github.com/k2-fsa/sherpa-onnx-go-linux"
)

// TestPreparedVoiceSpeaks prepares a shipped voice the way `make setup`
// does and has sherpa-onnx load it and say a sentence: the proof that the
// metadata, tokens.txt and espeak-ng data fit together.
func TestPreparedVoiceSpeaks(t *testing.T) {
	t.Parallel()
	espeak, err := findEspeakData(t.Context(), "")
	if err != nil {
		t.Fatalf("%v\nThe Piper voices need Debian's espeak-ng-data: run `make setup` (scripts/setup installs it).", err)
	}
	v := shippedVoices[0]
	voices := t.TempDir()
	res, err := prepareVoice(v, prepareParams{Dir: voices, EspeakData: espeak})
	if err != nil {
		t.Fatal(err)
	}
	m, dir := res.Manifest, filepath.Join(voices, v.ID)

	var config sherpa.OfflineTtsConfig
	config.Model.Vits = sherpa.OfflineTtsVitsModelConfig{
		Model:       filepath.Join(dir, m.Model),
		Tokens:      filepath.Join(dir, m.Tokens),
		DataDir:     m.EspeakData,
		NoiseScale:  m.NoiseScale,
		NoiseScaleW: m.NoiseW,
		LengthScale: m.LengthScale,
	}
	config.Model.NumThreads = 1
	config.Model.Provider = "cpu"
	config.MaxNumSentences = 1

	start := time.Now()
	tts := sherpa.NewOfflineTts(&config)
	load := time.Since(start)
	if tts == nil {
		t.Fatalf("sherpa-onnx did not load %s", config.Model.Vits.Model)
	}
	defer sherpa.DeleteOfflineTts(tts)
	if tts.SampleRate() != m.SampleRate {
		t.Errorf("sherpa-onnx sample rate %d, manifest %d", tts.SampleRate(), m.SampleRate)
	}
	if tts.NumSpeakers() != m.NSpeakers {
		t.Errorf("sherpa-onnx speakers %d, manifest %d", tts.NumSpeakers(), m.NSpeakers)
	}

	const text = "Hello from Timbre."
	start = time.Now()
	audio := tts.Generate(text, 0, 1)
	took := time.Since(start)
	if audio == nil || len(audio.Samples) == 0 {
		t.Fatalf("sherpa-onnx generated no audio for %q", text)
	}
	if audio.SampleRate != m.SampleRate {
		t.Errorf("audio sample rate %d, want %d (voice.json)", audio.SampleRate, m.SampleRate)
	}
	seconds := float64(len(audio.Samples)) / float64(audio.SampleRate)
	if seconds < 0.5 || seconds > 4 {
		t.Errorf("%q lasts %.2f s; want 0.5–4 s", text, seconds)
	}
	// Speech at Piper's level has an RMS around 0.05–0.2; silence, or a
	// model fed the wrong ids, stays near 0.
	var sum float64
	for _, s := range audio.Samples {
		sum += float64(s) * float64(s)
	}
	if rms := math.Sqrt(sum / float64(len(audio.Samples))); rms < 0.01 {
		t.Errorf("RMS %.4f: the audio is silent", rms)
	} else {
		t.Logf("%s: %.2f s of audio, RMS %.3f", v.ID, seconds, rms)
	}
	t.Logf("%s: model load %v, synthesis %v, real-time factor %.3f (1 thread)",
		v.ID, load.Round(time.Millisecond), took.Round(time.Millisecond), took.Seconds()/seconds)
}
