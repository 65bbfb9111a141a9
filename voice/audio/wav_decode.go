package audio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"time"
)

// WAV format codes (the fmt chunk's wFormatTag).
const (
	wavFormatPCM        = 0x0001
	wavFormatFloat      = 0x0003
	wavFormatExtensible = 0xFFFE
)

const (
	// WAVMinRate is the lowest sample rate DecodeWAV accepts.
	WAVMinRate = 8000
	// WAVMaxRate is the highest sample rate DecodeWAV accepts.
	WAVMaxRate = 192000

	// maxFmtChunk bounds the fmt chunk read into memory. A PCM fmt chunk is
	// 16, 18 or 40 bytes.
	maxFmtChunk = 1024
	// maxSkippedChunks bounds the bytes of chunks DecodeWAV skips (LIST,
	// bext, JUNK, id3 …): metadata is small, and skipping gigabytes of it
	// would let a small upload limit be evaded in time if not in memory.
	maxSkippedChunks = 1 << 20
	// wavReadBlock is how many data bytes DecodeWAV reads at a time.
	wavReadBlock = 16 << 10
	// wavInitialSamples caps the sample slice DecodeWAV allocates before any
	// data has arrived, so a header that lies about its size costs at most
	// this much; the slice grows with the data actually read.
	wavInitialSamples = 16 << 10
)

// ksGUIDTail is bytes 2–15 of the KSDATAFORMAT_SUBTYPE GUIDs for PCM and
// IEEE float in a WAVE_FORMAT_EXTENSIBLE fmt chunk; bytes 0–1 hold the plain
// format code.
const ksGUIDTail = "\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"

// WAVLimits bounds what DecodeWAV accepts from an untrusted source.
type WAVLimits struct {
	// MaxDuration is the longest clip accepted. It must be positive.
	MaxDuration time.Duration
	// MaxBytes, when positive, is the most bytes DecodeWAV reads from its
	// reader in all, headers and skipped chunks included.
	MaxBytes int64
}

// wavFormat is what DecodeWAV needs of a fmt chunk.
type wavFormat struct {
	Format
	float      bool // IEEE float samples, else integer PCM
	bits       int  // container bits per sample: 8, 16, 24 or 32
	blockAlign int  // bytes per frame
}

