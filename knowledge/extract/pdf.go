package extract

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/ledongthuc/pdf"
	xunicode "golang.org/x/text/encoding/unicode"
)

// Limits on a whole PDF.
const (
	maxDocDecoded   = 1 << 30 // bytes of streams decoded for text
	maxInterpreted  = 1 << 30 // bytes of content interpreted (forms count each time)
	maxPageTreeSize = 1 << 18 // nodes visited in the page tree
	maxPageTreeDeep = 64
)

// pdfDoc is one PDF being extracted.
type pdfDoc struct {
	ctx          context.Context
	r            *pdf.Reader
	decoded      int
	interpreted  int
	textBytes    int
	fallbackFont *pdfFont
}

// pageRef is a page dictionary and the resources it inherits.
type pageRef struct {
	v   pdf.Value
	res pdf.Value
}

// errLibrary wraps a panic raised inside the PDF library.
type errLibrary struct{ v any }

// Error returns the panic value as text.
func (e errLibrary) Error() string { return fmt.Sprint(e.v) }

// catch turns a panic raised inside the PDF library into *err; a panic
// from anywhere else is a bug and goes on up.
func catch(err *error) {
	r := recover()
	if r == nil {
		return
	}
	if !panicInLibrary() {
		panic(r)
	}
	*err = errLibrary{r}
}

// extractPDF reads the text of every page, with the Info dictionary's
// Title. Pages are separated by a blank line and PageStarts records where
// each begins.
//
// Layout: shown strings are taken in content-stream order (which is
// reading order for what office suites and TeX write; not for every
// multi-column layout). A string joins the current line when its baseline
// is within 0.45 of the font size, with a space where the gap exceeds 0.15
// of it and " | " where it exceeds 2 (table cells; such lines are rows and
// stand alone). Lines join into a paragraph with a space (a word hyphenated
// at a line end is rejoined) until the baseline moves up, the gap exceeds
// the document's usual line spacing by about a third, the font size or
// weight changes, a bullet or number starts a line, or a line that ends a
// sentence is short or followed by an indented one. Bulleted lines become
// "- " items. Short blocks set 18% or more above the body size are
// headings, a level per size; single bold lines at body size are one level
// below.
// Lines repeated at the top or bottom of most pages (running heads, page
// numbers) are dropped. Text in form XObjects is read; annotations, form
// fields and images (no OCR) are not.
func extractPDF(ctx context.Context, data []byte) (Result, error) {
	data = data[max(pdfHeaderOffset(data), 0):]
	scan, err := scanPDF(ctx, data)
	if err != nil {
		return Result{}, err
	}
	r, err := openPDF(data, scan)
	if err != nil {
		return Result{}, err
	}
	d := &pdfDoc{ctx: ctx, r: r, fallbackFont: defaultFont()}
	pages, err := d.pages()
	var lib errLibrary
	if errors.As(err, &lib) {
		return Result{}, fmt.Errorf("extract: pdf: the file structure is damaged (%v): %w", lib, ErrCorrupt)
	}
	if err != nil {
		return Result{}, err
	}
	if len(pages) == 0 {
		return Result{}, fmt.Errorf("extract: pdf: the document has no pages: %w", ErrEmpty)
	}
	lines := make([][]pdfLine, len(pages))
	var firstErr error
	failed := 0
	for i, p := range pages {
		if err := ctx.Err(); err != nil {
			return Result{}, fmt.Errorf("extract: pdf: %w", err)
		}
		runs, err := d.pageRuns(p)
		if err != nil {
			if isLimit(err) {
				return Result{}, err
			}
			// A damaged page costs its own text, not the document's.
			failed++
			if firstErr == nil {
				firstErr = fmt.Errorf("page %d: %w", i+1, err)
			}
		}
		lines[i] = buildLines(runs)
	}
	dropRepeated(lines)
	st := measure(lines)
	blocks := make([][]pdfBlock, len(lines))
	for i := range lines {
		blocks[i] = buildBlocks(lines[i], st)
	}
	assignHeadings(blocks, st)
	var text strings.Builder
	starts := make([]int, len(pages))
	runes, pending := 0, 0
	for i := range blocks {
		page := renderPage(blocks[i])
		if page == "" {
			continue
		}
		if text.Len() > 0 {
			text.WriteString("\n\n")
			runes += 2
		}
		for ; pending <= i; pending++ {
			starts[pending] = runes
		}
		text.WriteString(page)
		runes += utf8.RuneCountInString(page)
	}
	for ; pending < len(pages); pending++ {
		starts[pending] = runes
	}
	if text.Len() == 0 {
		switch {
		case failed > 0:
			return Result{}, fmt.Errorf("extract: pdf: no page could be read (%v): %w", firstErr, ErrCorrupt)
		}
		return Result{}, fmt.Errorf("extract: pdf: the PDF has no extractable text (scanned pages need OCR, which is not supported): %w", ErrEmpty)
	}
	return Result{Title: d.title(), Text: text.String(), PageStarts: starts}, nil
}

