package extract

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestNormalize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"only space", " \t\n\r\n  \n", ""},
		{"crlf and cr", "a\r\nb\rc\n", "a\nb\nc"},
		{"blank lines collapse", "a\n\n\n\n b\n\n\n", "a\n\n b"},
		{"leading and trailing blank lines", "\n\n\na\n\n", "a"},
		{"spaces collapse inside lines", "a  b\t\tc \u00a0 d   ", "a b c d"},
		{"indentation kept", "    code  line\n\tx", "    code line\n\tx"},
		{"controls removed", "a\x00b\x01c\x1bd\x7fe\u0085f\u009fg", "abcde\nfg"},
		{"tab kept inside fence", "```\na\t\tb  c\n```", "```\na\t\tb  c\n```"},
		{"fence content verbatim", "x  y\n```go\nif  a {\n\n\n}\n```\nz  w", "x y\n```go\nif  a {\n\n}\n```\nz w"},
		{"tilde fence", "~~~\n#  not a heading  \n~~~", "~~~\n#  not a heading\n~~~"},
		{"unclosed fence is closed", "```\ncode", "```\ncode\n```"},
		{"inline backticks are not a fence", "``` a ` b\ncode  x", "``` a ` b\ncode x"},
		{"bom zero width and soft hyphen dropped", "\ufeffco\u00adop\u200ber\u200bate", "cooperate"},
		{"form feed and line separators break lines", "a\fb\u2028c\u2029d\ve", "a\nb\nc\nd\ne"},
		{"invalid utf-8 becomes replacement", "a\xffb", "a\ufffdb"},
		{"unicode kept", "日本語  テキスト 🎉", "日本語 テキスト 🎉"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := normalize(tt.in)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("normalize(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
			if again := normalize(got); again != got {
				t.Errorf("normalize is not idempotent: %q -> %q", got, again)
			}
		})
	}
}

func TestDecodeText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		in          []byte
		contentType string
		want        string
	}{
		{"utf-8", []byte("café"), "", "café"},
		{"utf-8 bom stripped", []byte("\xef\xbb\xbfcafé"), "", "café"},
		{"windows-1252 fallback", []byte("caf\xe9 \x93quoted\x94 \x80"), "", "café “quoted” €"},
		{"mixed keeps valid utf-8", []byte("naïve caf\xe9"), "", "naïve café"},
		{"utf-16le bom", []byte("\xff\xfeh\x00\xe9\x00"), "", "hé"},
		{"utf-16be bom", []byte("\xfe\xff\x00h\x00\xe9"), "", "hé"},
		{"declared charset", []byte("\xe9t\xe9"), "text/plain; charset=iso-8859-1", "été"},
		{"declared koi8-r", []byte("\xf0\xd2\xc9\xd7\xc5\xd4"), "text/plain; charset=koi8-r", "Привет"},
		{"bogus charset ignored", []byte("caf\xc3\xa9"), "text/plain; charset=nonsense", "café"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := decodeText(tt.in, tt.contentType)
			if got != tt.want {
				t.Errorf("decodeText() = %q, want %q", got, tt.want)
			}
			if !utf8.ValidString(got) {
				t.Errorf("decodeText() = %q is not valid UTF-8", got)
			}
		})
	}
}

func TestExtractPlain(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		hint Hint
		want Result
	}{
		{
			name: "paragraphs",
			in:   "First  line\r\nsecond line\r\n\r\n\r\n\r\nNext paragraph.\r\n",
			hint: Hint{Filename: "a.txt"},
			want: Result{Text: "First line\nsecond line\n\nNext paragraph.", MediaType: MediaPlain},
		},
		{
			name: "a hash line is not a title in plain text",
			in:   "# not a title\nbody",
			hint: Hint{Filename: "a.txt"},
			want: Result{Text: "# not a title\nbody", MediaType: MediaPlain},
		},
		{
			name: "NUL bytes dropped",
			in:   "some\x00 text with \x00 NULs in the middle. " + strings.Repeat("Then many ordinary words. ", 10),
			hint: Hint{Filename: "a.txt"},
			want: Result{Text: "some text with NULs in the middle. " + strings.TrimSpace(strings.Repeat("Then many ordinary words. ", 10)), MediaType: MediaPlain},
		},
		{
			name: "html fragment named txt keeps its markup",
			in:   "<p>Use <b>bold</b> here</p>",
			hint: Hint{Filename: "snippet.txt"},
			want: Result{Text: "<p>Use <b>bold</b> here</p>", MediaType: MediaPlain},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Extract(context.Background(), []byte(tt.in), tt.hint)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Extract() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestExtractPlainLargeSingleLine checks a 10 MB line with no line break
// goes through (its speed is measured by BenchmarkExtractPlain).
func TestExtractPlainLargeSingleLine(t *testing.T) {
	t.Parallel()
	data := tenMBLine()
	res, err := Extract(context.Background(), data, Hint{Filename: "big.txt"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(res.Text, "\n") {
		t.Error("a single line came out as several")
	}
	if got, want := len(res.Text), len(collapseSpaces(string(data))); got != want {
		t.Errorf("len(Text) = %d, want %d", got, want)
	}
}

// tenMBLine returns 10 MB of words on one line, with runs of spaces.
func tenMBLine() []byte {
	const size = 10 << 20
	word := []byte("lorem ipsum  dolor sit amet, consectetur\tadipiscing elit ")
	out := make([]byte, 0, size+len(word))
	for len(out) < size {
		out = append(out, word...)
	}
	return out[:size]
}
