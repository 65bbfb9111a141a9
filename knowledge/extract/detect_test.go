package extract

import (
	"errors"
	"strings"
	"testing"
)

func TestDetect(t *testing.T) {
	t.Parallel()
	pdfBytes := twoPagePDF()
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89")
	docx := []byte("PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00[Content_Types].xml ... word/document.xml")
	tests := []struct {
		name    string
		data    []byte
		hint    Hint
		want    string
		wantErr error
		errHas  string
	}{
		{name: "empty", data: nil, wantErr: ErrEmpty},
		{name: "pdf", data: pdfBytes, hint: Hint{Filename: "a.pdf", ContentType: "application/pdf"}, want: MediaPDF},
		{name: "pdf named txt", data: pdfBytes, hint: Hint{Filename: "notes.txt", ContentType: "text/plain"}, want: MediaPDF},
		{name: "pdf after junk", data: append([]byte("junk\n"), pdfBytes...), want: MediaPDF},
		{name: "bare pdf header", data: []byte("%PDF-1.7"), hint: Hint{Filename: "x.txt"}, want: MediaPDF},
		{name: "png as text/plain", data: png, hint: Hint{ContentType: "text/plain"}, wantErr: ErrUnsupported, errHas: "images"},
		{name: "png named md", data: png, hint: Hint{Filename: "readme.md"}, wantErr: ErrUnsupported},
		{name: "jpeg", data: []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"), wantErr: ErrUnsupported, errHas: "images"},
		{name: "gif", data: []byte("GIF89a\x01\x00\x01\x00"), wantErr: ErrUnsupported},
		{name: "docx", data: docx, hint: Hint{Filename: "report.docx"}, wantErr: ErrUnsupported, errHas: "Word"},
		{name: "zip", data: []byte("PK\x03\x04\x14\x00\x00\x00\x08\x00notes/a.txt"), wantErr: ErrUnsupported, errHas: "ZIP"},
		{name: "legacy office", data: []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00"), wantErr: ErrUnsupported, errHas: "legacy"},
		{name: "gzip", data: []byte("\x1f\x8b\x08\x00\x00\x00\x00\x00"), wantErr: ErrUnsupported, errHas: "archives"},
		{name: "elf", data: []byte("\x7fELF\x02\x01\x01\x00"), wantErr: ErrUnsupported},
		{name: "rtf", data: []byte(`{\rtf1\ansi hello}`), hint: Hint{Filename: "a.txt"}, wantErr: ErrUnsupported, errHas: "RTF"},
		{name: "svg", data: []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><text>hi</text></svg>`), wantErr: ErrUnsupported, errHas: "SVG"},
		{name: "random binary", data: []byte("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0e\x0f\x10\x11\x12\x13\x14 binary"), hint: Hint{Filename: "a.txt"}, wantErr: ErrUnsupported, errHas: "binary"},
		{name: "plain by extension", data: []byte("Just some words.\n"), hint: Hint{Filename: "notes.TXT"}, want: MediaPlain},
		{name: "plain by content type", data: []byte("Just some words.\n"), hint: Hint{ContentType: "text/plain; charset=utf-8"}, want: MediaPlain},
		{name: "plain sniffed", data: []byte("Just some words.\n"), want: MediaPlain},
		{name: "md name with plain text", data: []byte("Just some words, no markup at all.\n"), hint: Hint{Filename: "notes.md", ContentType: "text/plain"}, want: MediaMarkdown},
		{name: "md content type", data: []byte("words\n"), hint: Hint{ContentType: "text/markdown"}, want: MediaMarkdown},
		{name: "md sniffed by heading", data: []byte("# Title\n\nBody.\n"), hint: Hint{ContentType: "application/octet-stream"}, want: MediaMarkdown},
		{name: "md sniffed by front matter", data: []byte("---\ntitle: x\n---\nBody.\n"), want: MediaMarkdown},
		{name: "md sniffed by fence", data: []byte("Intro\n\n```go\nx := 1\n```\n"), want: MediaMarkdown},
		{name: "html by extension", data: []byte("<p>hi</p>"), hint: Hint{Filename: `C:\docs\page.HTM`}, want: MediaHTML},
		{name: "html fragment named txt stays plain", data: []byte("<p>hi</p>"), hint: Hint{Filename: "page.txt"}, want: MediaPlain},
		{name: "html document named txt is html", data: []byte("<!DOCTYPE html><html><body>hi</body></html>"), hint: Hint{Filename: "page.txt"}, want: MediaHTML},
		{name: "html document named md is html", data: []byte("\xef\xbb\xbf  <html lang=en><p>hi"), hint: Hint{Filename: "page.md"}, want: MediaHTML},
		{name: "xhtml", data: []byte(`<?xml version="1.0"?><!DOCTYPE html><html xmlns="http://www.w3.org/1999/xhtml"><body>x</body></html>`), want: MediaHTML},
		{name: "html sniffed by tag", data: []byte("<div>hello</div>"), want: MediaHTML},
		{name: "html sniffed by comment (the Go spec)", data: []byte("<!--{\n\t\"Title\": \"Spec\"\n}-->\n<h2>Intro</h2>"), want: MediaHTML},
		{name: "html comment in md stays md", data: []byte("<!-- badge -->\n# Title\n"), hint: Hint{Filename: "README.md"}, want: MediaMarkdown},
		{name: "html content type", data: []byte("<b>x</b>"), hint: Hint{ContentType: "text/html; charset=iso-8859-1"}, want: MediaHTML},
		{name: "lying image content type on text", data: []byte("plain words"), hint: Hint{ContentType: "image/png"}, want: MediaPlain},
		{name: "lying pdf name on html", data: []byte("<html><body>error page</body></html>"), hint: Hint{Filename: "paper.pdf"}, want: MediaHTML},
		{name: "windows-1252 text", data: []byte("caf\xe9 cr\xe8me br\xfbl\xe9e, na\xefve r\xe9sum\xe9\n"), want: MediaPlain},
		{name: "utf-16 with bom", data: []byte("\xff\xfeh\x00i\x00"), hint: Hint{Filename: "a.txt"}, want: MediaPlain},
		{name: "text with a stray NUL", data: []byte("a long enough line of text with one \x00 byte in it, which is still text"), want: MediaPlain},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Detect(tt.data, tt.hint)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Detect() = %q, %v; want error %v", got, err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.errHas) {
					t.Errorf("error %q does not say %q", err, tt.errHas)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Detect() = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
