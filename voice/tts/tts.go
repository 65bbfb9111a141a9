// Package tts synthesises speech: text is cut into sentences
// (agents/sentence) and each sentence is synthesised and delivered as soon
// as it is ready, so the first audio comes after the first sentence, not
// after the whole text. The embedded engine runs Piper VITS voices on
// sherpa-onnx (cgo, bundled ONNX Runtime), CPU or CUDA.
//
// tts may import the standard library, sherpa-onnx, agents/sentence and
// voice/audio; it never imports api, the database or the bus.
package tts

import (
	"context"
	"errors"
)

// Voice is one voice an engine can speak with.
type Voice struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Language   string `json:"language"`
	Gender     string `json:"gender"`
	Kind       string `json:"kind"`
	SampleRate int    `json:"sample_rate"`
	// Engine names the engine that speaks it ("piper").
	Engine string `json:"engine"`
}

// Kinds of voice.
const (
	KindBuiltin = "builtin"
	KindCloned  = "cloned"
)

// Chunk is the audio of one sentence, mono float32 in [-1, 1].
type Chunk struct {
	// Seq numbers the chunks of one request from 0.
	Seq        int
	Text       string
	Samples    []float32
	SampleRate int
}

// Request is one synthesis.
type Request struct {
	Voice string
	Text  string
	// Speed multiplies the speaking rate; 0 means 1. 0.25–4.
	Speed float64
}

// Errors of synthesis.
var (
	// ErrUnknownVoice is a voice id no engine has.
	ErrUnknownVoice = errors.New("tts: unknown voice")
	// ErrNoText is text with nothing speakable in it.
	ErrNoText = errors.New("tts: nothing to say")
	// ErrBadSpeed is a speed outside 0.25–4.
	ErrBadSpeed = errors.New("tts: speed must be from 0.25 to 4")
	// ErrEngine is a failure inside an engine.
	ErrEngine = errors.New("tts: engine failed")
)

// Engine synthesises speech in the voices it lists.
type Engine interface {
	Voices() []Voice
	// Stream synthesises req sentence by sentence and calls onChunk with
	// each sentence's audio, in order. An error from onChunk, or ctx
	// ending, stops it between sentences.
	Stream(ctx context.Context, req Request, onChunk func(Chunk) error) error
	Close() error
}
