package sentence

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

const (
	// holdCap bounds every lookahead of the cleaner but a link's address:
	// past it the construct is taken to be plain text.
	holdCap = 256
	// destCap bounds a link's address, which is often long.
	destCap = 2048
)

// mode is what the cleaner is in the middle of reading.
type mode uint8

const (
	mLineStart  mode = iota // at the start of a line: markers may come
	mInline                 // in running text
	mRun                    // a run of *, _ or ~
	mAction                 // inside a single-asterisk span
	mBang                   // after !, which may open an image
	mBackslash              // after a backslash, which may escape
	mKeycap                 // after a digit or #, which may start a keycap emoji
	mKeycapVS               // the same, past a variation selector
	mBracket                // inside [ ]
	mBracketEnd             // right after ]
	mLinkDest               // inside a link's ( )
	mAngle                  // inside < >
	mFenceInfo              // on a code fence's opening line
	mFenceLine              // at the start of a line inside a code block
	mFenceTail              // past what may be a closing fence
	mFenceBody              // in a line inside a code block
)

// cleaner reads raw runes and writes speakable ones to out: visible runes,
// single spaces, '\n' where a unit must end, actionMark and, last, eof.
// Where a construct cannot be decided yet it holds the runes; when the
// construct turns out not to be one, the held runes are read again as text.
// Nothing here depends on how the input was chunked.
type cleaner struct {
	mode mode
	hold []rune // the runes of an undecided construct
	dest []rune // a link's address
	redo []rune // runes handed back, read before any new input
	// reread counts the runes handed back, which tests hold to a multiple of
	// the input.
	reread int

	n        int  // length of the current marker run or fence run; in a fence's info line, >0 while its run goes on
	depth    int  // parenthesis depth inside a link's address
	image    bool // the bracket opened with "!["
	base     rune // the marker of a run, or a keycap's base
	before   rune // the raw rune before the held construct
	actStart bool // the asterisk span opened a line or followed a terminator
	actSpace bool // the asterisk span contains whitespace
	prev     rune // the last raw rune read inline, for word boundaries
	inEmoji  bool // the last raw rune belonged to an emoji sequence

	fenceChar rune
	fenceLen  int
	lineBlock bool // the line is a heading, list item or table row: its end ends the unit
	lineText  bool // the line has produced visible text
	tableRow  bool // the line opened with |, so | separates cells
	cell      bool // a cell separator waits for the next visible rune

	space          bool // whitespace waits for the next visible rune
	dropped        bool // markup was removed since the last visible rune
	unitText       bool // visible text since the last unit break
	last, prevLast rune // the last two visible runes of the unit
	out            []rune
}

// put reads one rune, then whatever a failed lookahead handed back.
func (c *cleaner) put(r rune) {
	c.step(r)
	for len(c.redo) > 0 {
		r := c.redo[0]
		c.redo = c.redo[1:]
		c.step(r)
	}
}

// again hands runes back to be read before anything not yet read. It
// copies them, so callers may pass their hold buffer and then reuse it.
func (c *cleaner) again(rs []rune) {
	c.reread += len(rs)
	redo := make([]rune, 0, len(rs)+len(c.redo))
	c.redo = append(append(redo, rs...), c.redo...)
}

func (c *cleaner) step(r rune) {
	switch c.mode {
	case mLineStart:
		c.lineStart(r)
	case mInline:
		c.inline(r)
	case mRun:
		c.run(r)
	case mAction:
		c.action(r)
	case mBang:
		c.bang(r)
	case mBackslash:
		c.backslash(r)
	case mKeycap, mKeycapVS:
		c.keycap(r)
	case mBracket:
		c.bracket(r)
	case mBracketEnd:
		c.bracketEnd(r)
	case mLinkDest:
		c.linkDest(r)
	case mAngle:
		c.angle(r)
	default:
		c.fence(r)
	}
}

