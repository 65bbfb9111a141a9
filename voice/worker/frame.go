package worker

import (
	"encoding/binary"
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/timbre-ai/timbre/voice/audio"
	"github.com/timbre-ai/timbre/voice/tts"
)

// SampleFormat is how a frame carries samples.
type SampleFormat uint8

// Sample formats of a frame.
const (
	// FormatPCM16 is 16-bit signed little-endian PCM, the default.
	FormatPCM16 SampleFormat = 1
	// FormatFloat32 is IEEE 754 float32, little-endian: lossless.
	FormatFloat32 SampleFormat = 2
)

// String names the format.
func (f SampleFormat) String() string {
	switch f {
	case FormatPCM16:
		return "pcm16"
	case FormatFloat32:
		return "float32"
	}
	return fmt.Sprintf("SampleFormat(%d)", uint8(f))
}

// size is the bytes of one sample; 0 for an unknown format.
func (f SampleFormat) size() int {
	switch f {
	case FormatPCM16:
		return 2
	case FormatFloat32:
		return 4
	}
	return 0
}

// Frame layout (see the package documentation).
const (
	frameVersion   = 1
	frameHeaderLen = 20
	flagMore       = 1 << 0
	maxSampleRate  = 1_000_000
	// minFrameBytes keeps room for a sentence's text and some audio in a frame.
	minFrameBytes = 1024
)

// frame is one decoded frame. pcm aliases the message it was decoded from.
type frame struct {
	format SampleFormat
	more   bool
	seq    int
	rate   int
	text   string
	pcm    []byte
}

// encodeFrames encodes c as one frame or, when its audio would make a frame
// longer than maxBytes, several, calling send with each. buf is reused for
// every frame (send must not keep it) and returned for the next call.
func encodeFrames(buf []byte, c tts.Chunk, format SampleFormat, maxBytes int, send func([]byte) error) ([]byte, error) {
	size := format.size()
	switch {
	case size == 0:
		return buf, fmt.Errorf("encode frame: unknown sample format %d", format)
	case c.Seq < 0 || int64(c.Seq) > math.MaxUint32:
		return buf, fmt.Errorf("encode frame: sentence number %d out of range", c.Seq)
	case c.SampleRate <= 0 || c.SampleRate > maxSampleRate:
		return buf, fmt.Errorf("encode frame: sample rate %d out of range", c.SampleRate)
	case !utf8.ValidString(c.Text):
		return buf, fmt.Errorf("encode frame: sentence text is not UTF-8")
	}
	maxBytes = max(maxBytes, minFrameBytes)
	samples, text := c.Samples, c.Text
	for first := true; first || len(samples) > 0; first = false {
		room := (maxBytes - frameHeaderLen - len(text)) / size
		if room < 1 && len(samples) > 0 {
			return buf, fmt.Errorf("encode frame: sentence text of %d bytes leaves no room for audio in a %d-byte frame", len(text), maxBytes)
		}
		n := min(room, len(samples))
		var flags byte
		if n < len(samples) {
			flags |= flagMore
		}
		buf = append(buf[:0], frameVersion, byte(format), flags, 0)
		buf = binary.LittleEndian.AppendUint32(buf, uint32(c.Seq))
		buf = binary.LittleEndian.AppendUint32(buf, uint32(c.SampleRate))
		buf = binary.LittleEndian.AppendUint32(buf, uint32(len(text)))
		buf = binary.LittleEndian.AppendUint32(buf, uint32(n))
		buf = append(buf, text...)
		if format == FormatPCM16 {
			buf, _ = audio.AppendPCM16(buf, samples[:n])
		} else {
			for _, x := range samples[:n] {
				buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(x))
			}
		}
		if err := send(buf); err != nil {
			return buf, err
		}
		samples, text = samples[n:], ""
	}
	return buf, nil
}

