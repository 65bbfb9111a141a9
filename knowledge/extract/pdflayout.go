package extract

import (
	"bytes"
	"fmt"
	"math"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// pdfLine is one line of text on a page, in content-stream order.
type pdfLine struct {
	text   string
	x0, x1 float64
	y      float64
	size   float64 // largest font size of its letters and digits
	bold   bool    // every letter is in a bold font
	chars  int
	cells  int // number of " | " cell separators put in for wide gaps
}

// pdfBlock is a paragraph, list item or heading: lines read together.
type pdfBlock struct {
	lines   []pdfLine
	widest  float64 // the largest x1 of its lines
	size    float64
	bold    bool
	heading int // level, set by assignHeadings
	list    bool
	table   bool // a table row: its line has cell separators
}

// pdfStats are document-wide typographic measures.
type pdfStats struct {
	body    float64 // the font size most text is set in
	spacing float64 // the usual baseline distance, in multiples of the font size
}

// Tunable thresholds, in multiples of the font size.
const (
	wordGap      = 0.15 // a gap wider than this between runs is a space
	cellGap      = 2.0  // and one wider than this separates table cells
	sameBaseline = 0.45 // runs whose baselines differ less are on one line
	paraGapExtra = 1.35 // a baseline distance this many times the usual one starts a paragraph
	headingRatio = 1.18 // text this much larger than the body is a heading
)

// buildLines groups a page's runs into lines: a run joins the current line
// when its baseline is close; a space goes between runs separated by a gap
// (or that go backwards), " | " where the gap is as wide as a table's
// between cells (unless what comes before is a short marker such as a
// bullet or "1.", which tab stops also separate); a run repeating the
// previous one at almost the same place (fake bold) is dropped.
func buildLines(runs []textRun) []pdfLine {
	var (
		lines []pdfLine
		b     []byte
		cur   pdfLine
		open  bool
		prev  textRun
		space bool
		cell  bool
		boldN int
		letN  int
	)
	finish := func() {
		if !open {
			return
		}
		cur.text = strings.TrimSpace(string(b))
		cur.bold = letN > 0 && boldN == letN
		if cur.text != "" {
			cur.chars = utf8.RuneCountInString(cur.text)
			lines = append(lines, cur)
		}
		open = false
	}
	for i, r := range runs {
		if i > 0 && r.text == prev.text && math.Abs(r.x0-prev.x0) < 0.2*r.size && math.Abs(r.y-prev.y) < 0.2*r.size {
			continue
		}
		prev = r
		blank := strings.TrimSpace(r.text) == ""
		if open && math.Abs(r.y-cur.y) <= sameBaseline*math.Max(r.size, cur.size) {
			gap := r.x0 - cur.x1
			if gap > wordGap*r.size || gap < -0.5*r.size {
				space = true
			}
			if gap > cellGap*r.size && utf8.RuneCount(bytes.TrimSpace(b)) > 3 {
				cell = true
			}
		} else {
			if blank {
				continue
			}
			finish()
			cur = pdfLine{x0: r.x0, x1: r.x0, y: r.y}
			b = b[:0]
			space, cell, boldN, letN, open = false, false, 0, 0, true
		}
		if blank {
			space = true
			cur.x1 = r.x1
			continue
		}
		if cell && len(bytes.TrimSpace(b)) > 0 {
			b = append(bytes.TrimRight(b, " "), " | "...)
			cur.cells++
		} else if space && len(b) > 0 && b[len(b)-1] != ' ' && !strings.HasPrefix(r.text, " ") {
			b = append(b, ' ')
		}
		space, cell = false, false
		b = append(b, r.text...)
		cur.x0 = math.Min(cur.x0, r.x0)
		cur.x1 = r.x1
		if hasLetterOrDigit(r.text) {
			cur.size = math.Max(cur.size, r.size)
			letN++
			if r.bold {
				boldN++
			}
		}
	}
	finish()
	for i := range lines {
		if lines[i].size == 0 {
			lines[i].size = 1
		}
	}
	return lines
}

// hasLetterOrDigit reports whether s has a letter or digit.
func hasLetterOrDigit(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) >= 0
}

// hasLetter reports whether s has a letter.
func hasLetter(s string) bool {
	return strings.IndexFunc(s, unicode.IsLetter) >= 0
}