// openPDF opens data with the library, mapping its failures to the
// package's errors.
func openPDF(data []byte, scan pdfScan) (r *pdf.Reader, err error) {
	if !bytes.Contains(data[max(len(data)-4096, 0):], []byte("%%EOF")) {
		return nil, fmt.Errorf("extract: pdf: the file is truncated (no end-of-file marker): %w", ErrCorrupt)
	}
	ra, size := pdfReaderAt(data)
	func() {
		defer catch(&err)
		r, err = pdf.NewReader(ra, size)
	}()
	if err == nil {
		return r, nil
	}
	msg := err.Error()
	var lib errLibrary
	switch {
	case errors.Is(err, pdf.ErrInvalidPassword):
		return nil, fmt.Errorf("extract: pdf: the PDF is password-protected; remove the password and upload it again: %w", ErrEncrypted)
	case scan.encrypted && containsAny(msg, "256-bit", "V=5", "R=5", "R=6"):
		return nil, fmt.Errorf("extract: pdf: the PDF is encrypted with AES-256, which is not supported; remove the protection and upload it again: %w", ErrEncrypted)
	case scan.encrypted && containsAny(msg, "encrypt", "ID in trailer", "O= or U=", "RC4"):
		return nil, fmt.Errorf("extract: pdf: the PDF is encrypted in a way that is not supported (%s); remove the protection and upload it again: %w", msg, ErrEncrypted)
	case strings.Contains(msg, "%%EOF"), strings.Contains(msg, "startxref"):
		return nil, fmt.Errorf("extract: pdf: the file is truncated or damaged (no end-of-file marker): %w", ErrCorrupt)
	case strings.Contains(msg, "invalid header"):
		return nil, fmt.Errorf("extract: pdf: the file is not a PDF (invalid header): %w", ErrCorrupt)
	case errors.As(err, &lib):
		return nil, fmt.Errorf("extract: pdf: the file structure is damaged (%s): %w", msg, ErrCorrupt)
	}
	return nil, fmt.Errorf("extract: pdf: the cross-reference table is damaged (%s): %w", msg, ErrCorrupt)
}

// containsAny reports whether s contains any of subs.
func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// pdfReaderAt presents data the way the library insists on: "%PDF-1.x"
// followed by a line break (a 2.0 header, or one followed by a comment on
// the same line, is rewritten as 1.7), and "%%EOF" in the last bytes
// (trailing junk after the last "%%EOF" is cut).
func pdfReaderAt(data []byte) (io.ReaderAt, int64) {
	size := len(data)
	tail := data[max(size-4096, 0):]
	trimmed := bytes.TrimRight(tail, "\r\n\t ")
	if !bytes.HasSuffix(trimmed, []byte("%%EOF")) {
		if i := bytes.LastIndex(tail, []byte("%%EOF")); i >= 0 {
			size = len(data) - len(tail) + i + len("%%EOF")
		}
	}
	h := data[:min(9, size)]
	if len(h) == 9 && bytes.HasPrefix(h, []byte("%PDF-1.")) && h[7] >= '0' && h[7] <= '7' && (h[8] == '\r' || h[8] == '\n') {
		return bytes.NewReader(data[:size]), int64(size)
	}
	return &patchedHeader{data: data[:size]}, int64(size)
}

// patchedHeader reads data with its first nine bytes replaced by
// "%PDF-1.7\n" (the rest of the header line is a comment either way).
type patchedHeader struct{ data []byte }

// ReadAt implements io.ReaderAt.
func (p *patchedHeader) ReadAt(b []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("extract: negative offset")
	}
	if off >= int64(len(p.data)) {
		return 0, io.EOF
	}
	n := copy(b, p.data[off:])
	const header = "%PDF-1.7\n"
	for i := int64(0); i < int64(n); i++ {
		if at := off + i; at < int64(len(header)) {
			b[i] = header[at]
		}
	}
	if n < len(b) {
		return n, io.EOF
	}
	return n, nil
}

