package extract

import (
	"bytes"
	"fmt"
	"mime"
	"path"
	"strings"
	"unicode/utf8"
)

// Detect returns the media type of data, one of the Media* constants.
//
// Content decides the family and the hint only chooses within text:
//   - "%PDF-" in the first KiB is a PDF whatever the name.
//   - Known binary signatures (images, archives, office files, audio, video,
//     executables) and anything that is not text give ErrUnsupported, even
//     when the hint says text/plain. Text is UTF-16 with a byte-order mark,
//     or bytes with under 2% control characters (so UTF-16 without a mark
//     counts as binary).
//   - Text that begins with <!DOCTYPE html> or <html> is HTML whatever the
//     name: nobody wants tags in their knowledge base.
//   - Other text follows the hint, extension first, then content type: a
//     .md file is Markdown even when it holds plain prose, and an HTML
//     fragment named .txt stays text/plain, its markup kept as written,
//     because the uploader said so and the hint is all that tells a tag
//     written on purpose from one meant to be rendered.
//   - Text without a usable hint is sniffed: a leading tag or comment is
//     HTML; front matter, "# " headings or ``` fences make Markdown; the
//     rest is text/plain.
//
// Zero bytes give ErrEmpty.
func Detect(data []byte, h Hint) (string, error) {
	if len(data) == 0 {
		return "", fmt.Errorf("extract: the file is empty: %w", ErrEmpty)
	}
	if pdfHeaderOffset(data) >= 0 {
		return MediaPDF, nil
	}
	if what := binarySignature(data); what != "" {
		return "", fmt.Errorf("extract: %s are not supported; upload text, Markdown, HTML or PDF: %w", what, ErrUnsupported)
	}
	if !looksLikeText(data) {
		return "", fmt.Errorf("extract: the file is binary, not text; upload text, Markdown, HTML or PDF: %w", ErrUnsupported)
	}
	if isSVG(data) {
		return "", fmt.Errorf("extract: SVG images are not supported: %w", ErrUnsupported)
	}
	if strongHTML(data) {
		return MediaHTML, nil
	}
	if mt := declaredTextType(h); mt != "" {
		return mt, nil
	}
	if weakHTML(data) {
		return MediaHTML, nil
	}
	if looksLikeMarkdown(data) {
		return MediaMarkdown, nil
	}
	return MediaPlain, nil
}

// pdfHeaderOffset returns where "%PDF-" starts within the first KiB of data
// (readers accept junk before it), or -1.
func pdfHeaderOffset(data []byte) int {
	return bytes.Index(head(data, 1024), []byte("%PDF-"))
}

// head returns at most the first n bytes of data.
func head(data []byte, n int) []byte {
	if len(data) > n {
		return data[:n]
	}
	return data
}

