package extract

import (
	"sort"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/ledongthuc/pdf"
	"golang.org/x/text/encoding/charmap"
)

// pdfFont is what the content interpreter needs of a font: how to split a
// shown string into character codes, the text of each code and its width.
type pdfFont struct {
	bold      bool
	composite bool // Type0: multi-byte codes, CID widths
	ucs2      bool // composite with a predefined UCS-2/UTF-16 CMap: codes are Unicode
	toUni     *cmap
	codes     *cmap // a composite font's embedded encoding CMap, for code lengths only

	simple [256]rune // simple fonts without ToUnicode (0: no text)

	widths    []float64 // simple: width of code firstChar+i, in glyph units
	firstChar int
	missing   float64 // width of codes without one
	cidW      map[uint32]float64
	cidRanges []cidWidthRange
	scale     float64 // glyph units to text space units (0.001, or a Type3 FontMatrix)
}

// cidWidthRange gives codes lo..hi the same width.
type cidWidthRange struct {
	lo, hi uint32
	w      float64
}

// Limits on font data, which is untrusted like everything else.
const (
	maxCMapEntries  = 1 << 18
	maxCMapOperands = 1 << 16
	maxWidthEntries = 1 << 16
)

// defaultFont is used when a content stream shows text without a usable
// font: bytes are read as Windows-1252 with an average width.
func defaultFont() *pdfFont {
	f := &pdfFont{missing: 500, scale: 0.001}
	f.simple = windows1252Table()
	return f
}

// windows1252Table maps every byte to its Windows-1252 character.
func windows1252Table() [256]rune {
	var t [256]rune
	for i := range t {
		t[i] = cleanGlyphRune(charmap.Windows1252.DecodeByte(byte(i)))
	}
	return t
}

// cleanGlyphRune maps a decoded character to what goes into the text: C1
// controls (Latin-1 bytes 0x80-0x9f) as Windows-1252, other controls and
// U+FFFD as nothing (0), tabs and line breaks as a space.
func cleanGlyphRune(r rune) rune {
	switch {
	case r == '\t' || r == '\n' || r == '\r':
		return ' '
	case r >= 0x80 && r <= 0x9f:
		return cleanGlyphRune(charmap.Windows1252.DecodeByte(byte(r)))
	case r < 0x20 || r == 0x7f || r == utf8.RuneError:
		return 0
	}
	return r
}

// loadFont builds a pdfFont from a font dictionary. It reads only what the
// library can give without running its own CMap parser, which has no
// limits: ToUnicode and embedded CMaps are parsed here.
func (d *pdfDoc) loadFont(v pdf.Value) *pdfFont {
	f := &pdfFont{scale: 0.001}
	subtype := v.Key("Subtype").Name()
	base := v.Key("BaseFont").Name()
	desc := v.Key("FontDescriptor")
	f.composite = subtype == "Type0"
	if f.composite {
		desc0 := v.Key("DescendantFonts").Index(0)
		desc = desc0.Key("FontDescriptor")
		if base == "" {
			base = desc0.Key("BaseFont").Name()
		}
		f.loadCIDWidths(desc0)
		enc := v.Key("Encoding")
		switch enc.Kind() {
		case pdf.Name:
			name := enc.Name()
			f.ucs2 = strings.Contains(name, "UCS2") || strings.Contains(name, "UTF16")
		case pdf.Stream:
			if data, err := d.readStream(enc); err == nil {
				f.codes = parseCMap(data)
			}
		}
	} else {
		f.loadSimpleWidths(v, desc, base)
		if subtype == "Type3" {
			if m := v.Key("FontMatrix"); m.Len() == 6 {
				if s := m.Index(0).Float64(); s > 0 && s < 1 {
					f.scale = s
				}
			}
		}
	}
	lower := strings.ToLower(base)
	f.bold = strings.Contains(lower, "bold") || strings.Contains(lower, "black") ||
		strings.Contains(lower, "heavy") || strings.Contains(lower, "semibold") || desc.Key("FontWeight").Float64() >= 600
	if tu := v.Key("ToUnicode"); tu.Kind() == pdf.Stream {
		if data, err := d.readStream(tu); err == nil {
			f.toUni = parseCMap(data)
		}
	}
	if !f.composite {
		f.simple = simpleTable(v)
	}
	return f
}

