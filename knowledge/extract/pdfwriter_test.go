package extract

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// pdfWriter assembles a PDF from object bodies with a correct
// cross-reference table, for tests and for the fixtures in testdata.
type pdfWriter struct {
	objs []string
}

// add appends an object body and returns its number.
func (w *pdfWriter) add(body string) int {
	w.objs = append(w.objs, body)
	return len(w.objs)
}

// reserve adds a placeholder to be filled with set.
func (w *pdfWriter) reserve() int { return w.add("null") }

// set replaces the body of object n.
func (w *pdfWriter) set(n int, body string) { w.objs[n-1] = body }

// stream adds a stream object, Flate-compressed when compress is set.
func (w *pdfWriter) stream(dict string, data []byte, compress bool) int {
	return w.add(streamBody(dict, data, compress))
}

// streamBody returns the body of a stream object.
func streamBody(dict string, data []byte, compress bool) string {
	if compress {
		var b bytes.Buffer
		z := zlib.NewWriter(&b)
		z.Write(data)
		z.Close()
		data = b.Bytes()
		dict += " /Filter /FlateDecode"
	}
	return fmt.Sprintf("<< %s /Length %d >>\nstream\n%s\nendstream", dict, len(data), data)
}

// bytes returns the file with the given trailer entries (e.g. "/Root 1 0 R").
func (w *pdfWriter) bytes(trailer string) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(w.objs))
	for i, body := range w.objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, body)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(w.objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d %s >>\nstartxref\n%d\n%%%%EOF\n", len(w.objs)+1, trailer, xref)
	return b.Bytes()
}

// testPage is one page of a test PDF: a content stream and its fonts.
type testPage struct {
	content string
	// fonts maps resource names to font dictionaries; nil gives /F1 as
	// Helvetica and /F2 as Helvetica-Bold (WinAnsi, no widths).
	fonts map[string]string
}

// helvetica are the default fonts of a testPage.
var helvetica = map[string]string{
	"F1": "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
	"F2": "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
}

// buildPDF writes a PDF of the given pages, with an Info Title when title
// is not empty. Font dictionaries may refer to streams added by extra,
// which runs first and returns text to substitute for "{{name}}" markers.
func buildPDF(title string, pages []testPage, extra func(w *pdfWriter) map[string]string) []byte {
	w := &pdfWriter{}
	subst := map[string]string{}
	if extra != nil {
		subst = extra(w)
	}
	catalog := w.reserve()
	tree := w.reserve()
	var kids []string
	for _, p := range pages {
		fonts := p.fonts
		if fonts == nil {
			fonts = helvetica
		}
		var res strings.Builder
		res.WriteString("<< /Font <<")
		for _, name := range slices.Sorted(maps.Keys(fonts)) {
			dict := fonts[name]
			for k, v := range subst {
				dict = strings.ReplaceAll(dict, "{{"+k+"}}", v)
			}
			fmt.Fprintf(&res, " /%s %d 0 R", name, w.add(dict))
		}
		res.WriteString(" >> >>")
		content := w.stream("", []byte(p.content), true)
		page := w.add(fmt.Sprintf("<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Resources %s /Contents %d 0 R >>", tree, res.String(), content))
		kids = append(kids, fmt.Sprintf("%d 0 R", page))
	}
	w.set(tree, fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), len(kids)))
	w.set(catalog, fmt.Sprintf("<< /Type /Catalog /Pages %d 0 R >>", tree))
	trailer := fmt.Sprintf("/Root %d 0 R", catalog)
	if title != "" {
		trailer += fmt.Sprintf(" /Info %d 0 R", w.add(fmt.Sprintf("<< /Title (%s) /Producer (Timbre tests) >>", title)))
	}
	return w.bytes(trailer)
}

// textLines returns a content stream that shows each line with font and
// size at x, starting at y and going down by leading.
func textLines(font string, size, x, y, leading float64, lines ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "BT /%s %g Tf %g TL %g %g Td\n", font, size, leading, x, y)
	for i, l := range lines {
		if i > 0 {
			b.WriteString("T*\n")
		}
		fmt.Fprintf(&b, "(%s) Tj\n", pdfEscape(l))
	}
	b.WriteString("ET\n")
	return b.String()
}

// pdfEscape escapes a literal string's delimiters.
func pdfEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `(`, `\(`, `)`, `\)`).Replace(s)
}
