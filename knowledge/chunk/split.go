package chunk

import (
	"unicode"
	"unicode/utf8"

	"github.com/timbre-ai/timbre/tokens"
)

// overlapReach bounds, in bytes per token of Options.Overlap, how far back
// from a chunk's end the next chunk may start. Only long runs of spaces or
// dashes cost fewer than one token per 64 bytes.
const overlapReach = 64

// span is a chunk in byte offsets.
type span struct {
	start, end int
	tokens     int
	headings   []string
}

// splitter turns sections into spans.
type splitter struct {
	src          string
	max, overlap int
	out          []span

	headings []string // of the section being split
	prev     span     // the last chunk emitted in the section
	hasPrev  bool
}

// open is the chunk being packed: the blocks so far fit in it. Its tokens
// is a sum of counts of parts, each rounded: it may be off by half a token
// per part counted since the last exact count.
type open struct {
	start, end int
	tokens     int
	parts      int
}

// section packs the blocks of sec into chunks.
func (sp *splitter) section(sec section) {
	sp.headings, sp.hasPrev = sec.headings, false
	var cur open
	isOpen := false
	for _, b := range sec.blocks {
		bt := tokens.Count(sp.src[b.start:b.end])
		if isOpen {
			sep := tokens.Count(sp.src[cur.end:b.start])
			if next, ok := sp.extend(cur, b.end, sep+bt); ok {
				cur = next
				continue
			}
			sp.emit(cur.start, cur.end, cur.exact())
			isOpen = false
		}
		if bt <= sp.max {
			cur = open{start: b.start, end: b.end, tokens: bt}
			if os := sp.overlapStart(); os >= 0 {
				// The overlap gives way when the block would not fit
				// whole with it.
				if n := tokens.Count(sp.src[os:b.end]); n <= sp.max {
					cur.start, cur.tokens = os, n
				}
			}
		} else {
			cur = sp.splitBlock(b)
		}
		isOpen = true
	}
	if isOpen {
		sp.emit(cur.start, cur.end, cur.exact())
	}
}

// exact returns the chunk's tokens when they were counted exactly, else -1.
func (cur open) exact() int {
	if cur.parts > 0 {
		return -1
	}
	return cur.tokens
}

// extend returns cur grown to end by add tokens when that stays within the
// limit. It counts exactly only when the sum of rounded counts is too close
// to the limit to tell, which keeps packing many tiny blocks linear.
func (sp *splitter) extend(cur open, end, add int) (open, bool) {
	next := open{start: cur.start, end: end, tokens: cur.tokens + add, parts: cur.parts + 2}
	slack := (next.parts + 1) / 2
	if next.tokens+slack <= sp.max {
		return next, true
	}
	if next.tokens-slack > sp.max {
		return cur, false
	}
	if n := tokens.Count(sp.src[cur.start:end]); n <= sp.max {
		return open{start: cur.start, end: end, tokens: n}, true
	}
	return cur, false
}

// splitBlock emits a block that is over the limit as chunks, but for its
// last piece, which it returns so that the next blocks may join it.
func (sp *splitter) splitBlock(b block) open {
	src := sp.src
	pos := b.start // where the text not yet in a chunk starts
	for {
		cs := pos
		if os := sp.overlapStart(); os >= 0 {
			cs = os
		}
		lim := cs + len(tokens.Truncate(src[cs:b.end], sp.max))
		if lim <= pos {
			// The overlap leaves no room for the next word: drop it.
			cs = pos
			lim = pos + len(tokens.Truncate(src[pos:b.end], sp.max))
			if lim <= pos {
				// A single rune over the limit.
				_, m := utf8.DecodeRuneInString(src[pos:])
				lim = pos + m
			}
		}
		cut := lim
		if lim < b.end {
			cut = sp.cutPoint(pos, lim, b.kind)
		}
		s, e := sp.trim(cs, cut)
		n := tokens.Count(src[s:e])
		if n > sp.max && utf8.RuneCountInString(src[s:e]) > 1 {
			// Trimming changed how the text splits into tokens.
			cut = s + len(tokens.Truncate(src[s:e], sp.max))
			if cut <= pos {
				_, m := utf8.DecodeRuneInString(src[pos:])
				cut = pos + m
			}
			s, e = sp.trim(s, cut)
			n = tokens.Count(src[s:e])
		}
		if cut >= b.end {
			return open{start: s, end: e, tokens: n}
		}
		sp.emit(s, e, n)
		pos, _ = sp.trim(cut, b.end)
	}
}

// cutPoint chooses where to end a chunk whose new text starts at pos and
// may run to lim: the end of a sentence or a line break, by the block's
// preference, in the second half of [pos, lim]; else lim.
func (sp *splitter) cutPoint(pos, lim, kind int) int {
	lo := pos + (lim-pos)/2
	first, second := lastSentenceEnd, lastLineBreak
	if kind != kindParagraph {
		first, second = lastLineBreak, lastSentenceEnd
	}
	if p := first(sp.src, lo, lim); p > 0 {
		return p
	}
	if p := second(sp.src, lo, lim); p > 0 {
		return p
	}
	return lim
}

