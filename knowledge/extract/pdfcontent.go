package extract

import (
	"bytes"
	"fmt"
	"math"
	"strings"

	"github.com/ledongthuc/pdf"
)

// Limits on content streams.
const (
	maxFormDepth    = 8
	maxFormCalls    = 10000 // per page
	maxOperands     = 256
	maxArrayElems   = 1 << 20
	maxGStateDepth  = 512
	maxContentDepth = 32 // nested arrays and dictionaries inside content
)

// textRun is one shown string, in a frame where its baseline runs along x:
// x0 and x1 are where it starts and ends, y is its baseline (larger is
// higher on the page), size its font size in points.
type textRun struct {
	text   string
	x0, x1 float64
	y      float64
	size   float64
	bold   bool
}

// matrix is a PDF transformation matrix [a b c d e f].
type matrix [6]float64

var identity = matrix{1, 0, 0, 1, 0, 0}

// mul returns m × n (m applied first).
func (m matrix) mul(n matrix) matrix {
	return matrix{
		m[0]*n[0] + m[1]*n[2], m[0]*n[1] + m[1]*n[3],
		m[2]*n[0] + m[3]*n[2], m[2]*n[1] + m[3]*n[3],
		m[4]*n[0] + m[5]*n[2] + n[4], m[4]*n[1] + m[5]*n[3] + n[5],
	}
}

// gstate is the part of the graphics state that places text.
type gstate struct {
	ctm      matrix
	font     *pdfFont
	fontSize float64
	tc, tw   float64 // character and word spacing
	th       float64 // horizontal scaling, 1 = 100%
	tl       float64 // leading
	rise     float64
}

// operand is a content-stream operand.
type operand struct {
	kind tokKind
	num  float64
	str  []byte    // decoded string, or a name's raw bytes
	arr  []operand // TJ arrays
}

// contentReader interprets the content streams of one page (and the form
// XObjects they paint) and collects their text runs.
type contentReader struct {
	doc    *pdfDoc
	runs   []textRun
	res    pdf.Value
	scope  string // path of form names from the page, "" for the page itself
	fonts  map[string]*pdfFont
	gs     gstate
	stack  []gstate
	skipQ  int // q operators beyond maxGStateDepth, matched by Q
	tm     matrix
	tlm    matrix
	depth  int
	calls  int
	tokens int
	buf    strings.Builder

	// Per page, by scope: a form painted many times is read and its
	// fonts loaded once.
	scopeFonts map[string]map[string]*pdfFont
	forms      map[string][]byte
}

// newContentReader returns a reader for a page with resources res.
func newContentReader(d *pdfDoc, res pdf.Value) *contentReader {
	fonts := map[string]*pdfFont{}
	return &contentReader{
		doc:        d,
		res:        res,
		fonts:      fonts,
		gs:         gstate{ctm: identity, th: 1},
		tm:         identity,
		tlm:        identity,
		scopeFonts: map[string]map[string]*pdfFont{"": fonts},
		forms:      map[string][]byte{},
	}
}

// run interprets one content stream.
func (c *contentReader) run(data []byte) error {
	if c.doc.interpreted += len(data); c.doc.interpreted > maxInterpreted {
		return errLimit{fmt.Errorf("extract: pdf: its content exceeds %d MiB: %w", maxInterpreted>>20, ErrTooLarge)}
	}
	lx := lexer{data: data}
	ops := make([]operand, 0, 16)
	for {
		c.tokens++
		if c.tokens&(1<<16-1) == 0 {
			if err := c.doc.ctx.Err(); err != nil {
				return fmt.Errorf("extract: pdf: %w", err)
			}
		}
		t := lx.next()
		var op operand
		switch t.kind {
		case tokEOF:
			return nil
		case tokNumber:
			op = operand{kind: tokNumber, num: t.num}
		case tokString, tokHex:
			op = operand{kind: tokString, str: stringBytes(t)}
		case tokName:
			op = operand{kind: tokName, str: t.raw}
		case tokArrayOpen:
			op = operand{kind: tokArrayOpen, arr: readArray(&lx)}
		case tokDictOpen:
			skipNested(&lx, 1)
			op = operand{kind: tokDictOpen}
		case tokArrayClose, tokDictClose:
			continue
		case tokKeyword:
			switch string(t.raw) {
			case "true", "false", "null":
				op = operand{kind: tokKeyword}
			case "BI":
				skipInlineImage(&lx)
				ops = ops[:0]
				continue
			default:
				if err := c.exec(string(t.raw), ops); err != nil {
					return err
				}
				ops = ops[:0]
				continue
			}
		}
		if len(ops) == maxOperands {
			// No operator takes this many; keep the latest.
			copy(ops, ops[maxOperands/2:])
			ops = ops[:maxOperands-maxOperands/2]
		}
		ops = append(ops, op)
	}
}

