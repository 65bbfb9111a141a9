package codec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/timbre-ai/timbre/voice/audio"
)

// wavLayout is what a quick walk over a WAV's chunks finds: enough to
// report a length and to see what the data chunk holds, before
// audio.DecodeWAV does the strict decode.
type wavLayout struct {
	byteRate int64 // from the fmt chunk; 0 when absent
	dataOff  int   // offset of the data chunk's payload; 0 when absent
	dataSize int64 // bytes the data chunk declares, or up to the end of the file for a streamed WAV
}

// walkWAV finds the fmt chunk's byte rate and the data chunk in a RIFF/WAVE
// file. It is lenient and bounded by the data: whatever it cannot find is
// left zero for DecodeWAV to report.
func walkWAV(b []byte) wavLayout {
	le := binary.LittleEndian
	var l wavLayout
	for off := 12; off+8 <= len(b); {
		id, size := string(b[off:off+4]), int64(le.Uint32(b[off+4:]))
		body := off + 8
		switch id {
		case "fmt ":
			if size >= 16 && body+16 <= len(b) {
				l.byteRate = int64(le.Uint32(b[body+8:]))
			}
		case "data":
			l.dataOff = body
			l.dataSize = size
			if size == 0xFFFFFFFF {
				l.dataSize = int64(len(b) - body)
			}
			return l
		}
		next := int64(body) + size + size&1
		if next > int64(len(b)) {
			break
		}
		off = int(next)
	}
	return l
}

// decodeWAV decodes a RIFF/WAVE upload with audio.DecodeWAV, after two
// checks DecodeWAV does not make: a declared length beyond the limit is
// refused at once with the length, and a data chunk that holds another
// container (a WAV header glued onto an Ogg or WebM file) is corrupt
// rather than decoded as noise.
func decodeWAV(data []byte, lim Limits) (Decoded, error) {
	l := walkWAV(data)
	var declared time.Duration
	if l.byteRate > 0 {
		declared = time.Duration(float64(l.dataSize) / float64(l.byteRate) * float64(time.Second))
		if declared > lim.MaxDuration {
			return Decoded{}, &TooLongError{Container: ContainerWAV, AtLeast: declared, Declared: true, MaxDuration: lim.MaxDuration}
		}
	}
	if l.dataOff > 0 && l.dataOff < len(data) {
		if s := sniff(data[l.dataOff:]); s.magic {
			return Decoded{}, fmt.Errorf("wav: the header says PCM audio but its data is %s (a WAV header glued onto another file): %w", s.what, ErrCorrupt)
		}
	}
	f, err := audio.DecodeWAV(bytes.NewReader(data), audio.WAVLimits{MaxDuration: lim.MaxDuration, MaxBytes: lim.MaxBytes})
	switch {
	case errors.Is(err, audio.ErrTooLong):
		return Decoded{}, &TooLongError{Container: ContainerWAV, AtLeast: declared, MaxDuration: lim.MaxDuration, Err: err}
	case errors.Is(err, audio.ErrUnsupported):
		return Decoded{}, fmt.Errorf("%w: %w", err, ErrUnsupportedCodec)
	case errors.Is(err, audio.ErrCorrupt):
		return Decoded{}, fmt.Errorf("%w: %w", err, ErrCorrupt)
	case err != nil:
		return Decoded{}, fmt.Errorf("wav: %w", err)
	}
	if f.Len() == 0 {
		return Decoded{}, fmt.Errorf("wav: the data chunk holds no samples: %w", ErrEmpty)
	}
	return Decoded{Audio: f, Container: ContainerWAV, Codec: CodecPCM, SourceRate: f.SampleRate, SourceChannels: f.Channels}, nil
}
