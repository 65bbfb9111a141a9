package codec

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/timbre-ai/timbre/voice/audio"
)

// pagePackets is how many 20 ms packets an OggOpusWriter puts on a page
// unless Flush or Close ends it sooner: one second, as opusenc does.
const pagePackets = 50

// OggOpusOptions configures an OggOpusWriter. The zero value is usable.
type OggOpusOptions struct {
	// Bitrate is the Opus bitrate in bits per second, 6000–510000;
	// 0 means DefaultBitrate.
	Bitrate int
	// Serial is the Ogg stream serial number; 0 draws one from
	// crypto/rand.
	Serial uint32
}

// OggOpusWriter encodes mono float32 audio to an Ogg-Opus stream (RFC
// 7845) as it arrives: the response body of /v1/audio/speech with
// response_format=opus. The headers go out in NewOggOpusWriter; pages
// follow every second of audio, at each Flush, and at Close, which ends the
// stream.
//
// Audio at 8, 12, 16, 24 or 48 kHz is encoded at its own rate. Any other
// rate is resampled (audio.Resampler) to the lowest of those above it —
// Piper's 22050 Hz to 24 kHz, 44.1 kHz to 48 kHz — which keeps its whole
// bandwidth and costs less than 48 kHz. Granule positions count 48 kHz
// samples whatever the encoding rate, as RFC 7845 requires.
//
// An OggOpusWriter is not safe for concurrent use. After a write error
// every call returns that error.
type OggOpusWriter struct {
	w         io.Writer
	crc       oggCRC
	enc       *OpusEncoder
	rs        *audio.Resampler // nil when the input rate is encoded as is
	inputRate int
	scale     int64 // 48 kHz samples per sample at the encoding rate
	serial    uint32
	seq       uint32
	preSkip   int64 // in 48 kHz samples

	pending []float32 // samples at the encoding rate not yet encoded
	rsBuf   []float32
	input   int64 // samples at the encoding rate received so far
	encoded int64 // samples at the encoding rate encoded so far, padding included

	packet  []byte // the packet just encoded
	lacing  []byte // the page being built
	body    []byte
	packets int
	out     []byte

	err    error
	closed bool
}

// NewOggOpusWriter writes the OpusHead and OpusTags pages of a mono stream
// whose audio will arrive at inputRate Hz to w, and returns a writer for
// the audio.
func NewOggOpusWriter(w io.Writer, inputRate int, opts OggOpusOptions) (*OggOpusWriter, error) {
	if err := (audio.Format{SampleRate: inputRate, Channels: 1}).Validate(); err != nil {
		return nil, fmt.Errorf("ogg-opus writer: %w", err)
	}
	encRate := nativeOpusRate(inputRate)
	enc, err := NewOpusEncoder(encRate, 1)
	if err != nil {
		return nil, fmt.Errorf("ogg-opus writer: %w", err)
	}
	if opts.Bitrate != 0 {
		if err := enc.SetBitrate(opts.Bitrate); err != nil {
			return nil, fmt.Errorf("ogg-opus writer: %w", err)
		}
	}
	ow := &OggOpusWriter{
		w:         w,
		crc:       newOggCRC(),
		enc:       enc,
		inputRate: inputRate,
		scale:     int64(OpusRate / encRate),
		serial:    opts.Serial,
	}
	if encRate != inputRate {
		if ow.rs, err = audio.NewResampler(inputRate, encRate, 1, audio.QualityDefault); err != nil {
			return nil, fmt.Errorf("ogg-opus writer: %w", err)
		}
	}
	if ow.serial == 0 {
		var b [4]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("ogg-opus writer: serial number: %w", err)
		}
		ow.serial = binary.LittleEndian.Uint32(b[:])
	}
	ow.preSkip = int64(enc.Lookahead()) * ow.scale

	// Each header is a page of its own (RFC 7845 §3), at granule 0.
	ow.out = appendOggPage(ow.out[:0], ow.crc, oggFlagBOS, 0, ow.serial, ow.seq,
		appendLacing(nil, opusHeadLen), appendOpusHead(nil, 1, int(ow.preSkip), inputRate))
	ow.seq++
	tags := appendOpusTags(nil)
	ow.out = appendOggPage(ow.out, ow.crc, 0, 0, ow.serial, ow.seq, appendLacing(nil, len(tags)), tags)
	ow.seq++
	if _, err := w.Write(ow.out); err != nil {
		return nil, fmt.Errorf("ogg-opus writer: write headers: %w", err)
	}
	return ow, nil
}

