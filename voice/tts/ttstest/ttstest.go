// Package ttstest opens the Piper voices `make setup` prepared, once per
// test binary, for the tests of every package that speaks.
package ttstest

import (
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
