package agents

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// ContentHashPrefix starts every content hash.
const ContentHashPrefix = "sha256:"

// ContentHash identifies the content of a card. It is
//
//	"sha256:" + lowercase hex(SHA-256(CanonicalJSON(EncodeV3 form of the normalized card)))
//
// The V3 form is {"spec":"chara_card_v3","spec_version":"3.0","data":{…}}
// with every V2 field and group_only_greetings always present (empty strings,
// [] and {} included), character_book present only when the card has one,
// and nickname, creator_notes_multilingual, source, creation_date,
// modification_date and assets present only when non-empty. Canonical JSON
// is RFC 8785 (JCS), see CanonicalJSON. The hash does not depend on key
// order or white space of any input the card was parsed from, and changes
// when any field does. agents/CONTENT_HASH.md specifies the scheme for third
// parties, who can recompute it from the card's V3 export.
func ContentHash(c Card) (string, error) {
	c = c.Clone()
	c.Normalize()
	b, err := encodeV3(c)
	if err != nil {
		return "", fmt.Errorf("agents: content hash: %w", err)
	}
	canon, err := CanonicalJSON(b)
	if err != nil {
		return "", fmt.Errorf("agents: content hash: %w", err)
	}
	sum := sha256.Sum256(canon)
	return ContentHashPrefix + hex.EncodeToString(sum[:]), nil
}

// CanonicalJSON re-encodes one JSON value in the canonical form of RFC 8785
// (JSON Canonicalization Scheme):
//
//   - no white space between tokens;
//   - object members sorted by their names compared as arrays of UTF-16 code
//     units (for names made only of characters below U+E000 this is the same
//     as comparing their UTF-8 bytes); duplicate names are an error;
//   - strings escaped minimally: \" and \\, \b \f \n \r \t for those
//     controls, \u00xx (lowercase hex) for the other characters below U+0020;
//     every other character, "/" and non-ASCII included, written as itself in
//     UTF-8;
//   - numbers parsed as IEEE-754 doubles and written as ECMAScript's
//     Number.prototype.toString writes them: integers without a fraction or
//     exponent (1, not 1.0), -0 as 0, the shortest digits that read back to
//     the same double, exponent form from 1e21 up and below 1e-6 ("1e+21",
//     "1e-7"); numbers beyond the double range are an error;
//   - arrays keep their order; true, false and null as themselves.
//
// Invalid UTF-8 in the input is replaced with U+FFFD, as encoding/json does.
func CanonicalJSON(data []byte) ([]byte, error) {
	out, err := canonicalize(data)
	if err != nil {
		return nil, fmt.Errorf("agents: canonical json: %w", err)
	}
	return out, nil
}

// canonicalize is CanonicalJSON with errors that read well after a field
// name.
func canonicalize(data []byte) ([]byte, error) {
	if err := checkDuplicateKeys(data); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("has data after the first JSON value")
	}
	var buf bytes.Buffer
	if err := writeCanonical(&buf, v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// checkDuplicateKeys fails when an object of data names a member twice,
// which RFC 8785 forbids and a generic decode would hide.
func checkDuplicateKeys(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	type frame struct {
		object  bool
		wantKey bool
		seen    map[string]struct{}
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.wantKey {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:len(stack)-1]
				continue
			}
			k, _ := tok.(string)
			if _, dup := top.seen[k]; dup {
				return fmt.Errorf("repeats the member name %q in one object", truncate(k, 40))
			}
			top.seen[k] = struct{}{}
			top.wantKey = false
			continue
		}
		if top != nil && top.object {
			top.wantKey = true
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{':
				stack = append(stack, &frame{object: true, wantKey: true, seen: map[string]struct{}{}})
			case '[':
				stack = append(stack, &frame{})
			case ']':
				stack = stack[:len(stack)-1]
			}
		}
	}
}

func writeCanonical(buf *bytes.Buffer, v any) error {
	switch x := v.(type) {
	case nil:
		buf.WriteString("null")
	case bool:
		if x {
			buf.WriteString("true")
		} else {
			buf.WriteString("false")
		}
	case json.Number:
		s, err := canonicalNumber(string(x))
		if err != nil {
			return err
		}
		buf.WriteString(s)
	case string:
		writeCanonicalString(buf, x)
	case []any:
		buf.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeCanonical(buf, e); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, compareUTF16)
		buf.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeCanonicalString(buf, k)
			buf.WriteByte(':')
			if err := writeCanonical(buf, x[k]); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	default:
		return fmt.Errorf("holds an unexpected %T", v)
	}
	return nil
}

// compareUTF16 orders strings by their UTF-16 code units, as RFC 8785 does.
func compareUTF16(a, b string) int {
	return slices.Compare(utf16.Encode([]rune(a)), utf16.Encode([]rune(b)))
}

func writeCanonicalString(buf *bytes.Buffer, s string) {
	const hexDigits = "0123456789abcdef"
	buf.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '"':
			buf.WriteString(`\"`)
		case r == '\\':
			buf.WriteString(`\\`)
		case r == '\b':
			buf.WriteString(`\b`)
		case r == '\f':
			buf.WriteString(`\f`)
		case r == '\n':
			buf.WriteString(`\n`)
		case r == '\r':
			buf.WriteString(`\r`)
		case r == '\t':
			buf.WriteString(`\t`)
		case r < 0x20:
			buf.WriteString(`\u00`)
			buf.WriteByte(hexDigits[r>>4])
			buf.WriteByte(hexDigits[r&0xf])
		default:
			// A lone invalid byte decodes as RuneError with size 1: write
			// U+FFFD, as a decoder would have.
			buf.WriteRune(r)
		}
		i += size
	}
	buf.WriteByte('"')
}

// canonicalNumber formats a JSON number literal as ECMAScript's
// Number.prototype.toString does for the double nearest to it.
func canonicalNumber(lit string) (string, error) {
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil && (math.IsInf(f, 0) || !errors.Is(err, strconv.ErrRange)) {
		return "", fmt.Errorf("has the number %s, outside the IEEE-754 double range", truncate(lit, 40))
	}
	return formatES6(f), nil
}

// formatES6 is ECMAScript's Number::toString for a finite double.
func formatES6(f float64) string {
	if f == 0 {
		return "0" // and -0
	}
	var sb strings.Builder
	if f < 0 {
		sb.WriteByte('-')
		f = -f
	}
	// Shortest digits that round-trip, as d.ddde±x.
	e := strconv.FormatFloat(f, 'e', -1, 64)
	mant, expText, _ := strings.Cut(e, "e")
	digits := strings.Replace(mant, ".", "", 1)
	exp, _ := strconv.Atoi(expText)
	k := len(digits)
	n := exp + 1 // the value is 0.digits × 10^n
	switch {
	case k <= n && n <= 21:
		sb.WriteString(digits)
		sb.WriteString(strings.Repeat("0", n-k))
	case 0 < n && n <= 21:
		sb.WriteString(digits[:n])
		sb.WriteByte('.')
		sb.WriteString(digits[n:])
	case -6 < n && n <= 0:
		sb.WriteString("0.")
		sb.WriteString(strings.Repeat("0", -n))
		sb.WriteString(digits)
	default:
		sb.WriteByte(digits[0])
		if k > 1 {
			sb.WriteByte('.')
			sb.WriteString(digits[1:])
		}
		sb.WriteByte('e')
		if n-1 >= 0 {
			sb.WriteByte('+')
		}
		sb.WriteString(strconv.Itoa(n - 1))
	}
	return sb.String()
}
