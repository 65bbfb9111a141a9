package extract

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// BenchmarkExtractPlain measures a 10 MB text file that is one line.
func BenchmarkExtractPlain(b *testing.B) {
	data := tenMBLine()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Extract(context.Background(), data, Hint{Filename: "big.txt"}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExtractMarkdown measures the same 10 MB line as Markdown.
func BenchmarkExtractMarkdown(b *testing.B) {
	data := tenMBLine()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Extract(context.Background(), data, Hint{Filename: "big.md"}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExtractGoSpec measures the Go spec (about 290 KB of HTML).
func BenchmarkExtractGoSpec(b *testing.B) {
	data := goroot(b, "doc", "go_spec.html")
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Extract(context.Background(), data, Hint{Filename: "go_spec.html"}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExtractPDF measures a generated 200-page PDF with 40 lines a
// page (MB/s is of the compressed file).
func BenchmarkExtractPDF(b *testing.B) {
	pages := make([]string, 200)
	for i := range pages {
		lines := make([]string, 40)
		for j := range lines {
			lines[j] = fmt.Sprintf("Line %d of page %d says something about lanterns, bells and harbours.", j, i)
		}
		pages[i] = textLines("F1", 11, 72, 740, 14, lines...)
	}
	data := pdfOf(pages...)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		res, err := Extract(context.Background(), data, Hint{Filename: "big.pdf"})
		if err != nil {
			b.Fatal(err)
		}
		if len(res.PageStarts) != 200 || !strings.Contains(res.Text, "Line 39 of page 199") {
			b.Fatal("wrong text")
		}
	}
}
