package audio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// wavChunk is one chunk of a hand-built WAV file.
type wavChunk struct {
	id   string
	body []byte
	// size overrides the declared size when not nil; lying headers.
	size *uint32
	// noPad leaves out the pad byte after an odd body.
	noPad bool
}

// buildWAV assembles a RIFF/WAVE file from chunks; riffSize overrides the
// RIFF size when not nil.
func buildWAV(riffSize *uint32, chunks ...wavChunk) []byte {
	var body []byte
	body = append(body, "WAVE"...)
	for _, c := range chunks {
		body = append(body, c.id...)
		size := uint32(len(c.body))
		if c.size != nil {
			size = *c.size
		}
		body = binary.LittleEndian.AppendUint32(body, size)
		body = append(body, c.body...)
		if len(c.body)%2 == 1 && !c.noPad {
			body = append(body, 0)
		}
	}
	out := append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(len(body)))...)
	if riffSize != nil {
		binary.LittleEndian.PutUint32(out[4:], *riffSize)
	}
	return append(out, body...)
}

func u32(v uint32) *uint32 { return &v }

// fmtBody is a fmt chunk with consistent block align and byte rate.
func fmtBody(tag, channels uint16, rate uint32, bits uint16) []byte {
	align := channels * bits / 8
	return fmtRaw(tag, channels, rate, rate*uint32(align), align, bits)
}

func fmtRaw(tag, channels uint16, rate, byteRate uint32, align, bits uint16) []byte {
	le := binary.LittleEndian
	b := le.AppendUint16(nil, tag)
	b = le.AppendUint16(b, channels)
	b = le.AppendUint32(b, rate)
	b = le.AppendUint32(b, byteRate)
	b = le.AppendUint16(b, align)
	return le.AppendUint16(b, bits)
}

// extFmtBody is a WAVE_FORMAT_EXTENSIBLE fmt chunk for sub-format code sub.
func extFmtBody(sub, channels uint16, rate uint32, bits, valid uint16) []byte {
	le := binary.LittleEndian
	b := fmtBody(wavFormatExtensible, channels, rate, bits)
	b = le.AppendUint16(b, 22)
	b = le.AppendUint16(b, valid)
	b = le.AppendUint32(b, 0) // channel mask: unspecified
	b = le.AppendUint16(b, sub)
	return append(b, ksGUIDTail...)
}

func pcm16(v ...int16) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint16(b, uint16(x))
	}
	return b
}