// readArray reads array elements up to the matching ']'. Nested arrays
// and dictionaries are skipped (TJ arrays hold only strings and numbers).
func readArray(lx *lexer) []operand {
	var arr []operand
	for {
		t := lx.next()
		switch t.kind {
		case tokEOF, tokArrayClose:
			return arr
		case tokArrayOpen, tokDictOpen:
			skipNested(lx, 1)
			continue
		}
		if len(arr) >= maxArrayElems {
			continue
		}
		switch t.kind {
		case tokNumber:
			arr = append(arr, operand{kind: tokNumber, num: t.num})
		case tokString, tokHex:
			arr = append(arr, operand{kind: tokString, str: stringBytes(t)})
		}
	}
}

// skipNested skips tokens until depth levels of arrays and dictionaries
// are closed (or the input ends).
func skipNested(lx *lexer, depth int) {
	for depth > 0 {
		switch lx.next().kind {
		case tokEOF:
			return
		case tokArrayOpen, tokDictOpen:
			depth++
		case tokArrayClose, tokDictClose:
			depth--
		}
	}
}

// skipInlineImage skips an inline image's dictionary and data: up to "ID",
// then to an "EI" that stands alone between white space.
func skipInlineImage(lx *lexer) {
	for {
		t := lx.next()
		if t.kind == tokEOF {
			return
		}
		if t.is("ID") {
			break
		}
	}
	d := lx.data
	p := lx.pos + 1
	for p < len(d) {
		i := bytes.Index(d[p:], []byte("EI"))
		if i < 0 {
			break
		}
		at := p + i
		before := at == 0 || isPDFSpace(d[at-1])
		after := at+2 >= len(d) || isPDFSpace(d[at+2]) || isPDFDelim(d[at+2])
		if before && after {
			lx.pos = at + 2
			return
		}
		p = at + 2
	}
	lx.pos = len(d)
}

// num returns operand i as a number (0 if it is not one).
func num(ops []operand, i int) float64 {
	if i < 0 || i >= len(ops) || ops[i].kind != tokNumber {
		return 0
	}
	n := ops[i].num
	if math.IsNaN(n) || math.IsInf(n, 0) {
		return 0
	}
	return n
}

// last returns the last n operands, or nil if there are fewer.
func last(ops []operand, n int) []operand {
	if len(ops) < n {
		return nil
	}
	return ops[len(ops)-n:]
}

// matrixOf reads six numeric operands.
func matrixOf(ops []operand) (matrix, bool) {
	a := last(ops, 6)
	if a == nil {
		return matrix{}, false
	}
	var m matrix
	for i := range m {
		m[i] = num(a, i)
	}
	return m, true
}

// exec runs one operator.
func (c *contentReader) exec(op string, ops []operand) error {
	switch op {
	case "q":
		if len(c.stack) >= maxGStateDepth {
			c.skipQ++
			return nil
		}
		c.stack = append(c.stack, c.gs)
	case "Q":
		if c.skipQ > 0 {
			c.skipQ--
			return nil
		}
		if n := len(c.stack); n > 0 {
			c.gs = c.stack[n-1]
			c.stack = c.stack[:n-1]
		}
	case "cm":
		if m, ok := matrixOf(ops); ok {
			c.gs.ctm = m.mul(c.gs.ctm)
		}
	case "BT":
		c.tm, c.tlm = identity, identity
	case "Tc":
		c.gs.tc = num(last(ops, 1), 0)
	case "Tw":
		c.gs.tw = num(last(ops, 1), 0)
	case "Tz":
		if a := last(ops, 1); a != nil {
			c.gs.th = num(a, 0) / 100
		}
	case "TL":
		c.gs.tl = num(last(ops, 1), 0)
	case "Ts":
		c.gs.rise = num(last(ops, 1), 0)
	case "Tf":
		if a := last(ops, 2); a != nil {
			c.gs.fontSize = num(a, 1)
			if a[0].kind == tokName {
				c.gs.font = c.font(nameString(token{kind: tokName, raw: a[0].str}))
			}
		}
	case "Td":
		if a := last(ops, 2); a != nil {
			c.moveLine(num(a, 0), num(a, 1))
		}
	case "TD":
		if a := last(ops, 2); a != nil {
			c.gs.tl = -num(a, 1)
			c.moveLine(num(a, 0), num(a, 1))
		}
	case "Tm":
		if m, ok := matrixOf(ops); ok {
			c.tm, c.tlm = m, m
		}
	case "T*":
		c.moveLine(0, -c.gs.tl)
	case "Tj":
		if a := last(ops, 1); a != nil && a[0].kind == tokString {
			return c.show(a[0].str)
		}
	case "'":
		c.moveLine(0, -c.gs.tl)
		if a := last(ops, 1); a != nil && a[0].kind == tokString {
			return c.show(a[0].str)
		}
	case "\"":
		if a := last(ops, 3); a != nil {
			c.gs.tw, c.gs.tc = num(a, 0), num(a, 1)
			c.moveLine(0, -c.gs.tl)
			if a[2].kind == tokString {
				return c.show(a[2].str)
			}
		}
	case "TJ":
		if a := last(ops, 1); a != nil && a[0].kind == tokArrayOpen {
			for _, e := range a[0].arr {
				if e.kind == tokString {
					if err := c.show(e.str); err != nil {
						return err
					}
					continue
				}
				c.tm = matrix{1, 0, 0, 1, -e.num / 1000 * c.gs.fontSize * c.gs.th, 0}.mul(c.tm)
			}
		}
	case "Do":
		if a := last(ops, 1); a != nil && a[0].kind == tokName {
			return c.form(nameString(token{kind: tokName, raw: a[0].str}))
		}
	}
	return nil
}

