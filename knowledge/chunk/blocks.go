package chunk

import (
	"strings"
	"unicode"
)

// Kinds of block.
const (
	kindParagraph = iota
	kindList
	kindTable
	kindFence
)

// block is a paragraph, list, table or fenced code block: byte offsets of
// its first and past its last non-space byte.
type block struct {
	start, end int
	kind       int
}

// section is the blocks under one heading path.
type section struct {
	headings []string
	blocks   []block
}

// Kinds of line.
const (
	lineBlank = iota
	lineText
	lineHeading
	lineFence
	lineItem
	lineRow
)

// sections parses src into sections of blocks; sections without blocks
// are left out.
func sections(src string) []section {
	type heading struct {
		level int
		title string
	}
	var (
		out   []section
		stack []heading
		cur   section
		open  = -1   // index in cur.blocks of the block being built, or -1
		fence string // the opening fence while inside a fenced block
	)
	closeSection := func() {
		if len(cur.blocks) > 0 {
			out = append(out, cur)
		}
		cur, open = section{}, -1
	}
	for i := 0; i < len(src); {
		j := strings.IndexByte(src[i:], '\n')
		next := len(src)
		if j >= 0 {
			j += i
			next = j + 1
		} else {
			j = len(src)
		}
		line := src[i:j]
		start := i + len(line) - len(strings.TrimLeftFunc(line, unicode.IsSpace))
		end := i + len(strings.TrimRightFunc(line, unicode.IsSpace))
		i = next

		if fence != "" {
			if end > start {
				cur.blocks[open].end = end
			}
			if closesFence(line, fence) {
				fence, open = "", -1
			}
			continue
		}
		kind, arg, level := classify(line)
		switch kind {
		case lineBlank:
			open = -1
			continue
		case lineHeading:
			closeSection()
			for len(stack) > 0 && stack[len(stack)-1].level >= level {
				stack = stack[:len(stack)-1]
			}
			stack = append(stack, heading{level, arg})
			cur.headings = make([]string, len(stack))
			for k, h := range stack {
				cur.headings[k] = h.title
			}
			continue
		case lineFence:
			fence = arg
			cur.blocks = append(cur.blocks, block{start: start, end: end, kind: kindFence})
			open = len(cur.blocks) - 1
			continue
		}
		bk := kindParagraph
		switch kind {
		case lineItem:
			bk = kindList
		case lineRow:
			bk = kindTable
		}
		if open >= 0 && continues(cur.blocks[open].kind, bk) {
			cur.blocks[open].end = end
			continue
		}
		cur.blocks = append(cur.blocks, block{start: start, end: end, kind: bk})
		open = len(cur.blocks) - 1
	}
	closeSection()
	return out
}

// continues reports whether a line that would start a block of kind next
// belongs to an open block of kind open instead: a list takes any line
// but a table row; a table takes rows; a paragraph takes text.
func continues(open, next int) bool {
	switch open {
	case kindList:
		return next != kindTable
	case kindTable:
		return next == kindTable
	}
	return next == kindParagraph
}

// classify tells what a line outside a fence is. For a heading it returns
// its title and level; for a fence opening, the fence ("```", "~~~~", …).
func classify(line string) (kind int, arg string, level int) {
	if strings.TrimSpace(line) == "" {
		return lineBlank, "", 0
	}
	s := line
	for k := 0; k < 3 && strings.HasPrefix(s, " "); k++ {
		s = s[1:]
	}
	if f := fenceOf(s); f != "" {
		return lineFence, f, 0
	}
	if n := len(s) - len(strings.TrimLeft(s, "#")); n >= 1 && n <= 6 && len(s) > n && (s[n] == ' ' || s[n] == '\t') {
		if title := headingTitle(s[n:]); title != "" {
			return lineHeading, title, n
		}
	}
	t := strings.TrimLeft(line, " \t")
	if isItem(t) {
		return lineItem, "", 0
	}
	if strings.Contains(line, " | ") || strings.HasPrefix(t, "|") {
		return lineRow, "", 0
	}
	return lineText, "", 0
}

// headingTitle trims a heading's text and its optional closing #s.
func headingTitle(s string) string {
	s = strings.TrimSpace(s)
	if t := strings.TrimRight(s, "#"); t == "" || strings.HasSuffix(t, " ") || strings.HasSuffix(t, "\t") {
		s = strings.TrimSpace(t)
	}
	return s
}

// fenceOf returns the fence that s opens (three or more backticks or
// tildes), or "".
func fenceOf(s string) string {
	if len(s) < 3 || (s[0] != '`' && s[0] != '~') {
		return ""
	}
	n := len(s) - len(strings.TrimLeft(s, s[:1]))
	if n < 3 {
		return ""
	}
	return s[:n]
}

// closesFence reports whether line closes a block opened by fence: at least
// as many of the same character, then only whitespace.
func closesFence(line, fence string) bool {
	s := line
	for k := 0; k < 3 && strings.HasPrefix(s, " "); k++ {
		s = s[1:]
	}
	f := fenceOf(s)
	return f != "" && f[0] == fence[0] && len(f) >= len(fence) && strings.TrimSpace(s[len(f):]) == ""
}

// isItem reports whether s (without its indentation) starts a list item.
func isItem(s string) bool {
	if len(s) >= 2 && (s[0] == '-' || s[0] == '*' || s[0] == '+') && (s[1] == ' ' || s[1] == '\t') {
		return true
	}
	n := 0
	for n < len(s) && n < 10 && '0' <= s[n] && s[n] <= '9' {
		n++
	}
	return n >= 1 && n <= 9 && len(s) >= n+2 && (s[n] == '.' || s[n] == ')') && (s[n+1] == ' ' || s[n+1] == '\t')
}