// PreSkip is the number of 48 kHz samples at the start of the decoded
// stream that precede the audio (the encoder's lookahead), as the OpusHead
// declares.
func (ow *OggOpusWriter) PreSkip() int { return int(ow.preSkip) }

// Write encodes mono samples at the writer's input rate. Whole 20 ms
// frames are encoded at once; pages go out each second of audio and at
// Flush.
func (ow *OggOpusWriter) Write(samples []float32) error {
	if err := ow.check(); err != nil {
		return err
	}
	in := samples
	if ow.rs != nil {
		var err error
		if ow.rsBuf, err = ow.rs.Process(ow.rsBuf[:0], samples); err != nil {
			return fmt.Errorf("ogg-opus writer: %w", err)
		}
		in = ow.rsBuf
	}
	ow.input += int64(len(in))
	ow.pending = append(ow.pending, in...)
	return ow.encodeFrames()
}

// Flush writes a page holding every frame encoded so far, so that a
// streaming client can play it now. Up to one frame (20 ms), plus the
// resampler's lookahead when the input is resampled, stays behind until
// more audio or Close completes it.
func (ow *OggOpusWriter) Flush() error {
	if err := ow.check(); err != nil {
		return err
	}
	return ow.writePage(false, ow.encoded*ow.scale)
}

// Close encodes the rest of the audio, padded with silence to whole frames
// and past the encoder's lookahead, and writes the last page, marked end
// of stream, whose granule position makes decoders drop the padding: the
// decoded stream is exactly as long as the input. It does not close the
// underlying writer. Calling Close again does nothing.
func (ow *OggOpusWriter) Close() error {
	if ow.closed {
		return ow.err
	}
	ow.closed = true
	if ow.err != nil {
		return ow.err
	}
	if ow.rs != nil {
		tail := ow.rs.Flush(ow.rsBuf[:0])
		ow.input += int64(len(tail))
		ow.pending = append(ow.pending, tail...)
	}
	if err := ow.encodeFrames(); err != nil {
		return err
	}
	frame := ow.enc.FrameLen()
	end := ow.input + ow.preSkip/ow.scale // the last real sample leaves the encoder here
	for ow.encoded < end {
		ow.pending = append(ow.pending, make([]float32, frame-len(ow.pending))...)
		if err := ow.encodeFrames(); err != nil {
			return err
		}
	}
	return ow.writePage(true, ow.preSkip+ow.input*ow.scale)
}

// check returns the sticky error, or ErrClosed after Close.
func (ow *OggOpusWriter) check() error {
	if ow.err != nil {
		return ow.err
	}
	if ow.closed {
		return ErrClosed
	}
	return nil
}

// encodeFrames encodes every whole frame in pending into the page.
func (ow *OggOpusWriter) encodeFrames() error {
	frame := ow.enc.FrameLen()
	done := 0
	for ; len(ow.pending)-done >= frame; done += frame {
		var err error
		if ow.packet, err = ow.enc.Encode(ow.packet[:0], ow.pending[done:done+frame]); err != nil {
			ow.err = fmt.Errorf("ogg-opus writer: %w", err)
			return ow.err
		}
		// A full page goes out before the packet that would not fit: the
		// page being built always holds the latest packet, so the last
		// page is never empty.
		if ow.packets == pagePackets || len(ow.lacing)+len(ow.packet)/255+1 > oggMaxSegments {
			if err := ow.writePage(false, ow.encoded*ow.scale); err != nil {
				return err
			}
		}
		ow.body = append(ow.body, ow.packet...)
		ow.lacing = appendLacing(ow.lacing, len(ow.packet))
		ow.packets++
		ow.encoded += int64(frame)
	}
	ow.pending = append(ow.pending[:0], ow.pending[done:]...)
	return nil
}

// writePage writes the packets gathered so far as one page with the given
// granule position; nothing when there are none, unless it is the last.
func (ow *OggOpusWriter) writePage(eos bool, granule int64) error {
	if ow.packets == 0 && !eos {
		return nil
	}
	var flags byte
	if eos {
		flags = oggFlagEOS
	}
	ow.out = appendOggPage(ow.out[:0], ow.crc, flags, granule, ow.serial, ow.seq, ow.lacing, ow.body)
	ow.seq++
	ow.lacing, ow.body, ow.packets = ow.lacing[:0], ow.body[:0], 0
	if _, err := ow.w.Write(ow.out); err != nil {
		ow.err = fmt.Errorf("ogg-opus writer: write page: %w", err)
		return ow.err
	}
	return nil
}
