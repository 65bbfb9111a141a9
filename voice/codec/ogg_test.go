package codec

import (
	"bytes"
	"errors"
	"slices"
	"testing"
)

// TestOggCRC checks the page checksum against a page written by opusenc
// (libogg): every page of the fixture verifies, and the algorithm matches
// the reference value for "123456789" of CRC-32/MPEG-2 without the initial
// all-ones (CRC-32 poly 0x04c11db7, init 0, no reflection, no final XOR).
func TestOggCRC(t *testing.T) {
	t.Parallel()
	if got := newOggCRC().update(0, []byte("123456789")); got != 0x89a1897f {
		t.Errorf("crc(123456789) = %#08x, want 0x89a1897f", got)
	}
	if pages := splitOggPages(t, readFixture(t, "opusenc_mono16k.opus")); len(pages) < 4 {
		t.Errorf("%d pages", len(pages))
	}
}

// TestDecodeOggPacking checks packet reassembly: packets across pages,
// packets of exactly 255·k bytes (a lacing value of 0 ends them), and end
// trimming by the final granule position, against a plain decode of the
// same packets.
func TestDecodeOggPacking(t *testing.T) {
	t.Parallel()
	pcm := sine(OpusRate/2, OpusRate, 440, 0.5)
	big := opusPackets(t, pcm, OpusRate, 1, 128000) // about 320 bytes a packet: two lacing values
	// Pad packets to exactly 765 bytes with Opus padding (code 3,
	// padding flag) so that lacing ends in 255, 255, 255, 0.
	padded := make([][]byte, len(big))
	for i, p := range big {
		padded[i] = padOpus(t, p, 765)
	}
	const trim = 500
	total := int64(len(big)) * 960
	tests := []struct {
		name    string
		packets [][]byte
		maxSegs int
	}{
		{"one packet per page", big, 2},
		{"packets across pages", big, 3},
		{"255-byte multiples across pages", padded, 5},
		{"255-byte multiples", padded, 255},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			data := bytes.Join(buildOgg(t, oggSpec{serial: 1, packets: tt.packets, maxSegs: tt.maxSegs, final: total - trim}), nil)
			d, err := Decode(data, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			want := referenceDecode(t, tt.packets, 1, 312)
			want = want[:len(want)-trim]
			if !slices.Equal(d.Audio.Samples, want) {
				t.Errorf("decoded %d samples differ from the %d of a plain decode", len(d.Audio.Samples), len(want))
			}
		})
	}
}

// padOpus re-frames a single-frame packet as a code 3 packet padded to
// exactly size bytes (RFC 6716 §3.2.5): TOC, frame count byte with the
// padding flag, padding length bytes (each 255 adds 254 and another length
// byte follows), the frame, the padding.
func padOpus(t testing.TB, p []byte, size int) []byte {
	t.Helper()
	frame := p[1:]
	rem := size - 3 - len(frame) // = 255·m + last
	if rem < 0 {
		t.Fatalf("packet of %d bytes does not fit %d", len(p), size)
	}
	out := []byte{p[0] | 3, 0x41}
	for range rem / 255 {
		out = append(out, 255)
	}
	out = append(out, byte(rem%255))
	out = append(out, frame...)
	out = append(out, make([]byte, size-len(out))...)
	return out
}

// TestDecodeOggStreams checks files with several logical streams.
func TestDecodeOggStreams(t *testing.T) {
	t.Parallel()
	packets := opusPackets(t, sine(OpusRate/5, OpusRate, 440, 0.5), OpusRate, 1, 0)
	opusA := buildOgg(t, oggSpec{serial: 1, packets: packets})
	opusB := buildOgg(t, oggSpec{serial: 2, packets: packets})
	vorbis := readFixture(t, "vorbis.ogg")
	var vorbisPages [][]byte
	for _, p := range splitOggPages(t, vorbis) {
		vorbisPages = append(vorbisPages, pageBytes(vorbis, p))
	}
	// interleave puts the BOS pages of both first, then alternates.
	interleave := func(a, b [][]byte) []byte {
		out := append(slices.Clone(a[0]), b[0]...)
		for i := 1; i < max(len(a), len(b)); i++ {
			if i < len(a) {
				out = append(out, a[i]...)
			}
			if i < len(b) {
				out = append(out, b[i]...)
			}
		}
		return out
	}
	want := referenceDecode(t, packets, 1, 312)

	t.Run("opus with vorbis", func(t *testing.T) {
		d, err := Decode(interleave(vorbisPages, opusA), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(d.Audio.Samples, want) {
			t.Error("the Opus stream decodes differently beside a Vorbis stream")
		}
	})
	t.Run("two opus", func(t *testing.T) {
		_, err := Decode(interleave(opusA, opusB), Limits{})
		if !errors.Is(err, ErrUnsupportedFormat) {
			t.Errorf("error %v, want ErrUnsupportedFormat", err)
		}
	})
	t.Run("chained", func(t *testing.T) {
		_, err := Decode(append(bytes.Join(opusA, nil), bytes.Join(opusB, nil)...), Limits{})
		if !errors.Is(err, ErrUnsupportedFormat) {
			t.Errorf("error %v, want ErrUnsupportedFormat", err)
		}
	})
	t.Run("multichannel", func(t *testing.T) {
		head := appendOpusHead(nil, 6, 312, 48000)
		head[18] = 1 // mapping family 1 (surround), with a table
		head = append(head, 4, 2, 0, 4, 1, 2, 3, 5)
		_, err := Decode(bytes.Join(buildOgg(t, oggSpec{serial: 1, head: head, packets: packets}), nil), Limits{})
		if !errors.Is(err, ErrUnsupportedCodec) {
			t.Errorf("error %v, want ErrUnsupportedCodec", err)
		}
	})
	t.Run("tags missing", func(t *testing.T) {
		pages := slices.Clone(opusA)
		pages[1] = appendOggPage(nil, newOggCRC(), 0, 0, 1, 1, []byte{8}, []byte("NotTags!"))
		_, err := Decode(bytes.Join(pages, nil), Limits{})
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("error %v, want ErrCorrupt", err)
		}
	})
}
