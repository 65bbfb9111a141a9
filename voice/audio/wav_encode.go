package audio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// UnknownLength, given to NewWAVWriter as the frame count, makes a streaming
// WAV: the header declares the largest size a RIFF field holds
// (0xFFFFFFFF), which browsers, ffmpeg and most players read as "until the
// stream ends", as HTTP TTS servers commonly send it.
const UnknownLength = -1

const (
	wavHeaderLen = 44
	// wavMaxData is the most data a WAV with true sizes can hold: the RIFF
	// size field (data + 36 header bytes) is 32 bits.
	wavMaxData = math.MaxUint32 - (wavHeaderLen - 8)
	// wavStreamSize is the size written for a stream of unknown length.
	wavStreamSize = math.MaxUint32
	// wavWriteBlock is how many samples WriteSamples converts at a time.
	wavWriteBlock = 4096
)

// WAVWriter writes 16-bit PCM WAV (mono or stereo) to an io.Writer as
// samples arrive. The 44-byte header goes out first, in NewWAVWriter: with
// exact sizes when the caller knows the length, or with streaming sizes
// (UnknownLength) for HTTP. A WAVWriter is not safe for concurrent use.
type WAVWriter struct {
	w        io.Writer
	format   Format
	declared int64 // data bytes the header declares, or UnknownLength
	written  int64 // data bytes written
	origin   int64 // offset of the header in w, when w is an io.WriteSeeker
	scratch  []byte
	clipped  int
	err      error // sticky: the first write error
	closed   bool
}

// NewWAVWriter writes a WAV header for f to w and returns a WAVWriter for
// the samples. frames is the number of frames that will follow, which the
// header declares; Close fails unless exactly that many were written. With
// UnknownLength the header carries streaming sizes, and Close rewrites them
// to the true sizes when w is an io.WriteSeeker (a file) and the data fits.
//
// f must be mono or stereo at a valid rate (ErrFormat otherwise; more
// channels need WAVE_FORMAT_EXTENSIBLE, which the writer does not produce),
// and a declared length must fit a WAV's 4 GiB (ErrTooLong).
func NewWAVWriter(w io.Writer, f Format, frames int64) (*WAVWriter, error) {
	if err := f.Validate(); err != nil {
		return nil, fmt.Errorf("wav: %w", err)
	}
	if f.Channels > 2 {
		return nil, fmt.Errorf("wav: writer supports mono and stereo, not %d channels: %w", f.Channels, ErrFormat)
	}
	ww := &WAVWriter{w: w, format: f, declared: UnknownLength}
	size := uint32(wavStreamSize)
	switch {
	case frames >= 0:
		bytes := frames * int64(2*f.Channels)
		if frames > wavMaxData || bytes > wavMaxData {
			return nil, fmt.Errorf("wav: %d frames exceed a WAV's %d data bytes: %w", frames, int64(wavMaxData), ErrTooLong)
		}
		ww.declared = bytes
		size = uint32(bytes)
	case frames != UnknownLength:
		return nil, fmt.Errorf("wav: frame count %d: %w", frames, ErrFormat)
	}
	if s, ok := w.(io.Seeker); ok && frames == UnknownLength {
		// Remember where the header starts to rewrite its sizes on Close. A
		// writer that is only nominally a seeker (a pipe) fails here: it is
		// then treated as a stream.
		if off, err := s.Seek(0, io.SeekCurrent); err == nil {
			ww.origin = off
		} else {
			ww.origin = -1
		}
	} else {
		ww.origin = -1
	}
	hdr := appendWAVHeader(make([]byte, 0, wavHeaderLen), f, size)
	if _, err := w.Write(hdr); err != nil {
		return nil, fmt.Errorf("wav: write header: %w", err)
	}
	return ww, nil
}

// appendWAVHeader appends a canonical 44-byte PCM16 header declaring
// dataSize data bytes (wavStreamSize for a stream) to dst.
func appendWAVHeader(dst []byte, f Format, dataSize uint32) []byte {
	riffSize := uint32(wavStreamSize)
	if dataSize != wavStreamSize {
		riffSize = dataSize + wavHeaderLen - 8
	}
	blockAlign := 2 * f.Channels
	le := binary.LittleEndian
	dst = append(dst, "RIFF"...)
	dst = le.AppendUint32(dst, riffSize)
	dst = append(dst, "WAVEfmt "...)
	dst = le.AppendUint32(dst, 16)
	dst = le.AppendUint16(dst, wavFormatPCM)
	dst = le.AppendUint16(dst, uint16(f.Channels))
	dst = le.AppendUint32(dst, uint32(f.SampleRate))
	dst = le.AppendUint32(dst, uint32(f.SampleRate*blockAlign))
	dst = le.AppendUint16(dst, uint16(blockAlign))
	dst = le.AppendUint16(dst, 16)
	dst = append(dst, "data"...)
	return le.AppendUint32(dst, dataSize)
}

