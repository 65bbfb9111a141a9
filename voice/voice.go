// Package voice owns what Timbre says aloud: the voice catalog, previews,
// and speech synthesis streamed sentence by sentence for the HTTP API (and,
// later, the realtime pipeline). The engines live in voice/tts and the
// audio primitives in voice/audio.
//
// voice may import the standard library, its subpackages, agents/sentence
// and cache; it never imports api.
package voice

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/timbre-ai/timbre/cache"
	"github.com/timbre-ai/timbre/voice/audio"
	"github.com/timbre-ai/timbre/voice/tts"
)

// Limits of the text a request may speak.
const (
	// MaxSpeechRunes is the longest input of one speech request, as in
	// OpenAI's API.
	MaxSpeechRunes = 4096
	// MaxPreviewRunes is the longest preview text.
	MaxPreviewRunes = 300
)

// ErrNoVoices is a server whose voices are not prepared.
var ErrNoVoices = errors.New("voice: no voices are available (run `make setup`, and keep a voice worker running)")

// InputError is unusable input, naming the field.
type InputError struct {
	Field   string
	Message string
}

func (e *InputError) Error() string { return "voice: " + e.Field + " " + e.Message }

// Config tunes the Service.
type Config struct {
	// PreviewEntries bounds the cached previews (default 128).
	PreviewEntries int
	// PreviewTTL is how long a preview is cached (default 1 h).
	PreviewTTL time.Duration
}

// Service speaks with the voices of its engine.
type Service struct {
	engine   tts.Engine // nil when no voices are installed
	previews *cache.TTL[[]byte]
}

// New returns a Service on engine, which may be nil (no voices).
func New(engine tts.Engine, cfg Config) *Service {
	if cfg.PreviewEntries <= 0 {
		cfg.PreviewEntries = 128
	}
	if cfg.PreviewTTL <= 0 {
		cfg.PreviewTTL = time.Hour
	}
	return &Service{engine: engine, previews: cache.New[[]byte](cfg.PreviewTTL, cfg.PreviewEntries)}
}

// Voices lists the catalog.
func (s *Service) Voices() []tts.Voice {
	if s.engine == nil {
		return []tts.Voice{}
	}
	return s.engine.Voices()
}

// Voice returns one voice of the catalog.
func (s *Service) Voice(id string) (tts.Voice, error) {
	for _, v := range s.Voices() {
		if v.ID == id {
			return v, nil
		}
	}
	if s.engine == nil || len(s.Voices()) == 0 {
		return tts.Voice{}, ErrNoVoices
	}
	return tts.Voice{}, fmt.Errorf("%w: %q", tts.ErrUnknownVoice, id)
}

// checkText validates text to speak.
func checkText(field, text string, maxRunes int) error {
	switch {
	case strings.TrimSpace(text) == "":
		return &InputError{Field: field, Message: "is required"}
	case !utf8.ValidString(text):
		return &InputError{Field: field, Message: "must be UTF-8 text"}
	case utf8.RuneCountInString(text) > maxRunes:
		return &InputError{Field: field, Message: fmt.Sprintf("must be at most %d characters", maxRunes)}
	}
	return nil
}

// Preview is a short WAV of a voice saying text (or its introduction),
// cached.
func (s *Service) Preview(ctx context.Context, id, text string) ([]byte, error) {
	v, err := s.Voice(id)
	if err != nil {
		return nil, err
	}
	if text == "" {
		text = fmt.Sprintf("Hello, I'm %s. This is how I sound when I read to you.", v.Name)
	}
	if err := checkText("text", text, MaxPreviewRunes); err != nil {
		return nil, err
	}
	key := id + "\x00" + text
	if b, ok := s.previews.Get(key); ok {
		return b, nil
	}
	gen := s.previews.Generation()
	var samples []float32
	err = s.engine.Stream(ctx, tts.Request{Voice: id, Text: text}, func(c tts.Chunk) error {
		samples = append(samples, c.Samples...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := audio.EncodeWAV(&buf, audio.Frame{Format: audio.Format{SampleRate: v.SampleRate, Channels: 1}, Samples: samples}); err != nil {
		return nil, fmt.Errorf("voice: encode preview: %w", err)
	}
	b := buf.Bytes()
	s.previews.Put(key, b, gen)
	return b, nil
}

// Speech is a request to speak text.
type Speech struct {
	Voice string
	Text  string
	Speed float64
	// SampleRate of the output; 0 keeps the voice's own.
	SampleRate int
}

// Speak synthesises sp sentence by sentence and calls onAudio with mono
// audio at the requested rate as each sentence is ready. The resampler runs
// across sentence boundaries, so the joins have no clicks. Errors before
// the first call are the request's fault or the engine's; onAudio's error
// stops it.
func (s *Service) Speak(ctx context.Context, sp Speech, onAudio func(audio.Frame) error) error {
	v, err := s.Voice(sp.Voice)
	if err != nil {
		return err
	}
	if err := checkText("input", sp.Text, MaxSpeechRunes); err != nil {
		return err
	}
	rate := sp.SampleRate
	if rate == 0 {
		rate = v.SampleRate
	}
	format := audio.Format{SampleRate: rate, Channels: 1}
	if err := format.Validate(); err != nil {
		return &InputError{Field: "sample_rate", Message: err.Error()}
	}
	var rs *audio.Resampler
	if rate != v.SampleRate {
		if rs, err = audio.NewResampler(v.SampleRate, rate, 1, audio.QualityDefault); err != nil {
			return fmt.Errorf("voice: resampler: %w", err)
		}
	}
	var out []float32
	err = s.engine.Stream(ctx, tts.Request{Voice: sp.Voice, Text: sp.Text, Speed: sp.Speed}, func(c tts.Chunk) error {
		samples := c.Samples
		if rs != nil {
			var err error
			if out, err = rs.Process(out[:0], c.Samples); err != nil {
				return err
			}
			samples = out
		}
		return onAudio(audio.Frame{Format: format, Samples: samples})
	})
	if err != nil {
		return err
	}
	if rs != nil {
		if tail := rs.Flush(out[:0]); len(tail) > 0 {
			return onAudio(audio.Frame{Format: format, Samples: tail})
		}
	}
	return nil
}

// Close frees the engine.
func (s *Service) Close() error {
	if s.engine == nil {
		return nil
	}
	return s.engine.Close()
}
