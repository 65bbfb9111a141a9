package retrieval

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Locate finds evidence in extracted, the text a search service extracted
// from a corpus document, and returns the rune offsets [start, end) of the
// first occurrence; ok is false when there is none.
//
// The match ignores what extractors disagree on: case, all whitespace
// (so line breaks, indentation and "a<code>b</code>" rendered with or without
// a space all match), and the characters Markdown-like renderings add
// around text: list markers and dashes (- – — ‐ −), emphasis and code marks
// (* _ `), headings and quotes (# >), table bars (|), ~ and \. Curly quotes
// match straight ones, and invisible format characters (soft hyphen,
// zero-width space, BOM) are ignored. Those characters are ignored on both
// sides, so a quote that contains them still matches. start is the offset of
// the first matched character and end one past the last, so
// []rune(extracted)[start:end] is the evidence as it appears there, with
// whatever markup the extractor put inside it.
//
// Two things are not bridged: link targets kept in the text
// ("[text](/url)" shows "/url" in the middle of a quote), and words an
// extractor inserts or drops. Evidence that is empty after folding is never
// found.
func Locate(extracted, evidence string) (start, end int, ok bool) {
	return fold(extracted).find(fold(evidence))
}

// folded is a text reduced to the characters Locate compares, with the rune
// offset in the original text of each kept character.
type folded struct {
	text   string // the kept characters, folded
	byteAt []int  // byteAt[i]: byte offset in text of the i-th kept character
	origin []int  // origin[i]: rune offset in the original of the i-th kept character
}

// fold reduces s for matching; see Locate for what is kept.
func fold(s string) folded {
	var f folded
	var b strings.Builder
	b.Grow(len(s))
	f.byteAt = make([]int, 0, len(s))
	f.origin = make([]int, 0, len(s))
	// []rune counts an invalid byte as one rune, as the offsets do.
	runes := []rune(s)
	lineStart := true
	for i := 0; i < len(runes); i++ {
		r := runes[i]
		if lineStart {
			// An ordered-list marker ("12. " or "3) ") at the start of a line.
			if n := listMarker(runes[i:]); n > 0 {
				i += n - 1
				lineStart = false
				continue
			}
		}
		if r == '\n' {
			lineStart = true
		} else if r != ' ' && r != '\t' {
			lineStart = false
		}
		if c, keep := foldRune(r); keep {
			f.byteAt = append(f.byteAt, b.Len())
			f.origin = append(f.origin, i)
			b.WriteRune(c)
		}
	}
	f.text = b.String()
	return f
}

// listMarker returns the length of an ordered-list marker ("1. ", "12) ")
// at the start of r, or 0.
func listMarker(r []rune) int {
	n := 0
	for n < len(r) && n < 4 && r[n] >= '0' && r[n] <= '9' {
		n++
	}
	if n == 0 || n+1 >= len(r) || (r[n] != '.' && r[n] != ')') || r[n+1] != ' ' {
		return 0
	}
	return n + 2
}

// foldRune maps r to the character Locate compares, or reports that r is
// ignored.
func foldRune(r rune) (rune, bool) {
	switch r {
	case '-', '\u2010', '\u2011', '\u2012', '\u2013', '\u2014', '\u2212', // hyphens, dashes, minus
		'*', '_', '`', '#', '>', '|', '~', '\\':
		return 0, false
	case '\u201c', '\u201d', '\u201e', '\u2033': // “ ” „ ″
		return '"', true
	case '\u2018', '\u2019', '\u201a', '\u2032': // ‘ ’ ‚ ′
		return '\'', true
	}
	if unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) {
		return 0, false
	}
	return unicode.ToLower(r), true
}

// find returns the original rune offsets of the first occurrence of needle
// in f.
func (f folded) find(needle folded) (start, end int, ok bool) {
	if needle.text == "" {
		return 0, 0, false
	}
	b := strings.Index(f.text, needle.text)
	if b < 0 {
		return 0, 0, false
	}
	// Both texts are valid UTF-8 (fold writes runes), so a match starts on
	// a character boundary and this search is exact.
	first := sort.SearchInts(f.byteAt, b)
	last := first + utf8.RuneCountInString(needle.text) - 1
	return f.origin[first], f.origin[last] + 1, true
}

// count returns how many times needle occurs in f, overlapping occurrences
// included.
func (f folded) count(needle folded) int {
	if needle.text == "" {
		return 0
	}
	n := 0
	for rest := f.text; ; {
		i := strings.Index(rest, needle.text)
		if i < 0 {
			return n
		}
		n++
		_, w := utf8.DecodeRuneInString(rest[i:])
		rest = rest[i+w:]
	}
}

// Targets locates every question's evidence (and its alternatives) in the
// extracted texts, keyed by document name, and returns for each question its
// spans, the main evidence first; the result lines up with qs and is what
// ScoreTargets takes. Every quote that cannot be found is reported in the
// error, which wraps ErrEvidenceNotFound; the spans returned with it leave
// those quotes out, so that a run can still be scored and the misses
// reported.
func Targets(qs []Question, extracted map[string]string) ([][]Span, error) {
	texts := make(map[string]folded, len(extracted))
	for name, text := range extracted {
		texts[name] = fold(text)
	}
	out := make([][]Span, len(qs))
	var errs []error
	for i, q := range qs {
		for _, ev := range append([]Alternative{{Doc: q.Doc, Evidence: q.Evidence}}, q.Also...) {
			text, ok := texts[ev.Doc]
			if !ok {
				errs = append(errs, fmt.Errorf("retrieval: question %s: no extracted text for %s: %w", q.ID, ev.Doc, ErrEvidenceNotFound))
				continue
			}
			start, end, found := text.find(fold(ev.Evidence))
			if !found {
				errs = append(errs, fmt.Errorf("retrieval: question %s: %q is not in the extracted text of %s: %w", q.ID, ev.Evidence, ev.Doc, ErrEvidenceNotFound))
				continue
			}
			out[i] = append(out[i], Span{Doc: ev.Doc, Start: start, End: end})
		}
	}
	return out, errors.Join(errs...)
}
