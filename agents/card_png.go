package agents

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"hash/fnv"
	"image"
	"image/color"
	"image/png"
	"io"
)

// MaxCardPNGBytes is the largest PNG card ParseCardPNG and EncodePNG accept.
const MaxCardPNGBytes = 32 << 20

// Placeholder image size EncodePNG uses when given no avatar.
const (
	PlaceholderWidth  = 400
	PlaceholderHeight = 600
)

// pngSignature starts every PNG file.
const pngSignature = "\x89PNG\r\n\x1a\n"

// Text chunk keywords that carry cards.
const (
	keywordV2 = "chara"
	keywordV3 = "ccv3"
)

// pngChunk is one chunk of a PNG file: its type, its data, and where the
// whole chunk (length, type, data, CRC) lies in the file.
type pngChunk struct {
	typ        string
	data       []byte
	start, end int
}

// walkPNG checks the signature and calls fn for every chunk up to and
// including IEND, verifying each chunk's length and CRC. The first chunk must
// be IHDR. Bytes after IEND are ignored. Structural problems give
// ErrCorruptImage; a file without the PNG signature gives
// ErrUnsupportedFormat.
func walkPNG(data []byte, fn func(pngChunk) error) error {
	if !bytes.HasPrefix(data, []byte(pngSignature)) {
		return fmt.Errorf("agents: not a png file: %w", ErrUnsupportedFormat)
	}
	off := len(pngSignature)
	for first := true; ; first = false {
		if len(data)-off < 12 {
			return fmt.Errorf("agents: png truncated at byte %d (no IEND chunk): %w", off, ErrCorruptImage)
		}
		length := binary.BigEndian.Uint32(data[off:])
		if length > 1<<31-1 {
			return fmt.Errorf("agents: png chunk at byte %d declares length %d, over the 2^31-1 limit: %w", off, length, ErrCorruptImage)
		}
		if uint64(length) > uint64(len(data)-off-12) {
			return fmt.Errorf("agents: png chunk at byte %d declares %d bytes, only %d remain: %w", off, length, len(data)-off-12, ErrCorruptImage)
		}
		n := int(length)
		typ := data[off+4 : off+8]
		for _, b := range typ {
			if !(b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z') {
				return fmt.Errorf("agents: png chunk at byte %d has an invalid type %q: %w", off, typ, ErrCorruptImage)
			}
		}
		body := data[off+8 : off+8+n]
		want := binary.BigEndian.Uint32(data[off+8+n:])
		if got := crc32.ChecksumIEEE(data[off+4 : off+8+n]); got != want {
			return fmt.Errorf("agents: png chunk %s at byte %d fails its CRC check: %w", typ, off, ErrCorruptImage)
		}
		if first && (string(typ) != "IHDR" || n != 13) {
			return fmt.Errorf("agents: png does not start with an IHDR chunk: %w", ErrCorruptImage)
		}
		c := pngChunk{typ: string(typ), data: body, start: off, end: off + 12 + n}
		if err := fn(c); err != nil {
			return err
		}
		if c.typ == "IEND" {
			return nil
		}
		off = c.end
	}
}

// maxCardChunkText bounds the text of a card chunk: the base64 of
// MaxCardJSONBytes plus room for line breaks.
const maxCardChunkText = (MaxCardJSONBytes+2)/3*4 + 64<<10

// textKeyword returns the keyword of a tEXt, zTXt or iTXt chunk and the
// bytes after its terminator; ok is false for other chunk types and for text
// chunks without a keyword terminator (which are treated as unknown chunks).
func textKeyword(c pngChunk) (keyword string, rest []byte, ok bool) {
	switch c.typ {
	case "tEXt", "zTXt", "iTXt":
	default:
		return "", nil, false
	}
	kw, rest, found := bytes.Cut(c.data, []byte{0})
	if !found {
		return "", nil, false
	}
	return string(kw), rest, true
}

