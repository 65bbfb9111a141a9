package embed

import (
	"unicode"
	"unicode/utf8"
)

// scanWords calls yield with each word of text, lowercased, in order. A
// word is a run of letters, digits and combining marks; a hyphen or an
// apostrophe between two such runes joins them into one word ("well-known",
// "don't"), kept as an ASCII hyphen or apostrophe (typographic variants
// are folded to these).
// Everything else separates words. Both local embedders build on it, so a
// change here changes their vectors: bump their names.
func scanWords(text string, yield func(word string)) {
	var buf []byte
	var joiner byte
	flush := func() {
		if len(buf) > 0 {
			yield(string(buf))
		}
		buf = buf[:0]
		joiner = 0
	}
	for _, r := range text {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || (unicode.IsMark(r) && len(buf) > 0):
			if joiner != 0 {
				buf = append(buf, joiner)
				joiner = 0
			}
			buf = utf8.AppendRune(buf, unicode.ToLower(r))
		case len(buf) > 0 && joiner == 0 && isJoiner(r) != 0:
			joiner = isJoiner(r)
		default:
			flush()
		}
	}
	flush()
}

// isJoiner returns the byte a joining rune is kept as, or 0.
func isJoiner(r rune) byte {
	switch r {
	case '-', '\u2010', '\u2011': // hyphen-minus, hyphen, non-breaking hyphen
		return '-'
	case '\'', '\u2019', '\u02bc': // apostrophe, right single quote, modifier apostrophe
		return '\''
	}
	return 0
}