// simpleTable returns the byte-to-character table of a simple font. Named
// WinAnsi and MacRoman encodings and /Differences dictionaries come from the
// library's tables (which never touch ToUnicode); anything else, including
// the standard and built-in encodings, is read as Windows-1252, which agrees
// with them on letters and digits.
func simpleTable(v pdf.Value) [256]rune {
	enc := v.Key("Encoding")
	useLibrary := enc.Kind() == pdf.Dict ||
		(enc.Kind() == pdf.Name && (enc.Name() == "WinAnsiEncoding" || enc.Name() == "MacRomanEncoding"))
	if !useLibrary {
		return windows1252Table()
	}
	e := pdf.Font{V: v}.Encoder()
	var t [256]rune
	for i := range t {
		r, _ := utf8.DecodeRuneInString(e.Decode(string([]byte{byte(i)})))
		t[i] = cleanGlyphRune(r)
	}
	return t
}

// loadSimpleWidths reads /FirstChar, /Widths and /MissingWidth, or guesses
// for the standard fonts that come without widths.
func (f *pdfFont) loadSimpleWidths(v, desc pdf.Value, base string) {
	f.missing = desc.Key("MissingWidth").Float64()
	ws := v.Key("Widths")
	n := min(ws.Len(), maxWidthEntries)
	if n == 0 {
		f.missing = 500
		if strings.Contains(base, "Courier") {
			f.missing = 600
		}
		return
	}
	f.firstChar = int(v.Key("FirstChar").Int64())
	f.widths = make([]float64, n)
	for i := range n {
		f.widths[i] = ws.Index(i).Float64()
	}
}

// loadCIDWidths reads a CIDFont's /DW and /W.
func (f *pdfFont) loadCIDWidths(cid pdf.Value) {
	f.missing = 1000
	if dw := cid.Key("DW"); dw.Kind() == pdf.Integer || dw.Kind() == pdf.Real {
		f.missing = dw.Float64()
	}
	w := cid.Key("W")
	n := min(w.Len(), maxWidthEntries)
	entries := 0
	for i := 0; i+1 < n && entries < maxWidthEntries; {
		first := w.Index(i).Int64()
		next := w.Index(i + 1)
		if next.Kind() == pdf.Array {
			if f.cidW == nil {
				f.cidW = map[uint32]float64{}
			}
			for j := 0; j < next.Len() && entries < maxWidthEntries; j++ {
				f.cidW[uint32(first)+uint32(j)] = next.Index(j).Float64()
				entries++
			}
			i += 2
			continue
		}
		if i+2 >= n {
			break
		}
		f.cidRanges = append(f.cidRanges, cidWidthRange{lo: uint32(first), hi: uint32(next.Int64()), w: w.Index(i + 2).Float64()})
		entries++
		i += 3
	}
	sort.Slice(f.cidRanges, func(i, j int) bool { return f.cidRanges[i].lo < f.cidRanges[j].lo })
}

// width returns the width of code in glyph units.
func (f *pdfFont) width(code uint32) float64 {
	if f.composite {
		if w, ok := f.cidW[code]; ok {
			return w
		}
		rs := f.cidRanges
		if i := sort.Search(len(rs), func(i int) bool { return rs[i].lo > code }) - 1; i >= 0 && code <= rs[i].hi {
			return rs[i].w
		}
		return f.missing
	}
	if i := int(code) - f.firstChar; i >= 0 && i < len(f.widths) {
		if w := f.widths[i]; w > 0 {
			return w
		}
	}
	if f.missing > 0 {
		return f.missing
	}
	if code == ' ' {
		return 250
	}
	return 500
}

