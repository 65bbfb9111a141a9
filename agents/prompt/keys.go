package prompt

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Key matching limits. A card's book may hold a thousand entries of 256
// keys and secondary keys each; these keep one scan within a fraction of a
// second however the book is built.
const (
	// MaxRegexKeyBytes is the longest regular-expression key compiled; a
	// longer one is skipped, as is one that does not compile.
	MaxRegexKeyBytes = 512
	// MaxRegexKeys is the most regular-expression keys (primary and
	// secondary) compiled for one book; the ones after, in book order, are
	// skipped. Go's regexp costs tens of nanoseconds per byte of text for
	// each key.
	MaxRegexKeys = 128
	// MaxScanBytes bounds the text scanned for keys: the newest
	// MaxScanBytes of the history scan text, and as much entry content in
	// all for recursive scanning.
	MaxScanBytes = 64 << 10
	// maxScanWork bounds the work of one activation, in bytes compared
	// (a regex key costs regexWorkFactor per byte of text). A book that
	// reaches it has its remaining keys treated as not matching.
	maxScanWork     = 64 << 20
	regexWorkFactor = 8
)

// work counts down the scan work left.
type work struct{ left int }

// spend takes n units and reports whether there were enough.
func (w *work) spend(n int) bool {
	if w.left < n {
		w.left = 0
		return false
	}
	w.left -= n
	return true
}

// segment is one text that keys are matched against, with its lower-case
// form for case-insensitive keys and, built on first use, an index of the
// words of each form.
type segment struct {
	text, lower string
	words       [2]map[string][]int // [0] of lower, [1] of text
}

func newSegment(s string) *segment {
	return &segment{text: s, lower: strings.ToLower(s)}
}

// index returns where each word (maximal run of word runes) of the text
// or its lower-case form starts.
func (s *segment) index(caseSensitive bool) (string, map[string][]int) {
	i, text := 0, s.lower
	if caseSensitive {
		i, text = 1, s.text
	}
	if s.words[i] == nil {
		s.words[i] = indexWords(text)
	}
	return text, s.words[i]
}

func indexWords(text string) map[string][]int {
	m := map[string][]int{}
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		if !isWordRune(r) {
			i += size
			continue
		}
		j := i + size
		for j < len(text) {
			r, size := utf8.DecodeRuneInString(text[j:])
			if !isWordRune(r) {
				break
			}
			j += size
		}
		m[text[i:j]] = append(m[text[i:j]], i)
		i = j
	}
	return m
}

// plainKey is a literal key, lower-cased when it is case-insensitive.
type plainKey struct {
	key           string
	caseSensitive bool
	// lead is the key's first word when the key starts with a word rune
	// (its occurrences must start a word of the text), else "".
	lead string
	// checkEnd says the key ends with a word rune, so an occurrence must
	// end a word of the text.
	checkEnd bool
}

func newPlainKey(key string, caseSensitive bool) plainKey {
	p := plainKey{key: key, caseSensitive: caseSensitive}
	last, _ := utf8.DecodeLastRuneInString(key)
	p.checkEnd = isWordRune(last)
	end := 0
	for end < len(key) {
		r, size := utf8.DecodeRuneInString(key[end:])
		if !isWordRune(r) {
			break
		}
		end += size
	}
	p.lead = key[:end]
	return p
}

// contains reports whether the key occurs in s as containsKey defines it.
// A key that starts with a word rune is looked up by its first word in
// the segment's word index, so a one-word key costs one map lookup; other
// keys scan the text.
func (p plainKey) contains(s *segment, w *work) bool {
	if p.lead == "" {
		text := s.lower
		if p.caseSensitive {
			text = s.text
		}
		return w.spend(len(text)) && containsKey(text, p.key)
	}
	text, words := s.index(p.caseSensitive)
	for _, at := range words[p.lead] {
		if !w.spend(len(p.key)) {
			return false
		}
		end := at + len(p.key)
		if !strings.HasPrefix(text[at:], p.key) {
			continue
		}
		if after, _ := utf8.DecodeRuneInString(text[end:]); !p.checkEnd || end == len(text) || !isWordRune(after) {
			return true
		}
	}
	return false
}