// decodeFrame reads one frame; anything that does not add up is an error
// wrapping ErrProtocol.
func decodeFrame(data []byte) (frame, error) {
	if len(data) < frameHeaderLen {
		return frame{}, fmt.Errorf("%w: frame of %d bytes is shorter than its header", ErrProtocol, len(data))
	}
	if data[0] != frameVersion {
		return frame{}, fmt.Errorf("%w: frame version %d, want %d", ErrProtocol, data[0], frameVersion)
	}
	f := frame{format: SampleFormat(data[1])}
	size := f.format.size()
	if size == 0 {
		return frame{}, fmt.Errorf("%w: unknown sample format %d", ErrProtocol, data[1])
	}
	if data[2]&^flagMore != 0 || data[3] != 0 {
		return frame{}, fmt.Errorf("%w: unknown frame flags %#x %#x", ErrProtocol, data[2], data[3])
	}
	f.more = data[2]&flagMore != 0
	seq := binary.LittleEndian.Uint32(data[4:])
	rate := binary.LittleEndian.Uint32(data[8:])
	textLen := uint64(binary.LittleEndian.Uint32(data[12:]))
	count := uint64(binary.LittleEndian.Uint32(data[16:]))
	if rate == 0 || rate > maxSampleRate {
		return frame{}, fmt.Errorf("%w: sample rate %d out of range", ErrProtocol, rate)
	}
	if seq > math.MaxInt32 {
		return frame{}, fmt.Errorf("%w: sentence number %d out of range", ErrProtocol, seq)
	}
	// uint64 arithmetic: 20 + 2³² + 2³²·4 cannot overflow.
	if want := frameHeaderLen + textLen + count*uint64(size); uint64(len(data)) != want {
		return frame{}, fmt.Errorf("%w: frame of %d bytes, its header accounts for %d", ErrProtocol, len(data), want)
	}
	body := data[frameHeaderLen:]
	text := body[:textLen]
	if !utf8.Valid(text) {
		return frame{}, fmt.Errorf("%w: sentence text is not UTF-8", ErrProtocol)
	}
	f.seq, f.rate, f.text, f.pcm = int(seq), int(rate), string(text), body[textLen:]
	return f, nil
}

// appendSamples appends f's samples, as float32, to dst.
func (f frame) appendSamples(dst []float32) ([]float32, error) {
	if f.format == FormatPCM16 {
		return audio.AppendFloatFromPCM16(dst, f.pcm)
	}
	for i := 0; i+3 < len(f.pcm); i += 4 {
		dst = append(dst, math.Float32frombits(binary.LittleEndian.Uint32(f.pcm[i:])))
	}
	return dst, nil
}

// assembler joins a reply's frames back into sentences.
type assembler struct {
	// next is the lowest sentence number the next sentence may have.
	next int
	// open says cur has more frames to come.
	open bool
	cur  tts.Chunk
}

// add takes the next frame; done says cur is a whole sentence.
func (a *assembler) add(data []byte) (c tts.Chunk, done bool, err error) {
	f, err := decodeFrame(data)
	if err != nil {
		return tts.Chunk{}, false, err
	}
	if a.open {
		if f.seq != a.cur.Seq || f.rate != a.cur.SampleRate || f.text != "" {
			return tts.Chunk{}, false, fmt.Errorf("%w: frame of sentence %d (rate %d) continues sentence %d (rate %d)",
				ErrProtocol, f.seq, f.rate, a.cur.Seq, a.cur.SampleRate)
		}
	} else {
		if f.seq < a.next {
			return tts.Chunk{}, false, fmt.Errorf("%w: sentence %d after sentence %d", ErrProtocol, f.seq, a.next-1)
		}
		a.cur = tts.Chunk{Seq: f.seq, Text: f.text, SampleRate: f.rate}
	}
	if a.cur.Samples, err = f.appendSamples(a.cur.Samples); err != nil {
		return tts.Chunk{}, false, fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	a.open = f.more
	if a.open {
		return tts.Chunk{}, false, nil
	}
	a.next = a.cur.Seq + 1
	c, a.cur = a.cur, tts.Chunk{}
	return c, true, nil
}