// decode returns the text of a shown string, its width in text space units
// per unit of font size, its number of codes, and how many of them are the
// single-byte code 32 (which word spacing applies to).
func (f *pdfFont) decode(raw []byte, b *strings.Builder) (width float64, codes, spaces int) {
	for len(raw) > 0 {
		n := 1
		if f.composite {
			n = f.codeLength(raw)
		}
		var code uint32
		for _, c := range raw[:n] {
			code = code<<8 | uint32(c)
		}
		raw = raw[n:]
		width += f.width(code) * f.scale
		codes++
		if n == 1 && code == ' ' {
			spaces++
		}
		if f.toUni != nil && f.toUni.write(b, code, n) {
			continue
		}
		switch {
		case !f.composite:
			if r := f.simple[code]; r != 0 {
				b.WriteRune(r)
			}
		case f.ucs2:
			if r := cleanGlyphRune(rune(code)); r != 0 && !utf16.IsSurrogate(r) {
				b.WriteRune(r)
			}
		}
		// A composite font without ToUnicode has no reliable text: its codes
		// are glyph numbers. It still advances, so spacing stays right.
	}
	return width, codes, spaces
}

// codeLength returns how many bytes of raw the next code of a composite
// font takes: by its encoding CMap's code space, else its ToUnicode's, else 2.
func (f *pdfFont) codeLength(raw []byte) int {
	for _, m := range []*cmap{f.codes, f.toUni} {
		if m != nil && len(m.spaces) > 0 {
			if n := m.codeLength(raw); n > 0 {
				return n
			}
		}
	}
	return min(2, len(raw))
}

// cmap is a parsed ToUnicode (or encoding) CMap.
type cmap struct {
	spaces []codeSpace
	single map[uint64]string // by code length<<32 | code
	ranges [5][]cmapRange    // by code length, sorted by lo
}

// codeSpace is one codespacerange entry: codes of n bytes whose every byte
// lies between the matching bytes of lo and hi.
type codeSpace struct {
	n      int
	lo, hi [4]byte
}

// cmapRange maps codes lo..hi to dst with its last character incremented,
// or to the matching element of arr.
type cmapRange struct {
	lo, hi uint32
	dst    []rune
	arr    []string
}

// codeLength returns the length of the code space that the start of raw
// falls in, or 0.
func (m *cmap) codeLength(raw []byte) int {
	for _, s := range m.spaces {
		if len(raw) < s.n {
			continue
		}
		ok := true
		for i := 0; i < s.n; i++ {
			if raw[i] < s.lo[i] || raw[i] > s.hi[i] {
				ok = false
				break
			}
		}
		if ok {
			return s.n
		}
	}
	return 0
}

// write appends the text of code (n bytes long) and reports whether the
// CMap maps it.
func (m *cmap) write(b *strings.Builder, code uint32, n int) bool {
	if s, ok := m.single[uint64(n)<<32|uint64(code)]; ok {
		b.WriteString(s)
		return true
	}
	if n > 4 {
		return false
	}
	rs := m.ranges[n]
	i := sort.Search(len(rs), func(i int) bool { return rs[i].lo > code }) - 1
	if i < 0 || code > rs[i].hi {
		return false
	}
	r := rs[i]
	off := code - r.lo
	if r.arr != nil {
		if int(off) < len(r.arr) {
			b.WriteString(r.arr[off])
			return true
		}
		return false
	}
	if len(r.dst) == 0 {
		return false
	}
	for _, c := range r.dst[:len(r.dst)-1] {
		b.WriteRune(c)
	}
	if c := cleanGlyphRune(r.dst[len(r.dst)-1] + rune(off)); c != 0 && utf8.ValidRune(c) {
		b.WriteRune(c)
	}
	return true
}

// cmapOperand is an operand in a CMap: a token, or an array of strings.
type cmapOperand struct {
	t   token
	arr [][]byte
}

