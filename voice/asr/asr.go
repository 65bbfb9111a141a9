package asr

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Recognizer turns speech into text. It is safe for concurrent use.
type Recognizer interface {
	// Transcribe recognises one utterance: mono float32 samples in [-1, 1]
	// at rate Hz (MinRate–MaxRate). Recognising nothing is not an error:
	// the Result's Text is then "". ctx bounds the wait for a decoder or a
	// server; pocketsphinx also stops between two seconds of audio when ctx
	// ends, while sherpa-onnx finishes a decode it has started.
	Transcribe(ctx context.Context, samples []float32, rate int) (Result, error)
	// Name names the provider and model, e.g. "pocketsphinx/en-us",
	// "sherpa-onnx/whisper", "openai/whisper-1".
	Name() string
	// Close releases the models and connections. Calls after it return
	// ErrClosed; a Stream still open keeps its decoder until it is closed.
	Close() error
}

// Result is a transcription.
type Result struct {
	// Text is what was said, trimmed of surrounding space; "" when nothing
	// was recognised.
	Text string
	// Audio is how long the transcribed audio lasted.
	Audio time.Duration
}

// Streamer is a Recognizer that decodes while the audio arrives, for
// partial transcripts and a final one soon after the user stops.
type Streamer interface {
	Recognizer
	// NewStream starts an utterance of mono audio at rate Hz. It does not
	// wait for a decoder: it returns ErrBusy when every one is in use, and
	// the caller then keeps the audio and calls Transcribe at the end. The
	// Stream's Write and Finish fail with ctx's error once ctx ends.
	NewStream(ctx context.Context, rate int) (Stream, error)
}

// Stream is one utterance being decoded as it arrives. Its methods may be
// called from different goroutines (Partial from a UI loop while another
// writes), but they are meant for one speaker's turn at a time.
type Stream interface {
	// Write decodes the next samples, any number of them.
	Write(samples []float32) error
	// Partial is the best hypothesis so far, trimmed; cheap enough to call
	// after every Write.
	Partial() string
	// Finish ends the utterance and returns the final transcription. The
	// decoder goes back to the pool; calls after it return ErrClosed.
	Finish() (Result, error)
	// Close abandons the utterance (or does nothing after Finish) and
	// releases the decoder. It may be called more than once.
	Close() error
}

// Providers Config.Provider may name.
const (
	ProviderPocketsphinx = "pocketsphinx"
	ProviderSherpa       = "sherpa-onnx"
	ProviderOpenAI       = "openai"
)

// Limits on the audio a Recognizer takes.
const (
	// MinRate and MaxRate bound the sample rate of input audio.
	MinRate = 8000
	MaxRate = 48000
	// MaxAudio is the longest audio one Transcribe or Stream takes: an
	// utterance, not a recording.
	MaxAudio = 5 * time.Minute
	// maxDecoders bounds Config.Decoders: each pocketsphinx decoder holds
	// its own copy of the language model.
	maxDecoders = 64
)

// Config chooses and tunes a provider.
type Config struct {
	// Provider is pocketsphinx (the default), sherpa-onnx or openai.
	Provider string
	// ModelDir is, for sherpa-onnx, the folder holding manifest.json and the
	// files it names (required); for pocketsphinx, a folder laid out like
	// Debian's /usr/share/pocketsphinx/model/en-us (the default): the
	// acoustic model in en-us/, en-us.lm.bin and cmudict-en-us.dict.
	ModelDir string
	// BaseURL is the openai server's API root, with its /v1 (default
	// https://api.openai.com/v1).
	BaseURL string
	// APIKey is sent as a bearer token when set.
	APIKey string
	// Model is the openai model name (default whisper-1).
	Model string
	// Language is an ISO-639-1 hint for the openai server (optional).
	Language string
	// Decoders is how many utterances pocketsphinx or sherpa-onnx decode at
	// once (default 2, at most 64). Transcribe waits for a free decoder, as
	// long as its ctx allows. pocketsphinx loads its first decoder in Open
	// and each other one on its first use (about 0.5 s and 90 MB each);
	// sherpa-onnx shares one loaded model among them.
	Decoders int
	// Threads is sherpa-onnx's ONNX Runtime threads per decode (default 1).
	Threads int
	// Timeout bounds one openai request (default 30s).
	Timeout time.Duration
}

// Open returns the Recognizer cfg names. Local models are checked and the
// first decoder is loaded here, so a missing model fails at startup with
// ErrNoModel. logger receives load times; nil discards them.
func Open(cfg Config, logger *slog.Logger) (Recognizer, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Decoders < 0 || cfg.Decoders > maxDecoders {
		return nil, fmt.Errorf("asr: decoders %d: must be 1–%d (0 for the default 2)", cfg.Decoders, maxDecoders)
	}
	if cfg.Decoders == 0 {
		cfg.Decoders = 2
	}
	if cfg.Threads < 0 {
		return nil, fmt.Errorf("asr: threads %d: must be positive (0 for the default 1)", cfg.Threads)
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("asr: timeout %s: must be positive (0 for the default 30s)", cfg.Timeout)
	}
	switch cfg.Provider {
	case "", ProviderPocketsphinx:
		return openPocketsphinx(cfg, logger)
	case ProviderSherpa:
		return openSherpa(cfg, logger)
	case ProviderOpenAI:
		return openOpenAI(cfg)
	}
	return nil, fmt.Errorf("asr: provider %q: must be %s, %s or %s", cfg.Provider, ProviderPocketsphinx, ProviderSherpa, ProviderOpenAI)
}
