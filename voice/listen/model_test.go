package listen

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestNewDetectorErrors(t *testing.T) {
	t.Parallel()
	model, err := os.ReadFile(modelPath())
	if err != nil {
		t.Fatalf("the Silero VAD model is not in place: run scripts/setup-vad (or `make setup`): %v", err)
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// Each of these would abort the process inside sherpa-onnx if it got
	// that far.
	for name, path := range map[string]string{
		"missing":   filepath.Join(dir, "missing.onnx"),
		"directory": dir,
		"empty":     write("empty.onnx", nil),
		"text":      write("text.onnx", []byte("<html>404 not found</html>")),
		"truncated": write("truncated.onnx", model[:len(model)/2]),
		// A well-formed message with a graph field but no v5 state.
		"not v5": write("v4.onnx", []byte{0x08, 0x07, 0x3a, 0x02, 'h', 'n'}),
	} {
		if d, err := NewDetector(path, Config{}); !errors.Is(err, ErrNoModel) {
			t.Errorf("%s: %v, want ErrNoModel", name, err)
			if d != nil {
				d.Close()
			}
		}
	}
	if _, err := NewDetector(modelPath(), Config{Silence: time.Millisecond}); !errors.Is(err, ErrConfig) {
		t.Errorf("bad config: %v, want ErrConfig", err)
	}
}