// pages lists the page dictionaries in order, walking the page tree
// without recursion, with limits on depth and size instead of trusting it
// to be a tree.
func (d *pdfDoc) pages() (pages []pageRef, err error) {
	defer catch(&err)
	root := d.r.Trailer().Key("Root").Key("Pages")
	if root.IsNull() {
		return nil, fmt.Errorf("extract: pdf: the document has no page tree: %w", ErrCorrupt)
	}
	type item struct {
		v     pdf.Value
		res   pdf.Value
		depth int
	}
	stack := []item{{v: root}}
	visited := 0
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if visited++; visited > maxPageTreeSize || it.depth > maxPageTreeDeep {
			return nil, fmt.Errorf("extract: pdf: the page tree is too deep or loops back on itself: %w", ErrCorrupt)
		}
		if visited&1023 == 0 {
			if err := d.ctx.Err(); err != nil {
				return nil, fmt.Errorf("extract: pdf: %w", err)
			}
		}
		res := it.res
		if r := it.v.Key("Resources"); r.Kind() == pdf.Dict {
			res = r
		}
		kids := it.v.Key("Kids")
		typ := it.v.Key("Type").Name()
		switch {
		case typ != "Page" && kids.Kind() == pdf.Array:
			for i := kids.Len() - 1; i >= 0; i-- {
				stack = append(stack, item{v: kids.Index(i), res: res, depth: it.depth + 1})
			}
		case typ == "Page" || !it.v.Key("Contents").IsNull():
			pages = append(pages, pageRef{v: it.v, res: res})
		}
	}
	return pages, nil
}

// pageRuns interprets a page's content streams.
func (d *pdfDoc) pageRuns(p pageRef) (runs []textRun, err error) {
	c := newContentReader(d, p.res)
	defer func() {
		runs = c.runs
	}()
	defer catch(&err)
	contents := p.v.Key("Contents")
	var streams []pdf.Value
	switch contents.Kind() {
	case pdf.Stream:
		streams = append(streams, contents)
	case pdf.Array:
		for i := 0; i < contents.Len() && i < 4096; i++ {
			if s := contents.Index(i); s.Kind() == pdf.Stream {
				streams = append(streams, s)
			}
		}
	}
	// The streams of one page are one program, which may split a text
	// object or even a token across them; join them with a space.
	var program []byte
	var readErr error
	for _, s := range streams {
		data, err := d.readStream(s)
		if isLimit(err) {
			return nil, err
		}
		if err != nil && readErr == nil {
			readErr = err
		}
		program = append(program, data...)
		program = append(program, '\n')
	}
	if err := c.run(program); err != nil {
		return nil, err
	}
	if readErr != nil && len(c.runs) == 0 {
		return nil, readErr
	}
	return nil, nil
}

// loadFontSafe loads a font, falling back to the default one when its
// dictionary is too damaged to read.
func (d *pdfDoc) loadFontSafe(v pdf.Value) (f *pdfFont) {
	var err error
	func() {
		defer catch(&err)
		if v.Kind() == pdf.Dict {
			f = d.loadFont(v)
		}
	}()
	if f == nil || err != nil {
		return d.fallbackFont
	}
	return f
}

// errLimit marks errors that stop the whole document (budgets, context).
type errLimit struct{ error }

// Unwrap returns the error that stops the document.
func (e errLimit) Unwrap() error { return e.error }

// isLimit reports whether err must stop the whole document.
func isLimit(err error) bool {
	var l errLimit
	return errors.As(err, &l) || errors.Is(err, ErrTooLarge) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// readStream returns a stream's decoded data, at most maxStreamDecoded
// bytes of it. It may return data with an error when the stream is cut
// short (a damaged zlib stream still gives what it held).
func (d *pdfDoc) readStream(v pdf.Value) (data []byte, err error) {
	defer catch(&err)
	rc := v.Reader()
	defer rc.Close()
	data, err = io.ReadAll(io.LimitReader(rc, maxStreamDecoded+1))
	if len(data) > maxStreamDecoded {
		data = data[:maxStreamDecoded]
	}
	d.decoded += len(data)
	if d.decoded > maxDocDecoded {
		return nil, errLimit{fmt.Errorf("extract: pdf: its streams expand past %d MiB: %w", maxDocDecoded>>20, ErrTooLarge)}
	}
	return data, err
}

// title returns the Info dictionary's Title, or "".
func (d *pdfDoc) title() (title string) {
	var err error
	defer catch(&err)
	raw := d.r.Trailer().Key("Info").Key("Title")
	s := raw.RawString()
	if strings.HasPrefix(s, "\xff\xfe") {
		if out, err := xunicode.UTF16(xunicode.LittleEndian, xunicode.ExpectBOM).NewDecoder().String(s); err == nil {
			return strings.ToValidUTF8(out, "")
		}
	}
	return strings.ToValidUTF8(raw.Text(), "")
}