// lineStart reads the markers that only count at the start of a line.
func (c *cleaner) lineStart(r rune) {
	if len(c.hold) == 0 {
		switch {
		case isBlank(r):
			c.space = true
		case r == '>': // blockquote
			c.prev = ' '
		case r == '|':
			c.block(true)
			c.tableRow = true
		case r == '\n':
			c.endLine()
		case r == '#', r == '-', r == '+', r == '*', r == '•', r == '◦', r == '‣',
			r == '`', r == '~', r == '=', isDigit(r):
			c.hold = append(c.hold, r)
		default:
			c.mode = mInline
			c.inline(r)
		}
		return
	}
	h, n, last := c.hold[0], len(c.hold), c.hold[len(c.hold)-1]
	end := r == '\n' || r == eof
	switch {
	case h == '#':
		if r == '#' && n < 6 {
			c.hold = append(c.hold, r)
			return
		}
		if isBlank(r) || end {
			c.block(true)
			if end {
				c.inline(r)
			}
			return
		}
	case h == '-' || h == '+' || h == '*' || h == '•' || h == '◦' || h == '‣':
		if n == 1 && isBlank(r) {
			c.block(true)
			return
		}
		if h == '-' && r == '-' {
			c.hold = append(c.hold, r)
			return
		}
		if h == '-' && n >= 3 && (isBlank(r) || end) { // rule or setext underline
			c.block(false)
			c.inline(r)
			return
		}
	case h == '=':
		if r == '=' {
			c.hold = append(c.hold, r)
			return
		}
		if n >= 3 && (isBlank(r) || end) { // setext underline
			c.block(false)
			c.inline(r)
			return
		}
	case isDigit(h):
		if isDigit(r) && isDigit(last) && n < 3 || (r == '.' || r == ')') && isDigit(last) {
			c.hold = append(c.hold, r)
			return
		}
		if (last == '.' || last == ')') && isBlank(r) {
			c.block(true)
			return
		}
	case h == '`' || h == '~':
		if r == h && n < 2 {
			c.hold = append(c.hold, r)
			return
		}
		if r == h {
			// The third marker opens a code block, at once: a longer run
			// only makes its closing fence longer.
			c.brk()
			c.fenceChar, c.fenceLen, c.n = h, 3, 1
			c.hold = c.hold[:0]
			c.mode = mFenceInfo
			return
		}
	}
	// Not a line marker after all: the held runes are text.
	c.mode = mInline
	c.again(append(c.hold, r))
	c.hold = c.hold[:0]
}

// block drops a line marker. Headings and list items (item true) are units
// of their own, so the line's end will end the unit too.
func (c *cleaner) block(item bool) {
	c.brk()
	c.lineBlock = item
	c.hold = c.hold[:0]
	c.mode = mInline
	c.prev = ' '
}

// endLine ends a line: a soft break inside a paragraph is a space; a blank
// line, a line with nothing to say, or the end of a heading or list item
// ends the unit.
func (c *cleaner) endLine() {
	if c.lineBlock || !c.lineText {
		c.brk()
	} else {
		c.space = true
	}
	c.lineBlock, c.lineText, c.tableRow, c.cell = false, false, false, false
	c.mode = mLineStart
	c.prev = '\n'
	c.inEmoji = false
}

// fence reads a fenced code block, all of which is dropped, until its
// closing fence: a run of the same character at least as long as the
// opening one, alone on its line.
func (c *cleaner) fence(r rune) {
	if r == eof {
		c.mode = mInline
		c.inline(r)
		return
	}
	switch c.mode {
	case mFenceInfo:
		switch {
		case r == '\n':
			c.mode, c.n = mFenceLine, 0
		case r == c.fenceChar && c.n > 0:
			c.fenceLen++
		default:
			c.n = 0 // the info string has begun
		}
	case mFenceBody:
		if r == '\n' {
			c.mode, c.n = mFenceLine, 0
		}
	case mFenceLine:
		switch {
		case r == c.fenceChar:
			c.n++
		case r == '\n':
			if c.n >= c.fenceLen {
				c.closeFence()
				return
			}
			c.n = 0
		case isBlank(r) && c.n == 0:
		case isBlank(r) && c.n >= c.fenceLen:
			c.mode = mFenceTail
		default:
			c.mode = mFenceBody
		}
	case mFenceTail:
		switch {
		case r == '\n':
			c.closeFence()
		case !isBlank(r):
			c.mode = mFenceBody
		}
	}
}

func (c *cleaner) closeFence() {
	c.brk()
	c.mode, c.n = mLineStart, 0
	c.lineBlock, c.lineText = false, false
	c.prev = '\n'
}

