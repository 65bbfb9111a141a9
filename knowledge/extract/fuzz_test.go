package extract

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzExtract checks that any input gives either a result in the text
// format or an error that wraps a sentinel, and never a panic, a hang or
// an internal error.
func FuzzExtract(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*"))
	for _, name := range files {
		if data, err := os.ReadFile(name); err == nil && !strings.HasSuffix(name, ".md") {
			f.Add(data, filepath.Base(name), "")
		}
	}
	seeds := []struct{ data, name, ct string }{
		{"Plain  text\r\nwith CRLF\x00 and NUL", "a.txt", "text/plain"},
		{"caf\xe9 \x93quoted\x94", "latin.txt", ""},
		{"\xff\xfeh\x00i\x00", "utf16.txt", ""},
		{"---\ntitle: T\n---\n# H\n\n```\ncode\n", "a.md", ""},
		{"Title\n=====\n\ntext\n", "", "text/markdown"},
		{"<!DOCTYPE html><title>T</title><main><h1>A</h1><p>b<br>c</p><pre>x  y</pre></main>", "a.html", ""},
		{"<table><tr><td>a<td>b<tr><td>c</table><ul><li>x<ol><li>y</ol></ul>", "", "text/html"},
		{strings.Repeat("<div>", 600) + "deep", "deep.html", ""},
		{"<meta charset=shift_jis><p>\x93\xfa\x96\x7b</p>", "sjis.html", ""},
		{"%PDF-1.7", "x.pdf", ""},
		{"%PDF-1.4\n1 0 obj [[[[ endobj\nxref\n0 1\n0000000000 65535 f \ntrailer << /Size 1 /Root 1 0 R >>\nstartxref\n9\n%%EOF\n", "x.pdf", ""},
		{"\x89PNG\r\n\x1a\n", "x.txt", "text/plain"},
	}
	for _, s := range seeds {
		f.Add([]byte(s.data), s.name, s.ct)
	}
	f.Add(pdfOf("BT /F1 12 Tf 72 700 Td [(a) -300 (b)] TJ T* (c) ' ET BI /W 1 ID x EI q 2 0 0 2 0 0 cm /X Do Q"), "p.pdf", "")
	f.Add(cidFontPDF(), "cid.pdf", "")
	f.Fuzz(func(t *testing.T, data []byte, name, ct string) {
		hint := Hint{Filename: name, ContentType: ct}
		res, err := Extract(context.Background(), data, hint)
		if err != nil {
			if !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrEmpty) && !errors.Is(err, ErrEncrypted) &&
				!errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			if strings.Contains(err.Error(), "internal error") {
				t.Fatalf("bug: %v", err)
			}
			return
		}
		mt, derr := Detect(data, hint)
		if derr != nil || mt != res.MediaType {
			t.Fatalf("MediaType = %q but Detect = %q, %v", res.MediaType, mt, derr)
		}
		if strings.TrimSpace(res.Text) == "" || !utf8.ValidString(res.Text) {
			t.Fatalf("bad text %q", res.Text)
		}
		if normalize(res.Text) != res.Text {
			t.Fatalf("text is not normalized: %q", res.Text)
		}
		if !utf8.ValidString(res.Title) || strings.ContainsAny(res.Title, "\n\r") {
			t.Fatalf("bad title %q", res.Title)
		}
		if res.MediaType != MediaPDF {
			if res.PageStarts != nil {
				t.Fatalf("PageStarts %v for %s", res.PageStarts, res.MediaType)
			}
			return
		}
		n := utf8.RuneCountInString(res.Text)
		for i, s := range res.PageStarts {
			if s < 0 || s > n || (i > 0 && s < res.PageStarts[i-1]) || (i == 0 && s != 0) {
				t.Fatalf("PageStarts %v for %d runes", res.PageStarts, n)
			}
		}
	})
}

// FuzzPDFContent fuzzes what FuzzExtract rarely reaches through a valid
// file structure: the content-stream interpreter, the ToUnicode CMap
// parser and the layout, with a page drawn in a simple font and a Type0 one.
func FuzzPDFContent(f *testing.F) {
	f.Add([]byte("BT /F1 12 Tf 72 700 Td (Hello) Tj T* [(W) 120 (orld) -300 (x)] TJ ET"), []byte("1 begincodespacerange <0000> <FFFF> endcodespacerange 1 beginbfchar <0001> <0041> endbfchar"))
	f.Add([]byte("BT /C1 10 Tf 2 0 0 2 10 10 Tm <00010002> Tj 0 -14 Td <0003> Tj ET"), []byte("1 beginbfrange <0001> <0003> [<0041> <D83DDE00> <>] endbfrange"))
	f.Add([]byte("q 0 1 -1 0 500 0 cm BT /F1 9 Tf 14 TL (\\225 item) ' (next) \" ET Q BI /W 2 ID \x00\x01 EI"), []byte("2 beginbfrange <00> <FF> <0020> endbfrange"))
	f.Add([]byte("BT /F1 24 Tf 72 740 Td (Title) Tj /F1 11 Tf 0 -40 Td (Body text-) Tj 0 -13 Td (ual matter.) Tj ET"), []byte(""))
	f.Fuzz(func(t *testing.T, content, cmap []byte) {
		fonts := map[string]string{
			"F1": "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding /ToUnicode {{cmap}} >>",
			"C1": "<< /Type /Font /Subtype /Type0 /BaseFont /X /Encoding /Identity-H /ToUnicode {{cmap}} /DescendantFonts [<< /Subtype /CIDFontType2 /W [1 [500 600] 3 10 700] >>] >>",
		}
		data := buildPDF("", []testPage{{content: string(content), fonts: fonts}}, func(w *pdfWriter) map[string]string {
			return map[string]string{"cmap": itoa(w.stream("", cmap, true)) + " 0 R"}
		})
		res, err := Extract(context.Background(), data, Hint{})
		if err != nil {
			if !errors.Is(err, ErrEmpty) && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("unexpected error: %v", err)
			}
			if strings.Contains(err.Error(), "internal error") {
				t.Fatalf("bug: %v", err)
			}
			return
		}
		if !utf8.ValidString(res.Text) || normalize(res.Text) != res.Text || len(res.PageStarts) != 1 || res.PageStarts[0] != 0 {
			t.Fatalf("bad result %+v", res)
		}
	})
}