// binarySignature names the kind of file data is when it starts with a
// well-known binary signature, or returns "".
func binarySignature(data []byte) string {
	has := func(off int, sig string) bool {
		return len(data) >= off+len(sig) && string(data[off:off+len(sig)]) == sig
	}
	switch {
	case has(0, "\x89PNG\r\n\x1a\n"), has(0, "\xff\xd8\xff"), has(0, "GIF87a"), has(0, "GIF89a"),
		has(0, "RIFF") && has(8, "WEBP"), has(0, "II*\x00"), has(0, "MM\x00*"),
		has(0, "\x00\x00\x01\x00") && len(data) > 6 && data[4] > 0, has(0, "8BPS"),
		has(0, "BM") && len(data) > 26 && has(6, "\x00\x00\x00\x00"),
		has(4, "ftypavif"), has(4, "ftypheic"), has(4, "ftypheix"), has(4, "ftypmif1"):
		return "images"
	case has(0, "PK\x03\x04"), has(0, "PK\x05\x06"), has(0, "PK\x07\x08"):
		return zipKind(data)
	case has(0, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
		return "legacy Microsoft Office files (.doc, .xls, .ppt)"
	case has(0, "{\\rtf"):
		return "RTF documents"
	case has(0, "%!PS"):
		return "PostScript files"
	case has(0, "\x1f\x8b"), has(0, "BZh") && len(data) > 10 && has(4, "1AY&SY"), has(0, "\xfd7zXZ\x00"),
		has(0, "7z\xbc\xaf\x27\x1c"), has(0, "Rar!\x1a\x07"), has(0, "\x28\xb5\x2f\xfd"), has(257, "ustar"),
		has(0, "MSCF"):
		return "archives"
	case has(0, "ID3"), has(0, "OggS"), has(0, "fLaC"), has(0, "RIFF") && has(8, "WAVE"), has(0, "MThd"),
		has(0, "\x1a\x45\xdf\xa3"), has(0, "RIFF") && has(8, "AVI "), has(4, "ftyp"):
		return "audio and video files"
	case has(0, "\x7fELF"), has(0, "\xca\xfe\xba\xbe"), has(0, "\xcf\xfa\xed\xfe"), has(0, "\x00asm"),
		has(0, "MZ") && len(data) > 64 && !looksLikeText(data):
		return "executables"
	case has(0, "SQLite format 3\x00"):
		return "databases"
	case has(0, "wOFF"), has(0, "wOF2"), has(0, "OTTO"), has(0, "\x00\x01\x00\x00\x00"):
		return "font files"
	}
	return ""
}

// zipKind names what a ZIP container most likely is, from the names of its
// first entries.
func zipKind(data []byte) string {
	h := head(data, 4096)
	switch {
	case bytes.Contains(h, []byte("word/")):
		return "Word documents (.docx)"
	case bytes.Contains(h, []byte("xl/")):
		return "Excel spreadsheets (.xlsx)"
	case bytes.Contains(h, []byte("ppt/")):
		return "PowerPoint presentations (.pptx)"
	case bytes.Contains(h, []byte("application/vnd.oasis.opendocument")):
		return "OpenDocument files"
	case bytes.Contains(h, []byte("application/epub+zip")):
		return "EPUB books"
	case bytes.Contains(h, []byte("[Content_Types].xml")):
		return "Office documents"
	}
	return "ZIP archives"
}

// looksLikeText reports whether data is text in some encoding this package
// decodes: UTF-16 with a byte-order mark, or an ASCII-compatible encoding
// with few control bytes and, if it is not UTF-8, few bytes that would be
// odd in a Windows-1252 document.
func looksLikeText(data []byte) bool {
	if bomEncoding(data) != "" {
		return true
	}
	sample := head(data, 8192)
	// Do not count a rune cut by the end of the sample as invalid.
	for i := len(sample) - 1; i >= 0 && i >= len(sample)-3; i-- {
		if utf8.RuneStart(sample[i]) {
			if !utf8.FullRune(sample[i:]) {
				sample = sample[:i]
			}
			break
		}
	}
	ctrl, invalid := 0, 0
	for i := 0; i < len(sample); {
		c := sample[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '\t', c == '\n', c == '\r', c == '\f', c == '\v', c == 0x1b:
			case c < 0x20, c == 0x7f:
				ctrl++
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(sample[i:])
		if r == utf8.RuneError && size == 1 {
			invalid++
			// Bytes Windows-1252 leaves undefined.
			if c == 0x81 || c == 0x8d || c == 0x8f || c == 0x90 || c == 0x9d {
				ctrl++
			}
		}
		i += size
	}
	n := len(sample)
	return ctrl*50 <= n && invalid*3 <= n
}

// strongHTML reports whether data opens like a complete HTML document.
func strongHTML(data []byte) bool {
	s := lowerPrefix(skipBOMAndSpace(data), 1024)
	if strings.HasPrefix(s, "<?xml") {
		return strings.Contains(s, "<!doctype html") || strings.Contains(s, "<html")
	}
	return hasTagPrefix(s, "<!doctype html") || hasTagPrefix(s, "<html")
}

// weakHTML reports whether data opens with a tag or comment that HTML
// documents start with (the WHATWG sniffing list, plus common block tags).
func weakHTML(data []byte) bool {
	s := lowerPrefix(skipBOMAndSpace(data), 64)
	if strings.HasPrefix(s, "<!--") {
		return true
	}
	for _, t := range []string{"<head", "<body", "<script", "<iframe", "<h1", "<h2", "<h3", "<h4", "<h5", "<h6",
		"<div", "<font", "<table", "<a", "<style", "<title", "<b", "<br", "<p", "<meta", "<link", "<section",
		"<article", "<main", "<header", "<nav", "<ul", "<ol", "<pre", "<span", "<center"} {
		if hasTagPrefix(s, t) {
			return true
		}
	}
	return false
}

// isSVG reports whether data is an SVG image (an XML prolog may come first).
func isSVG(data []byte) bool {
	s := lowerPrefix(skipBOMAndSpace(data), 1024)
	if strings.HasPrefix(s, "<?xml") {
		i := strings.Index(s, "<svg")
		return i >= 0 && !strings.Contains(s[:i], "<html")
	}
	return hasTagPrefix(s, "<svg")
}

// hasTagPrefix reports whether s starts with tag followed by a character
// that ends a tag name.
func hasTagPrefix(s, tag string) bool {
	if !strings.HasPrefix(s, tag) {
		return false
	}
	if len(s) == len(tag) {
		return true
	}
	switch s[len(tag)] {
	case ' ', '>', '\t', '\n', '\r', '\f', '/':
		return true
	}
	return false
}

// skipBOMAndSpace drops a UTF-8 byte-order mark and leading ASCII space.
func skipBOMAndSpace(data []byte) []byte {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	return bytes.TrimLeft(data, " \t\r\n\f")
}

// lowerPrefix returns the first n bytes of data in ASCII lower case.
func lowerPrefix(data []byte, n int) string {
	return strings.ToLower(string(head(data, n)))
}

// looksLikeMarkdown reports whether the start of data has front matter, an
// ATX heading or a code fence.
func looksLikeMarkdown(data []byte) bool {
	s := string(head(skipBOMAndSpace(data), 16384))
	if _, _, ok := splitFrontMatter(s); ok {
		return true
	}
	for line := range strings.Lines(s) {
		line = strings.TrimRight(line, "\r\n")
		if level, _ := atxHeading(line); level > 0 {
			return true
		}
		if strings.HasPrefix(line, "```") {
			return true
		}
	}
	return false
}

// declaredTextType maps the hint to a text media type: the extension first,
// then the content type. It returns "" when the hint names no text type.
func declaredTextType(h Hint) string {
	name := h.Filename
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	switch strings.ToLower(path.Ext(name)) {
	case ".md", ".markdown", ".mdown", ".mkd", ".mkdn", ".mdx":
		return MediaMarkdown
	case ".html", ".htm", ".xhtml", ".shtml":
		return MediaHTML
	case ".txt", ".text", ".log", ".csv", ".tsv", ".json", ".jsonl", ".xml", ".yaml", ".yml", ".toml",
		".ini", ".cfg", ".conf", ".rst", ".adoc", ".tex", ".srt", ".vtt":
		return MediaPlain
	}
	switch mediaType(h.ContentType) {
	case "text/markdown", "text/x-markdown":
		return MediaMarkdown
	case "text/html", "application/xhtml+xml":
		return MediaHTML
	case "text/plain", "text/csv", "text/tab-separated-values", "application/json", "text/xml",
		"application/xml", "text/x-rst", "text/vtt":
		return MediaPlain
	}
	return ""
}

// mediaType returns the lower-case type/subtype of a Content-Type value.
func mediaType(ct string) string {
	if ct == "" {
		return ""
	}
	if mt, _, err := mime.ParseMediaType(ct); err == nil {
		return mt
	}
	mt, _, _ := strings.Cut(ct, ";")
	return strings.ToLower(strings.TrimSpace(mt))
}
