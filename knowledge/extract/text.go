package extract

import (
	"bytes"
	"mime"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html/charset"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	xunicode "golang.org/x/text/encoding/unicode"
)

// bomEncoding names the Unicode encoding announced by a byte-order mark at
// the start of data, or returns "".
func bomEncoding(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte("\xef\xbb\xbf")):
		return "utf-8"
	case bytes.HasPrefix(data, []byte("\xff\xfe")):
		return "utf-16le"
	case bytes.HasPrefix(data, []byte("\xfe\xff")):
		return "utf-16be"
	}
	return ""
}

// decodeText returns data as valid UTF-8. A byte-order mark wins, then a
// charset parameter in the declared content type; otherwise the bytes are
// read as UTF-8 and any byte that is not part of a valid UTF-8 sequence is
// read as Windows-1252, so a mostly-UTF-8 file with one stray Latin-1 byte
// keeps its accents.
func decodeText(data []byte, contentType string) string {
	var enc encoding.Encoding
	switch bomEncoding(data) {
	case "utf-8":
		data = data[3:]
	case "utf-16le":
		enc = xunicode.UTF16(xunicode.LittleEndian, xunicode.ExpectBOM)
	case "utf-16be":
		enc = xunicode.UTF16(xunicode.BigEndian, xunicode.ExpectBOM)
	default:
		if _, params, err := mime.ParseMediaType(contentType); err == nil {
			if label := params["charset"]; label != "" {
				if e, name := charset.Lookup(label); e != nil && name != "utf-8" {
					enc = e
				}
			}
		}
	}
	if enc != nil {
		if out, err := enc.NewDecoder().Bytes(data); err == nil {
			return strings.ToValidUTF8(string(out), "\uFFFD")
		}
	}
	return utf8OrWindows1252(data)
}

// utf8OrWindows1252 decodes valid UTF-8 sequences as themselves and every
// other byte as Windows-1252.
func utf8OrWindows1252(data []byte) string {
	if utf8.Valid(data) {
		return string(data)
	}
	var b strings.Builder
	b.Grow(len(data) + len(data)/8)
	for len(data) > 0 {
		r, size := utf8.DecodeRune(data)
		if r == utf8.RuneError && size == 1 {
			b.WriteRune(charmap.Windows1252.DecodeByte(data[0]))
		} else {
			b.Write(data[:size])
		}
		data = data[size:]
	}
	return b.String()
}

// normalize returns s in the package's text format: LF line ends; control
// characters, byte-order marks, zero-width spaces and soft hyphens removed;
// runs of spaces inside a line collapsed to one (leading indentation kept);
// trailing spaces trimmed; at most one blank line in a row; no blank lines
// at either end. Lines inside ``` or ~~~ fences are kept as they are apart
// from control characters and trailing spaces, and a fence left open at the
// end is closed. normalize(normalize(s)) == normalize(s). It runs in time
// linear in len(s).
func normalize(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	var (
		fenceChar  byte // '`' or '~' while inside a fence
		fenceLen   int
		blank      bool // a blank line is owed before the next text line
		wrote      bool
		line       []byte
		lineBuffer = make([]byte, 0, 256)
	)
	for len(s) > 0 {
		var raw string
		raw, s = cutLine(s)
		line = cleanLine(lineBuffer[:0], raw, fenceChar != 0)
		if len(line) == 0 {
			blank = wrote
			continue
		}
		if fenceChar == 0 {
			if c, n := fenceOpen(line); n > 0 {
				fenceChar, fenceLen = c, n
			}
		} else if fenceCloses(line, fenceChar, fenceLen) {
			fenceChar = 0
		}
		if blank {
			b.WriteString("\n\n")
		} else if wrote {
			b.WriteByte('\n')
		}
		b.Write(line)
		wrote, blank = true, false
		if cap(line) > cap(lineBuffer) {
			lineBuffer = line[:0]
		}
	}
	if fenceChar != 0 {
		b.WriteByte('\n')
		b.WriteString(strings.Repeat(string(fenceChar), fenceLen))
	}
	return b.String()
}

// cutLine splits s after its first line break: \n, \r\n, \r, \v, \f, U+0085,
// U+2028 or U+2029.
func cutLine(s string) (line, rest string) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\n', '\v', '\f':
			return s[:i], s[i+1:]
		case '\r':
			if i+1 < len(s) && s[i+1] == '\n' {
				return s[:i], s[i+2:]
			}
			return s[:i], s[i+1:]
		case 0xc2:
			if i+1 < len(s) && s[i+1] == 0x85 {
				return s[:i], s[i+2:]
			}
		case 0xe2:
			if i+2 < len(s) && s[i+1] == 0x80 && (s[i+2] == 0xa8 || s[i+2] == 0xa9) {
				return s[:i], s[i+3:]
			}
		}
	}
	return s, ""
}

