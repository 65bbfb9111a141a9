// Package voice owns what Timbre says aloud: the voice catalog, previews,
// speech synthesis streamed sentence by sentence for the HTTP API (and the
// realtime pipeline), and cloned voices: a user's recording, checked and
// measured into a profile (voice/clone), stored with the consent given,
// and spoken by the nearest built-in voice converted toward it. The engines
// live in voice/tts, reached through the voice workers (voice/worker); the
// audio primitives in voice/audio and voice/codec.
//
// voice may import the standard library, its subpackages, agents/sentence,
// cache, db and pgx; it never imports api.
package voice

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/timbre-ai/timbre/cache"
	"github.com/timbre-ai/timbre/voice/audio"
	"github.com/timbre-ai/timbre/voice/clone"
	"github.com/timbre-ai/timbre/voice/tts"
	"github.com/timbre-ai/timbre/voice/worker"
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

// Params are what a Service is built from.
type Params struct {
	// Engine speaks the built-in voices: the voice workers' client, or an
	// engine in process. Nil: no voices.
	Engine tts.Engine
	// Pool stores cloned voices; nil disables cloning.
	Pool *pgxpool.Pool
	// VAD finds the speech in recordings to clone; nil disables cloning.
	VAD    *clone.VAD
	Config Config
	Logger *slog.Logger
}

// Service speaks with the voices of its engine and the cloned voices of
// its users.
type Service struct {
	engine   tts.Engine // nil when no voices are installed
	store    *store     // nil without cloning
	vad      *clone.VAD // nil without cloning
	previews *cache.TTL[[]byte]
	logger   *slog.Logger

	// analyzing runs one clip analysis at a time.
	analyzing sync.Mutex
	// bases holds each built-in voice's measured profile.
	basesMu sync.Mutex
	bases   map[string]clone.Profile
}

// New returns a Service on p.
func New(p Params) *Service {
	cfg := p.Config
	if cfg.PreviewEntries <= 0 {
		cfg.PreviewEntries = 128
	}
	if cfg.PreviewTTL <= 0 {
		cfg.PreviewTTL = time.Hour
	}
	if p.Logger == nil {
		p.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{engine: p.Engine, vad: p.VAD, logger: p.Logger, bases: map[string]clone.Profile{},
		previews: cache.New[[]byte](cfg.PreviewTTL, cfg.PreviewEntries)}
	if p.Pool != nil {
		s.store = &store{pool: p.Pool}
	}
	return s
}

// CanClone reports whether this server clones voices.
func (s *Service) CanClone() bool { return s.store != nil && s.vad != nil && s.engine != nil }

// Voices lists the built-in voices.
func (s *Service) Voices() []tts.Voice {
	if s.engine == nil {
		return []tts.Voice{}
	}
	return s.engine.Voices()
}

// Voice returns one built-in voice.
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

// Preview is a short WAV of a voice (built-in, or one of callerID's cloned
// voices) saying text (or its introduction), cached.
func (s *Service) Preview(ctx context.Context, callerID, id, text string) ([]byte, error) {
	sp, err := s.speakerFor(ctx, Speech{Voice: id, Owner: callerID})
	if err != nil {
		return nil, err
	}
	v := sp.voice
	if text == "" {
		text = fmt.Sprintf("Hello, I'm %s. This is how I sound when I read to you.", sp.name)
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
	err = s.speak(ctx, sp, tts.Request{Voice: sp.voice.ID, Text: text}, func(c tts.Chunk) error {
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
	// Voice is a built-in voice, or a cloned voice of Owner's.
	Voice string
	// Owner is the user on whose behalf the voice speaks: the caller, or
	// the owner of the agent that speaks.
	Owner string
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
	if err := checkText("input", sp.Text, MaxSpeechRunes); err != nil {
		return err
	}
	who, err := s.speakerFor(ctx, sp)
	if err != nil {
		return err
	}
	v := who.voice
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
	err = s.speak(ctx, who, tts.Request{Voice: v.ID, Text: sp.Text, Speed: sp.Speed}, func(c tts.Chunk) error {
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

// converting is an engine that converts voices where it synthesises: the
// voice workers' client.
type converting interface {
	CanConvert(voice string) bool
	StreamConverted(ctx context.Context, req tts.Request, conv *worker.Conversion, onChunk func(tts.Chunk) error) error
}

// speak streams req from the engine, converted toward who's cloned voice
// when it has one: by the voice workers when they can, else here. One
// converter runs across the sentences, so the joins have no seams; its
// tail comes as a last chunk.
func (s *Service) speak(ctx context.Context, who speaker, req tts.Request, onChunk func(tts.Chunk) error) error {
	if who.conversion == nil {
		return s.engine.Stream(ctx, req, onChunk)
	}
	if remote, ok := s.engine.(converting); ok && remote.CanConvert(req.Voice) {
		return remote.StreamConverted(ctx, req, who.conversion, onChunk)
	}
	return worker.Converted(ctx, s.engine, req, who.conversion, onChunk)
}

// Close frees the engine.
func (s *Service) Close() error {
	if s.engine == nil {
		return nil
	}
	return s.engine.Close()
}
