package extract

import (
	"bytes"
	"strconv"
)

// tokKind is the kind of a PDF syntax token.
type tokKind uint8

const (
	tokEOF tokKind = iota
	tokNumber
	tokName    // raw holds the bytes after '/', #xx escapes undecoded
	tokString  // raw holds the bytes between the parentheses, escapes undecoded
	tokHex     // raw holds the bytes between '<' and '>'
	tokKeyword // operators, true, false, null, obj, R, stray delimiters
	tokArrayOpen
	tokArrayClose
	tokDictOpen
	tokDictClose
)

// token is one PDF token. raw aliases the lexer's input.
type token struct {
	kind tokKind
	raw  []byte
	num  float64
	// open is set for a string or hex string cut off by the end of input.
	open bool
	pos  int
}

// is reports whether t is the keyword kw.
func (t token) is(kw string) bool {
	return t.kind == tokKeyword && string(t.raw) == kw
}

// integer returns t's value if t is an integer number.
func (t token) integer() (int64, bool) {
	if t.kind != tokNumber || bytes.ContainsAny(t.raw, ".") {
		return 0, false
	}
	n, err := strconv.ParseInt(string(t.raw), 10, 64)
	return n, err == nil
}

// lexer splits PDF syntax (file bodies, content streams, CMaps) into
// tokens. It never fails: malformed input gives odd tokens, and every call
// to next advances or returns tokEOF, so loops over it terminate.
type lexer struct {
	data []byte
	pos  int
}

// isPDFSpace reports whether c is PDF white space.
func isPDFSpace(c byte) bool {
	switch c {
	case 0, '\t', '\n', '\f', '\r', ' ':
		return true
	}
	return false
}

// isPDFDelim reports whether c is a PDF delimiter.
func isPDFDelim(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return true
	}
	return false
}

// next returns the next token.
func (l *lexer) next() token {
	d := l.data
	for l.pos < len(d) {
		c := d[l.pos]
		if isPDFSpace(c) {
			l.pos++
			continue
		}
		if c == '%' {
			for l.pos < len(d) && d[l.pos] != '\n' && d[l.pos] != '\r' {
				l.pos++
			}
			continue
		}
		break
	}
	start := l.pos
	if start >= len(d) {
		return token{kind: tokEOF, pos: start}
	}
	c := d[start]
	switch c {
	case '[':
		l.pos++
		return token{kind: tokArrayOpen, pos: start}
	case ']':
		l.pos++
		return token{kind: tokArrayClose, pos: start}
	case '<':
		if start+1 < len(d) && d[start+1] == '<' {
			l.pos += 2
			return token{kind: tokDictOpen, pos: start}
		}
		end := bytes.IndexByte(d[start+1:], '>')
		if end < 0 {
			l.pos = len(d)
			return token{kind: tokHex, raw: d[start+1:], open: true, pos: start}
		}
		l.pos = start + 1 + end + 1
		return token{kind: tokHex, raw: d[start+1 : start+1+end], pos: start}
	case '>':
		if start+1 < len(d) && d[start+1] == '>' {
			l.pos += 2
			return token{kind: tokDictClose, pos: start}
		}
		l.pos++
		return token{kind: tokKeyword, raw: d[start : start+1], pos: start}
	case '(':
		return l.literal(start)
	case '/':
		l.pos++
		for l.pos < len(d) && !isPDFSpace(d[l.pos]) && !isPDFDelim(d[l.pos]) {
			l.pos++
		}
		return token{kind: tokName, raw: d[start+1 : l.pos], pos: start}
	case ')', '{', '}':
		l.pos++
		return token{kind: tokKeyword, raw: d[start : start+1], pos: start}
	}
	for l.pos < len(d) && !isPDFSpace(d[l.pos]) && !isPDFDelim(d[l.pos]) {
		l.pos++
	}
	raw := d[start:l.pos]
	if n, ok := parseNumber(raw); ok {
		return token{kind: tokNumber, raw: raw, num: n, pos: start}
	}
	return token{kind: tokKeyword, raw: raw, pos: start}
}

