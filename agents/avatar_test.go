package agents

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"
)

// bitWriter writes bits least significant first, as VP8L expects.
type bitWriter struct {
	buf   []byte
	nbits uint
}

func (w *bitWriter) write(v uint32, n uint) {
	for i := range n {
		if w.nbits%8 == 0 {
			w.buf = append(w.buf, 0)
		}
		if v>>i&1 == 1 {
			w.buf[len(w.buf)-1] |= 1 << (w.nbits % 8)
		}
		w.nbits++
	}
}

// solidWebP encodes a w×h single-colour lossless WebP: every prefix code is
// a one-symbol "simple code", so the pixels take no bits at all.
func solidWebP(w, h int, c color.NRGBA) []byte {
	var bw bitWriter
	bw.write(0x2f, 8) // VP8L signature
	bw.write(uint32(w-1), 14)
	bw.write(uint32(h-1), 14)
	bw.write(1, 1) // alpha used
	bw.write(0, 3) // version
	bw.write(0, 1) // no transform
	bw.write(0, 1) // no colour cache
	bw.write(0, 1) // no meta prefix codes
	simple := func(symbol uint8) {
		bw.write(1, 1) // simple code
		bw.write(0, 1) // one symbol
		bw.write(1, 1) // 8-bit symbol
		bw.write(uint32(symbol), 8)
	}
	simple(c.G)
	simple(c.R)
	simple(c.B)
	simple(c.A)
	simple(0) // distance
	data := bw.buf
	chunk := append([]byte("VP8L"), binary.LittleEndian.AppendUint32(nil, uint32(len(data)))...)
	chunk = append(chunk, data...)
	if len(data)%2 == 1 {
		chunk = append(chunk, 0)
	}
	out := append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(4+len(chunk)))...)
	out = append(out, "WEBP"...)
	return append(out, chunk...)
}

func testJPEG(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{R: uint8(x), G: uint8(y), B: 128, A: 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestNormalizeAvatar(t *testing.T) {
	t.Parallel()
	carded := insertChunks(t, testImagePNG(t, 50, 40), tEXt("chara", []byte(decoyV2)), testChunk{"tEXt", []byte("Author\x00someone")})
	tests := []struct {
		name  string
		input []byte
		w, h  int
	}{
		{"small png kept", testImagePNG(t, 50, 40), 50, 40},
		{"wide png", testImagePNG(t, 2000, 1000), 1024, 512},
		{"tall png", testImagePNG(t, 300, 3000), 102, 1024},
		{"square at limit", testImagePNG(t, 1024, 1024), 1024, 1024},
		{"png at the decode limit", testImagePNG(t, MaxAvatarSide, 10), 1024, 3},
		{"thin png keeps one row", testImagePNG(t, 4000, 1), 1024, 1},
		{"jpeg", testJPEG(t, 300, 200), 300, 200},
		{"big jpeg", testJPEG(t, 1600, 1200), 1024, 768},
		{"webp", solidWebP(64, 32, color.NRGBA{R: 200, G: 100, B: 50, A: 255}), 64, 32},
		{"big webp", solidWebP(2048, 1024, color.NRGBA{R: 1, G: 2, B: 3, A: 255}), 1024, 512},
		{"png card metadata is stripped", carded, 50, 40},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, err := NormalizeAvatar(tc.input)
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(out))
			if err != nil {
				t.Fatalf("output is not a PNG: %v", err)
			}
			if b := img.Bounds(); b.Dx() != tc.w || b.Dy() != tc.h {
				t.Errorf("output is %dx%d, want %dx%d", b.Dx(), b.Dy(), tc.w, tc.h)
			}
			if bytes.Contains(out, []byte("tEXt")) || bytes.Contains(out, []byte("chara")) {
				t.Error("output kept text metadata")
			}
		})
	}
}

func TestNormalizeAvatarColours(t *testing.T) {
	t.Parallel()
	want := color.NRGBA{R: 200, G: 100, B: 50, A: 255}
	out, err := NormalizeAvatar(solidWebP(2000, 100, want))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	// A solid image stays solid through resampling.
	for _, p := range []image.Point{{0, 0}, {500, 25}, {1023, 50}} {
		got := color.NRGBAModel.Convert(img.At(p.X, p.Y)).(color.NRGBA)
		if got != want {
			t.Errorf("pixel %v = %v, want %v", p, got, want)
		}
	}
}
