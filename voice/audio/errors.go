package audio

import "errors"

// Errors of this package. Wrapped errors carry the detail (which chunk, which
// field, which limit); callers test for the kind with errors.Is.
var (
	// ErrFormat is an invalid Format (a sample rate or channel count out of
	// range) or a sample slice that is not a whole number of frames.
	ErrFormat = errors.New("audio: invalid format")
	// ErrCorrupt is encoded audio whose structure is wrong: a header that
	// lies about sizes, a truncated file, a missing chunk.
	ErrCorrupt = errors.New("audio: corrupt data")
	// ErrUnsupported is well-formed encoded audio in an encoding, sample
	// width, rate or channel count this package does not decode.
	ErrUnsupported = errors.New("audio: unsupported encoding")
	// ErrTooLong is audio longer, or a file larger, than the limit the caller
	// set (see WAVLimits), or a length a WAV header cannot express.
	ErrTooLong = errors.New("audio: too long")
	// ErrLengthMismatch is a WAVWriter closed after writing a different
	// number of frames than its header declared.
	ErrLengthMismatch = errors.New("audio: written length differs from declared length")
)