// keySet is the compiled keys (or secondary keys) of one entry.
type keySet struct {
	plain   []plainKey
	regexes []*regexp.Regexp
}

func (k keySet) empty() bool { return len(k.plain) == 0 && len(k.regexes) == 0 }

func (k keySet) match(s *segment, w *work) bool {
	for _, p := range k.plain {
		if p.contains(s, w) {
			return true
		}
	}
	for _, re := range k.regexes {
		if w.spend(len(s.text)*regexWorkFactor) && re.MatchString(s.text) {
			return true
		}
	}
	return false
}

// compileKeys prepares an entry's keys. Plain keys get their macros
// expanded (a key "{{char}}" fires on the character's name); regex keys
// that are too long or do not compile are skipped. regexLeft counts down
// the regex keys the book may still compile.
func compileKeys(keys []string, useRegex, caseSensitive bool, expand func(string) string, regexLeft *int) keySet {
	var ks keySet
	for _, k := range keys {
		k = strings.TrimSpace(k)
		if k == "" {
			continue
		}
		if useRegex {
			if *regexLeft <= 0 {
				continue
			}
			*regexLeft--
			if re := compileRegexKey(k, caseSensitive); re != nil {
				ks.regexes = append(ks.regexes, re)
			}
			continue
		}
		if k = strings.TrimSpace(expand(k)); k == "" {
			continue
		}
		if !caseSensitive {
			k = strings.ToLower(k)
		}
		ks.plain = append(ks.plain, newPlainKey(k, caseSensitive))
	}
	return ks
}

// compileRegexKey compiles a regex key: "/pattern/flags" in the JavaScript
// form that SillyTavern cards use (flags i, s and m are honoured; g, u, y,
// d and v mean nothing for a yes/no match and are ignored; case follows the
// i flag alone), or else a plain pattern whose case follows case_sensitive.
// Patterns are RE2, so matching is linear in the text; constructs RE2 lacks
// (lookaround, backreferences) make the key invalid. It returns nil for an
// invalid or over-long key.
func compileRegexKey(k string, caseSensitive bool) *regexp.Regexp {
	if len(k) > MaxRegexKeyBytes {
		return nil
	}
	pattern, flags := k, ""
	if !caseSensitive {
		flags = "i"
	}
	if last := strings.LastIndexByte(k, '/'); strings.HasPrefix(k, "/") && last > 0 {
		if f := k[last+1:]; strings.Trim(f, "dgimsuyv") == "" {
			pattern, flags = k[1:last], ""
			for _, c := range "ism" {
				if strings.ContainsRune(f, c) {
					flags += string(c)
				}
			}
		}
	}
	if flags != "" {
		pattern = "(?" + flags + ")" + pattern
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil
	}
	return re
}

// containsKey reports whether key occurs in text, as a whole word at each
// end of the key that is a word character.
func containsKey(text, key string) bool {
	first, _ := utf8.DecodeRuneInString(key)
	last, _ := utf8.DecodeLastRuneInString(key)
	checkStart, checkEnd := isWordRune(first), isWordRune(last)
	for off := 0; off <= len(text); {
		i := strings.Index(text[off:], key)
		if i < 0 {
			return false
		}
		i += off
		j := i + len(key)
		before, _ := utf8.DecodeLastRuneInString(text[:i])
		after, _ := utf8.DecodeRuneInString(text[j:])
		if (!checkStart || i == 0 || !isWordRune(before)) && (!checkEnd || j == len(text) || !isWordRune(after)) {
			return true
		}
		_, size := utf8.DecodeRuneInString(text[i:])
		off = i + size
	}
	return false
}

// isWordRune reports whether r is part of a word for whole-word matching:
// a letter, a number, a combining mark or '_'. Letters of scripts written
// without spaces between words (Chinese, Japanese, Thai…) and Hangul (where
// particles attach to words) are not, so keys in those scripts match as
// substrings.
func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
	}
	if !unicode.IsLetter(r) && !unicode.IsNumber(r) && !unicode.IsMark(r) {
		return false
	}
	return !unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul,
		unicode.Thai, unicode.Lao, unicode.Khmer, unicode.Myanmar, unicode.Tibetan)
}