// parseCMap parses the codespacerange, bfchar and bfrange sections of a
// CMap. It returns nil for a CMap with more than maxCMapEntries entries.
// Unlike the library's parser it never trusts the counts written before
// each section: entries are taken from the operands actually present.
func parseCMap(data []byte) *cmap {
	m := &cmap{single: map[uint64]string{}}
	lx := lexer{data: data}
	var ops []cmapOperand
	entries := 0
	for {
		t := lx.next()
		switch t.kind {
		case tokEOF:
			for n := range m.ranges {
				sort.Slice(m.ranges[n], func(i, j int) bool { return m.ranges[n][i].lo < m.ranges[n][j].lo })
			}
			return m
		case tokArrayOpen:
			var arr [][]byte
			for e := lx.next(); e.kind != tokArrayClose && e.kind != tokEOF; e = lx.next() {
				if (e.kind == tokHex || e.kind == tokString) && len(arr) < maxWidthEntries {
					arr = append(arr, stringBytes(e))
					entries++
				}
			}
			ops = append(ops, cmapOperand{arr: arr})
		case tokKeyword:
			switch string(t.raw) {
			case "endcodespacerange":
				for i := 0; i+1 < len(ops); i += 2 {
					lo, hi := ops[i].bytes(), ops[i+1].bytes()
					if len(lo) == 0 || len(lo) > 4 || len(lo) != len(hi) {
						continue
					}
					s := codeSpace{n: len(lo)}
					copy(s.lo[:], lo)
					copy(s.hi[:], hi)
					m.spaces = append(m.spaces, s)
					entries++
				}
			case "endbfchar":
				for i := 0; i+1 < len(ops); i += 2 {
					src := ops[i].bytes()
					if len(src) == 0 || len(src) > 4 || ops[i+1].t.kind != tokHex && ops[i+1].t.kind != tokString {
						continue
					}
					m.single[uint64(len(src))<<32|uint64(codeOf(src))] = utf16Text(ops[i+1].bytes())
					entries++
				}
			case "endbfrange":
				for i := 0; i+2 < len(ops); i += 3 {
					lo, hi := ops[i].bytes(), ops[i+1].bytes()
					if len(lo) == 0 || len(lo) > 4 || len(lo) != len(hi) || codeOf(hi) < codeOf(lo) {
						continue
					}
					r := cmapRange{lo: codeOf(lo), hi: codeOf(hi)}
					if dst := ops[i+2]; dst.t.kind == tokHex || dst.t.kind == tokString {
						r.dst = []rune(utf16Text(dst.bytes()))
					} else {
						for _, s := range dst.arr {
							r.arr = append(r.arr, utf16Text(s))
						}
						if r.arr == nil {
							r.arr = []string{}
						}
					}
					m.ranges[len(lo)] = append(m.ranges[len(lo)], r)
					entries++
				}
			}
			ops = ops[:0]
		default:
			if len(ops) >= maxCMapOperands {
				// Far more than any section holds: drop them, not memory.
				ops = ops[:0]
			}
			ops = append(ops, cmapOperand{t: t})
		}
		if entries > maxCMapEntries {
			return nil
		}
	}
}

// bytes returns the decoded bytes of a string operand, or nil.
func (o cmapOperand) bytes() []byte {
	if o.t.kind == tokHex || o.t.kind == tokString {
		return stringBytes(o.t)
	}
	return nil
}

// codeOf reads up to four bytes as a big-endian code.
func codeOf(b []byte) uint32 {
	var c uint32
	for _, x := range b {
		c = c<<8 | uint32(x)
	}
	return c
}

// utf16Text decodes UTF-16BE text from a CMap destination, dropping what
// cleanGlyphRune drops.
func utf16Text(b []byte) string {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		u = append(u, uint16(b[i])<<8|uint16(b[i+1]))
	}
	if len(b) == 1 {
		u = append(u, uint16(b[0]))
	}
	var sb strings.Builder
	for _, r := range utf16.Decode(u) {
		if r = cleanGlyphRune(r); r != 0 {
			sb.WriteRune(r)
		}
	}
	return sb.String()
}
