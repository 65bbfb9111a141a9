// Package ttstest opens the Piper voices `make setup` prepared, once per
// test binary, for the tests of every package that speaks.
package ttstest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/timbre-ai/timbre/voice/tts"
)

var (
	once   sync.Once
	engine *tts.Piper
	err    error
)

// Dir is where the prepared voices are: $TIMBRE_DATA_DIR/voices, or the
// repository's .data/voices.
func Dir() string {
	dir := os.Getenv("TIMBRE_DATA_DIR")
	if dir == "" {
		_, file, _, _ := runtime.Caller(0)
		dir = filepath.Join(filepath.Dir(file), "..", "..", "..", ".data")
	}
	return filepath.Join(dir, "voices")
}

// Piper returns the shared engine (a model takes a second to load). It
// fails the test, saying how to prepare the voices, when they are missing.
func Piper(t testing.TB) *tts.Piper {
	t.Helper()
	once.Do(func() { engine, err = tts.OpenPiper(tts.PiperConfig{Dir: Dir(), Slots: 4}) })
	if err != nil {
		t.Fatalf("the Piper voices are not prepared in %s: run `make setup` (or `make test`, which runs it): %v", Dir(), err)
	}
	return engine
}

// Rate is the sample rate of the Piper voices.
const Rate = 22050

var (
	spokenMu sync.Mutex
	spoken   = map[[2]string][][]float32{}
)

// Sentences is voice saying text, as the engine delivers it: one chunk per
// sentence, mono at Rate. Each voice and text is synthesised once per test
// binary (Piper's output varies from run to run, so no test may depend on
// exact samples); callers must not change the returned samples.
func Sentences(t testing.TB, voice, text string) [][]float32 {
	t.Helper()
	spokenMu.Lock()
	defer spokenMu.Unlock()
	key := [2]string{voice, text}
	if s, ok := spoken[key]; ok {
		return s
	}
	var out [][]float32
	err := Piper(t).Stream(context.Background(), tts.Request{Voice: voice, Text: text}, func(c tts.Chunk) error {
		if c.SampleRate != Rate {
			return fmt.Errorf("voice %s speaks at %d Hz, the tests assume %d", voice, c.SampleRate, Rate)
		}
		out = append(out, c.Samples)
		return nil
	})
	if err != nil {
		t.Fatalf("synthesise %q in %s: %v", text, voice, err)
	}
	spoken[key] = out
	return out
}

// Say is voice saying text, its sentences joined: mono at Rate, a new
// slice the caller may change.
func Say(t testing.TB, voice, text string) []float32 {
	t.Helper()
	var out []float32
	for _, s := range Sentences(t, voice, text) {
		out = append(out, s...)
	}
	return out
}
