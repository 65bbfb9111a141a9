package agents

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image/png"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// cardChunks returns the decoded payloads of the chara and ccv3 chunks of a
// PNG, in file order, with the number of each.
func cardChunks(t *testing.T, data []byte) (map[string][][]byte, error) {
	t.Helper()
	found := map[string][][]byte{}
	err := walkPNG(data, func(c pngChunk) error {
		kw, text, ok, err := textChunk(c)
		if !ok || err != nil {
			return err
		}
		raw, err := base64.StdEncoding.DecodeString(string(text))
		if err != nil {
			return err
		}
		found[kw] = append(found[kw], raw)
		return nil
	})
	return found, err
}

func TestParseCardPNGPrefersCCV3(t *testing.T) {
	t.Parallel()
	c, err := ParseCardPNG(readFixture(t, fixtureV3PNG))
	if err != nil {
		t.Fatal(err)
	}
	want, err := ParseCardJSON(readFixture(t, fixtureV3))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestEncodePNG(t *testing.T) {
	t.Parallel()
	c, err := ParseCardJSON(readFixture(t, fixtureV3))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		avatar []byte
		w, h   int
	}{
		{"placeholder", nil, PlaceholderWidth, PlaceholderHeight},
		{"plain avatar", testImagePNG(t, 30, 20), 30, 20},
		// An avatar that already carries cards: they must be replaced, not
		// duplicated, and the other text chunk kept.
		{"avatar with old cards", readFixture(t, fixtureV3PNG), 40, 60},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, err := EncodePNG(c, tc.avatar)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := png.DecodeConfig(bytes.NewReader(out))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Width != tc.w || cfg.Height != tc.h {
				t.Errorf("image is %dx%d, want %dx%d", cfg.Width, cfg.Height, tc.w, tc.h)
			}
			if _, err := png.Decode(bytes.NewReader(out)); err != nil {
				t.Errorf("output does not decode as an image: %v", err)
			}
			chunks, err := cardChunks(t, out)
			if err != nil {
				t.Fatal(err)
			}
			if len(chunks["chara"]) != 1 || len(chunks["ccv3"]) != 1 {
				t.Fatalf("chunks: %d chara, %d ccv3, want one each", len(chunks["chara"]), len(chunks["ccv3"]))
			}
			v2, err := ParseCardJSON(chunks["chara"][0])
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(v2View(c), v2); diff != "" {
				t.Errorf("chara chunk (-want +got):\n%s", diff)
			}
			v3, err := ParseCardJSON(chunks["ccv3"][0])
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c, v3); diff != "" {
				t.Errorf("ccv3 chunk (-want +got):\n%s", diff)
			}
			if tc.avatar != nil && bytes.Contains(tc.avatar, []byte("Comment\x00")) && !bytes.Contains(out, []byte("Comment\x00made by the timbre tests")) {
				t.Error("an unrelated text chunk was dropped")
			}
		})
	}
}

func zlibBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestParseCardPNGTextVariants(t *testing.T) {
	t.Parallel()
	v2 := readFixture(t, fixtureV2)
	b64 := base64.StdEncoding.EncodeToString(v2)
	want, err := ParseCardJSON(v2)
	if err != nil {
		t.Fatal(err)
	}
	wrapped := ""
	for i := 0; i < len(b64); i += 76 {
		wrapped += b64[i:min(i+76, len(b64))] + "\r\n"
	}
	img := testImagePNG(t, 4, 4)
	tests := []struct {
		name  string
		chunk testChunk
	}{
		{"zTXt", testChunk{"zTXt", append([]byte("chara\x00\x00"), zlibBytes(t, []byte(b64))...)}},
		{"iTXt plain", testChunk{"iTXt", []byte("chara\x00\x00\x00en\x00chara\x00" + b64)}},
		{"iTXt compressed", testChunk{"iTXt", append([]byte("ccv3\x00\x01\x00\x00\x00"), zlibBytes(t, []byte(b64))...)}},
		{"line-wrapped base64", testChunk{"tEXt", []byte("chara\x00" + wrapped)}},
		{"unpadded base64", testChunk{"tEXt", []byte("chara\x00" + base64.RawStdEncoding.EncodeToString(v2))}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseCardPNG(insertChunks(t, img, tc.chunk))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseCardPNGzTXtBomb(t *testing.T) {
	t.Parallel()
	bomb := zlibBytes(t, bytes.Repeat([]byte("A"), maxCardChunkText+1))
	_, err := ParseCardPNG(insertChunks(t, testImagePNG(t, 4, 4), testChunk{"zTXt", append([]byte("ccv3\x00\x00"), bomb...)}))
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("error = %v, want ErrTooLarge", err)
	}
}

func FuzzParseCardPNG(f *testing.F) {
	f.Add(readFixture(f, fixtureV2PNG))
	f.Add(readFixture(f, fixtureV3PNG))
	small := testImagePNG(f, 2, 2)
	f.Add(insertChunks(f, small, tEXt("chara", []byte(decoyV2))))
	f.Add(insertChunks(f, small, testChunk{"iTXt", []byte("ccv3\x00\x00\x00\x00\x00" + base64.StdEncoding.EncodeToString([]byte(decoyV2)))}))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Random changes nearly always break a CRC; also try the input with
		// its CRCs repaired, to reach the text chunk and card decoding.
		if fixed := fixCRCs(data); !bytes.Equal(fixed, data) {
			checkPNGInput(t, fixed)
		}
		checkPNGInput(t, data)
	})
}

// fixCRCs returns data with the CRC of every chunk it can delimit
// recomputed.
func fixCRCs(data []byte) []byte {
	if !bytes.HasPrefix(data, []byte(pngSignature)) {
		return data
	}
	out := append([]byte(nil), data...)
	for off := len(pngSignature); len(out)-off >= 12; {
		n := int(binary.BigEndian.Uint32(out[off:]))
		if n < 0 || n > len(out)-off-12 {
			break
		}
		binary.BigEndian.PutUint32(out[off+8+n:], crc32.ChecksumIEEE(out[off+4:off+8+n]))
		off += 12 + n
	}
	return out
}

func checkPNGInput(t *testing.T, data []byte) {
	t.Helper()
	c, err := ParseCardPNG(data)
	if err != nil {
		checkedSentinel(t, err)
		return
	}
	checkReencodes(t, c)
	// The parsed file is a valid chunk stream, so it can carry the card
	// again.
	out, err := EncodePNG(c, data)
	if err != nil {
		t.Fatalf("EncodePNG over the parsed file: %v", err)
	}
	back, err := ParseCardPNG(out)
	if err != nil {
		t.Fatalf("reparse: %v", err)
	}
	if diff := cmp.Diff(c, back); diff != "" {
		t.Fatalf("(-before +after):\n%s", diff)
	}
}
