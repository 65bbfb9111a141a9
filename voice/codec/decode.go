package codec

import (
	"fmt"
	"time"

	"github.com/timbre-ai/timbre/voice/audio"
)

// Container and codec names in Decoded.
const (
	// ContainerWAV is a RIFF/WAVE file.
	ContainerWAV = "wav"
	// ContainerOgg is an Ogg file (RFC 3533).
	ContainerOgg = "ogg"
	// ContainerWebM is an EBML file with DocType "webm".
	ContainerWebM = "webm"
	// ContainerMatroska is an EBML file with DocType "matroska" (.mka,
	// .mkv), read the same way as WebM.
	ContainerMatroska = "matroska"
	// CodecPCM is uncompressed integer or float samples (WAV).
	CodecPCM = "pcm"
	// CodecOpus is Opus (RFC 6716).
	CodecOpus = "opus"
)

// Default limits, used where a Limits field is zero or negative.
const (
	// DefaultMaxBytes is the largest input Decode accepts by default.
	DefaultMaxBytes = 64 << 20
	// DefaultMaxDuration is the longest recording Decode accepts by
	// default.
	DefaultMaxDuration = 5 * time.Minute
)

// Limits bounds what Decode accepts from an untrusted upload. A zero field
// takes its default.
type Limits struct {
	// MaxBytes is the largest input, in bytes (DefaultMaxBytes).
	MaxBytes int64
	// MaxDuration is the longest recording, after pre-skip and end
	// trimming (DefaultMaxDuration). It bounds the decoded audio's memory:
	// 48 kHz stereo float32 is 23 MiB a minute.
	MaxDuration time.Duration
}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxDuration <= 0 {
		l.MaxDuration = DefaultMaxDuration
	}
	return l
}

// Decoded is a decoded recording.
type Decoded struct {
	// Audio is the recording as float32 at its decoding rate with its own
	// channel count: 48 kHz for Opus, the file's rate for WAV.
	Audio audio.Frame
	// Container is ContainerWAV, ContainerOgg, ContainerWebM or
	// ContainerMatroska.
	Container string
	// Codec is CodecPCM or CodecOpus.
	Codec string
	// SourceRate is the sample rate of the recording before encoding: the
	// WAV's rate, or the input rate an Opus header declares (informational:
	// Opus always decodes at 48 kHz). It is 0 when the file does not say.
	SourceRate int
	// SourceChannels is the channel count the file declares.
	SourceChannels int
}

// Decode decodes an uploaded recording. It identifies the container by its
// magic bytes, whatever the upload's name or declared type: RIFF/WAVE goes
// to audio.DecodeWAV; "OggS" to the Ogg-Opus demuxer; EBML with DocType
// webm or matroska to the WebM demuxer, which takes the one A_OPUS track.
// Opus is decoded at 48 kHz with its native channel count (mono or stereo),
// with the encoder's pre-skip dropped from the start and the padding that
// the container marks (Ogg final granule position, WebM DiscardPadding)
// dropped from the end.
//
// Errors wrap ErrUnsupportedFormat (not one of those containers: the error
// names what was detected), ErrUnsupportedCodec (a container holding
// Vorbis, FLAC, AAC, multichannel Opus, compressed WAV), ErrCorrupt (bad
// checksum, truncated file, inconsistent sizes, undecodable packet, a WAV
// header glued onto other data), ErrEmpty (no audio) and ErrTooLong, as a
// *TooLongError, for input beyond lim. A recording longer than
// lim.MaxDuration is refused before any of it is decoded: from the length
// its container declares when it declares one, else when the demuxer's
// count of packet durations passes the limit.
//
// Decode never panics on malformed input, and allocates in proportion to
// the input and to lim, never to sizes the file declares.
func Decode(data []byte, lim Limits) (Decoded, error) {
	lim = lim.withDefaults()
	if len(data) == 0 {
		return Decoded{}, fmt.Errorf("codec: the file is empty: %w", ErrEmpty)
	}
	if int64(len(data)) > lim.MaxBytes {
		return Decoded{}, fmt.Errorf("codec: %w", &TooLongError{Size: int64(len(data)), MaxBytes: lim.MaxBytes, MaxDuration: lim.MaxDuration})
	}
	var (
		d   Decoded
		err error
	)
	switch s := sniff(data); s.container {
	case ContainerWAV:
		d, err = decodeWAV(data, lim)
	case ContainerOgg:
		d, err = decodeOgg(data, lim)
	case containerEBML:
		d, err = decodeWebM(data, lim)
	default:
		err = fmt.Errorf("the file is %s: %w", s.what, ErrUnsupportedFormat)
	}
	if err != nil {
		return Decoded{}, fmt.Errorf("codec: %w", err)
	}
	return d, nil
}
