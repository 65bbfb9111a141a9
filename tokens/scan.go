package tokens

import (
	"unicode"
	"unicode/utf8"
)

// blockRunes bounds the runes costed together. A pre-tokenizer piece longer
// than this (a 10 MB line of letters, a long rule of dashes) is costed as
// consecutive blocks, which keeps Truncate linear: it never has to find the
// end of a huge piece before deciding where to cut it.
const blockRunes = 64

// What the next block continues, when a piece was longer than blockRunes.
const (
	contNone    = iota
	contLetters // more letters of the same run
	contPunct   // more symbols of the same run
	contNL      // more trailing newlines of a symbol run
	contSpaces  // more of a whitespace run
)

// Kinds of lead rune before a run of letters.
const (
	leadNone  = iota
	leadSpace // ' '
	leadASCII // any other ASCII rune that is neither letter, digit, '\r' nor '\n'
	leadOther // a non-ASCII rune: a symbol, a combining mark, non-ASCII whitespace
)

// scanner splits text the way cl100k_base's pre-tokenizer does,
//
//	'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// except that it cuts pieces longer than blockRunes into blocks, and costs
// each block as it goes. It never allocates.
type scanner struct {
	s    string
	i    int // start of the next block
	cont int // contNone, or what the next block continues
	// spaceless is set when the last block was letters of a script
	// written without spaces (Han, kana, Thai, …): between any two of its
	// runes is a word boundary.
	spaceless bool
}

// next scans the block at sc.i and returns its end, its cost in
// milli-tokens and whether it ends a whole piece (then the end is a word
// boundary). It must not be called at the end of the text.
func (sc *scanner) next() (end, cost int, whole bool) {
	s, i := sc.s, sc.i
	sc.spaceless = false
	switch sc.cont {
	case contLetters:
		return sc.letters(i, leadNone, 0, 0)
	case contPunct:
		return sc.punct(i, false, false)
	case contNL:
		return sc.punct(i, false, true)
	case contSpaces:
		return sc.spaces(i, true)
	}
	r, n := decode(s, i)
	if r == '\'' {
		if k := contraction(s, i+1); k > 0 {
			sc.i = i + 1 + k
			return sc.i, costContraction, true
		}
	}
	if isLetter(r) {
		return sc.letters(i, leadNone, 0, 0)
	}
	r2, _ := decode(s, i+n)
	if isLetter(r2) && r != '\r' && r != '\n' && !isNumber(r) {
		switch {
		case r == ' ':
			return sc.letters(i+n, leadSpace, r, n)
		case r < utf8.RuneSelf:
			return sc.letters(i+n, leadASCII, r, n)
		}
		return sc.letters(i+n, leadOther, r, n)
	}
	if isNumber(r) {
		end := i + n
		for k := 1; k < 3; k++ {
			r, m := decode(s, end)
			if !isNumber(r) {
				break
			}
			end += m
		}
		sc.i = end
		return end, costNumber, true
	}
	if r == ' ' && isPunct(r2) {
		return sc.punct(i, true, false)
	}
	if isPunct(r) {
		return sc.punct(i, false, false)
	}
	return sc.spaces(i, false)
}

// letters scans a run of letters starting at i, led by a rune of the
// given kind (of size leadSize, just before i).
func (sc *scanner) letters(i, lead int, leadRune rune, leadSize int) (int, int, bool) {
	s := sc.s
	from, j := i, i
	runes := 0
	if lead != leadNone {
		runes = 1
	}
	ascii := true
	uni := 0
	for runes < blockRunes {
		if j < len(s) && s[j] < utf8.RuneSelf {
			// ASCII fast path.
			if uint32(s[j]|0x20)-'a' >= 26 {
				break
			}
			uni += costUniASCII
			j++
			runes++
			continue
		}
		r, m := decode(s, j)
		if !isLetter(r) {
			break
		}
		if r >= utf8.RuneSelf {
			ascii = false
			if isSpaceless(r) {
				sc.spaceless = true
			}
		}
		uni += letterCost(r)
		j += m
		runes++
	}
	sc.i = j
	sc.cont = contNone
	if r, _ := decode(s, j); runes == blockRunes && isLetter(r) {
		sc.cont = contLetters
	}
	whole := sc.cont == contNone
	if !ascii {
		switch lead {
		case leadSpace:
			uni += costUniLeadSpace
		case leadASCII:
			uni += costUniLeadPunct
		case leadOther:
			uni += costUniLeadOther
		default:
			uni += costUniLeadNone
		}
		return j, uni, whole
	}
	cost := 0
	pos := posNone
	switch lead {
	case leadSpace:
		pos = posSpace
	case leadASCII:
		pos = posPunct
	case leadOther:
		cost += symbolCost(leadRune, leadSize)
	}
	return j, cost + wordCost(s[from:j], pos), whole
}

// wordCost is the cost of an ASCII run of letters: the sum of its case
// segments ("HTTPServer" is HTTP + Server, "newReader" is new + Reader).
func wordCost(w string, pos int) int {
	cost, start := 0, 0
	for i := 1; i < len(w); i++ {
		a, b := w[i-1], w[i]
		if isLowerASCII(a) && !isLowerASCII(b) ||
			!isLowerASCII(a) && !isLowerASCII(b) && i+1 < len(w) && isLowerASCII(w[i+1]) {
			cost += segment(shape(w[start:i]), pos, i-start)
			pos, start = posInner, i
		}
	}
	return cost + segment(shape(w[start:]), pos, len(w)-start)
}

func shape(seg string) int {
	switch {
	case isLowerASCII(seg[0]):
		return shapeLower
	case len(seg) == 1 || isLowerASCII(seg[1]):
		return shapeCap
	}
	return shapeUpper
}

