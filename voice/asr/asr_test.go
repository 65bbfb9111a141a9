package asr

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestOpenRejectsBadConfig(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Provider: "whisper.cpp"}, `provider "whisper.cpp": must be pocketsphinx, sherpa-onnx or openai`},
		{Config{Decoders: -1}, "decoders -1"},
		{Config{Decoders: maxDecoders + 1}, "decoders 65"},
		{Config{Threads: -2}, "threads -2"},
		{Config{Provider: ProviderOpenAI, Timeout: -time.Second}, "timeout -1s"},
	} {
		r, err := Open(c.cfg, nil)
		if err == nil {
			r.Close()
			t.Errorf("%+v accepted", c.cfg)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q in it", c.cfg, err, c.want)
		}
	}
}

// The default provider is pocketsphinx, which streams.
func TestOpenDefaultStreams(t *testing.T) {
	r, err := Open(Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, ok := r.(Streamer); !ok || r.Name() != "pocketsphinx/en-us" {
		t.Errorf("default recognizer %s (%T) does not stream", r.Name(), r)
	}
	if n := cap(r.(*pocketsphinx).slots); n != 2 {
		t.Errorf("%d decoders by default, want 2", n)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Transcribe(t.Context(), nil, 16000); !errors.Is(err, ErrClosed) {
		t.Errorf("Transcribe after Close: %v, want ErrClosed", err)
	}
}
