package asr

import "errors"

// Errors of speech recognition. Wrapped errors carry the detail (which file,
// which sample, what the server said); callers test for the kind with
// errors.Is.
var (
	// ErrNoModel is a model that is missing or cannot be loaded: a file that
	// is not there, a manifest that names the wrong files, a model the
	// engine rejects. The message names the file or folder.
	ErrNoModel = errors.New("asr: model missing or unloadable")
	// ErrBusy is a NewStream call while every decoder is in use. The caller
	// may buffer the utterance and call Transcribe at its end instead.
	ErrBusy = errors.New("asr: every decoder is busy")
	// ErrUnavailable is a transcription server that cannot answer now: it
	// is unreachable, timed out, answered 429 or 5xx, or sent a reply that
	// is not a transcription.
	ErrUnavailable = errors.New("asr: transcription server unavailable")
	// ErrBadAudio is audio a recognizer does not take: a sample rate outside
	// MinRate–MaxRate, a NaN or infinite sample, more than MaxAudio.
	ErrBadAudio = errors.New("asr: bad audio")
	// ErrClosed is a call on a closed Recognizer, or on a Stream after its
	// Finish or Close.
	ErrClosed = errors.New("asr: closed")
)
