package codec

import (
	"errors"
	"fmt"
	"time"
)

// Errors of this package. Wrapped errors carry the detail (what was
// detected, which element or page, which limit); callers test for the kind
// with errors.Is. The messages are written to be shown to the person who
// uploaded the file.
var (
	// ErrUnsupportedFormat is input that is not a container Decode reads:
	// MP3, FLAC, MP4, an image, text, or bytes nothing recognises. The
	// wrapping error names what was detected.
	ErrUnsupportedFormat = errors.New("unsupported audio format (upload WAV, Ogg-Opus or WebM-Opus)")
	// ErrUnsupportedCodec is a container Decode reads holding audio in a
	// codec it does not decode: Vorbis or FLAC in Ogg, Vorbis in WebM,
	// compressed WAV, multichannel Opus.
	ErrUnsupportedCodec = errors.New("unsupported audio codec (only Opus and PCM are decoded)")
	// ErrCorrupt is input whose structure is wrong: a bad Ogg page CRC, a
	// truncated file, an EBML size that runs past its parent, an Opus packet
	// that does not decode, a header that lies about what follows.
	ErrCorrupt = errors.New("corrupt or truncated audio file")
	// ErrTooLong is input beyond the caller's Limits, in bytes or in
	// duration. Decode returns it as a *TooLongError, which says how long
	// the recording is at least.
	ErrTooLong = errors.New("audio too long")
	// ErrEmpty is input with no audio in it: no bytes, a container with
	// headers and no packets, no audio track, or fewer samples than the
	// encoder's pre-skip.
	ErrEmpty = errors.New("no audio in file")
	// ErrClosed is returned by an OggOpusWriter's Write and Flush after
	// Close.
	ErrClosed = errors.New("codec: writer closed")
)

// TooLongError is the error Decode returns for input beyond its Limits.
// errors.Is(err, ErrTooLong) is true for it; errors.As gives the figures.
type TooLongError struct {
	// Container is "wav", "ogg", "webm" or "matroska"; empty when the byte
	// limit refused the input before it was sniffed.
	Container string
	// AtLeast is how long the recording is at least: the length its
	// container declares (Ogg final granule position, WebM Duration, WAV
	// data size) when it declares one, else how far the demuxer had
	// counted when it stopped at the limit. It is 0 when only the byte
	// limit was exceeded.
	AtLeast time.Duration
	// Declared reports that AtLeast is the container's declared length
	// rather than a count that stopped at the limit.
	Declared bool
	// MaxDuration is the duration limit that was applied.
	MaxDuration time.Duration
	// Size and MaxBytes are set when the input had more bytes than the
	// MaxBytes limit.
	Size, MaxBytes int64
	// Err is an underlying error (from audio.DecodeWAV), or nil.
	Err error
}

// Error says what was too long, e.g. "webm: recording is at least 10m0s
// long, more than the 2m0s limit".
func (e *TooLongError) Error() string {
	prefix := ""
	if e.Container != "" {
		prefix = e.Container + ": "
	}
	switch {
	case e.MaxBytes > 0 && e.Size > e.MaxBytes:
		return fmt.Sprintf("%sfile of %d bytes is larger than the %d-byte limit", prefix, e.Size, e.MaxBytes)
	case e.Declared:
		return fmt.Sprintf("%srecording is %v long, more than the %v limit", prefix, e.AtLeast.Round(time.Millisecond), e.MaxDuration)
	case e.AtLeast > 0:
		return fmt.Sprintf("%srecording is at least %v long, more than the %v limit", prefix, e.AtLeast.Round(time.Millisecond), e.MaxDuration)
	}
	return fmt.Sprintf("%srecording is longer than the %v limit", prefix, e.MaxDuration)
}

// Is reports whether target is ErrTooLong.
func (e *TooLongError) Is(target error) bool { return target == ErrTooLong }

// Unwrap returns the underlying error, if any.
func (e *TooLongError) Unwrap() error { return e.Err }