// lastLineBreak returns the largest p in (lo, hi] just after a '\n', or 0.
func lastLineBreak(src string, lo, hi int) int {
	for p := hi; p > lo; p-- {
		if src[p-1] == '\n' {
			return p
		}
	}
	return 0
}

// lastSentenceEnd returns the largest p in (lo, hi] that ends a sentence,
// or 0: p follows '.', '!' or '?' (and any closing quotes or brackets) and
// whitespace or the end of the text follows p; or p follows a CJK full stop,
// exclamation or question mark.
func lastSentenceEnd(src string, lo, hi int) int {
	for p := hi; p > lo; {
		r, m := utf8.DecodeLastRuneInString(src[:p])
		switch r {
		case '。', '！', '？':
			return p
		}
		if p == len(src) || isSpaceAt(src, p) {
			q := p
			for q > lo {
				c, k := utf8.DecodeLastRuneInString(src[:q])
				if c != '"' && c != '\'' && c != ')' && c != ']' && c != '”' && c != '’' && c != '»' {
					break
				}
				q -= k
			}
			if q > lo {
				if c := src[q-1]; c == '.' || c == '!' || c == '?' {
					return p
				}
			}
		}
		p -= m
	}
	return 0
}

// overlapStart returns where the next chunk of the section starts: about
// Overlap tokens before the end of the previous chunk, at a word start (else
// at a rune boundary), after the previous chunk's start; -1 for none.
func (sp *splitter) overlapStart() int {
	if !sp.hasPrev || sp.overlap == 0 {
		return -1
	}
	src, ps, pe := sp.src, sp.prev.start, sp.prev.end
	// Look back twice as far as Overlap tokens take at the previous
	// chunk's density of bytes per token.
	density := (pe-ps)/max(sp.prev.tokens, 1) + 1
	lo := max(ps+1, pe-sp.overlap*min(2*density, overlapReach))
	if lo >= pe {
		return -1
	}
	best := -1
	for p := pe - 1; p >= lo; p-- {
		if !isWordStart(src, p) {
			continue
		}
		if tokens.Count(src[p:pe]) > sp.overlap {
			break
		}
		best = p
	}
	if best >= 0 {
		return best
	}
	// No word start within reach: the smallest rune boundary whose suffix
	// fits.
	for !utf8.RuneStart(src[lo]) {
		lo++
	}
	hi := pe
	for lo < hi {
		mid := lo + (hi-lo)/2
		for mid > lo && !utf8.RuneStart(src[mid]) {
			mid--
		}
		if tokens.Count(src[mid:pe]) <= sp.overlap {
			hi = mid
		} else {
			_, m := utf8.DecodeRuneInString(src[mid:])
			lo = mid + m
		}
	}
	lo, _ = sp.trim(lo, pe)
	if lo >= pe {
		return -1
	}
	return lo
}

// isWordStart reports whether a non-space rune starts at p after a space.
func isWordStart(src string, p int) bool {
	if p == 0 || !utf8.RuneStart(src[p]) || isSpaceAt(src, p) {
		return false
	}
	r, _ := utf8.DecodeLastRuneInString(src[:p])
	return unicode.IsSpace(r)
}

func isSpaceAt(src string, p int) bool {
	r, _ := utf8.DecodeRuneInString(src[p:])
	return unicode.IsSpace(r)
}

// trim narrows [s, e) to its non-space text.
func (sp *splitter) trim(s, e int) (int, int) {
	for s < e {
		r, m := utf8.DecodeRuneInString(sp.src[s:e])
		if !unicode.IsSpace(r) {
			break
		}
		s += m
	}
	for e > s {
		r, m := utf8.DecodeLastRuneInString(sp.src[s:e])
		if !unicode.IsSpace(r) {
			break
		}
		e -= m
	}
	return s, e
}

// emit adds the chunk [s, e), trimmed; n is the exact count of src[s:e],
// or -1 when unknown. A chunk over the limit (of more than one rune) is
// split again; packing makes none, this is a safety net.
func (sp *splitter) emit(s, e, n int) {
	ts, te := sp.trim(s, e)
	if ts >= te {
		return
	}
	if ts != s || te != e || n < 0 {
		n = tokens.Count(sp.src[ts:te])
	}
	if n > sp.max && utf8.RuneCountInString(sp.src[ts:te]) > 1 {
		last := sp.splitBlock(block{start: ts, end: te, kind: kindParagraph})
		ts, te, n = last.start, last.end, last.tokens
	}
	sp.out = append(sp.out, span{start: ts, end: te, tokens: n, headings: sp.headings})
	sp.prev, sp.hasPrev = sp.out[len(sp.out)-1], true
}

// chunks converts the spans to chunks with rune offsets.
func (sp *splitter) chunks() []Chunk {
	out := make([]Chunk, 0, len(sp.out))
	bytePos, runePos := 0, 0
	for i, s := range sp.out {
		runePos += utf8.RuneCountInString(sp.src[bytePos:s.start])
		bytePos = s.start
		text := sp.src[s.start:s.end]
		var headings []string
		if s.headings != nil {
			headings = append([]string(nil), s.headings...)
		}
		out = append(out, Chunk{
			Index:    i,
			Text:     text,
			Headings: headings,
			Start:    runePos,
			End:      runePos + utf8.RuneCountInString(text),
			Tokens:   s.tokens,
		})
	}
	return out
}