// inline reads one rune of running text.
func (c *cleaner) inline(r rune) {
	switch {
	case r == eof:
		c.space = false
		c.out = append(c.out, eof)
		return
	case r == '\n':
		c.endLine()
		return
	case r == '*' || r == '_' || r == '~':
		c.mode, c.n, c.base, c.before = mRun, 1, r, c.prev
		return
	case r == '[':
		c.mode, c.image, c.before = mBracket, false, c.prev
		return
	case r == '!':
		c.mode = mBang
		return
	case r == '<':
		c.mode = mAngle
		return
	case r == '\\':
		c.mode = mBackslash
		return
	case isDigit(r) || r == '#':
		c.mode, c.base = mKeycap, r
		return
	case r == zwj:
		// Inside an emoji sequence the joiner goes with it; elsewhere (Indic
		// scripts) it shapes letters and stays.
		if !c.inEmoji {
			c.text(r)
		}
		c.prev = r
		return
	case isEmojiPart(r):
		c.prev = r
		return
	case isPictograph(r):
		c.drop()
		c.inEmoji = true
		c.prev = r
		return
	case r == '|' && c.tableRow:
		c.cell = true
	case r == '`':
		// Inline code keeps its text; only the backticks go.
	case isBlank(r):
		c.space = true
	case r == replace:
		c.drop()
	case isInvisible(r):
	default:
		c.text(r)
	}
	c.inEmoji = false
	c.prev = r
}

// run ends a run of *, _ or ~ at the first other rune r.
func (c *cleaner) run(r rune) {
	if r == c.base {
		c.n++
		return
	}
	c.mode = mInline
	switch c.base {
	case '*':
		if c.n == 1 && !isWord(c.before) && r != eof && r != '\n' && !isBlank(r) {
			c.openAction(r)
			return
		}
		if c.n == 1 && isBlank(c.before) && isBlank(r) && isDigit(c.last) {
			c.text('×') // "5 * 3" is arithmetic, and a voice can say "times"
		}
	case '_':
		if c.n == 1 && isWord(c.before) && isWord(r) { // snake_case
			c.text('_')
		}
	case '~':
		if c.n == 1 && isDigit(r) { // ~5 minutes
			c.text('~')
		}
	}
	c.prev = c.base
	c.inline(r)
}

// openAction starts reading a single-asterisk span whose first rune is r.
func (c *cleaner) openAction(r rune) {
	c.mode = mAction
	c.hold = c.hold[:0]
	c.actSpace = false
	c.actStart = !c.lineText || c.afterTerminator()
	if c.afterTerminator() {
		// A span here is an action, whatever follows it: the splitter may
		// end the sentence now instead of waiting for the span to close.
		c.mark()
	}
	c.action(r)
}

// action reads a single-asterisk span until its closing asterisk, one that
// follows a non-space rune. A single asterisk after a space opens a span
// of its own, so the one being read was none.
func (c *cleaner) action(r rune) {
	n := len(c.hold)
	var last, before rune
	if n > 0 {
		last = c.hold[n-1]
	}
	if n > 1 {
		before = c.hold[n-2]
	}
	opener := last == '*' && isBlank(before) && r != '*' && !isBlank(r)
	switch {
	case opener || r == '\n' || r == eof || n >= holdCap:
		// No span: the asterisk goes, its text stays.
		c.mode = mInline
		c.prev = '*'
		c.again(append(c.hold, r))
		c.hold = c.hold[:0]
	case r == '*' && n > 0 && !isBlank(last) && last != '*':
		c.mode = mInline
		c.prev = '*'
		if c.actSpace || c.actStart {
			c.drop()
		} else {
			c.again(c.hold) // emphasis: the words stay
		}
		c.hold = c.hold[:0]
	default:
		if isBlank(r) {
			c.actSpace = true
		}
		c.hold = append(c.hold, r)
	}
}

func (c *cleaner) bang(r rune) {
	if r == '[' {
		c.mode, c.image, c.before = mBracket, true, '!'
		return
	}
	c.mode = mInline
	c.text('!')
	c.prev, c.inEmoji = '!', false
	c.inline(r)
}