// literal scans a literal string starting at the '(' at start.
func (l *lexer) literal(start int) token {
	d := l.data
	depth := 0
	for i := start; i < len(d); i++ {
		switch d[i] {
		case '\\':
			i++
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				l.pos = i + 1
				return token{kind: tokString, raw: d[start+1 : i], pos: start}
			}
		}
	}
	l.pos = len(d)
	return token{kind: tokString, raw: d[min(start+1, len(d)):], open: true, pos: start}
}

// parseNumber parses a PDF number: optional sign, digits, at most one '.'.
func parseNumber(raw []byte) (float64, bool) {
	if len(raw) == 0 || len(raw) > 64 {
		return 0, false
	}
	s := raw
	if s[0] == '+' || s[0] == '-' {
		s = s[1:]
	}
	digits, dots := 0, 0
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '.':
			dots++
		default:
			return 0, false
		}
	}
	if digits == 0 || dots > 1 {
		return 0, false
	}
	n, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		return 0, false
	}
	return n, true
}

// skipStreamData moves past the data of a stream whose "stream" keyword
// was just read, and returns the data (up to "endstream").
func (l *lexer) skipStreamData() []byte {
	d := l.data
	p := l.pos
	if p < len(d) && d[p] == '\r' {
		p++
	}
	if p < len(d) && d[p] == '\n' {
		p++
	}
	end := bytes.Index(d[p:], []byte("endstream"))
	if end < 0 {
		l.pos = len(d)
		return d[p:]
	}
	l.pos = p + end + len("endstream")
	return d[p : p+end]
}

// decodeLiteral decodes the escapes of a literal string's raw bytes.
func decodeLiteral(raw []byte) []byte {
	if bytes.IndexByte(raw, '\\') < 0 && bytes.IndexByte(raw, '\r') < 0 {
		return raw
	}
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '\r' {
			// An end of line in a string is read as \n whatever its form.
			if i+1 < len(raw) && raw[i+1] == '\n' {
				i++
			}
			out = append(out, '\n')
			continue
		}
		if c != '\\' || i+1 >= len(raw) {
			out = append(out, c)
			continue
		}
		i++
		switch c = raw[i]; c {
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case '\r':
			if i+1 < len(raw) && raw[i+1] == '\n' {
				i++
			}
		case '\n':
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v := int(c - '0')
			for k := 0; k < 2 && i+1 < len(raw) && raw[i+1] >= '0' && raw[i+1] <= '7'; k++ {
				i++
				v = v*8 + int(raw[i]-'0')
			}
			out = append(out, byte(v))
		default:
			out = append(out, c)
		}
	}
	return out
}

// decodeHex decodes a hex string's raw bytes, skipping anything that is not
// a hex digit; an odd final digit is read as if followed by 0.
func decodeHex(raw []byte) []byte {
	out := make([]byte, 0, len(raw)/2)
	var hi byte
	half := false
	for _, c := range raw {
		var v byte
		switch {
		case c >= '0' && c <= '9':
			v = c - '0'
		case c >= 'a' && c <= 'f':
			v = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			v = c - 'A' + 10
		default:
			continue
		}
		if half {
			out = append(out, hi<<4|v)
		} else {
			hi = v
		}
		half = !half
	}
	if half {
		out = append(out, hi<<4)
	}
	return out
}

// stringBytes returns the decoded bytes of a string or hex string token.
func stringBytes(t token) []byte {
	if t.kind == tokHex {
		return decodeHex(t.raw)
	}
	return decodeLiteral(t.raw)
}

// nameString decodes the #xx escapes of a name token.
func nameString(t token) string {
	if bytes.IndexByte(t.raw, '#') < 0 {
		return string(t.raw)
	}
	out := make([]byte, 0, len(t.raw))
	for i := 0; i < len(t.raw); i++ {
		if t.raw[i] == '#' && i+2 < len(t.raw) {
			if v := decodeHex(t.raw[i+1 : i+3]); len(v) == 1 && isHexDigit(t.raw[i+1]) && isHexDigit(t.raw[i+2]) {
				out = append(out, v[0])
				i += 2
				continue
			}
		}
		out = append(out, t.raw[i])
	}
	return string(out)
}

// isHexDigit reports whether c is a hexadecimal digit.
func isHexDigit(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}