// WriteSamples converts interleaved samples to 16-bit PCM and writes them,
// and returns how many clipped (as AppendInt16 counts). samples must be
// whole frames (ErrFormat), and must not take the data past a declared
// length (ErrLengthMismatch); in either case nothing is written. After a
// write error every call returns that error.
func (ww *WAVWriter) WriteSamples(samples []float32) (int, error) {
	switch {
	case ww.err != nil:
		return 0, ww.err
	case ww.closed:
		return 0, errors.New("wav: write after Close")
	case len(samples)%ww.format.Channels != 0:
		return 0, fmt.Errorf("wav: %d samples is not a whole number of %d-channel frames: %w", len(samples), ww.format.Channels, ErrFormat)
	case ww.declared >= 0 && ww.written+2*int64(len(samples)) > ww.declared:
		return 0, fmt.Errorf("wav: writing %d samples passes the %d declared bytes: %w", len(samples), ww.declared, ErrLengthMismatch)
	}
	clipped := 0
	for len(samples) > 0 {
		n := min(len(samples), wavWriteBlock)
		var c int
		ww.scratch, c = AppendPCM16(ww.scratch[:0], samples[:n])
		clipped += c
		ww.clipped += c
		samples = samples[n:]
		k, err := ww.w.Write(ww.scratch)
		ww.written += int64(k)
		if err != nil {
			ww.err = fmt.Errorf("wav: write data: %w", err)
			return clipped, ww.err
		}
	}
	return clipped, nil
}

// WriteFrame writes f's samples; f must have the writer's format
// (ErrFormat otherwise).
func (ww *WAVWriter) WriteFrame(f Frame) (int, error) {
	if f.Format != ww.format {
		return 0, fmt.Errorf("wav: frame is %v, writer is %v: %w", f.Format, ww.format, ErrFormat)
	}
	return ww.WriteSamples(f.Samples)
}

// Clipped is the number of samples that clipped in all writes so far.
func (ww *WAVWriter) Clipped() int { return ww.clipped }

// Close finishes the file. With a declared length, it fails (wrapping
// ErrLengthMismatch) unless exactly that many frames were written. With
// UnknownLength and a seekable writer, it rewrites the header's sizes to the
// true ones when they fit, and leaves the writer positioned after the data.
// It does not close the underlying writer. Calling Close again does nothing.
func (ww *WAVWriter) Close() error {
	if ww.closed {
		return nil
	}
	ww.closed = true
	if ww.err != nil {
		return ww.err
	}
	if ww.declared >= 0 {
		if ww.written != ww.declared {
			return fmt.Errorf("wav: wrote %d of %d declared data bytes: %w", ww.written, ww.declared, ErrLengthMismatch)
		}
		return nil
	}
	s, ok := ww.w.(io.WriteSeeker)
	if !ok || ww.origin < 0 || ww.written > wavMaxData {
		return nil // a stream: the header's streaming sizes stay, as intended
	}
	var b [4]byte
	patch := func(at int64, v uint32) error {
		if _, err := s.Seek(ww.origin+at, io.SeekStart); err != nil {
			return err
		}
		binary.LittleEndian.PutUint32(b[:], v)
		_, err := s.Write(b[:])
		return err
	}
	if err := patch(4, uint32(ww.written)+wavHeaderLen-8); err != nil {
		return fmt.Errorf("wav: rewrite RIFF size: %w", err)
	}
	if err := patch(wavHeaderLen-4, uint32(ww.written)); err != nil {
		return fmt.Errorf("wav: rewrite data size: %w", err)
	}
	if _, err := s.Seek(ww.origin+wavHeaderLen+ww.written, io.SeekStart); err != nil {
		return fmt.Errorf("wav: seek to end: %w", err)
	}
	return nil
}

// EncodeWAV writes f to w as a complete 16-bit PCM WAV with exact sizes and
// returns how many samples clipped. f must be mono or stereo.
func EncodeWAV(w io.Writer, f Frame) (int, error) {
	if err := f.Validate(); err != nil {
		return 0, fmt.Errorf("wav: %w", err)
	}
	ww, err := NewWAVWriter(w, f.Format, int64(f.Len()))
	if err != nil {
		return 0, err
	}
	clipped, err := ww.WriteSamples(f.Samples)
	if err != nil {
		return clipped, err
	}
	return clipped, ww.Close()
}