// measure returns the body size (by characters) and the usual line
// spacing of the document.
func measure(pages [][]pdfLine) pdfStats {
	sizes := map[int]int{}
	gaps := map[int]int{}
	for _, lines := range pages {
		for i, l := range lines {
			sizes[int(math.Round(l.size*2))] += l.chars
			if i == 0 {
				continue
			}
			p := lines[i-1]
			if math.Abs(p.size-l.size) > 0.1*l.size {
				continue
			}
			if ratio := (p.y - l.y) / l.size; ratio > 0.8 && ratio < 3 {
				gaps[int(math.Round(ratio*20))]++
			}
		}
	}
	st := pdfStats{body: 10, spacing: 1.2}
	if k, ok := mode(sizes); ok && k > 0 {
		st.body = float64(k) / 2
	}
	if k, ok := mode(gaps); ok {
		st.spacing = float64(k) / 20
	}
	return st
}

// mode returns the key with the largest count (the smallest such key on
// ties, so the result does not depend on map order).
func mode(m map[int]int) (int, bool) {
	best, bestN, found := 0, 0, false
	for k, n := range m {
		if n > bestN || (n == bestN && k < best) {
			best, bestN, found = k, n, true
		}
	}
	return best, found
}

// dropRepeated removes running headers and footers: a first or last line
// of a page that is the first or last line of at least half the pages
// (and of three or more) at the same height. Digits are ignored in short
// lines ("Page 3 of 10") only, so that numbered content survives.
func dropRepeated(pages [][]pdfLine) {
	if len(pages) < 3 {
		return
	}
	threshold := max(3, (len(pages)+1)/2)
	for pass := 0; pass < 2; pass++ {
		for _, atEnd := range []bool{false, true} {
			counts := map[string]int{}
			for _, lines := range pages {
				if len(lines) > 1 {
					counts[lineKey(edge(lines, atEnd))]++
				}
			}
			for i, lines := range pages {
				if len(lines) > 1 && counts[lineKey(edge(lines, atEnd))] >= threshold {
					if atEnd {
						pages[i] = lines[:len(lines)-1]
					} else {
						pages[i] = lines[1:]
					}
				}
			}
		}
	}
}

// edge returns the first or last line.
func edge(lines []pdfLine, atEnd bool) pdfLine {
	if atEnd {
		return lines[len(lines)-1]
	}
	return lines[0]
}

// lineKey identifies a line for finding running headers and page numbers:
// its height on the page and its text, lower case, with digits replaced
// when the line is short.
func lineKey(l pdfLine) string {
	text := strings.ToLower(collapseSpaces(l.text))
	if l.chars <= 40 {
		text = strings.Map(func(r rune) rune {
			if unicode.IsDigit(r) {
				return '#'
			}
			return r
		}, text)
	}
	return fmt.Sprintf("%.0f|%s", l.y/4, text)
}

// buildBlocks groups a page's lines into blocks. A new block starts where
// the baseline moves up (a new column), the gap is wider than a line, the
// size or weight changes, a bullet or number starts the line, or the
// previous line ended a sentence and was short or this one is indented.
func buildBlocks(lines []pdfLine, st pdfStats) []pdfBlock {
	var blocks []pdfBlock
	for i, l := range lines {
		if i > 0 {
			p := lines[i-1]
			cur := &blocks[len(blocks)-1]
			if !startsBlock(cur, p, l, st) {
				cur.lines = append(cur.lines, l)
				cur.widest = math.Max(cur.widest, l.x1)
				cur.size = math.Max(cur.size, l.size)
				cur.bold = cur.bold && l.bold
				continue
			}
		}
		blocks = append(blocks, pdfBlock{lines: []pdfLine{l}, widest: l.x1, size: l.size, bold: l.bold,
			list: listMarker(l.text) != "", table: l.cells > 0})
	}
	return blocks
}

// startsBlock decides whether line l, after line p of block cur, starts a
// new block.
func startsBlock(cur *pdfBlock, p, l pdfLine, st pdfStats) bool {
	sz := math.Max(p.size, l.size)
	small := math.Min(p.size, l.size)
	gap := p.y - l.y
	switch {
	case gap < 0.5*small:
		return true
	case p.cells > 0 || l.cells > 0:
		return true
	case gap > math.Max(st.spacing*paraGapExtra, st.spacing+0.35)*small:
		return true
	case math.Abs(p.size-l.size) > 0.12*sz:
		return true
	case p.bold != l.bold:
		return true
	case listMarker(l.text) != "":
		return true
	case cur.list && l.x0 <= cur.lines[0].x0+0.5*sz:
		return true
	case endsSentence(p.text) && p.x1 < cur.widest-3*sz:
		return true
	case endsSentence(p.text) && l.x0 > p.x0+0.8*sz:
		return true
	}
	return false
}