// DecodeWAV reads a WAV file from r, as a user uploads it, and returns its
// audio as float32 in [-1, 1] at its own rate and channel count.
//
// It accepts RIFF/WAVE with integer PCM of 8 (unsigned), 16, 24 or 32 bits,
// or 32-bit IEEE float, in a plain or WAVE_FORMAT_EXTENSIBLE fmt chunk, with
// 1–8 channels at WAVMinRate–WAVMaxRate Hz. Chunks other than fmt and data
// (LIST, fact, bext, JUNK, …) are skipped, each with its pad byte when its
// size is odd; the data chunk ends the parse, and whatever follows it is not
// read. A data size of 0xFFFFFFFF (a WAV written as a stream) means "to the
// end of the file".
//
// It is strict, because an upload is untrusted: errors wrap ErrCorrupt for a
// structure that is wrong (not RIFF/WAVE, zero channels or rate, a block
// align or byte rate that disagrees with the format, a chunk that runs past
// the RIFF size, data that is not whole frames, a file that ends early, a
// float sample that is NaN or infinite), ErrUnsupported for a valid file it
// does not decode (compressed or 64-bit float encodings, more than 8
// channels, rates out of range, RIFX or RF64), and ErrTooLong for a clip
// beyond lim. Errors reading r come back wrapped as they are.
//
// Memory is bounded by the input actually read, never by sizes a header
// declares: a header that declares an hour of audio in a 100-byte file costs
// about 100 KiB before it is found out.
func DecodeWAV(r io.Reader, lim WAVLimits) (Frame, error) {
	if lim.MaxDuration <= 0 {
		return Frame{}, fmt.Errorf("wav: limit MaxDuration %v must be positive", lim.MaxDuration)
	}
	d := &limitedReader{r: r, max: lim.MaxBytes}
	le := binary.LittleEndian

	var hdr [12]byte
	if err := d.full(hdr[:], "RIFF header"); err != nil {
		return Frame{}, err
	}
	switch string(hdr[0:4]) {
	case "RIFF":
	case "RIFX", "RF64", "BW64":
		return Frame{}, fmt.Errorf("wav: %s files (big-endian or 64-bit RIFF): %w", hdr[0:4], ErrUnsupported)
	default:
		return Frame{}, fmt.Errorf("wav: not a RIFF file: %w", ErrCorrupt)
	}
	if string(hdr[8:12]) != "WAVE" {
		return Frame{}, fmt.Errorf("wav: RIFF form %q is not WAVE: %w", hdr[8:12], ErrCorrupt)
	}
	riffSize := le.Uint32(hdr[4:8])
	streamed := riffSize == wavStreamSize
	riffEnd := int64(riffSize) + 8
	if riffSize < 4+8 {
		return Frame{}, fmt.Errorf("wav: RIFF size %d holds no chunk: %w", riffSize, ErrCorrupt)
	}

	var (
		wf      wavFormat
		haveFmt bool
		skipped int64
		pos     = int64(len(hdr)) // file offset of the next chunk
	)
	for {
		if !streamed && pos+8 > riffEnd {
			return Frame{}, fmt.Errorf("wav: RIFF ends at byte %d without a data chunk: %w", riffEnd, ErrCorrupt)
		}
		var ch [8]byte
		if n, err := io.ReadFull(d, ch[:]); n == 0 && errors.Is(err, io.EOF) {
			return Frame{}, fmt.Errorf("wav: file ends at byte %d without a data chunk: %w", pos, ErrCorrupt)
		} else if err != nil {
			return Frame{}, d.wrap(err, "chunk header")
		}
		pos += 8
		id, size := ch[0:4], int64(le.Uint32(ch[4:8]))
		if !chunkID(id) {
			return Frame{}, fmt.Errorf("wav: bytes %q at offset %d are not a chunk id: %w", id, pos-8, ErrCorrupt)
		}
		toEOF := string(id) == "data" && size == wavStreamSize
		if !streamed && !toEOF && pos+size > riffEnd {
			return Frame{}, fmt.Errorf("wav: %q chunk of %d bytes at offset %d runs past the RIFF end at %d: %w", id, size, pos-8, riffEnd, ErrCorrupt)
		}
		pad := size & 1
		switch string(id) {
		case "fmt ":
			if haveFmt {
				return Frame{}, fmt.Errorf("wav: second fmt chunk: %w", ErrCorrupt)
			}
			if size < 16 || size > maxFmtChunk {
				return Frame{}, fmt.Errorf("wav: fmt chunk of %d bytes (16–%d expected): %w", size, maxFmtChunk, ErrCorrupt)
			}
			var buf [maxFmtChunk + 1]byte
			if err := d.full(buf[:size+pad], "fmt chunk"); err != nil {
				return Frame{}, err
			}
			var err error
			if wf, err = parseFmt(buf[:size]); err != nil {
				return Frame{}, err
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return Frame{}, fmt.Errorf("wav: data chunk before fmt chunk: %w", ErrCorrupt)
			}
			if toEOF {
				size = -1
			}
			return decodeData(d, wf, size, pos, lim)
		default:
			skipped += size + pad
			if skipped > maxSkippedChunks {
				return Frame{}, fmt.Errorf("wav: more than %d bytes of chunks other than fmt and data: %w", maxSkippedChunks, ErrTooLong)
			}
			if _, err := io.CopyN(io.Discard, d, size+pad); err != nil {
				return Frame{}, d.wrap(err, fmt.Sprintf("%q chunk", id))
			}
		}
		pos += size + pad
	}
}

