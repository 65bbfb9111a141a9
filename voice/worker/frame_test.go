package worker

import (
	"encoding/binary"
	"errors"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/timbre-ai/timbre/voice/tts"
)

// encodeAll encodes c and returns copies of its frames.
func encodeAll(t *testing.T, c tts.Chunk, format SampleFormat, maxBytes int) [][]byte {
	t.Helper()
	var frames [][]byte
	_, err := encodeFrames(nil, c, format, maxBytes, func(b []byte) error {
		frames = append(frames, append([]byte(nil), b...))
		return nil
	})
	if err != nil {
		t.Fatalf("encodeFrames: %v", err)
	}
	return frames
}

// ramp is n samples that 16 bits represent exactly.
func ramp(n, salt int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32((i*7+salt)%200-100) / 32768
	}
	return s
}

func TestFrameRoundTrip(t *testing.T) {
	t.Parallel()
	noisy := []float32{0, 0.1, -0.333, 0.5, -1, 1, 1e-6}
	tests := []struct {
		name       string
		chunk      tts.Chunk
		format     SampleFormat
		maxBytes   int
		wantFrames int
		// tolerance is the largest sample error allowed.
		tolerance float64
	}{
		{"pcm16 exact values", tts.Chunk{Seq: 3, Text: "Hello there.", SampleRate: 22050, Samples: ramp(500, 1)}, FormatPCM16, DefaultMaxFrameBytes, 1, 0},
		{"pcm16 rounds", tts.Chunk{Seq: 0, Text: "é ü 😀", SampleRate: 16000, Samples: noisy}, FormatPCM16, DefaultMaxFrameBytes, 1, 1.0 / 32768},
		{"float32 lossless", tts.Chunk{Seq: 1, Text: "x", SampleRate: 48000, Samples: noisy}, FormatFloat32, DefaultMaxFrameBytes, 1, 0},
		{"no samples", tts.Chunk{Seq: 2, Text: "…", SampleRate: 22050}, FormatPCM16, DefaultMaxFrameBytes, 1, 0},
		{"split pcm16", tts.Chunk{Seq: 7, Text: "A long sentence.", SampleRate: 22050, Samples: ramp(3000, 2)}, FormatPCM16, 1024, 6, 0},
		{"split float32", tts.Chunk{Seq: 7, Text: "Long.", SampleRate: 22050, Samples: noisy[:4]}, FormatFloat32, 1024, 1, 0},
		{"split exactly full", tts.Chunk{Seq: 0, SampleRate: 8000, Samples: ramp(2*(1024-frameHeaderLen)/2, 3)}, FormatPCM16, 1024, 2, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			frames := encodeAll(t, tt.chunk, tt.format, tt.maxBytes)
			if len(frames) != tt.wantFrames {
				t.Fatalf("got %d frames, want %d", len(frames), tt.wantFrames)
			}
			var asm assembler
			var got tts.Chunk
			for i, f := range frames {
				if len(f) > max(tt.maxBytes, minFrameBytes) {
					t.Errorf("frame %d is %d bytes, over %d", i, len(f), tt.maxBytes)
				}
				c, done, err := asm.add(f)
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				if done != (i == len(frames)-1) {
					t.Fatalf("frame %d: done = %v", i, done)
				}
				got = c
			}
			want := tt.chunk
			if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b float32) bool {
				return math.Abs(float64(a)-float64(b)) <= tt.tolerance
			})); diff != "" {
				t.Errorf("chunk differs after the round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFramePCM16Clips(t *testing.T) {
	t.Parallel()
	frames := encodeAll(t, tts.Chunk{SampleRate: 22050, Samples: []float32{1.5, -2, float32(math.NaN())}}, FormatPCM16, 0)
	var asm assembler
	c, _, err := asm.add(frames[0])
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{32767.0 / 32768, -1, 0}
	if diff := cmp.Diff(want, c.Samples); diff != "" {
		t.Errorf("clipped samples (-want +got):\n%s", diff)
	}
}

func TestEncodeFrameRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		chunk  tts.Chunk
		format SampleFormat
	}{
		{"unknown format", tts.Chunk{SampleRate: 22050}, 9},
		{"no sample rate", tts.Chunk{Samples: []float32{0}}, FormatPCM16},
		{"negative seq", tts.Chunk{Seq: -1, SampleRate: 22050}, FormatPCM16},
		{"text not UTF-8", tts.Chunk{Text: "\xff", SampleRate: 22050}, FormatPCM16},
		{"text fills the frame", tts.Chunk{Text: string(make([]byte, 2000)), SampleRate: 22050, Samples: []float32{0}}, FormatPCM16},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sent := 0
			_, err := encodeFrames(nil, tt.chunk, tt.format, 1024, func([]byte) error { sent++; return nil })
			if err == nil || sent != 0 {
				t.Errorf("encodeFrames = %v after %d frames, want an error before any", err, sent)
			}
		})
	}
}

