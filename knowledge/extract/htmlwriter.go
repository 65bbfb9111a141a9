package extract

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Kinds of block written by htmlWriter; they decide the separator before
// the next block.
const (
	blockPara = iota
	blockHeading
	blockListItem
	blockTableRow
	blockPre
)

// listState is one open <ul> or <ol>.
type listState struct {
	ordered bool
	next    int
}

// htmlWriter turns a stream of start, end and text events into the
// package's text format. Blocks are separated by a blank line, except
// consecutive list items and consecutive table rows, which are tight.
type htmlWriter struct {
	ctx    context.Context
	events int

	out       strings.Builder
	lastBlock int
	forceGap  bool // the next block starts after a blank line whatever it is

	para       strings.Builder // inline text of the block being built
	space      bool            // a space is owed before the next inline text
	prefix     string          // written before the block's first line
	contIndent string          // written before its other lines
	supPending bool

	heading int // level of the open heading, 0 if none

	lists    []listState
	liIndent []string // continuation indent of each open <li>

	preDepth int
	pre      strings.Builder

	tableDepth int
	cellDepth  int
	row        []string
	rowOpen    bool

	// Boilerplate rules.
	dropChrome   bool // drop nav/header/footer/aside outside articles
	articleDepth int

	title, firstH1, metaTitle string
	inTitle                   bool
}

// newHTMLWriter returns a writer that checks ctx as it goes.
func newHTMLWriter(ctx context.Context) *htmlWriter {
	return &htmlWriter{ctx: ctx}
}

// tick counts events and checks the context every few thousand.
func (w *htmlWriter) tick() error {
	w.events++
	if w.events&4095 == 0 {
		if err := w.ctx.Err(); err != nil {
			return fmt.Errorf("extract: html: %w", err)
		}
	}
	return nil
}

// isVoid reports whether elements of type a have no end tag.
func isVoid(a atom.Atom) bool {
	switch a {
	case atom.Area, atom.Base, atom.Br, atom.Col, atom.Embed, atom.Hr, atom.Img, atom.Input, atom.Link,
		atom.Meta, atom.Param, atom.Source, atom.Track, atom.Wbr:
		return true
	}
	return false
}

// isBlock reports whether a starts a new block of text.
func isBlock(a atom.Atom) bool {
	switch a {
	case atom.Address, atom.Article, atom.Aside, atom.Blockquote, atom.Body, atom.Center, atom.Dd,
		atom.Details, atom.Dialog, atom.Dir, atom.Div, atom.Dl, atom.Dt, atom.Fieldset, atom.Figcaption,
		atom.Figure, atom.Footer, atom.Form, atom.Header, atom.Hgroup, atom.Hr, atom.Html, atom.Legend,
		atom.Listing, atom.Main, atom.Menu, atom.Nav, atom.P, atom.Plaintext, atom.Section, atom.Summary,
		atom.Caption, atom.Xmp, atom.Search, atom.Option:
		return true
	}
	return false
}

// isDroppedElement reports whether elements of type a are never text.
func isDroppedElement(a atom.Atom) bool {
	switch a {
	case atom.Script, atom.Style, atom.Noscript, atom.Template, atom.Svg, atom.Iframe, atom.Head,
		atom.Object, atom.Embed, atom.Canvas, atom.Audio, atom.Video, atom.Select, atom.Textarea,
		atom.Input, atom.Frameset, atom.Frame, atom.Noframes, atom.Applet, atom.Datalist, atom.Map,
		atom.Math:
		return true
	}
	return false
}

// isChromeRole reports whether an ARIA landmark role marks page chrome.
func isChromeRole(role string) bool {
	switch role {
	case "navigation", "banner", "contentinfo", "complementary", "search":
		return true
	}
	return false
}

// isHidden reports whether attributes hide an element from readers.
func isHidden(attrs []html.Attribute) bool {
	for _, a := range attrs {
		switch a.Key {
		case "hidden":
			return true
		case "aria-hidden":
			if strings.EqualFold(strings.TrimSpace(a.Val), "true") {
				return true
			}
		case "style":
			s := strings.ToLower(strings.Join(strings.Fields(a.Val), ""))
			if strings.Contains(s, "display:none") || strings.Contains(s, "visibility:hidden") {
				return true
			}
		}
	}
	return false
}