// endsSentence reports whether s ends like a sentence or a label.
func endsSentence(s string) bool {
	s = strings.TrimRight(s, " \"'”’)")
	r, _ := utf8.DecodeLastRuneInString(s)
	switch r {
	case '.', '!', '?', ':', '。', '！', '？':
		return true
	}
	return false
}

// listMarker returns the bullet or number that starts s as a list item,
// or "".
func listMarker(s string) string {
	r, size := utf8.DecodeRuneInString(s)
	switch r {
	case '•', '●', '▪', '■', '◦', '‣', '∙', '○', '➢', '►', '▸', '✓', '❖', '◆', '\uf0b7', '\uf0a7', '\uf076', '\uf0d8', '\uf0fc', '\uf0a8':
		return s[:size]
	}
	i := 0
	for i < len(s) && i < 3 && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i > 0 && i+1 < len(s) && (s[i] == '.' || s[i] == ')') && s[i+1] == ' ' {
		return s[:i+1]
	}
	return ""
}

// assignHeadings marks short blocks set larger than the body as headings,
// a level per distinct size (largest first), and short single bold lines
// at body size as headings one level below those.
func assignHeadings(pages [][]pdfBlock, st pdfStats) {
	var sizes []float64
	isSized := func(b *pdfBlock) bool {
		text := blockText(b)
		return !b.table && b.size >= headingRatio*st.body && len(b.lines) <= 3 && len(text) <= 200 && hasLetter(text)
	}
	for _, blocks := range pages {
		for i := range blocks {
			if isSized(&blocks[i]) {
				sizes = append(sizes, blocks[i].size)
			}
		}
	}
	sort.Sort(sort.Reverse(sort.Float64Slice(sizes)))
	var levels []float64 // the largest size of each level
	for _, s := range sizes {
		if len(levels) == 0 || s < levels[len(levels)-1]*0.94 {
			levels = append(levels, s)
		}
	}
	levelOf := func(size float64) int {
		for i, s := range levels {
			if size >= s*0.94 {
				return min(i+1, 6)
			}
		}
		return min(len(levels), 6)
	}
	boldLevel := min(len(levels)+1, 6)
	for _, blocks := range pages {
		for i := range blocks {
			b := &blocks[i]
			text := blockText(b)
			switch {
			case isSized(b):
				b.heading = levelOf(b.size)
			case b.bold && !b.table && len(b.lines) == 1 && b.size >= 0.95*st.body && len(text) <= 100 && hasLetter(text) &&
				!strings.ContainsAny(text[len(text)-1:], ".,;"):
				b.heading = boldLevel
			}
		}
	}
}

// blockText joins a block's lines: with a space, or with nothing where a
// word was hyphenated across the break ("exam-" + "ple").
func blockText(b *pdfBlock) string {
	if len(b.lines) == 1 {
		return b.lines[0].text
	}
	var out []byte
	for i, l := range b.lines {
		if i > 0 {
			if dehyphenate(out, l.text) {
				_, size := utf8.DecodeLastRune(out)
				out = out[:len(out)-size]
			} else {
				out = append(out, ' ')
			}
		}
		out = append(out, l.text...)
	}
	return string(out)
}

// dehyphenate reports whether prev ends with a hyphen after a lower-case
// letter and next starts with a lower-case letter.
func dehyphenate(prev []byte, next string) bool {
	h, size := utf8.DecodeLastRune(prev)
	if h != '-' && h != '\u00ad' && h != '\u2010' {
		return false
	}
	before, _ := utf8.DecodeLastRune(prev[:len(prev)-size])
	after, _ := utf8.DecodeRuneInString(next)
	return unicode.IsLower(before) && unicode.IsLower(after)
}

// renderPage writes a page's blocks in the text format.
func renderPage(blocks []pdfBlock) string {
	var b strings.Builder
	prevList, prevTable := false, false
	for i := range blocks {
		blk := &blocks[i]
		text := blockText(blk)
		list := blk.heading == 0 && blk.list && !blk.table
		table := blk.heading == 0 && blk.table
		if b.Len() > 0 {
			if (list && prevList) || (table && prevTable) {
				b.WriteByte('\n')
			} else {
				b.WriteString("\n\n")
			}
		}
		switch {
		case blk.heading > 0:
			b.WriteString(strings.Repeat("#", blk.heading))
			b.WriteByte(' ')
			b.WriteString(collapseSpaces(text))
		case list:
			m := listMarker(text)
			if m[0] >= '0' && m[0] <= '9' {
				b.WriteString(text)
			} else {
				b.WriteString("- ")
				b.WriteString(strings.TrimSpace(text[len(m):]))
			}
		default:
			b.WriteString(text)
		}
		prevList, prevTable = list, table
	}
	return normalize(b.String())
}
