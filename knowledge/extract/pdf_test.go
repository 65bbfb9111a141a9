package extract

import (
	"bytes"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// ghostscriptText is what testdata/ghostscript.ps says, as extracted.
const ghostscriptText = "# 1. Violet lanterns\n\n" +
	"Violet lanterns were hung along the harbour wall every autumn, and the keepers counted them twice a night. " +
	"Their light was said to be an example of patience for the whole town.\n\n" +
	"A second paragraph starts after a gap and mentions copper bells.\n\n" +
	"# 2. Copper bells\n\n" +
	"The copper bells rang at noon; nobody remembers who cast them.\n\n" +
	"Page footer"

// libreOfficeText is what testdata/libreoffice.html says, as extracted
// from the PDF LibreOffice made of it (subset TrueType fonts whose codes
// only ToUnicode maps, a bold heading, a bullet list, a full-width table).
const libreOfficeText = "# Harbour Lantern Guide\n\n" +
	"The harbour café keeps forty violet lanterns. Each one is lit at dusk by the keeper, whose naïve apprentice counts them “twice, for luck”.\n\n" +
	"Visitors greet the keeper with «Привет» or «Γειά σου» — the log counts ≥ 3 languages.\n\n" +
	"## Maintenance\n\n" +
	"- Trim the wicks every Sunday.\n- Polish the copper hoods with a soft cloth.\n\n" +
	"Lantern | Colour\nNorth pier | Violet\nStraße 9 | Amber\n\n" +
	"The second page explains that storms douse the lanterns only once a decade."

// twoPagesText is what twoPagePDF holds, as extracted.
const twoPagesText = "# Timbre Test Document\n\n" + pageOneSentence + "\n\n- First point\n- Second point\n\n" + pageTwoSentence

func TestExtractPDFFixtures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file       string
		hint       Hint
		wantTitle  string
		wantText   string
		wantStarts []int
		wantErr    error
		errHas     string
	}{
		{file: "two-pages.pdf", wantTitle: "Timbre Fixture", wantText: twoPagesText, wantStarts: []int{0, 146}},
		{file: "two-pages.pdf", hint: Hint{Filename: "renamed.txt", ContentType: "text/plain"}, wantTitle: "Timbre Fixture", wantText: twoPagesText, wantStarts: []int{0, 146}},
		{file: "owner-only.pdf", wantTitle: "Timbre Fixture", wantText: twoPagesText, wantStarts: []int{0, 146}},
		{file: "ghostscript.pdf", wantTitle: "Ghostscript Fixture: Lanterns", wantText: ghostscriptText, wantStarts: []int{0, 266}},
		{file: "objstm.pdf", wantTitle: "Ghostscript Fixture: Lanterns", wantText: ghostscriptText, wantStarts: []int{0, 266}},
		{file: "linearized.pdf", wantTitle: "Ghostscript Fixture: Lanterns", wantText: ghostscriptText, wantStarts: []int{0, 266}},
		{file: "cid-font.pdf", wantText: "Hello CID wxyz", wantStarts: []int{0}},
		{file: "libreoffice.pdf", wantTitle: "Harbour Lantern Guide", wantText: libreOfficeText, wantStarts: []int{0, 400}},
		{file: "encrypted.pdf", wantErr: ErrEncrypted, errHas: "password-protected"},
		{file: "encrypted-aes256.pdf", wantErr: ErrEncrypted, errHas: "AES-256"},
		{file: "truncated.pdf", wantErr: ErrCorrupt, errHas: "truncated"},
		{file: "empty-page.pdf", wantErr: ErrEmpty, errHas: "no extractable text"},
	}
	for _, tt := range tests {
		t.Run(tt.file+tt.hint.Filename, func(t *testing.T) {
			t.Parallel()
			res, err := Extract(context.Background(), readFixture(t, tt.file), tt.hint)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !strings.Contains(fmt.Sprint(err), tt.errHas) {
					t.Fatalf("Extract() error = %v, want %v saying %q", err, tt.wantErr, tt.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := Result{Title: tt.wantTitle, Text: tt.wantText, MediaType: MediaPDF, PageStarts: tt.wantStarts}
			if diff := cmp.Diff(want, res); diff != "" {
				t.Errorf("Extract() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPDFPageStarts checks page offsets against the known sentences.
func TestPDFPageStarts(t *testing.T) {
	t.Parallel()
	res, err := Extract(context.Background(), readFixture(t, "two-pages.pdf"), Hint{})
	if err != nil {
		t.Fatal(err)
	}
	runes := []rune(res.Text)
	if len(res.PageStarts) != 2 {
		t.Fatalf("PageStarts = %v, want 2 pages", res.PageStarts)
	}
	page1 := string(runes[res.PageStarts[0]:res.PageStarts[1]])
	page2 := string(runes[res.PageStarts[1]:])
	if !strings.Contains(page1, pageOneSentence) || strings.Contains(page1, pageTwoSentence) {
		t.Errorf("page 1 = %q", page1)
	}
	if !strings.HasPrefix(page2, pageTwoSentence) {
		t.Errorf("page 2 = %q", page2)
	}
}

// pdfOf builds a one-font PDF whose pages have the given content streams.
func pdfOf(contents ...string) []byte {
	pages := make([]testPage, len(contents))
	for i, c := range contents {
		pages[i] = testPage{content: c}
	}
	return buildPDF("", pages, nil)
}

func TestExtractPDFLayout(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		pdf        []byte
		wantText   string
		wantStarts []int
	}{
		{
			name:     "TJ kerning is not a space, a wide gap is",
			pdf:      pdfOf("BT /F1 12 Tf 72 700 Td [(W) 80 (orld) -400 (wide) -20 (ning)] TJ ET"),
			wantText: "World widening",
		},
		{
			name:     "words placed apart on one baseline",
			pdf:      pdfOf("BT /F1 12 Tf 1 0 0 1 72 700 Tm (Hello) Tj 1 0 0 1 110 700 Tm (there) Tj ET"),
			wantText: "Hello there",
		},
		{
			name:     "letters shown one by one",
			pdf:      pdfOf("BT /F1 12 Tf 72 700 Td (w) Tj (o) Tj (r) Tj (d) Tj ET"),
			wantText: "word",
		},
		{
			name:     "superscript stays on its line",
			pdf:      pdfOf("BT /F1 12 Tf 72 700 Td (x) Tj 7 Tf 4 Ts (2) Tj 12 Tf 0 Ts ( is big) Tj ET"),
			wantText: "x2 is big",
		},
		{
			name: "lines join into a paragraph, a gap starts another",
			pdf: pdfOf(textLines("F1", 12, 72, 700, 14, "One paragraph that is", "continued here.") +
				textLines("F1", 12, 72, 650, 14, "Second paragraph.")),
			wantText: "One paragraph that is continued here.\n\nSecond paragraph.",
		},
		{
			name:     "hyphenated word is joined",
			pdf:      pdfOf(textLines("F1", 12, 72, 700, 14, "a word broken by typeset-", "ting rules, and well-", "Known stays.")),
			wantText: "a word broken by typesetting rules, and well- Known stays.",
		},
		{
			name:     "a short line ending a sentence ends the paragraph",
			pdf:      pdfOf(textLines("F1", 12, 72, 700, 14, "This is a long line of text that fills the column width.", "End.", "New paragraph without a gap.")),
			wantText: "This is a long line of text that fills the column width. End.\n\nNew paragraph without a gap.",
		},
		{
			name:     "bullets become list items",
			pdf:      pdfOf("BT /F1 12 Tf 14 TL 72 700 Td (Intro:) Tj T* (\x95 apples) Tj T* (\x95 pears and) Tj 12 -14 Td (more pears) Tj -12 -14 Td (1. numbered) Tj ET"),
			wantText: "Intro:\n\n- apples\n- pears and more pears\n1. numbered",
		},
		{
			name: "larger sizes become heading levels",
			pdf: pdfOf("BT /F1 24 Tf 72 740 Td (Big Title) Tj ET\n" +
				"BT /F1 16 Tf 72 700 Td (Section) Tj ET\n" +
				textLines("F1", 11, 72, 670, 13, "Body text set at the usual size, long enough", "to be the body of the document by far.")),
			wantText: "# Big Title\n\n## Section\n\nBody text set at the usual size, long enough to be the body of the document by far.",
		},
		{
			name:     "rotated page reads as lines",
			pdf:      pdfOf("q 0 1 -1 0 612 0 cm " + textLines("F1", 12, 72, 500, 14, "Landscape text that", "wraps once.") + " Q"),
			wantText: "Landscape text that wraps once.",
		},
		{
			name: "form XObject text",
			pdf: func() []byte {
				w := &pdfWriter{}
				catalog, tree := w.reserve(), w.reserve()
				font := w.add(helvetica["F1"])
				form := w.reserve()
				w.set(form, streamBody(fmt.Sprintf("/Type /XObject /Subtype /Form /BBox [0 0 612 792] /Resources << /Font << /F9 %d 0 R >> /XObject << /Fm1 %d 0 R >> >>", font, form),
					[]byte("BT /F9 12 Tf 72 700 Td (Inside the form) Tj ET 1 0 0 1 0 -50 cm /Fm1 Do"), true))
				content := w.stream("", []byte("BT /F9 12 Tf 72 750 Td (Page text) Tj ET q 1 0 0 1 0 -100 cm /Fm1 Do Q"), true)
				page := w.add(fmt.Sprintf("<< /Type /Page /Parent %d 0 R /Resources << /Font << /F9 %d 0 R >> /XObject << /Fm1 %d 0 R >> >> /Contents %d 0 R >>", tree, font, form, content))
				w.set(tree, fmt.Sprintf("<< /Type /Pages /Kids [%d 0 R] /Count 1 >>", page))
				w.set(catalog, fmt.Sprintf("<< /Type /Catalog /Pages %d 0 R >>", tree))
				return w.bytes(fmt.Sprintf("/Root %d 0 R", catalog))
			}(),
			// The form paints itself: recursion stops at maxFormDepth.
			wantText: "Page text\n\n" + strings.TrimSpace(strings.Repeat("Inside the form\n\n", maxFormDepth)),
		},
		{
			name:     "inline image data is skipped",
			pdf:      pdfOf("BT /F1 12 Tf 72 700 Td (Before) Tj ET BI /W 4 /H 1 /BPC 8 /CS /G ID \x00(Tj) [x EI ET BT /F1 12 Tf 72 680 Td (After) Tj ET"),
			wantText: "Before After",
		},
		{
			name:     "differences encoding",
			pdf:      buildPDF("", []testPage{{content: "BT /F1 12 Tf 72 700 Td (\x01 AB) Tj ET", fonts: map[string]string{"F1": "<< /Type /Font /Subtype /Type1 /BaseFont /Custom /Encoding << /Type /Encoding /Differences [1 /bullet 65 /quotedblleft /quotedblright] >> >>"}}}, nil),
			wantText: "- “”",
		},
		{
			name:       "empty middle page starts where the next text does",
			pdf:        pdfOf(textLines("F1", 12, 72, 700, 14, "First."), "", textLines("F1", 12, 72, 700, 14, "Third.")),
			wantText:   "First.\n\nThird.",
			wantStarts: []int{0, 8, 8},
		},
		{
			name: "running header and page numbers dropped",
			pdf: pdfOf(
				textLines("F1", 9, 72, 760, 12, "ACME Handbook")+textLines("F1", 12, 72, 700, 14, "Alpha text.")+textLines("F1", 9, 300, 40, 12, "1"),
				textLines("F1", 9, 72, 760, 12, "ACME Handbook")+textLines("F1", 12, 72, 700, 14, "Beta text.")+textLines("F1", 9, 300, 40, 12, "2"),
				textLines("F1", 9, 72, 760, 12, "ACME Handbook")+textLines("F1", 12, 72, 700, 14, "Gamma text.")+textLines("F1", 9, 300, 40, 12, "3"),
			),
			wantText:   "Alpha text.\n\nBeta text.\n\nGamma text.",
			wantStarts: []int{0, 13, 25},
		},
		{
			name: "wide gaps separate table cells, not after a bullet",
			pdf: pdfOf("BT /F1 11 Tf 1 0 0 1 72 700 Tm (Name) Tj 1 0 0 1 300 700 Tm (Qty) Tj ET" +
				" BT /F1 11 Tf 1 0 0 1 72 686 Tm (Apple pie) Tj 1 0 0 1 300 686 Tm (3) Tj ET" +
				" BT /F1 11 Tf 1 0 0 1 72 650 Tm (\x95) Tj 1 0 0 1 120 650 Tm (Bullet after a tab stop) Tj ET"),
			wantText: "Name | Qty\nApple pie | 3\n\n- Bullet after a tab stop",
		},
		{
			name:     "fake bold (text drawn twice) is read once",
			pdf:      pdfOf("BT /F1 12 Tf 72 700 Td (Shadow) Tj ET BT /F1 12 Tf 72.3 700 Td (Shadow) Tj ET"),
			wantText: "Shadow",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := Extract(context.Background(), tt.pdf, Hint{Filename: "x.pdf"})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantText, res.Text); diff != "" {
				t.Errorf("Text mismatch (-want +got):\n%s", diff)
			}
			if tt.wantStarts != nil {
				if diff := cmp.Diff(tt.wantStarts, res.PageStarts); diff != "" {
					t.Errorf("PageStarts mismatch (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// rawPDF assembles a file from numbered object bodies with a correct
// xref table and the given extra trailer entries.
func rawPDF(trailer string, objs ...string) []byte {
	w := &pdfWriter{objs: objs}
	return w.bytes(trailer)
}

// flate compresses data with zlib.
func flate(data []byte) []byte {
	var b bytes.Buffer
	z := zlib.NewWriter(&b)
	z.Write(data)
	z.Close()
	return b.Bytes()
}

func TestExtractPDFHostile(t *testing.T) {
	t.Parallel()
	valid := twoPagePDF()
	selfPrev := func() []byte {
		b := rawPDF("/Root 1 0 R", "<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [] /Count 0 >>")
		xref := bytes.LastIndex(b, []byte("\nxref")) + 1
		return rawPDF(fmt.Sprintf("/Root 1 0 R /Prev %d", xref), "<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [] /Count 0 >>")
	}
	objStm := func(dict string, body []byte) []byte {
		return rawPDF("/Root 1 0 R", "<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [] /Count 0 >>",
			fmt.Sprintf("<< /Type /ObjStm %s /Length %d >>\nstream\n%s\nendstream", dict, len(body), body))
	}
	bomb := bytes.Repeat([]byte{' '}, 100<<20)
	tests := []struct {
		name    string
		data    []byte
		wantErr error
		errHas  string
		wantHas string // for cases that succeed: a substring of the text
	}{
		{name: "bare header", data: []byte("%PDF-1.7"), wantErr: ErrCorrupt},
		{name: "header then garbage", data: []byte("%PDF-1.7\n\x00\x01garbage\xff\n%%EOF\n"), wantErr: ErrCorrupt},
		{name: "startxref to nowhere", data: []byte("%PDF-1.4\n1 0 obj << >> endobj\nstartxref\n999999\n%%EOF\n"), wantErr: ErrCorrupt},
		{name: "xref entries garbled", data: bytes.ReplaceAll(valid, []byte(" 00000 n"), []byte(" 00000 x")), wantErr: ErrCorrupt},
		{name: "xref offsets wrong", data: regexp.MustCompile(`\d{10} 00000 n`).ReplaceAll(valid, []byte("0000000100 00000 n")), wantErr: ErrCorrupt, errHas: "structure"},
		{name: "second half zeroed", data: append(append([]byte{}, valid[:len(valid)/2]...), append(make([]byte, len(valid)/2-6), "%%EOF\n"...)...), wantErr: ErrCorrupt},
		{name: "nesting a million deep", data: []byte("%PDF-1.4\n1 0 obj\n" + strings.Repeat("[", 1<<20) + "\nendobj\nstartxref\n9\n%%EOF\n"), wantErr: ErrCorrupt, errHas: "nested"},
		{name: "dictionary nesting", data: []byte("%PDF-1.4\n1 0 obj\n" + strings.Repeat("<</A ", 100000) + "\nendobj\n%%EOF\n"), wantErr: ErrCorrupt, errHas: "nested"},
		{name: "nesting hidden after an unterminated string", data: []byte("%PDF-1.4\n(junk the reader never parses\n1 0 obj\n" + strings.Repeat("[", 1<<20) + "\nendobj\nstartxref\n9\n%%EOF\n"), wantErr: ErrCorrupt, errHas: "nested"},
		{name: "nesting hidden in stream data", data: []byte("%PDF-1.4\n1 0 obj << /Length 9 >> stream\n2 0 obj " + strings.Repeat("<<", 1<<19) + "\nendstream\nendobj\nstartxref\n9\n%%EOF\n"), wantErr: ErrCorrupt, errHas: "nested"},
		{name: "objects overlapping without end", data: []byte("%PDF-1.4\n" + strings.Repeat("1 0 obj (", 100000) + "\n%%EOF\n"), wantErr: ErrCorrupt, errHas: "overlap"},
		{name: "object stream whose length cuts an array", data: rawPDF("/Root 1 0 R", "<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [] /Count 0 >>",
			"<< /Type /ObjStm /N 1 /First 4 /Length 8 >>\nstream\n3 0 [1 2 3 4]\nendstream"), wantErr: ErrCorrupt, errHas: "array"},
		{name: "object stream with an absurd length", data: rawPDF("/Root 1 0 R", "<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [] /Count 0 >>",
			"<< /Type /ObjStm /N 1 /First 4 /Length 9223372036854775807 >>\nstream\n3 0 [1]\nendstream"), wantErr: ErrEmpty},
		{name: "xref Prev loop", data: selfPrev(), wantErr: ErrCorrupt, errHas: "loop"},
		{name: "huge trailer Size", data: regexp.MustCompile(`/Size \d+`).ReplaceAll(valid, []byte("/Size 900000000")), wantErr: ErrCorrupt, errHas: "objects"},
		{name: "xref subsection overflowing int64", data: regexp.MustCompile(`xref\n0 `).ReplaceAll(valid, []byte("xref\n9223372036854775807 ")), wantErr: ErrCorrupt, errHas: "cross-reference"},
		{name: "huge xref subsection", data: regexp.MustCompile(`xref\n0 `).ReplaceAll(valid, []byte("xref\n900000000 ")), wantErr: ErrCorrupt, errHas: "cross-reference"},
		{name: "object stream ending inside an array", data: objStm("/N 1 /First 4 /Filter /FlateDecode", flate([]byte("3 0 [1 2 [3"))), wantErr: ErrCorrupt, errHas: "array"},
		{name: "object stream ending inside a hex string", data: objStm("/N 1 /First 4", []byte("3 0 <414")), wantErr: ErrCorrupt, errHas: "string"},
		{name: "object stream with Extends", data: objStm("/N 1 /First 4 /Extends 3 0 R", []byte("3 0 1")), wantErr: ErrCorrupt, errHas: "extend"},
		{name: "object stream with huge N", data: objStm("/N 999999999 /First 4", []byte("3 0 1")), wantErr: ErrCorrupt},
		{name: "xref stream with wide fields", data: rawPDF("/Root 1 0 R", "<< /Type /Catalog >>", "<< /Type /XRef /Size 3 /W [1 99999999 1] /Length 0 >>\nstream\n\nendstream"), wantErr: ErrCorrupt, errHas: "widths"},
		{name: "object streams inside each other", data: rawPDF("/Root 1 0 R", "<< /Type /Catalog >>",
			"<< /Type /XRef /Size 4 /W [1 1 1] /Length 12 >>\nstream\n\x00\x00\x00\x01\x09\x00\x02\x03\x00\x02\x02\x00\nendstream"),
			wantErr: ErrCorrupt, errHas: "inside another object stream"},
		{name: "page tree loop", data: rawPDF("/Root 1 0 R", "<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [2 0 R 2 0 R] /Count 2 >>"), wantErr: ErrCorrupt, errHas: "page tree"},
		{name: "no page tree", data: rawPDF("/Root 1 0 R", "<< /Type /Catalog >>"), wantErr: ErrCorrupt, errHas: "no page tree"},
		{name: "no pages", data: rawPDF("/Root 1 0 R", "<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [] /Count 0 >>"), wantErr: ErrEmpty},
		{name: "content ends inside an array and a hex string", data: pdfOf("BT /F1 12 Tf 72 700 Td (Visible) Tj [ (a) <4142"), wantHas: "Visible"},
		{name: "content with stray delimiters", data: pdfOf("BT /F1 12 Tf ) > } { 72 700 Td (Still) Tj ] >> ET"), wantHas: "Still"},
		{name: "unknown filter on content", data: rawPDF("/Root 1 0 R", "<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
			"<< /Type /Page /Parent 2 0 R /Contents 4 0 R >>", "<< /Filter /JBIG9Decode /Length 3 >>\nstream\nabc\nendstream"), wantErr: ErrCorrupt, errHas: "page 1"},
		{name: "decompression bomb", data: pdfOf(string(bomb)), wantErr: ErrEmpty},
		{name: "hostile ToUnicode counts", data: buildPDF("", []testPage{{content: "BT /F1 12 Tf 72 700 Td (Hi) Tj ET",
			fonts: map[string]string{"F1": "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /ToUnicode {{cmap}} >>"}}},
			func(w *pdfWriter) map[string]string {
				n := w.stream("", []byte("1000000000 beginbfchar endbfchar 1 begincodespacerange <00> endcodespacerange [<41"), true)
				return map[string]string{"cmap": fmt.Sprintf("%d 0 R", n)}
			}), wantHas: "Hi"},
		{name: "pdf 2.0 header", data: bytes.Replace(valid, []byte("%PDF-1.4"), []byte("%PDF-2.0"), 1), wantHas: pageTwoSentence},
		{name: "junk after EOF", data: append(append([]byte{}, valid...), bytes.Repeat([]byte("junk\x00"), 100)...), wantHas: pageTwoSentence},
		{name: "NUL padding after EOF", data: append(append([]byte{}, valid...), make([]byte, 300)...), wantHas: pageTwoSentence},
		{name: "junk before header", data: append([]byte("MIME junk\r\n"), valid...), wantHas: pageTwoSentence},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			res, err := Extract(ctx, tt.data, Hint{Filename: "hostile.pdf"})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !strings.Contains(fmt.Sprint(err), tt.errHas) {
					t.Fatalf("Extract() = %v, want %v saying %q", err, tt.wantErr, tt.errHas)
				}
				if strings.Contains(err.Error(), "internal error") {
					t.Errorf("a bug, not the input, failed: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(res.Text, tt.wantHas) {
				t.Errorf("Text = %q, want it to contain %q", res.Text, tt.wantHas)
			}
		})
	}
}

func TestExtractCanceled(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"two-pages.pdf", "ghostscript.pdf"} {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := Extract(ctx, readFixture(t, name), Hint{}); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: Extract(canceled) error = %v, want context.Canceled", name, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Extract(ctx, []byte("<p>x</p>"), Hint{}); !errors.Is(err, context.Canceled) {
		t.Errorf("html: Extract(canceled) error = %v, want context.Canceled", err)
	}
}

// TestCatch checks that only panics raised inside the PDF library become
// errors; a panic from this package is a bug and must stay one.
func TestCatch(t *testing.T) {
	t.Parallel()
	defer func() {
		if r := recover(); r != "bug" {
			t.Errorf("recovered %v, want the package's own panic to go on up", r)
		}
	}()
	var err error
	func() {
		defer catch(&err)
		panic("bug")
	}()
	t.Errorf("catch swallowed a panic of this package (err = %v)", err)
}