// header builds a frame header by hand.
func header(version, format, flags, reserved byte, seq, rate, textLen, count uint32) []byte {
	b := []byte{version, format, flags, reserved}
	for _, v := range []uint32{seq, rate, textLen, count} {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	return b
}

func TestDecodeFrameRejects(t *testing.T) {
	t.Parallel()
	good := header(1, 1, 0, 0, 0, 22050, 2, 2)
	good = append(good, "hi"...)
	good = append(good, 0, 0, 1, 0)
	if _, err := decodeFrame(good); err != nil {
		t.Fatalf("the well-formed frame fails: %v", err)
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"shorter than header", good[:19]},
		{"version 2", header(2, 1, 0, 0, 0, 22050, 0, 0)},
		{"unknown format", header(1, 3, 0, 0, 0, 22050, 0, 0)},
		{"unknown flag", header(1, 1, 2, 0, 0, 22050, 0, 0)},
		{"reserved byte set", header(1, 1, 0, 1, 0, 22050, 0, 0)},
		{"sample rate 0", header(1, 1, 0, 0, 0, 0, 0, 0)},
		{"sample rate too high", header(1, 1, 0, 0, 0, 2_000_000, 0, 0)},
		{"sentence number too high", header(1, 1, 0, 0, math.MaxUint32, 22050, 0, 0)},
		{"missing a byte", good[:len(good)-1]},
		{"one byte too many", append(append([]byte(nil), good...), 0)},
		{"text longer than frame", header(1, 1, 0, 0, 0, 22050, math.MaxUint32, 0)},
		{"huge sample count", header(1, 2, 0, 0, 0, 22050, 0, math.MaxUint32)},
		{"text not UTF-8", append(header(1, 1, 0, 0, 0, 22050, 1, 0), 0xff)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := decodeFrame(tt.data); !errors.Is(err, ErrProtocol) {
				t.Errorf("decodeFrame = %v, want ErrProtocol", err)
			}
		})
	}
}

func TestAssemblerRejectsDisorder(t *testing.T) {
	t.Parallel()
	frame := func(seq, rate int, text string, n int, more bool) []byte {
		f := encodeAll(t, tts.Chunk{Seq: seq, Text: text, SampleRate: rate, Samples: ramp(n, 0)}, FormatPCM16, 0)[0]
		if more {
			f[2] |= flagMore
		}
		return f
	}
	tests := []struct {
		name   string
		frames [][]byte
	}{
		{"sentence repeated", [][]byte{frame(0, 22050, "a", 1, false), frame(0, 22050, "a", 1, false)}},
		{"sentence goes back", [][]byte{frame(2, 22050, "a", 1, false), frame(1, 22050, "b", 1, false)}},
		{"continuation of another sentence", [][]byte{frame(0, 22050, "a", 1, true), frame(1, 22050, "", 1, false)}},
		{"continuation changes rate", [][]byte{frame(0, 22050, "a", 1, true), frame(0, 16000, "", 1, false)}},
		{"continuation repeats text", [][]byte{frame(0, 22050, "a", 1, true), frame(0, 22050, "a", 1, false)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var asm assembler
			var err error
			for _, f := range tt.frames {
				if _, _, err = asm.add(f); err != nil {
					break
				}
			}
			if !errors.Is(err, ErrProtocol) {
				t.Errorf("assembler = %v, want ErrProtocol", err)
			}
		})
	}
}

func FuzzDecodeFrame(f *testing.F) {
	f.Add(header(1, 1, 0, 0, 0, 22050, 0, 0))
	f.Add(append(header(1, 2, 1, 0, 4, 8000, 1, 1), 'a', 0, 0, 0x80, 0x3f))
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, data []byte) {
		fr, err := decodeFrame(data)
		if err != nil {
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("error %v does not wrap ErrProtocol", err)
			}
			return
		}
		samples, err := fr.appendSamples(nil)
		if err != nil {
			t.Fatalf("appendSamples after a good decode: %v", err)
		}
		if got, want := len(samples)*fr.format.size(), len(fr.pcm); got != want {
			t.Fatalf("%d samples from %d bytes of %s", len(samples), want, fr.format)
		}
	})
}

func TestRequestRoundTrip(t *testing.T) {
	t.Parallel()
	req := tts.Request{Voice: "jenny", Text: "Hi. \"Quoted\" é", Speed: 1.25}
	b, err := encodeRequest(req, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, conv, err := decodeRequest(b)
	if err != nil {
		t.Fatal(err)
	}
	if got != req || conv != nil {
		t.Errorf("decodeRequest = %+v, %v; want %+v, no conversion", got, conv, req)
	}
	for _, bad := range []string{``, `{`, `[]`, `{"voice":"jenny","text":"hi"}`, `{"protocol":2,"voice":"jenny","text":"hi"}`} {
		if _, _, err := decodeRequest([]byte(bad)); !errors.Is(err, ErrProtocol) {
			t.Errorf("decodeRequest(%q) = %v, want ErrProtocol", bad, err)
		}
	}
	if _, err := encodeRequest(tts.Request{Voice: "jenny", Text: "hi", Speed: math.NaN()}, nil); !errors.Is(err, tts.ErrBadSpeed) {
		t.Errorf("encodeRequest with a NaN speed = %v, want ErrBadSpeed", err)
	}
}

func TestWireErrorRoundTrip(t *testing.T) {
	t.Parallel()
	for _, code := range []string{codeBusy, codeUnknownVoice, codeEngine} {
		e := &wireError{Code: code, Message: `voice "x" {odd} text`}
		if got := parseWireError(e.Error()); got != *e {
			t.Errorf("parseWireError(%q) = %+v, want %+v", e.Error(), got, *e)
		}
	}
	if got := parseWireError("worker stopping"); got.Code != codeInternal || got.Message != "worker stopping" {
		t.Errorf("parseWireError of plain text = %+v, want the internal code and the text", got)
	}
}