// punct scans ` ?[^\s\p{L}\p{N}]+[\r\n]*` from i; space says the block
// starts with the optional space, nlOnly that only newlines are left.
func (sc *scanner) punct(i int, space, nlOnly bool) (int, int, bool) {
	s := sc.s
	runes, cost := 0, 0
	if space {
		cost += costPunctSpace
		i++
		runes++
	}
	var prev byte
	ascii, changes := 0, 0
	for !nlOnly && runes < blockRunes {
		r, m := decode(s, i)
		if !isPunct(r) {
			break
		}
		if r < utf8.RuneSelf {
			if ascii > 0 && byte(r) != prev {
				changes++
			}
			prev = byte(r)
			ascii++
		} else {
			cost += symbolCost(r, m)
		}
		i += m
		runes++
	}
	sc.cont = contNone
	if runes == blockRunes {
		if r, _ := decode(s, i); isPunct(r) {
			sc.cont = contPunct
		}
	}
	if sc.cont == contNone {
		for runes < blockRunes && i < len(s) && (s[i] == '\n' || s[i] == '\r') {
			cost += costPunctNL
			i++
			runes++
		}
		if runes == blockRunes && i < len(s) && (s[i] == '\n' || s[i] == '\r') {
			sc.cont = contNL
		}
	}
	if ascii > 0 {
		cost += costPunct + costPunctRune*ascii + costPunctChange*min(changes, 4) + costPunctChangeX*max(changes-4, 0)
	}
	sc.i = i
	return i, cost, sc.cont == contNone
}

// spaces scans a whitespace piece from i: up to and including the last
// newline of the run; else the run but its last rune when a non-space
// follows (that rune leads the next piece); else the whole run. A run longer
// than blockRunes goes by blocks; cont says i continues one.
func (sc *scanner) spaces(i int, cont bool) (int, int, bool) {
	s := sc.s
	j, runes, lastNL, last := i, 0, -1, 0
	for runes < blockRunes {
		r, m := decode(s, j)
		if !isSpace(r) {
			break
		}
		j += m
		runes++
		last = m
		if r == '\n' || r == '\r' {
			lastNL = j
		}
	}
	end := j
	sc.cont = contNone
	if r, _ := decode(s, j); runes == blockRunes && isSpace(r) {
		sc.cont = contSpaces
	} else {
		switch {
		case lastNL >= 0:
			end = lastNL
		case j < len(s) && runes >= 2:
			end = j - last
		}
	}
	cost := 0
	if !cont {
		cost = costSpaceRun
	}
	for k := i; k < end; {
		r, m := decode(s, k)
		if cont || k > i {
			switch r {
			case ' ':
				cost += costExtraSpace
			case '\t':
				cost += costExtraTab
			case '\n', '\r':
				cost += costExtraNL
			default:
				cost += costExtraOtherS
			}
		}
		k += m
	}
	sc.i = end
	return end, cost, true
}

// contraction returns the length of the contraction suffix ("s", "re", …,
// any case) at s[i:], or 0.
func contraction(s string, i int) int {
	if i >= len(s) {
		return 0
	}
	switch s[i] | 0x20 {
	case 's', 't', 'm', 'd':
		return 1
	case 'r', 'v':
		if i+1 < len(s) && s[i+1]|0x20 == 'e' {
			return 2
		}
	case 'l':
		if i+1 < len(s) && s[i+1]|0x20 == 'l' {
			return 2
		}
	}
	return 0
}

// decode returns the rune at s[i:] and its size; -1 and 0 at the end.
// An invalid byte is utf8.RuneError of size 1.
func decode(s string, i int) (rune, int) {
	if i < len(s) && s[i] < utf8.RuneSelf {
		return rune(s[i]), 1
	}
	return decodeSlow(s, i)
}

//go:noinline
func decodeSlow(s string, i int) (rune, int) {
	if i >= len(s) {
		return -1, 0
	}
	return utf8.DecodeRuneInString(s[i:])
}

func isLowerASCII(c byte) bool { return 'a' <= c && c <= 'z' }

func isLetter(r rune) bool {
	if r < utf8.RuneSelf {
		return uint32(r|0x20)-'a' < 26
	}
	return isLetterSlow(r)
}

//go:noinline
func isLetterSlow(r rune) bool { return unicode.IsLetter(r) }

func isNumber(r rune) bool {
	if r < utf8.RuneSelf {
		return uint32(r)-'0' < 10
	}
	return isNumberSlow(r)
}

//go:noinline
func isNumberSlow(r rune) bool { return unicode.IsNumber(r) }

func isSpace(r rune) bool {
	if r < utf8.RuneSelf {
		return r == ' ' || '\t' <= r && r <= '\r'
	}
	return unicode.IsSpace(r)
}

// isSpaceless reports whether r is a letter of a script written without
// spaces between words: Thai, Lao, Myanmar, Khmer, kana, Han.
func isSpaceless(r rune) bool {
	return 0xE00 <= r && r <= 0xEFF || 0x1000 <= r && r <= 0x109F || 0x1780 <= r && r <= 0x17FF ||
		0x3040 <= r && r <= 0x30FF || 0x31F0 <= r && r <= 0x31FF || 0xFF66 <= r && r <= 0xFF9F ||
		0x3400 <= r && r <= 0x4DBF || 0x4E00 <= r && r <= 0x9FFF || 0xF900 <= r && r <= 0xFAFF || r >= 0x20000
}

func isMark(r rune) bool { return r >= 0x300 && unicode.IsMark(r) }

// isPunct reports whether r is neither whitespace, letter nor number (the
// end of the text, -1, is none of these).
func isPunct(r rune) bool {
	return r >= 0 && !isSpace(r) && !isLetter(r) && !isNumber(r)
}