// attr returns the value of attribute key, or "".
func attr(attrs []html.Attribute, key string) string {
	for _, a := range attrs {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// start handles an element's start tag and reports whether its content is
// to be read.
func (w *htmlWriter) start(a atom.Atom, attrs []html.Attribute) bool {
	if isDroppedElement(a) || isHidden(attrs) {
		return false
	}
	role := strings.ToLower(strings.TrimSpace(attr(attrs, "role")))
	if w.dropChrome {
		switch {
		case a == atom.Nav || role == "navigation":
			return false
		case w.articleDepth == 0 && (a == atom.Header || a == atom.Footer || a == atom.Aside || isChromeRole(role)):
			return false
		}
	}
	if a == atom.Article || a == atom.Main || role == "main" {
		w.articleDepth++
	}
	if w.preDepth > 0 && w.cellDepth == 0 {
		if a == atom.Br {
			w.pre.WriteByte('\n')
		}
		if a == atom.Pre {
			w.preDepth++
		}
		return true
	}
	switch a {
	case atom.Br:
		w.lineBreak()
	case atom.Wbr:
	case atom.Sup:
		w.supPending = true
	case atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6:
		if w.cellDepth > 0 || w.heading > 0 {
			w.space = true
			break
		}
		w.boundary()
		w.heading = int(a.String()[1] - '0')
		w.prefix = strings.Repeat("#", w.heading) + " "
	case atom.Ul, atom.Ol, atom.Menu, atom.Dir:
		if w.cellDepth > 0 {
			w.space = true
			break
		}
		w.boundary()
		if len(w.lists) == 0 {
			w.forceGap = true
		}
		next := 1
		if n, err := strconv.Atoi(strings.TrimSpace(attr(attrs, "start"))); err == nil && n >= 0 && n < 1e9 {
			next = n
		}
		w.lists = append(w.lists, listState{ordered: a == atom.Ol, next: next})
	case atom.Li:
		if w.cellDepth > 0 {
			w.space = true
			break
		}
		w.boundary()
		depth := len(w.lists)
		marker := "- "
		if depth > 0 && w.lists[depth-1].ordered {
			l := &w.lists[depth-1]
			if n, err := strconv.Atoi(strings.TrimSpace(attr(attrs, "value"))); err == nil && n >= 0 && n < 1e9 {
				l.next = n
			}
			marker = strconv.Itoa(l.next) + ". "
			l.next++
		}
		indent := strings.Repeat("  ", max(depth-1, 0))
		w.prefix = indent + marker
		w.contIndent = indent + strings.Repeat(" ", len(marker))
		w.liIndent = append(w.liIndent, w.contIndent)
	case atom.Pre:
		if w.cellDepth > 0 {
			w.space = true
			break
		}
		w.boundary()
		w.preDepth = 1
		w.pre.Reset()
	case atom.Table:
		if w.tableDepth == 0 && w.cellDepth == 0 {
			w.boundary()
			w.forceGap = true
		}
		w.tableDepth++
		if w.cellDepth > 0 {
			w.space = true
		}
	case atom.Tr:
		if w.tableDepth == 1 && w.cellDepth == 0 {
			w.endRow()
			w.rowOpen = true
		} else {
			w.space = true
		}
	case atom.Td, atom.Th:
		if w.tableDepth == 1 && w.cellDepth == 0 {
			w.boundary()
			w.rowOpen = true
		} else {
			w.space = true
		}
		w.cellDepth++
	default:
		if isBlock(a) {
			w.boundary()
		}
	}
	return true
}

// end handles an element's end tag (only for elements start read).
func (w *htmlWriter) end(a atom.Atom) {
	if a == atom.Article || a == atom.Main {
		w.articleDepth = max(w.articleDepth-1, 0)
	}
	if w.preDepth > 0 && w.cellDepth == 0 {
		if a != atom.Pre {
			return
		}
		w.preDepth--
		if w.preDepth == 0 {
			w.writePre()
		}
		return
	}
	switch a {
	case atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6:
		if w.heading == 0 || w.cellDepth > 0 || int(a.String()[1]-'0') != w.heading {
			w.space = true
			return
		}
		if w.heading == 1 && w.firstH1 == "" {
			w.firstH1 = collapseSpaces(w.para.String())
		}
		w.flush(blockHeading)
		w.heading = 0
		w.prefix = w.contIndent
	case atom.Ul, atom.Ol, atom.Menu, atom.Dir:
		if w.cellDepth > 0 {
			w.space = true
			return
		}
		w.boundary()
		if len(w.lists) > 0 {
			w.lists = w.lists[:len(w.lists)-1]
		}
		if len(w.lists) == 0 {
			w.forceGap = true
		}
	case atom.Li:
		if w.cellDepth > 0 {
			w.space = true
			return
		}
		w.boundary()
		if n := len(w.liIndent); n > 0 {
			w.liIndent = w.liIndent[:n-1]
		}
		w.prefix, w.contIndent = "", ""
		if n := len(w.liIndent); n > 0 {
			w.prefix, w.contIndent = w.liIndent[n-1], w.liIndent[n-1]
		}
	case atom.Td, atom.Th:
		w.cellDepth = max(w.cellDepth-1, 0)
		if w.tableDepth == 1 && w.cellDepth == 0 {
			w.row = append(w.row, collapseSpaces(w.para.String()))
			w.para.Reset()
			w.space = false
		} else {
			w.space = true
		}
	case atom.Tr:
		if w.tableDepth == 1 && w.cellDepth == 0 {
			w.endRow()
		} else {
			w.space = true
		}
	case atom.Table:
		w.tableDepth = max(w.tableDepth-1, 0)
		if w.tableDepth == 0 && w.cellDepth == 0 {
			w.endRow()
			w.boundary()
			w.forceGap = true
		} else {
			w.space = true
		}
	default:
		if isBlock(a) {
			w.boundary()
		}
	}
}

// text appends inline text, collapsing white space.
func (w *htmlWriter) text(s string) {
	if w.preDepth > 0 && w.cellDepth == 0 {
		w.pre.WriteString(s)
		return
	}
	for _, r := range s {
		if unicode.IsSpace(r) {
			w.space = true
			continue
		}
		if isDropped(r) {
			continue
		}
		if w.supPending {
			w.supPending = false
			if last, _ := utf8.DecodeLastRuneInString(w.para.String()); !w.space &&
				(unicode.IsLetter(last) || unicode.IsDigit(last) || last == ')') &&
				(unicode.IsLetter(r) || unicode.IsDigit(r)) {
				w.para.WriteByte('^')
			}
		}
		if w.space {
			if n := w.para.Len(); n > 0 && w.para.String()[n-1] != '\n' {
				w.para.WriteByte(' ')
			}
			w.space = false
		}
		w.para.WriteRune(r)
	}
}

// lineBreak handles <br>: a new line inside a paragraph, a space inside a
// heading or table cell.
func (w *htmlWriter) lineBreak() {
	if w.heading > 0 || w.cellDepth > 0 {
		w.space = true
		return
	}
	if w.para.Len() > 0 {
		w.para.WriteByte('\n')
	}
	w.space = false
}

// boundary ends the current block, or, inside a table cell, owes a space.
func (w *htmlWriter) boundary() {
	if w.cellDepth > 0 {
		w.space = true
		return
	}
	kind := blockPara
	switch {
	case w.heading > 0:
		kind = blockHeading
	case len(w.liIndent) > 0:
		kind = blockListItem
	}
	w.flush(kind)
}

// flush writes the inline text gathered so far as a block of the given
// kind. Nothing is written for a block without text; its prefix is kept
// for the next one (so "<li><p>x" is "- x").
func (w *htmlWriter) flush(kind int) {
	text := strings.TrimSpace(w.para.String())
	w.para.Reset()
	w.space = false
	w.supPending = false
	if text == "" {
		return
	}
	lines := strings.Split(text, "\n")
	w.startBlock(kind)
	for i, line := range lines {
		line = strings.TrimSpace(line)
		if i == 0 {
			w.out.WriteString(w.prefix)
		} else {
			if line == "" {
				continue
			}
			w.out.WriteByte('\n')
			w.out.WriteString(w.contIndent)
		}
		w.out.WriteString(line)
	}
	if kind == blockListItem {
		// The marker is used once; later blocks of the item are indented.
		w.prefix = w.contIndent
	}
}

// startBlock writes the separator owed before a block of the given kind.
func (w *htmlWriter) startBlock(kind int) {
	if w.out.Len() > 0 {
		tight := !w.forceGap && kind == w.lastBlock && (kind == blockListItem || kind == blockTableRow)
		if tight {
			w.out.WriteByte('\n')
		} else {
			w.out.WriteString("\n\n")
		}
	}
	w.forceGap = false
	w.lastBlock = kind
}

// endRow writes the table row gathered so far, if it has any text.
func (w *htmlWriter) endRow() {
	if !w.rowOpen {
		return
	}
	w.rowOpen = false
	if rest := strings.TrimSpace(w.para.String()); rest != "" {
		// Text in a row outside any cell.
		w.row = append(w.row, collapseSpaces(rest))
	}
	w.para.Reset()
	w.space = false
	row := w.row
	w.row = w.row[:0]
	empty := true
	for _, c := range row {
		if c != "" {
			empty = false
			break
		}
	}
	if empty {
		return
	}
	w.startBlock(blockTableRow)
	w.out.WriteString(strings.Join(row, " | "))
}

// writePre writes the gathered <pre> text as a fenced block.
func (w *htmlWriter) writePre() {
	text := strings.Trim(w.pre.String(), "\n\r")
	w.pre.Reset()
	if strings.TrimSpace(text) == "" {
		return
	}
	w.startBlock(blockPre)
	fence := "```"
	for line := range strings.Lines(text) {
		t := strings.TrimLeft(line, " ")
		for strings.HasPrefix(t, fence) || strings.HasPrefix(t, strings.Repeat("~", len(fence))) {
			fence += "`"
		}
	}
	w.out.WriteString(fence)
	w.out.WriteByte('\n')
	w.out.WriteString(text)
	w.out.WriteByte('\n')
	w.out.WriteString(fence)
}

// finish ends the last block and returns the text written.
func (w *htmlWriter) finish() string {
	if w.preDepth > 0 {
		w.preDepth = 0
		w.writePre()
	}
	w.endRow()
	w.boundary()
	w.cellDepth = 0
	w.boundary()
	return w.out.String()
}