// parseFmt validates a fmt chunk and extracts what decoding needs.
func parseFmt(b []byte) (wavFormat, error) {
	le := binary.LittleEndian
	tag := le.Uint16(b[0:])
	channels := int(le.Uint16(b[2:]))
	rate := le.Uint32(b[4:])
	byteRate := le.Uint32(b[8:])
	blockAlign := int(le.Uint16(b[12:]))
	bits := int(le.Uint16(b[14:]))
	if len(b) >= 18 {
		if cb := int(le.Uint16(b[16:])); 18+cb > len(b) {
			return wavFormat{}, fmt.Errorf("wav: fmt extension of %d bytes overruns a %d-byte fmt chunk: %w", cb, len(b), ErrCorrupt)
		}
	}
	if tag == wavFormatExtensible {
		if len(b) < 40 || le.Uint16(b[16:]) < 22 {
			return wavFormat{}, fmt.Errorf("wav: WAVE_FORMAT_EXTENSIBLE fmt chunk of %d bytes is too short: %w", len(b), ErrCorrupt)
		}
		// 0 valid bits is written by some tools to mean "all of them".
		if valid := int(le.Uint16(b[18:])); valid > bits {
			return wavFormat{}, fmt.Errorf("wav: %d valid bits in a %d-bit container: %w", valid, bits, ErrCorrupt)
		}
		sub := b[24:40]
		if string(sub[2:]) != ksGUIDTail {
			return wavFormat{}, fmt.Errorf("wav: extensible sub-format GUID % x: %w", sub, ErrUnsupported)
		}
		tag = le.Uint16(sub[0:2])
	}
	switch {
	case channels == 0:
		return wavFormat{}, fmt.Errorf("wav: zero channels: %w", ErrCorrupt)
	case channels > MaxChannels:
		return wavFormat{}, fmt.Errorf("wav: %d channels, at most %d decoded: %w", channels, MaxChannels, ErrUnsupported)
	case rate == 0:
		return wavFormat{}, fmt.Errorf("wav: sample rate 0: %w", ErrCorrupt)
	case rate < WAVMinRate || rate > WAVMaxRate:
		return wavFormat{}, fmt.Errorf("wav: sample rate %d Hz outside %d–%d: %w", rate, WAVMinRate, WAVMaxRate, ErrUnsupported)
	case bits == 0:
		return wavFormat{}, fmt.Errorf("wav: zero bits per sample: %w", ErrCorrupt)
	}
	wf := wavFormat{Format: Format{SampleRate: int(rate), Channels: channels}, bits: bits, blockAlign: blockAlign}
	switch tag {
	case wavFormatPCM:
		if bits != 8 && bits != 16 && bits != 24 && bits != 32 {
			return wavFormat{}, fmt.Errorf("wav: %d-bit integer PCM: %w", bits, ErrUnsupported)
		}
	case wavFormatFloat:
		if bits != 32 {
			return wavFormat{}, fmt.Errorf("wav: %d-bit float: %w", bits, ErrUnsupported)
		}
		wf.float = true
	default:
		return wavFormat{}, fmt.Errorf("wav: encoding %#04x (%s): %w", tag, encodingName(tag), ErrUnsupported)
	}
	if want := channels * bits / 8; blockAlign != want {
		return wavFormat{}, fmt.Errorf("wav: block align %d, but %d channels of %d bits take %d: %w", blockAlign, channels, bits, want, ErrCorrupt)
	}
	if want := rate * uint32(blockAlign); byteRate != want {
		return wavFormat{}, fmt.Errorf("wav: byte rate %d, but %d Hz × %d-byte frames is %d: %w", byteRate, rate, blockAlign, want, ErrCorrupt)
	}
	return wf, nil
}

// encodingName names the compressed WAV encodings users meet most.
func encodingName(tag uint16) string {
	switch tag {
	case 0x0002:
		return "MS ADPCM"
	case 0x0006:
		return "A-law"
	case 0x0007:
		return "µ-law"
	case 0x0011:
		return "IMA ADPCM"
	case 0x0031:
		return "GSM 6.10"
	case 0x0055:
		return "MP3"
	}
	return "not PCM"
}