// cleanLine appends the cleaned form of one line to dst (see normalize).
func cleanLine(dst []byte, line string, verbatim bool) []byte {
	leading := true
	space := false // a collapsed space is owed before the next character
	for i := 0; i < len(line); {
		c := line[i]
		var r rune
		size := 1
		if c < utf8.RuneSelf {
			r = rune(c)
		} else {
			r, size = utf8.DecodeRuneInString(line[i:])
		}
		i += size
		switch {
		case r == utf8.RuneError && size == 1:
			r = unicode.ReplacementChar
		case r == '\t' || r == ' ':
			if verbatim || leading {
				dst = append(dst, byte(r))
			} else {
				space = true
			}
			continue
		case isDropped(r):
			continue
		case unicode.IsSpace(r):
			if verbatim {
				dst = utf8.AppendRune(dst, r)
			} else if leading {
				dst = append(dst, ' ')
			} else {
				space = true
			}
			continue
		}
		if space {
			dst = append(dst, ' ')
			space = false
		}
		leading = false
		dst = utf8.AppendRune(dst, r)
	}
	// Trailing spaces and tabs (verbatim lines keep other trailing space
	// characters, which is harmless and keeps the function idempotent).
	for len(dst) > 0 && (dst[len(dst)-1] == ' ' || dst[len(dst)-1] == '\t') {
		dst = dst[:len(dst)-1]
	}
	if !verbatim && leading {
		return dst[:0]
	}
	return dst
}

// isDropped reports whether r is removed from text: control characters
// other than tab and line breaks, byte-order marks, zero-width spaces, soft
// hyphens and noncharacters.
func isDropped(r rune) bool {
	switch {
	case r < 0x20 && r != '\t', r >= 0x7f && r <= 0x9f:
		return true
	case r == 0xfeff, r == 0x200b, r == 0x00ad, r == 0xfffe, r == 0xffff:
		return true
	}
	return false
}

// fenceOpen reports whether line opens a code fence: up to three spaces,
// then three or more backticks or tildes. It returns the fence character
// and length, or a zero length.
func fenceOpen(line []byte) (byte, int) {
	t := line
	for i := 0; i < 3 && len(t) > 0 && t[0] == ' '; i++ {
		t = t[1:]
	}
	if len(t) < 3 || (t[0] != '`' && t[0] != '~') {
		return 0, 0
	}
	c, n := t[0], 0
	for n < len(t) && t[n] == c {
		n++
	}
	if n < 3 || (c == '`' && bytes.IndexByte(t[n:], '`') >= 0) {
		return 0, 0
	}
	return c, n
}

// fenceCloses reports whether line closes a fence of n characters c.
func fenceCloses(line []byte, c byte, n int) bool {
	t := bytes.TrimLeft(line, " ")
	if len(line)-len(t) > 3 {
		return false
	}
	m := 0
	for m < len(t) && t[m] == c {
		m++
	}
	return m >= n && len(bytes.TrimSpace(t[m:])) == 0
}

// collapseSpaces returns s on one line: every run of white space (line
// breaks included) becomes one space, dropped characters go, ends trimmed.
func collapseSpaces(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			space = b.Len() > 0
		case isDropped(r):
		default:
			if space {
				b.WriteByte(' ')
				space = false
			}
			b.WriteRune(r)
		}
	}
	return b.String()
}

// atxHeading parses a Markdown ATX heading line ("## Title ##"), returning
// its level (0 if line is not one) and text.
func atxHeading(line string) (int, string) {
	t := strings.TrimLeft(line, " ")
	if len(line)-len(t) > 3 {
		return 0, ""
	}
	n := 0
	for n < len(t) && t[n] == '#' {
		n++
	}
	if n == 0 || n > 6 || (n < len(t) && t[n] != ' ' && t[n] != '\t') {
		return 0, ""
	}
	text := strings.TrimSpace(t[n:])
	// A closing sequence of #s preceded by a space is not part of the text.
	if trimmed := strings.TrimRight(text, "#"); trimmed == "" || strings.HasSuffix(trimmed, " ") {
		text = strings.TrimSpace(trimmed)
	}
	return n, text
}

// hasHeadingLevel1 reports whether normalized text has a "# " heading line
// outside code fences.
func hasHeadingLevel1(text string) bool { return firstHeading(text) != "" }