// moveLine starts a new line offset by (tx, ty) from the current one.
func (c *contentReader) moveLine(tx, ty float64) {
	c.tlm = matrix{1, 0, 0, 1, tx, ty}.mul(c.tlm)
	c.tm = c.tlm
}

// font returns the font resource called name, loading it once per
// resource dictionary.
func (c *contentReader) font(name string) *pdfFont {
	if f, ok := c.fonts[name]; ok {
		return f
	}
	f := c.doc.loadFontSafe(c.res.Key("Font").Key(name))
	c.fonts[name] = f
	return f
}

// show places one string and advances the text matrix past it.
func (c *contentReader) show(raw []byte) error {
	f := c.gs.font
	if f == nil {
		f = c.doc.fallbackFont
	}
	c.buf.Reset()
	w, codes, spaces := f.decode(raw, &c.buf)
	g := &c.gs
	scale := matrix{g.fontSize * g.th, 0, 0, g.fontSize, 0, g.rise}
	start := scale.mul(c.tm).mul(g.ctm)
	tx := (w*g.fontSize + float64(codes)*g.tc + float64(spaces)*g.tw) * g.th
	c.tm = matrix{1, 0, 0, 1, tx, 0}.mul(c.tm)
	text := c.buf.String()
	if text == "" {
		return nil
	}
	end := scale.mul(c.tm).mul(g.ctm)
	// Measure along the text's own baseline, so rotated pages read as lines.
	m := c.tm.mul(g.ctm)
	dx, dy := m[0], m[1]
	if l := math.Hypot(dx, dy); l > 0 {
		dx, dy = dx/l, dy/l
	} else {
		dx, dy = 1, 0
	}
	size := math.Abs(g.fontSize) * math.Hypot(m[2], m[3])
	if !(size > 0) || math.IsInf(size, 0) {
		size = 1
	}
	run := textRun{
		text: text,
		x0:   start[4]*dx + start[5]*dy,
		x1:   end[4]*dx + end[5]*dy,
		y:    -start[4]*dy + start[5]*dx,
		size: size,
		bold: f.bold,
	}
	if !finite(run.x0) || !finite(run.x1) || !finite(run.y) {
		run.x0, run.x1, run.y = 0, 0, 0
	}
	c.doc.textBytes += len(text)
	if c.doc.textBytes > MaxTextBytes {
		return fmt.Errorf("extract: pdf: the text exceeds %d MiB: %w", MaxTextBytes>>20, ErrTooLarge)
	}
	c.runs = append(c.runs, run)
	return nil
}

// finite reports whether x is neither NaN nor infinite.
func finite(x float64) bool {
	return !math.IsNaN(x) && !math.IsInf(x, 0)
}

// form paints the form XObject called name: its content runs with its own
// resources (or the caller's) and its matrix.
func (c *contentReader) form(name string) error {
	if c.depth >= maxFormDepth || c.calls >= maxFormCalls {
		return nil
	}
	xo := c.res.Key("XObject").Key(name)
	if xo.Kind() != pdf.Stream || xo.Key("Subtype").Name() != "Form" {
		return nil
	}
	c.calls++
	scope := c.scope + "/" + name
	data, ok := c.forms[scope]
	if !ok {
		var err error
		data, err = c.doc.readStream(xo)
		if isLimit(err) {
			return err
		}
		c.forms[scope] = data
	}
	if len(data) == 0 {
		return nil
	}
	type saved struct {
		res   pdf.Value
		scope string
		fonts map[string]*pdfFont
		gs    gstate
		stack []gstate
		skipQ int
		tm    matrix
		tlm   matrix
	}
	s := saved{c.res, c.scope, c.fonts, c.gs, c.stack, c.skipQ, c.tm, c.tlm}
	c.stack, c.skipQ, c.scope = nil, 0, scope
	if m := xo.Key("Matrix"); m.Len() == 6 {
		var fm matrix
		for i := range fm {
			fm[i] = m.Index(i).Float64()
		}
		c.gs.ctm = fm.mul(c.gs.ctm)
	}
	if r := xo.Key("Resources"); r.Kind() == pdf.Dict {
		c.res = r
		if c.scopeFonts[scope] == nil {
			c.scopeFonts[scope] = map[string]*pdfFont{}
		}
		c.fonts = c.scopeFonts[scope]
	}
	c.depth++
	err := c.run(data)
	c.depth--
	c.res, c.scope, c.fonts, c.gs, c.stack, c.skipQ, c.tm, c.tlm = s.res, s.scope, s.fonts, s.gs, s.stack, s.skipQ, s.tm, s.tlm
	return err
}