// backslash reads the rune after a backslash: escaped punctuation is
// literal (markers excepted, which are never spoken); any other backslash
// is text.
func (c *cleaner) backslash(r rune) {
	c.mode = mInline
	switch {
	case r == '\n':
		c.endLine() // a Markdown hard line break
	case r >= 0 && r < utf8.RuneSelf && strings.ContainsRune("!\"#$%&'()+,-./:;<=>?@[\\]^{|}", r):
		c.text(r)
		c.prev, c.inEmoji = r, false
	case r == '*' || r == '_' || r == '`' || r == '~':
		c.prev, c.inEmoji = r, false
	default:
		c.text('\\')
		c.prev, c.inEmoji = '\\', false
		c.inline(r)
	}
}

// keycap decides whether a digit or # is text or the base of a keycap
// emoji (base, optional U+FE0F, U+20E3).
func (c *cleaner) keycap(r rune) {
	if r == vs16 && c.mode == mKeycap {
		c.mode = mKeycapVS
		return
	}
	c.mode = mInline
	if r == keycap {
		c.drop()
		c.prev, c.inEmoji = r, true
		return
	}
	c.text(c.base)
	c.prev, c.inEmoji = c.base, false
	c.inline(r)
}

func (c *cleaner) bracket(r rune) {
	switch {
	case r == ']':
		c.mode = mBracketEnd
	case r == '[' || r == '\n' || r == eof || len(c.hold) >= holdCap:
		c.literalBracket(append(c.hold, r))
	default:
		c.hold = append(c.hold, r)
	}
}

// bracketEnd reads the rune after "[text]": a link's address, or the end
// of a citation, a task box or plain bracketed text.
func (c *cleaner) bracketEnd(r rune) {
	if r == '(' {
		c.mode, c.depth, c.dest = mLinkDest, 1, c.dest[:0]
		return
	}
	if c.image { // "Wow![1]": the ! was punctuation
		c.text('!')
		c.image = false
	}
	if citation(c.hold) || taskBox(c.hold) {
		c.mode = mInline
		c.hold = c.hold[:0]
		c.drop()
		c.prev, c.inEmoji = ']', false
		c.inline(r)
		return
	}
	c.literalBracket(append(append(c.hold, ']'), r))
}

func (c *cleaner) linkDest(r rune) {
	switch {
	case r == '(':
		c.depth++
	case r == ')':
		c.depth--
		if c.depth > 0 {
			break
		}
		c.mode = mInline
		if c.image || citation(c.hold) || len(c.hold) == 0 {
			c.drop()
			c.prev = ')'
		} else {
			c.prev = '['
			c.again(c.hold) // the link's text is read as text
		}
		c.hold, c.dest = c.hold[:0], c.dest[:0]
		return
	case r == '\n' || r == eof || r == '[' || isBlank(r) || len(c.dest) >= destCap:
		// An address has no spaces or brackets; titles ("url "title"") are
		// not supported, models do not write them.
		rest := append(append(append(c.hold, ']', '('), c.dest...), r)
		c.dest = c.dest[:0]
		c.literalBracket(rest)
		return
	}
	c.dest = append(c.dest, r)
}

// literalBracket gives up on a bracket: the opening is text and the rest
// is read again.
func (c *cleaner) literalBracket(rest []rune) {
	c.mode = mInline
	if c.image {
		c.text('!')
	}
	c.text('[')
	c.prev, c.inEmoji = '[', false
	c.again(rest)
	c.hold = c.hold[:0]
}

// angle reads an HTML tag or comment; anything else after < is text.
func (c *cleaner) angle(r rune) {
	n := len(c.hold)
	comment := n >= 3 && c.hold[0] == '!' && c.hold[1] == '-' && c.hold[2] == '-'
	switch {
	case n == 0 && !(r >= 0 && r < utf8.RuneSelf && unicode.IsLetter(r) || r == '/' || r == '!'):
		c.mode = mInline
		c.text('<')
		c.prev, c.inEmoji = '<', false
		c.inline(r)
		return
	case r == '>' && comment:
		if n >= 5 && c.hold[n-1] == '-' && c.hold[n-2] == '-' {
			c.mode = mInline
			c.hold = c.hold[:0]
			c.prev = '>'
			return
		}
	case r == '>':
		if block, ok := htmlTag(c.hold); ok {
			c.mode = mInline
			c.hold = c.hold[:0]
			c.prev = '>'
			if block {
				c.space = true
			}
			return
		}
		c.literalAngle(r)
		return
	case r == eof || n >= holdCap || !comment && (r == '\n' || r == '<'):
		c.literalAngle(r)
		return
	}
	c.hold = append(c.hold, r)
}