// textChunk decodes the text of a chunk that carries a card. ok is false for
// every other chunk.
func textChunk(c pngChunk) (keyword string, text []byte, ok bool, err error) {
	keyword, rest, ok := textKeyword(c)
	if !ok || (keyword != keywordV2 && keyword != keywordV3) {
		return "", nil, false, nil
	}
	switch c.typ {
	case "tEXt":
		return keyword, rest, true, nil
	case "zTXt":
		if len(rest) < 1 || rest[0] != 0 {
			return keyword, nil, true, fmt.Errorf("agents: png zTXt %s: unknown compression method: %w", keyword, ErrCorruptImage)
		}
		text, err := inflateLimited(rest[1:], maxCardChunkText)
		return keyword, text, true, err
	default: // iTXt
		if len(rest) < 2 {
			return keyword, nil, true, fmt.Errorf("agents: png iTXt %s is truncated: %w", keyword, ErrCorruptImage)
		}
		compressed, method := rest[0], rest[1]
		rest = rest[2:]
		// Skip the language tag and the translated keyword.
		for range 2 {
			var found bool
			if _, rest, found = bytes.Cut(rest, []byte{0}); !found {
				return keyword, nil, true, fmt.Errorf("agents: png iTXt %s is truncated: %w", keyword, ErrCorruptImage)
			}
		}
		if compressed == 0 {
			return keyword, rest, true, nil
		}
		if compressed != 1 || method != 0 {
			return keyword, nil, true, fmt.Errorf("agents: png iTXt %s: unknown compression: %w", keyword, ErrCorruptImage)
		}
		text, err := inflateLimited(rest, maxCardChunkText)
		return keyword, text, true, err
	}
}

// inflateLimited inflates zlib data, refusing more than limit bytes of
// output.
func inflateLimited(data []byte, limit int) ([]byte, error) {
	zr, err := zlib.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("agents: png text chunk: %v: %w", err, ErrCorruptImage)
	}
	defer zr.Close()
	out, err := io.ReadAll(io.LimitReader(zr, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("agents: png text chunk: %v: %w", err, ErrCorruptImage)
	}
	if len(out) > limit {
		return nil, fmt.Errorf("agents: png text chunk inflates past %d bytes: %w", limit, ErrTooLarge)
	}
	return out, nil
}

// ParseCardPNG reads the card embedded in a PNG file: the ccv3 text chunk
// (base64 V3 JSON) if there is one, else the chara chunk (base64 V2 JSON).
// tEXt, zTXt and iTXt chunks are all accepted. It walks and CRC-checks every
// chunk up to IEND but does not decode the image. Errors: ErrTooLarge over
// MaxCardPNGBytes, ErrUnsupportedFormat without the PNG signature,
// ErrCorruptImage for a truncated or damaged file, ErrNoCardChunk when there
// is no card chunk, and ParseCardJSON's errors for the card itself.
func ParseCardPNG(data []byte) (Card, error) {
	if len(data) > MaxCardPNGBytes {
		return Card{}, fmt.Errorf("agents: png card is %d bytes, the limit is %d: %w", len(data), MaxCardPNGBytes, ErrTooLarge)
	}
	// Remember the first chunk of each keyword; decompress only the one
	// used, so that many compressed copies cost nothing.
	var v2, v3 *pngChunk
	err := walkPNG(data, func(c pngChunk) error {
		keyword, _, ok := textKeyword(c)
		switch {
		case !ok:
		case keyword == keywordV3 && v3 == nil:
			v3 = &c
		case keyword == keywordV2 && v2 == nil:
			v2 = &c
		}
		return nil
	})
	if err != nil {
		return Card{}, err
	}
	chosen := v3
	if chosen == nil {
		chosen = v2
	}
	if chosen == nil {
		return Card{}, fmt.Errorf("agents: png has no %s or %s text chunk: %w", keywordV3, keywordV2, ErrNoCardChunk)
	}
	keyword, text, _, err := textChunk(*chosen)
	if err != nil {
		return Card{}, err
	}
	raw, err := decodeChunkBase64(text)
	if err != nil {
		return Card{}, fmt.Errorf("agents: png %s chunk: %w", keyword, err)
	}
	c, err := ParseCardJSON(raw)
	if err != nil {
		return Card{}, fmt.Errorf("agents: png %s chunk: %w", keyword, err)
	}
	return c, nil
}

// decodeChunkBase64 decodes the base64 text of a card chunk, tolerating line
// breaks and missing padding.
func decodeChunkBase64(text []byte) ([]byte, error) {
	if len(text) > maxCardChunkText {
		return nil, fmt.Errorf("%d bytes of text, the limit is %d: %w", len(text), maxCardChunkText, ErrTooLarge)
	}
	clean := make([]byte, 0, len(text))
	for _, b := range text {
		switch b {
		case ' ', '\t', '\r', '\n':
		default:
			clean = append(clean, b)
		}
	}
	enc := base64.StdEncoding
	if len(clean)%4 != 0 {
		enc = base64.RawStdEncoding
		clean = bytes.TrimRight(clean, "=")
	}
	out := make([]byte, enc.DecodedLen(len(clean)))
	n, err := enc.Decode(out, clean)
	if err != nil {
		return nil, &FieldError{Field: "card", Message: "is not valid base64: " + err.Error()}
	}
	return out[:n], nil
}