func float32LE(v ...float32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

var tenSeconds = WAVLimits{MaxDuration: 10 * time.Second}

func TestDecodeWAV(t *testing.T) {
	t.Parallel()
	mono16k := fmtBody(wavFormatPCM, 1, 16000, 16)
	list := wavChunk{id: "LIST", body: []byte("INFOISFT\x05\x00\x00\x00Lavf\x00")} // 17 bytes: odd, padded
	tests := []struct {
		name string
		file []byte
		want Frame
	}{
		{
			name: "16-bit mono",
			file: buildWAV(nil, wavChunk{id: "fmt ", body: mono16k}, wavChunk{id: "data", body: pcm16(0, 16384, -32768, 32767)}),
			want: Frame{Format{16000, 1}, []float32{0, 0.5, -1, 32767.0 / 32768}},
		},
		{
			name: "8-bit unsigned",
			file: buildWAV(nil, wavChunk{id: "fmt ", body: fmtBody(wavFormatPCM, 1, 8000, 8)}, wavChunk{id: "data", body: []byte{0, 128, 255, 192}}),
			want: Frame{Format{8000, 1}, []float32{-1, 0, 127.0 / 128, 0.5}},
		},
		{
			name: "24-bit stereo",
			file: buildWAV(nil, wavChunk{id: "fmt ", body: fmtBody(wavFormatPCM, 2, 48000, 24)},
				wavChunk{id: "data", body: []byte{0x00, 0x00, 0x80, 0xff, 0xff, 0x7f, 0x01, 0x00, 0x00, 0x00, 0x00, 0xc0}}),
			want: Frame{Format{48000, 2}, []float32{-1, 8388607.0 / 8388608, 1.0 / 8388608, -0.5}},
		},
		{
			name: "32-bit integer",
			file: buildWAV(nil, wavChunk{id: "fmt ", body: fmtBody(wavFormatPCM, 1, 44100, 32)},
				wavChunk{id: "data", body: binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, 0x80000000), 0x40000000)}),
			want: Frame{Format{44100, 1}, []float32{-1, 0.5}},
		},
		{
			name: "32-bit float beyond full scale kept",
			file: buildWAV(nil, wavChunk{id: "fmt ", body: fmtBody(wavFormatFloat, 1, 22050, 32)}, wavChunk{id: "data", body: float32LE(0.25, -1.5)}),
			want: Frame{Format{22050, 1}, []float32{0.25, -1.5}},
		},
		{
			name: "fmt with empty extension",
			file: buildWAV(nil, wavChunk{id: "fmt ", body: append(fmtBody(wavFormatPCM, 1, 16000, 16), 0, 0)}, wavChunk{id: "data", body: pcm16(8192)}),
			want: Frame{Format{16000, 1}, []float32{0.25}},
		},
		{
			name: "extensible 24-bit container with 20 valid bits, 6 channels",
			file: buildWAV(nil, wavChunk{id: "fmt ", body: extFmtBody(wavFormatPCM, 6, 48000, 24, 20)},
				wavChunk{id: "data", body: bytes.Repeat([]byte{0x00, 0x00, 0x40}, 6)}),
			want: Frame{Format{48000, 6}, []float32{0.5, 0.5, 0.5, 0.5, 0.5, 0.5}},
		},
		{
			name: "extensible float",
			file: buildWAV(nil, wavChunk{id: "fmt ", body: extFmtBody(wavFormatFloat, 2, 96000, 32, 32)}, wavChunk{id: "data", body: float32LE(0.1, -0.1)}),
			want: Frame{Format{96000, 2}, []float32{0.1, -0.1}},
		},
		{
			name: "8 channels at 192 kHz",
			file: buildWAV(nil, wavChunk{id: "fmt ", body: fmtBody(wavFormatPCM, 8, 192000, 16)}, wavChunk{id: "data", body: pcm16(1, 2, 3, 4, 5, 6, 7, 8)}),
			want: Frame{Format{192000, 8}, []float32{1.0 / 32768, 2.0 / 32768, 3.0 / 32768, 4.0 / 32768, 5.0 / 32768, 6.0 / 32768, 7.0 / 32768, 8.0 / 32768}},
		},
		{
			name: "odd LIST chunks before and after fmt, chunk after data",
			file: buildWAV(nil, list, wavChunk{id: "fmt ", body: mono16k}, list, wavChunk{id: "fact", body: []byte{1, 0, 0, 0}},
				wavChunk{id: "data", body: pcm16(-16384)}, wavChunk{id: "id3 ", body: []byte("ignored")}),
			want: Frame{Format{16000, 1}, []float32{-0.5}},
		},
		{
			name: "streamed sizes read to end of file",
			file: buildWAV(u32(wavStreamSize), wavChunk{id: "fmt ", body: mono16k}, wavChunk{id: "data", size: u32(wavStreamSize), body: pcm16(1, 2, 3)}),
			want: Frame{Format{16000, 1}, []float32{1.0 / 32768, 2.0 / 32768, 3.0 / 32768}},
		},
		{
			name: "empty data",
			file: buildWAV(nil, wavChunk{id: "fmt ", body: mono16k}, wavChunk{id: "data"}),
			want: Frame{Format{16000, 1}, []float32{}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := DecodeWAV(bytes.NewReader(tt.file), tenSeconds)
			if err != nil {
				t.Fatalf("DecodeWAV: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("DecodeWAV (-want +got):\n%s", diff)
			}
			// A reader that hands out one byte at a time must not change
			// anything: chunk and sample boundaries never align with reads.
			slow, err := DecodeWAV(iotest.OneByteReader(bytes.NewReader(tt.file)), tenSeconds)
			if err != nil {
				t.Fatalf("DecodeWAV one byte at a time: %v", err)
			}
			if diff := cmp.Diff(tt.want, slow); diff != "" {
				t.Errorf("DecodeWAV one byte at a time (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeWAVRejects(t *testing.T) {
	t.Parallel()
	mono16k := wavChunk{id: "fmt ", body: fmtBody(wavFormatPCM, 1, 16000, 16)}
	data := wavChunk{id: "data", body: pcm16(1, 2, 3, 4)}
	valid := buildWAV(nil, mono16k, data)
	tests := []struct {
		name string
		file []byte
		lim  WAVLimits
		want error
	}{
		{"empty", nil, tenSeconds, ErrCorrupt},
		{"truncated RIFF header", []byte("RIFF\x10\x00"), tenSeconds, ErrCorrupt},
		{"not RIFF", append([]byte("OggS"), valid[4:]...), tenSeconds, ErrCorrupt},
		{"RIFX", append([]byte("RIFX"), valid[4:]...), tenSeconds, ErrUnsupported},
		{"RF64", append([]byte("RF64"), valid[4:]...), tenSeconds, ErrUnsupported},
		{"not WAVE", append(append([]byte(nil), valid[:8]...), append([]byte("AVI "), valid[12:]...)...), tenSeconds, ErrCorrupt},
		{"RIFF size too small for a chunk", buildWAV(u32(4), mono16k, data), tenSeconds, ErrCorrupt},
		{"data size beyond file", buildWAV(nil, mono16k, wavChunk{id: "data", body: pcm16(1, 2), size: u32(4000)}), tenSeconds, ErrCorrupt},
		{"data size beyond file, streamed RIFF", buildWAV(u32(wavStreamSize), mono16k, wavChunk{id: "data", body: pcm16(1, 2), size: u32(4000)}), tenSeconds, ErrCorrupt},
		{"data beyond RIFF size", buildWAV(u32(40), mono16k, data), tenSeconds, ErrCorrupt},
		{"file ends inside data", valid[:len(valid)-3], tenSeconds, ErrCorrupt},
		{"file ends inside fmt", valid[:30], tenSeconds, ErrCorrupt},
		{"file ends inside a chunk header", valid[:38], tenSeconds, ErrCorrupt},
		{"streamed data ends inside a frame", buildWAV(u32(wavStreamSize), mono16k, wavChunk{id: "data", size: u32(wavStreamSize), body: []byte{1, 2, 3}, noPad: true}), tenSeconds, ErrCorrupt},
		{"no data chunk", buildWAV(nil, mono16k), tenSeconds, ErrCorrupt},
		{"no data chunk, streamed RIFF", buildWAV(u32(wavStreamSize), mono16k), tenSeconds, ErrCorrupt},
		{"data before fmt", buildWAV(nil, data, mono16k), tenSeconds, ErrCorrupt},
		{"two fmt chunks", buildWAV(nil, mono16k, mono16k, data), tenSeconds, ErrCorrupt},
		{"zero channels", buildWAV(nil, wavChunk{id: "fmt ", body: fmtRaw(wavFormatPCM, 0, 16000, 32000, 2, 16)}, data), tenSeconds, ErrCorrupt},
		{"zero rate", buildWAV(nil, wavChunk{id: "fmt ", body: fmtRaw(wavFormatPCM, 1, 0, 0, 2, 16)}, data), tenSeconds, ErrCorrupt},
		{"zero bits", buildWAV(nil, wavChunk{id: "fmt ", body: fmtRaw(wavFormatPCM, 1, 16000, 0, 0, 0)}, data), tenSeconds, ErrCorrupt},
		{"block align mismatch", buildWAV(nil, wavChunk{id: "fmt ", body: fmtRaw(wavFormatPCM, 2, 16000, 64000, 2, 16)}, data), tenSeconds, ErrCorrupt},
		{"byte rate mismatch", buildWAV(nil, wavChunk{id: "fmt ", body: fmtRaw(wavFormatPCM, 1, 16000, 16000, 2, 16)}, data), tenSeconds, ErrCorrupt},
		{"data not whole frames", buildWAV(nil, wavChunk{id: "fmt ", body: fmtBody(wavFormatPCM, 2, 16000, 16)}, wavChunk{id: "data", body: pcm16(1, 2, 3)}), tenSeconds, ErrCorrupt},
		{"fmt chunk too short", buildWAV(nil, wavChunk{id: "fmt ", body: fmtBody(wavFormatPCM, 1, 16000, 16)[:14]}, data), tenSeconds, ErrCorrupt},
		{"fmt chunk huge", buildWAV(nil, wavChunk{id: "fmt ", body: append(fmtBody(wavFormatPCM, 1, 16000, 16), make([]byte, 2000)...)}, data), tenSeconds, ErrCorrupt},
		{"fmt extension overruns", buildWAV(nil, wavChunk{id: "fmt ", body: append(fmtBody(wavFormatPCM, 1, 16000, 16), 40, 0)}, data), tenSeconds, ErrCorrupt},
		{"extensible too short", buildWAV(nil, wavChunk{id: "fmt ", body: append(fmtBody(wavFormatExtensible, 1, 16000, 16), 0, 0)}, data), tenSeconds, ErrCorrupt},
		{"extensible valid bits above container", buildWAV(nil, wavChunk{id: "fmt ", body: extFmtBody(wavFormatPCM, 1, 16000, 16, 24)}, data), tenSeconds, ErrCorrupt},
		{"missing pad byte", buildWAV(nil, wavChunk{id: "LIST", body: []byte("odd"), noPad: true}, mono16k, data), tenSeconds, ErrCorrupt},
		{"NaN sample", buildWAV(nil, wavChunk{id: "fmt ", body: fmtBody(wavFormatFloat, 1, 16000, 32)}, wavChunk{id: "data", body: float32LE(0, float32(math.NaN()))}), tenSeconds, ErrCorrupt},
		{"infinite sample", buildWAV(nil, wavChunk{id: "fmt ", body: fmtBody(wavFormatFloat, 1, 16000, 32)}, wavChunk{id: "data", body: float32LE(float32(math.Inf(1)))}), tenSeconds, ErrCorrupt},

		{"9 channels", buildWAV(nil, wavChunk{id: "fmt ", body: fmtBody(wavFormatPCM, 9, 16000, 16)}, data), tenSeconds, ErrUnsupported},
		{"rate below 8 kHz", buildWAV(nil, wavChunk{id: "fmt ", body: fmtBody(wavFormatPCM, 1, 7999, 16)}, data), tenSeconds, ErrUnsupported},
		{"rate above 192 kHz", buildWAV(nil, wavChunk{id: "fmt ", body: fmtBody(wavFormatPCM, 1, 384000, 16)}, data), tenSeconds, ErrUnsupported},
		{"12-bit PCM", buildWAV(nil, wavChunk{id: "fmt ", body: fmtRaw(wavFormatPCM, 1, 16000, 32000, 2, 12)}, data), tenSeconds, ErrUnsupported},
		{"64-bit float", buildWAV(nil, wavChunk{id: "fmt ", body: fmtBody(wavFormatFloat, 1, 16000, 64)}, wavChunk{id: "data", body: make([]byte, 16)}), tenSeconds, ErrUnsupported},
		{"µ-law", buildWAV(nil, wavChunk{id: "fmt ", body: fmtBody(0x0007, 1, 8000, 8)}, data), tenSeconds, ErrUnsupported},
		{"MP3", buildWAV(nil, wavChunk{id: "fmt ", body: fmtBody(0x0055, 1, 8000, 8)}, data), tenSeconds, ErrUnsupported},
		{"extensible unknown GUID", buildWAV(nil, wavChunk{id: "fmt ", body: append(extFmtBody(wavFormatPCM, 1, 16000, 16, 16)[:26], bytes.Repeat([]byte{7}, 14)...)}, data), tenSeconds, ErrUnsupported},
		{"extensible µ-law", buildWAV(nil, wavChunk{id: "fmt ", body: extFmtBody(0x0007, 1, 16000, 16, 16)}, data), tenSeconds, ErrUnsupported},

		{"longer than the limit", buildWAV(nil, mono16k, wavChunk{id: "data", body: make([]byte, 2*1601)}), WAVLimits{MaxDuration: 100 * time.Millisecond}, ErrTooLong},
		{"declared longer than the limit", buildWAV(u32(wavStreamSize), mono16k, wavChunk{id: "data", body: pcm16(1), size: u32(2 * 16000 * 11)}), tenSeconds, ErrTooLong},
		{"streamed longer than the limit", buildWAV(u32(wavStreamSize), mono16k, wavChunk{id: "data", size: u32(wavStreamSize), body: make([]byte, 2*1601)}), WAVLimits{MaxDuration: 100 * time.Millisecond}, ErrTooLong},
		{"larger than MaxBytes", valid, WAVLimits{MaxDuration: time.Second, MaxBytes: int64(len(valid) - 1)}, ErrTooLong},
		{"streamed larger than MaxBytes", buildWAV(u32(wavStreamSize), mono16k, wavChunk{id: "data", size: u32(wavStreamSize), body: make([]byte, 4000)}), WAVLimits{MaxDuration: time.Second, MaxBytes: 1000}, ErrTooLong},
		{"metadata larger than MaxBytes", buildWAV(nil, wavChunk{id: "LIST", body: make([]byte, 5000)}, mono16k, data), WAVLimits{MaxDuration: time.Second, MaxBytes: 1000}, ErrTooLong},
		{"too much metadata", buildWAV(nil, wavChunk{id: "JUNK", body: make([]byte, maxSkippedChunks)}, wavChunk{id: "JUNK", body: make([]byte, 2)}, mono16k, data), tenSeconds, ErrTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, err := DecodeWAV(bytes.NewReader(tt.file), tt.lim)
			if !errors.Is(err, tt.want) {
				t.Fatalf("DecodeWAV = %v, %v; want %v", f.Format, err, tt.want)
			}
			for _, other := range []error{ErrCorrupt, ErrUnsupported, ErrTooLong} {
				if other != tt.want && errors.Is(err, other) {
					t.Errorf("error %q is also %v", err, other)
				}
			}
			t.Log(err)
		})
	}
}

func TestDecodeWAVExactlyMaxBytes(t *testing.T) {
	t.Parallel()
	file := buildWAV(u32(wavStreamSize), wavChunk{id: "fmt ", body: fmtBody(wavFormatPCM, 1, 16000, 16)}, wavChunk{id: "data", size: u32(wavStreamSize), body: pcm16(1, 2)})
	if _, err := DecodeWAV(bytes.NewReader(file), WAVLimits{MaxDuration: time.Second, MaxBytes: int64(len(file))}); err != nil {
		t.Errorf("a streamed file of exactly MaxBytes: %v", err)
	}
}

func TestDecodeWAVReadError(t *testing.T) {
	t.Parallel()
	boom := errors.New("connection reset")
	valid := buildWAV(nil, wavChunk{id: "fmt ", body: fmtBody(wavFormatPCM, 1, 16000, 16)}, wavChunk{id: "data", body: pcm16(1, 2, 3, 4)})
	for _, n := range []int{0, 20, len(valid) - 2} {
		r := io.MultiReader(bytes.NewReader(valid[:n]), iotest.ErrReader(boom))
		_, err := DecodeWAV(r, tenSeconds)
		if !errors.Is(err, boom) || errors.Is(err, ErrCorrupt) {
			t.Errorf("reader failing after %d bytes: %v, want the reader's error and not ErrCorrupt", n, err)
		}
	}
	if _, err := DecodeWAV(bytes.NewReader(valid), WAVLimits{}); err == nil {
		t.Error("zero MaxDuration accepted")
	}
}

// TestDecodeWAVLyingHeaderMemory declares almost 4 GiB of data in a file of
// a few dozen bytes, under a limit generous enough to let the header through,
// and wants the decoder to fail having allocated little.
func TestDecodeWAVLyingHeaderMemory(t *testing.T) {
	file := buildWAV(u32(wavStreamSize), wavChunk{id: "fmt ", body: fmtBody(wavFormatPCM, 1, 8000, 8)}, wavChunk{id: "data", size: u32(0xFFFFFFF0), body: []byte{1, 2, 3}})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := DecodeWAV(bytes.NewReader(file), WAVLimits{MaxDuration: 200 * time.Hour})
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("DecodeWAV = %v, want ErrCorrupt", err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 256<<10 {
		t.Errorf("decoding a lying header allocated %d bytes, want under 256 KiB", alloc)
	}
}

func TestEncodeWAVGolden(t *testing.T) {
	t.Parallel()
	f := Frame{Format: Format{SampleRate: 8000, Channels: 2}, Samples: make([]float32, 0, 2*40)}
	for i := range 40 {
		x := float32(0.5 * math.Sin(2*math.Pi*440*float64(i)/8000))
		f.Samples = append(f.Samples, x, -x)
	}
	f.Samples[0] = 1.25 // clips
	var buf bytes.Buffer
	clipped, err := EncodeWAV(&buf, f)
	if err != nil {
		t.Fatal(err)
	}
	if clipped != 1 {
		t.Errorf("clipped = %d, want 1", clipped)
	}
	golden := filepath.Join("testdata", "tone_8k_stereo.wav")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(want, buf.Bytes()); diff != "" {
		t.Errorf("EncodeWAV output differs from %s (-want +got):\n%s", golden, diff)
	}
	// The file must also be what DecodeWAV reads back, to 16-bit precision.
	back, err := DecodeWAV(bytes.NewReader(buf.Bytes()), tenSeconds)
	if err != nil {
		t.Fatal(err)
	}
	q, _ := AppendInt16(nil, f.Samples)
	if diff := cmp.Diff(Frame{f.Format, AppendFloatFromInt16(nil, q)}, back); diff != "" {
		t.Errorf("decoded (-encoded +decoded):\n%s", diff)
	}
}

func TestWAVWriterStream(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	ww, err := NewWAVWriter(&buf, Format{SampleRate: 24000, Channels: 1}, UnknownLength)
	if err != nil {
		t.Fatal(err)
	}
	// The header is out before any audio: an HTTP response can start now.
	wantHeader := []byte("RIFF\xff\xff\xff\xffWAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\xc0\x5d\x00\x00\x80\xbb\x00\x00\x02\x00\x10\x00data\xff\xff\xff\xff")
	if diff := cmp.Diff(wantHeader, buf.Bytes()); diff != "" {
		t.Errorf("streaming header (-want +got):\n%s", diff)
	}
	for range 3 {
		if _, err := ww.WriteSamples([]float32{0.5, -0.5}); err != nil {
			t.Fatal(err)
		}
	}
	if err := ww.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes()[:wavHeaderLen], wantHeader) {
		t.Error("Close changed the header of a stream")
	}
	got, err := DecodeWAV(bytes.NewReader(buf.Bytes()), tenSeconds)
	if err != nil {
		t.Fatal(err)
	}
	if got.Len() != 6 || got.SampleRate != 24000 {
		t.Errorf("decoded stream: %v, %d frames; want 24000 Hz, 6", got.Format, got.Len())
	}
}

// TestWAVWriterFile writes an unknown length to a file, after a prefix, and
// wants Close to put the true sizes in the header.
func TestWAVWriterFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "out.bin")
	file, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	const prefix = "prefix"
	if _, err := file.WriteString(prefix); err != nil {
		t.Fatal(err)
	}
	ww, err := NewWAVWriter(file, Format{SampleRate: 16000, Channels: 2}, UnknownLength)
	if err != nil {
		t.Fatal(err)
	}
	samples := tone(300, 0.5, 16000, 2*1000)
	if _, err := ww.WriteFrame(Frame{Format{16000, 2}, samples}); err != nil {
		t.Fatal(err)
	}
	if err := ww.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := file.WriteString("end"); err != nil { // Close left the offset after the data
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	wav := raw[len(prefix) : len(raw)-len("end")]
	if got := binary.LittleEndian.Uint32(wav[4:]); got != uint32(len(wav)-8) {
		t.Errorf("RIFF size %d, want %d", got, len(wav)-8)
	}
	if got := binary.LittleEndian.Uint32(wav[40:]); got != 4*1000 {
		t.Errorf("data size %d, want %d", got, 4*1000)
	}
	back, err := DecodeWAV(bytes.NewReader(wav), tenSeconds)
	if err != nil {
		t.Fatal(err)
	}
	if back.Len() != 1000 {
		t.Errorf("decoded %d frames, want 1000", back.Len())
	}
}

func TestWAVWriterErrors(t *testing.T) {
	t.Parallel()
	mono := Format{SampleRate: 16000, Channels: 1}
	t.Run("bad formats", func(t *testing.T) {
		t.Parallel()
		for _, f := range []Format{{16000, 3}, {0, 1}, {16000, 0}} {
			if _, err := NewWAVWriter(io.Discard, f, 0); !errors.Is(err, ErrFormat) {
				t.Errorf("NewWAVWriter(%v) = %v, want ErrFormat", f, err)
			}
		}
		if _, err := NewWAVWriter(io.Discard, mono, -2); !errors.Is(err, ErrFormat) {
			t.Errorf("frame count -2: %v, want ErrFormat", err)
		}
	})
	t.Run("length beyond 4 GiB", func(t *testing.T) {
		t.Parallel()
		if _, err := NewWAVWriter(io.Discard, mono, 1<<31); !errors.Is(err, ErrTooLong) {
			t.Errorf("2^31 frames of 16-bit: %v, want ErrTooLong", err)
		}
		if _, err := NewWAVWriter(io.Discard, mono, 1<<31-100); err != nil {
			t.Errorf("just under 4 GiB: %v", err)
		}
	})
	t.Run("short", func(t *testing.T) {
		t.Parallel()
		ww, err := NewWAVWriter(io.Discard, mono, 10)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ww.WriteSamples(make([]float32, 9)); err != nil {
			t.Fatal(err)
		}
		if err := ww.Close(); !errors.Is(err, ErrLengthMismatch) {
			t.Errorf("Close after 9 of 10 frames: %v, want ErrLengthMismatch", err)
		}
		if err := ww.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})
	t.Run("long", func(t *testing.T) {
		t.Parallel()
		var buf bytes.Buffer
		ww, err := NewWAVWriter(&buf, mono, 10)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ww.WriteSamples(make([]float32, 11)); !errors.Is(err, ErrLengthMismatch) {
			t.Errorf("11 of 10 frames: %v, want ErrLengthMismatch", err)
		}
		if buf.Len() != wavHeaderLen {
			t.Errorf("a refused write wrote %d bytes", buf.Len()-wavHeaderLen)
		}
	})
	t.Run("partial frame and wrong format", func(t *testing.T) {
		t.Parallel()
		ww, err := NewWAVWriter(io.Discard, Format{16000, 2}, UnknownLength)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ww.WriteSamples(make([]float32, 3)); !errors.Is(err, ErrFormat) {
			t.Errorf("3 samples of stereo: %v, want ErrFormat", err)
		}
		if _, err := ww.WriteFrame(Frame{mono, make([]float32, 2)}); !errors.Is(err, ErrFormat) {
			t.Errorf("mono frame to a stereo writer: %v, want ErrFormat", err)
		}
	})
	t.Run("write error is sticky", func(t *testing.T) {
		t.Parallel()
		boom := errors.New("broken pipe")
		w := &failingWriter{after: wavHeaderLen + 100, err: boom}
		ww, err := NewWAVWriter(w, mono, UnknownLength)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ww.WriteSamples(make([]float32, 100)); !errors.Is(err, boom) {
			t.Errorf("first failing write: %v, want %v", err, boom)
		}
		if _, err := ww.WriteSamples(make([]float32, 1)); !errors.Is(err, boom) {
			t.Errorf("write after failure: %v, want %v", err, boom)
		}
		if err := ww.Close(); !errors.Is(err, boom) {
			t.Errorf("Close after failure: %v, want %v", err, boom)
		}
		if _, err := NewWAVWriter(&failingWriter{err: boom}, mono, 0); !errors.Is(err, boom) {
			t.Errorf("failing header write: %v, want %v", err, boom)
		}
	})
	t.Run("write after close", func(t *testing.T) {
		t.Parallel()
		ww, err := NewWAVWriter(io.Discard, mono, UnknownLength)
		if err != nil {
			t.Fatal(err)
		}
		if err := ww.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := ww.WriteSamples(make([]float32, 1)); err == nil || !strings.Contains(err.Error(), "Close") {
			t.Errorf("write after Close: %v", err)
		}
	})
}

func TestWAVWriterClipped(t *testing.T) {
	t.Parallel()
	ww, err := NewWAVWriter(io.Discard, Format{16000, 1}, UnknownLength)
	if err != nil {
		t.Fatal(err)
	}
	big := make([]float32, 3*wavWriteBlock+5)
	big[0], big[wavWriteBlock+1], big[len(big)-1] = 2, -3, float32(math.NaN())
	if n, err := ww.WriteSamples(big); n != 3 || err != nil {
		t.Errorf("WriteSamples = %d, %v; want 3 clipped", n, err)
	}
	if n, _ := ww.WriteSamples([]float32{1.5}); n != 1 || ww.Clipped() != 4 {
		t.Errorf("second write clipped %d, total %d; want 1, 4", n, ww.Clipped())
	}
}

func TestWAVWriterAllocs(t *testing.T) {
	ww, err := NewWAVWriter(io.Discard, Format{48000, 1}, UnknownLength)
	if err != nil {
		t.Fatal(err)
	}
	frame := tone(440, 0.5, 48000, 960)
	if _, err := ww.WriteSamples(frame); err != nil { // sizes the scratch buffer
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(50, func() {
		if _, err := ww.WriteSamples(frame); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("WriteSamples allocates %.1f times per 20 ms frame, want 0", allocs)
	}
}

// failingWriter accepts after bytes, then fails with err.
type failingWriter struct {
	after int
	n     int
	err   error
}

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.n+len(p) > w.after {
		k := w.after - w.n
		w.n = w.after
		return k, w.err
	}
	w.n += len(p)
	return len(p), nil
}

// FuzzDecodeWAV wants DecodeWAV never to panic, to fail only with its
// sentinels, to return well-formed audio when it succeeds, and to allocate
// in proportion to its input, never to a size a header declares.
func FuzzDecodeWAV(f *testing.F) {
	mono16k := wavChunk{id: "fmt ", body: fmtBody(wavFormatPCM, 1, 16000, 16)}
	seeds := [][]byte{
		buildWAV(nil, mono16k, wavChunk{id: "data", body: pcm16(1, -2, 3, 4)}),
		buildWAV(nil, wavChunk{id: "LIST", body: []byte("odd")}, mono16k, wavChunk{id: "data", body: pcm16(5)}),
		buildWAV(u32(wavStreamSize), mono16k, wavChunk{id: "data", size: u32(wavStreamSize), body: pcm16(1, 2)}),
		buildWAV(nil, wavChunk{id: "fmt ", body: fmtBody(wavFormatPCM, 2, 8000, 8)}, wavChunk{id: "data", body: []byte{1, 2, 3, 4}}),
		buildWAV(nil, wavChunk{id: "fmt ", body: fmtBody(wavFormatPCM, 1, 48000, 24)}, wavChunk{id: "data", body: []byte{1, 2, 3}}),
		buildWAV(nil, wavChunk{id: "fmt ", body: fmtBody(wavFormatPCM, 1, 48000, 32)}, wavChunk{id: "data", body: []byte{1, 2, 3, 4}}),
		buildWAV(nil, wavChunk{id: "fmt ", body: fmtBody(wavFormatFloat, 1, 44100, 32)}, wavChunk{id: "data", body: float32LE(0.5)}),
		buildWAV(nil, wavChunk{id: "fmt ", body: extFmtBody(wavFormatPCM, 6, 96000, 24, 20)}, wavChunk{id: "data", body: make([]byte, 18)}),
		buildWAV(nil, mono16k, wavChunk{id: "data", size: u32(0xFFFFFFF0), body: pcm16(1)}),
		// 50 s declared, one sample present: within the limit, so only the
		// cap on the first allocation keeps this cheap.
		buildWAV(u32(wavStreamSize), mono16k, wavChunk{id: "data", size: u32(2 * 16000 * 50), body: pcm16(1)}),
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		got, err := DecodeWAV(bytes.NewReader(data), WAVLimits{MaxDuration: time.Minute})
		runtime.ReadMemStats(&after)
		// Fixed buffers (a read block, the first stretch of samples) plus
		// samples in proportion to bytes: at most 4 bytes of float32 per
		// input byte (8-bit audio), doubled by slice growth, twice over.
		if alloc, bound := after.TotalAlloc-before.TotalAlloc, uint64(512<<10+16*len(data)); alloc > bound {
			t.Errorf("decoding %d bytes allocated %d bytes, bound %d", len(data), alloc, bound)
		}
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrTooLong) {
				t.Errorf("error %v is none of the sentinels", err)
			}
			return
		}
		if err := got.Validate(); err != nil {
			t.Errorf("decoded an invalid frame: %v", err)
		}
		if got.SampleRate < WAVMinRate || got.SampleRate > WAVMaxRate {
			t.Errorf("decoded rate %d", got.SampleRate)
		}
		if len(got.Samples) > len(data) {
			t.Errorf("%d samples from %d bytes", len(got.Samples), len(data))
		}
		if got.Duration() > time.Minute {
			t.Errorf("decoded %v past the limit", got.Duration())
		}
		for _, x := range got.Samples {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				t.Fatalf("decoded a non-finite sample")
			}
		}
	})
}

// TestDecodeWAVFixture reads a file written by another encoder, Python's
// wave module: 24-bit stereo, left i·100000 and right −i·100000−1 for frame i.
func TestDecodeWAVFixture(t *testing.T) {
	t.Parallel()
	file, err := os.Open(filepath.Join("testdata", "python_24bit_stereo.wav"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	got, err := DecodeWAV(file, tenSeconds)
	if err != nil {
		t.Fatal(err)
	}
	want := Frame{Format: Format{SampleRate: 44100, Channels: 2}}
	for i := range 10 {
		want.Samples = append(want.Samples, float32(i*100000)/(1<<23), float32(-i*100000-1)/(1<<23))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DecodeWAV (-want +got):\n%s", diff)
	}
}