func (c *cleaner) literalAngle(r rune) {
	c.mode = mInline
	c.text('<')
	c.prev, c.inEmoji = '<', false
	c.again(append(c.hold, r))
	c.hold = c.hold[:0]
}

// text writes a visible rune, with the space that waits before it.
func (c *cleaner) text(r rune) {
	if r == '*' || r == '`' || isPictograph(r) || isEmojiPart(r) {
		return // markers and pictographs are never spoken, however they got here
	}
	if (r == '_' || r == '~') && c.last == r && !c.space {
		return // no doubled marker may survive
	}
	if c.cell {
		// Cells are read as a list: "Alice, 30".
		c.cell = false
		if c.lineText && !closesClause(r) {
			c.out = append(c.out, ',')
			c.prevLast, c.last = c.last, ','
			c.space = true
		}
	}
	if c.space && c.unitText && !(c.dropped && closesClause(r)) {
		c.out = append(c.out, ' ')
	}
	c.space, c.dropped = false, false
	c.out = append(c.out, r)
	c.unitText, c.lineText = true, true
	c.prevLast, c.last = c.last, r
}

// drop notes that markup was removed here.
func (c *cleaner) drop() { c.dropped = true }

// brk ends the unit.
func (c *cleaner) brk() {
	if c.unitText {
		c.out = append(c.out, '\n')
	}
	c.space, c.dropped, c.unitText = false, false, false
	c.last, c.prevLast = 0, 0
}

// mark writes actionMark, after the space that separates it from the
// terminator before it.
func (c *cleaner) mark() {
	if c.space && c.unitText {
		c.out = append(c.out, ' ')
	}
	c.space = false
	c.out = append(c.out, actionMark)
}

// afterTerminator reports whether the last visible text ends like a
// sentence: a terminator, perhaps inside a closing quote or bracket.
func (c *cleaner) afterTerminator() bool {
	return c.unitText && (isTerminator(c.last) || isCloser(c.last) && isTerminator(c.prevLast))
}

// citation reports bracket text that is a citation marker: numbers (1;
// 1, 2; 1-3) or a footnote reference (^note).
func citation(h []rune) bool {
	s := strings.TrimSpace(string(h))
	if strings.HasPrefix(s, "^") {
		return true
	}
	digit := false
	for _, r := range s {
		switch {
		case isDigit(r):
			digit = true
		case r == ',' || r == '-' || r == '–' || r == ' ':
		default:
			return false
		}
	}
	return digit
}

// taskBox reports the boxes of Markdown task lists: [ ], [x], and the empty [].
func taskBox(h []rune) bool {
	switch strings.TrimSpace(string(h)) {
	case "", "x", "X":
		return true
	}
	return false
}

// htmlTag reports whether the text between < and > is a known HTML tag,
// and whether the tag separates blocks (and so stands for a space).
// Unknown names are left as text, so "x<y and y>z" survives.
func htmlTag(h []rune) (block, ok bool) {
	i := 0
	if i < len(h) && h[i] == '/' {
		i++
	}
	start := i
	for i < len(h) && h[i] < utf8.RuneSelf && (unicode.IsLetter(h[i]) || i > start && isDigit(h[i])) {
		i++
	}
	if i < len(h) && !isBlank(h[i]) && h[i] != '/' {
		return false, false
	}
	return htmlTags(strings.ToLower(string(h[start:i])))
}

// htmlTags reports whether name is a tag the cleaner removes and whether
// it separates blocks.
func htmlTags(name string) (block, ok bool) {
	switch name {
	case "a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "del", "dfn", "em",
		"font", "i", "ins", "kbd", "mark", "q", "s", "samp", "small", "span", "strike",
		"strong", "sub", "sup", "time", "tt", "u", "var", "wbr":
		return false, true
	case "address", "article", "aside", "audio", "blockquote", "body", "br", "button",
		"caption", "center", "dd", "details", "div", "dl", "dt", "figcaption", "figure",
		"footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "head", "header", "hr",
		"html", "iframe", "img", "input", "label", "li", "main", "nav", "ol", "p",
		"picture", "pre", "section", "source", "summary", "table", "tbody", "td",
		"tfoot", "th", "thead", "tr", "ul", "video":
		return true, true
	}
	return false, false
}