// decodeData reads a data chunk of size bytes (-1: to the end of the file)
// starting at file offset pos.
func decodeData(d *limitedReader, wf wavFormat, size, pos int64, lim WAVLimits) (Frame, error) {
	align := int64(wf.blockAlign)
	maxFrames := int64(wf.Format.Frames(lim.MaxDuration))
	initial := int64(wavInitialSamples)
	if size >= 0 {
		if size%align != 0 {
			return Frame{}, fmt.Errorf("wav: data chunk of %d bytes is not a whole number of %d-byte frames: %w", size, align, ErrCorrupt)
		}
		if frames := size / align; frames > maxFrames {
			return Frame{}, fmt.Errorf("wav: clip of %v is longer than the %v limit: %w", wf.Format.Duration(int(frames)), lim.MaxDuration, ErrTooLong)
		}
		if lim.MaxBytes > 0 && pos+size > lim.MaxBytes {
			return Frame{}, fmt.Errorf("wav: file of at least %d bytes exceeds the %d-byte limit: %w", pos+size, lim.MaxBytes, ErrTooLong)
		}
		initial = min(initial, size/align*int64(wf.Channels))
	}
	samples := make([]float32, 0, initial)
	scratch := make([]byte, wavReadBlock/align*align)
	for remaining := size; remaining != 0; {
		n := int64(len(scratch))
		if size >= 0 {
			n = min(n, remaining)
		}
		got, err := io.ReadFull(d, scratch[:n])
		var ok bool
		if err == nil {
			samples, ok = appendDecoded(samples, scratch[:got], wf)
		} else if size < 0 && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)) {
			if int64(got)%align != 0 {
				return Frame{}, fmt.Errorf("wav: data ends inside a %d-byte frame: %w", align, ErrCorrupt)
			}
			samples, ok = appendDecoded(samples, scratch[:got], wf)
			remaining = 0
		} else if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return Frame{}, fmt.Errorf("wav: file ends after %d of %d data bytes: %w", size-remaining+int64(got), size, ErrCorrupt)
		} else {
			return Frame{}, d.wrap(err, "data chunk")
		}
		if !ok {
			return Frame{}, fmt.Errorf("wav: float sample that is NaN or infinite: %w", ErrCorrupt)
		}
		if size >= 0 {
			remaining -= int64(got)
		} else if int64(len(samples)/wf.Channels) > maxFrames {
			return Frame{}, fmt.Errorf("wav: clip is longer than the %v limit: %w", lim.MaxDuration, ErrTooLong)
		}
	}
	return Frame{Format: wf.Format, Samples: samples}, nil
}

// appendDecoded appends the samples in whole frames src to dst, and reports
// false on a float sample that is NaN or infinite.
func appendDecoded(dst []float32, src []byte, wf wavFormat) ([]float32, bool) {
	le := binary.LittleEndian
	switch {
	case wf.float:
		for i := 0; i+3 < len(src); i += 4 {
			x := math.Float32frombits(le.Uint32(src[i:]))
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return dst, false
			}
			dst = append(dst, x)
		}
	case wf.bits == 8: // unsigned, 128 is silence
		for _, b := range src {
			dst = append(dst, float32(int(b)-128)/128)
		}
	case wf.bits == 16:
		for i := 0; i+1 < len(src); i += 2 {
			dst = append(dst, float32(int16(le.Uint16(src[i:])))/(1<<15))
		}
	case wf.bits == 24:
		for i := 0; i+2 < len(src); i += 3 {
			v := int32(uint32(src[i])<<8|uint32(src[i+1])<<16|uint32(src[i+2])<<24) >> 8
			dst = append(dst, float32(v)/(1<<23))
		}
	case wf.bits == 32:
		for i := 0; i+3 < len(src); i += 4 {
			dst = append(dst, float32(float64(int32(le.Uint32(src[i:])))/(1<<31)))
		}
	}
	return dst, true
}

// chunkID reports whether id looks like a RIFF chunk id: four printable
// ASCII characters. Anything else means the parse has lost its place, most
// often because a writer left out an odd chunk's pad byte.
func chunkID(id []byte) bool {
	for _, c := range id {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// limitedReader counts what it reads and fails once more than max bytes
// (when max is positive) have come from r.
type limitedReader struct {
	r   io.Reader
	n   int64
	max int64
}

// Read reads from r, failing with ErrTooLong past the limit.
func (l *limitedReader) Read(p []byte) (int, error) {
	if l.max > 0 {
		// One byte beyond the limit is allowed through, so that a file of
		// exactly max bytes still reaches its end of file.
		left := l.max + 1 - l.n
		if left <= 0 {
			return 0, l.tooLong()
		}
		if int64(len(p)) > left {
			p = p[:left]
		}
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	if l.max > 0 && l.n > l.max {
		return n, l.tooLong()
	}
	return n, err
}

func (l *limitedReader) tooLong() error {
	return fmt.Errorf("wav: file exceeds the %d-byte limit: %w", l.max, ErrTooLong)
}

// full reads exactly len(p) bytes of the part of the file named what.
func (l *limitedReader) full(p []byte, what string) error {
	if _, err := io.ReadFull(l, p); err != nil {
		return l.wrap(err, what)
	}
	return nil
}

// wrap turns an early end of file into ErrCorrupt and leaves other errors
// (the byte limit, a failing reader) as they are, with context.
func (l *limitedReader) wrap(err error, what string) error {
	switch {
	case errors.Is(err, ErrTooLong):
		return err
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("wav: file ends inside %s at byte %d: %w", what, l.n, ErrCorrupt)
	}
	return fmt.Errorf("wav: read %s: %w", what, err)
}
