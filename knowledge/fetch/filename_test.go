package fetch

import (
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSanitizeFilename(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 150) // 300 bytes
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"plain", "report.pdf", "report.pdf"},
		{"empty", "", ""},
		{"unix path", "/etc/passwd", "passwd"},
		{"traversal", "../../../etc/shadow", "shadow"},
		{"windows path", `C:\Users\x\evil.bat`, "evil.bat"},
		{"mixed separators", `a/b\c/d.txt`, "d.txt"},
		{"trailing separator", "dir/", ""},
		{"dot dot", "..", ""},
		{"dots only", "....", ""},
		{"hidden", ".bashrc", "bashrc"},
		{"trailing dots and spaces", "name.pdf. . ", "name.pdf"},
		{"double quotes", `say "hi".txt`, "say _hi_.txt"},
		{"reserved characters", `a<b>c:d|e?f*g.txt`, "a_b_c_d_e_f_g.txt"},
		{"single quote kept", "Bob's notes.md", "Bob's notes.md"},
		{"control characters", "a\x00b\nc\rd\te.txt", "ab c d e.txt"},
		{"header injection", "x.pdf\r\nSet-Cookie: a=b", "x.pdf Set-Cookie_ a=b"},
		{"whitespace collapsed", "  a   b  .txt", "a b .txt"},
		{"right-to-left override", "invoice\u202efdp.exe", "invoicefdp.exe"},
		{"zero-width space", "a\u200bb.txt", "ab.txt"},
		{"invalid UTF-8", "a\xffb.txt", "a_b.txt"},
		{"unicode kept", "Résumé 2024.pdf", "Résumé 2024.pdf"},
		{"long keeps extension", long + ".pdf", strings.Repeat("é", 98) + ".pdf"},
		{"long without extension", long, strings.Repeat("é", 100)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := sanitizeFilename(tt.in)
			if got != tt.want {
				t.Errorf("sanitizeFilename(%q) = %q, want %q", tt.in, got, tt.want)
			}
			checkSafeFilename(t, got)
		})
	}
}

func TestFilenameFallsBackToURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		disposition string
		rawURL      string
		want        string
	}{
		{"", "https://example.test/papers/attention.pdf", "attention.pdf"},
		{"inline", "https://example.test/papers/attention.pdf", "attention.pdf"},
		{`attachment; filename="/"`, "https://example.test/p/q.txt", "q.txt"},
		{`attachment; filename="good.txt"`, "https://example.test/p/q.txt", "good.txt"},
		{"", "https://example.test/", ""},
		{"", "https://example.test/a%2F..%2Fb.txt", "b.txt"},
		{"", "https://example.test/%2e%2e", ""},
	}
	for _, tt := range tests {
		t.Run(tt.disposition+" "+tt.rawURL, func(t *testing.T) {
			t.Parallel()
			u, err := url.Parse(tt.rawURL)
			if err != nil {
				t.Fatal(err)
			}
			if got := filename(tt.disposition, u); got != tt.want {
				t.Errorf("filename(%q, %s) = %q, want %q", tt.disposition, tt.rawURL, got, tt.want)
			}
		})
	}
}

// checkSafeFilename holds for every name sanitizeFilename returns.
func checkSafeFilename(t *testing.T, name string) {
	t.Helper()
	if !utf8.ValidString(name) {
		t.Errorf("%q is not valid UTF-8", name)
	}
	if len(name) > maxFilenameBytes {
		t.Errorf("%q is %d bytes, over %d", name, len(name), maxFilenameBytes)
	}
	if strings.ContainsAny(name, "/\\\"<>:|?*\x00\r\n") {
		t.Errorf("%q holds a separator, quote or reserved character", name)
	}
	if strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") || strings.TrimSpace(name) != name {
		t.Errorf("%q starts or ends with a dot or space", name)
	}
}