// EncodePNG returns avatarPNG with the card embedded twice: a tEXt chunk
// "chara" holding the base64 of EncodeV2 and a tEXt chunk "ccv3" holding the
// base64 of EncodeV3, both just before IEND. Existing chara and ccv3 chunks
// (tEXt, zTXt or iTXt) are removed; every other chunk is copied unchanged
// and anything after IEND is dropped. With a nil or empty avatarPNG a
// PlaceholderWidth×PlaceholderHeight placeholder image is generated, its
// colour derived from the card's name. avatarPNG must be a PNG
// (ErrUnsupportedFormat otherwise, ErrCorruptImage when damaged).
func EncodePNG(c Card, avatarPNG []byte) ([]byte, error) {
	v2, err := EncodeV2(c)
	if err != nil {
		return nil, err
	}
	v3, err := EncodeV3(c)
	if err != nil {
		return nil, err
	}
	if len(avatarPNG) == 0 {
		if avatarPNG, err = placeholderPNG(c.Name); err != nil {
			return nil, err
		}
	}
	if len(avatarPNG) > MaxCardPNGBytes {
		return nil, fmt.Errorf("agents: encode png: image is %d bytes, the limit is %d: %w", len(avatarPNG), MaxCardPNGBytes, ErrTooLarge)
	}
	out := make([]byte, 0, len(avatarPNG)+base64.StdEncoding.EncodedLen(len(v2)+len(v3))+64)
	out = append(out, pngSignature...)
	err = walkPNG(avatarPNG, func(ch pngChunk) error {
		keyword, _, isText := textKeyword(ch)
		if isText && (keyword == keywordV2 || keyword == keywordV3) {
			return nil
		}
		if ch.typ == "IEND" {
			out = appendTextChunk(out, keywordV2, v2)
			out = appendTextChunk(out, keywordV3, v3)
		}
		out = append(out, avatarPNG[ch.start:ch.end]...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("agents: encode png: %w", err)
	}
	if len(out) > MaxCardPNGBytes {
		return nil, fmt.Errorf("agents: encode png: result is %d bytes, the limit is %d: %w", len(out), MaxCardPNGBytes, ErrTooLarge)
	}
	return out, nil
}

// appendTextChunk appends a tEXt chunk keyword → base64(payload).
func appendTextChunk(out []byte, keyword string, payload []byte) []byte {
	n := len(keyword) + 1 + base64.StdEncoding.EncodedLen(len(payload))
	out = binary.BigEndian.AppendUint32(out, uint32(n))
	start := len(out)
	out = append(out, "tEXt"...)
	out = append(out, keyword...)
	out = append(out, 0)
	out = base64.StdEncoding.AppendEncode(out, payload)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(out[start:]))
}

// placeholderPNG draws a vertical gradient whose hue comes from name.
func placeholderPNG(name string) ([]byte, error) {
	h := fnv.New32a()
	_, _ = h.Write([]byte(name))
	sum := h.Sum32()
	top := color.NRGBA{R: 64 + uint8(sum)%128, G: 64 + uint8(sum>>8)%128, B: 64 + uint8(sum>>16)%128, A: 255}
	img := image.NewNRGBA(image.Rect(0, 0, PlaceholderWidth, PlaceholderHeight))
	for y := range PlaceholderHeight {
		// Darken towards the bottom, to a third of the top colour.
		f := 1 - 2*float64(y)/float64(3*(PlaceholderHeight-1))
		px := color.NRGBA{R: uint8(float64(top.R) * f), G: uint8(float64(top.G) * f), B: uint8(float64(top.B) * f), A: 255}
		row := img.Pix[y*img.Stride : y*img.Stride+PlaceholderWidth*4]
		for x := 0; x < len(row); x += 4 {
			row[x], row[x+1], row[x+2], row[x+3] = px.R, px.G, px.B, px.A
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("agents: encode placeholder png: %w", err)
	}
	return buf.Bytes(), nil
}

// isPNG reports whether data starts with the PNG signature.
func isPNG(data []byte) bool { return bytes.HasPrefix(data, []byte(pngSignature)) }
