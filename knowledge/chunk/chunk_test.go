package chunk

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/timbre-ai/timbre/tokens"
)

// headingLine matches a heading line (the title's emptiness is checked
// apart); fenceLine the fence that a line opens or closes.
var (
	headingLine = regexp.MustCompile(`^ {0,3}(#{1,6})[ \t]+(.*)$`)
	fenceLine   = regexp.MustCompile("^(`{3,}|~{3,})")
)

// headingLines returns, for each rune of src, whether it is on a heading
// line. It is written apart from the package's parser, to check it.
func headingLines(src string) []bool {
	runes := []rune(src)
	out := make([]bool, len(runes))
	fence := ""
	pos := 0
	for _, line := range strings.SplitAfter(string(runes), "\n") {
		n := utf8.RuneCountInString(line)
		body := strings.TrimRight(line, "\r\n")
		indented := strings.TrimLeft(body, " ")
		if len(body)-len(indented) > 3 {
			indented = ""
		}
		f := fenceLine.FindString(indented)
		switch {
		case fence != "":
			if f != "" && f[0] == fence[0] && len(f) >= len(fence) && strings.TrimSpace(indented[len(f):]) == "" {
				fence = ""
			}
		case f != "":
			fence = f
		default:
			if m := headingLine.FindStringSubmatch(body); m != nil {
				title := strings.TrimSpace(m[2])
				if t := strings.TrimRight(title, "#"); t == "" || strings.HasSuffix(t, " ") || strings.HasSuffix(t, "\t") {
					title = strings.TrimSpace(t)
				}
				if title != "" {
					for k := pos; k < pos+n; k++ {
						out[k] = true
					}
				}
			}
		}
		pos += n
	}
	return out
}

// checkInvariants checks what every Split result must satisfy.
func checkInvariants(t testing.TB, src string, opt Options, chunks []Chunk) {
	t.Helper()
	maxTokens, _, err := opt.resolve()
	if err != nil {
		t.Fatalf("resolve: %v", err)
	}
	runes := []rune(src)
	covered := make([]bool, len(runes))
	heading := headingLines(src)
	for i, c := range chunks {
		where := fmt.Sprintf("chunk %d [%d:%d]", i, c.Start, c.End)
		if c.Index != i {
			t.Fatalf("%s: Index = %d", where, c.Index)
		}
		if c.Start < 0 || c.Start >= c.End || c.End > len(runes) {
			t.Fatalf("%s: offsets out of range (%d runes)", where, len(runes))
		}
		if want := string(runes[c.Start:c.End]); c.Text != want {
			t.Fatalf("%s: Text = %.60q, runes[Start:End] = %.60q", where, c.Text, want)
		}
		if strings.TrimFunc(c.Text, unicode.IsSpace) != c.Text || c.Text == "" {
			t.Fatalf("%s: Text %.60q is not trimmed", where, c.Text)
		}
		if n := tokens.Count(c.Text); c.Tokens != n {
			t.Fatalf("%s: Tokens = %d, tokens.Count = %d", where, c.Tokens, n)
		}
		if c.Tokens > maxTokens && utf8.RuneCountInString(c.Text) > 1 {
			t.Fatalf("%s: %d tokens, over %d: %.80q", where, c.Tokens, maxTokens, c.Text)
		}
		if i > 0 && (c.Start <= chunks[i-1].Start || c.End <= chunks[i-1].End) {
			t.Fatalf("%s: not after chunk %d [%d:%d]", where, i-1, chunks[i-1].Start, chunks[i-1].End)
		}
		for k := c.Start; k < c.End; k++ {
			if heading[k] {
				t.Fatalf("%s: spans a heading line at rune %d: %.80q", where, k, c.Text)
			}
			covered[k] = true
		}
	}
	for k, r := range runes {
		if !covered[k] && !heading[k] && !unicode.IsSpace(r) {
			t.Fatalf("rune %d (%q) is in no chunk; around it: %q", k, r, string(runes[max(0, k-20):min(len(runes), k+20)]))
		}
	}
}

func split(t testing.TB, src string, opt Options) []Chunk {
	t.Helper()
	chunks, err := Split(src, opt)
	if err != nil {
		t.Fatalf("Split: %v", err)
	}
	checkInvariants(t, src, opt, chunks)
	return chunks
}

// want is the part of a chunk that the table tests spell out.
type want struct {
	Text     string
	Headings []string
}

func texts(chunks []Chunk) []want {
	var out []want
	for _, c := range chunks {
		out = append(out, want{c.Text, c.Headings})
	}
	return out
}

func TestSplit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		want []want
	}{
		{"empty", "", nil},
		{"whitespace only", " \n\t\n\r\n  ", nil},
		{"headings only", "# A\n\n## B\n", nil},
		{"no headings", "Hello world.\n\nSecond paragraph.\n", []want{{"Hello world.\n\nSecond paragraph.", nil}}},
		{"nested headings", "# A\nintro\n## B\nb text\n### C\nc text\n## D\nd text\n# E\ne text\n", []want{
			{"intro", []string{"A"}},
			{"b text", []string{"A", "B"}},
			{"c text", []string{"A", "B", "C"}},
			{"d text", []string{"A", "D"}},
			{"e text", []string{"E"}},
		}},
		{"a shallower heading pops deeper ones", "### deep\nx\n# top\ny\n#### deeper\nz", []want{
			{"x", []string{"deep"}},
			{"y", []string{"top"}},
			{"z", []string{"top", "deeper"}},
		}},
		{"text before the first heading", "preface\n# A\nbody", []want{{"preface", nil}, {"body", []string{"A"}}}},
		{"closing hashes and indentation", "  ## Title ##\nx\n#NoSpace is text\n####### seven is text", []want{
			{"x\n#NoSpace is text\n####### seven is text", []string{"Title"}},
		}},
		{"an empty heading is text", "# A\n#\n# #\nx", []want{{"#\n# #\nx", []string{"A"}}}},
		{"heading inside a fence", "# T\n```go\n# not a heading\n\ncode\n```\nafter", []want{
			{"```go\n# not a heading\n\ncode\n```\nafter", []string{"T"}},
		}},
		{"tilde fence closed by a longer one", "~~~\n# no\n~~~~~\n# yes\nx", []want{
			{"~~~\n# no\n~~~~~", nil},
			{"x", []string{"yes"}},
		}},
		{"a shorter or other fence does not close", "````\n```\n~~~~\n# no\n````\n", []want{{"````\n```\n~~~~\n# no\n````", nil}}},
		{"unclosed fence runs to the end", "```\n# x\n\n# y", []want{{"```\n# x\n\n# y", nil}}},
		{"lists and tables", "# L\n- a\n- b\n  more\n\n1. one\n2) two\n\n| k | v |\n|---|---|\n| 1 | 2 |\n", []want{
			{"- a\n- b\n  more\n\n1. one\n2) two\n\n| k | v |\n|---|---|\n| 1 | 2 |", []string{"L"}},
		}},
		{"CRLF line ends", "# A\r\n\r\nline one\r\nline two\r\n\r\n## B\r\ntext\r\n", []want{
			{"line one\r\nline two", []string{"A"}},
			{"text", []string{"A", "B"}},
		}},
		{"Unicode headings", "# Ünïcödé 日本\n\nhéllo 👩‍💻 wörld", []want{{"héllo 👩‍💻 wörld", []string{"Ünïcödé 日本"}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := texts(split(t, tc.src, Options{}))
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("chunks (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSplitRuneOffsets(t *testing.T) {
	t.Parallel()
	src := "# Ü\n\nhéllo 👩‍💻 wörld\n\n\xffbad byte"
	chunks := split(t, src, Options{})
	if len(chunks) != 1 {
		t.Fatalf("got %d chunks, want 1", len(chunks))
	}
	c := chunks[0]
	if c.Start != 5 || c.End != utf8.RuneCountInString("# Ü\n\nhéllo 👩‍💻 wörld\n\n\xffbad byte") {
		t.Errorf("Start, End = %d, %d", c.Start, c.End)
	}
	if !strings.HasSuffix(c.Text, "\uFFFDbad byte") {
		t.Errorf("Text = %q, want the invalid byte as U+FFFD", c.Text)
	}
}

func TestOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		opt          Options
		max, overlap int
		ok           bool
	}{
		{Options{}, 200, 24, true},
		{Options{MaxTokens: 100}, 100, 24, true},
		{Options{MaxTokens: 30}, 30, 14, true},
		{Options{MaxTokens: 1}, 1, 0, true},
		{Options{MaxTokens: 100, Overlap: NoOverlap}, 100, 0, true},
		{Options{MaxTokens: 100, Overlap: 49}, 100, 49, true},
		{Options{MaxTokens: 100, Overlap: 50}, 0, 0, false},
		{Options{MaxTokens: -1}, 0, 0, false},
		{Options{Overlap: -2}, 0, 0, false},
		{Options{MaxTokens: 1, Overlap: 1}, 0, 0, false},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%+v", tc.opt), func(t *testing.T) {
			m, o, err := tc.opt.resolve()
			if tc.ok != (err == nil) {
				t.Fatalf("resolve: %v, want ok = %v", err, tc.ok)
			}
			if err != nil {
				if !errors.Is(err, ErrInvalidOptions) {
					t.Errorf("error %v does not wrap ErrInvalidOptions", err)
				}
				if _, err := Split("text", tc.opt); !errors.Is(err, ErrInvalidOptions) {
					t.Errorf("Split: %v, want ErrInvalidOptions", err)
				}
				return
			}
			if m != tc.max || o != tc.overlap {
				t.Errorf("resolve = %d, %d; want %d, %d", m, o, tc.max, tc.overlap)
			}
		})
	}
}

// paragraphs returns n paragraphs of sentences with distinct words.
func paragraphs(n, sentences int) []string {
	var out []string
	w := 0
	for i := 0; i < n; i++ {
		var sb strings.Builder
		for s := 0; s < sentences; s++ {
			if s > 0 {
				sb.WriteString(" ")
			}
			fmt.Fprintf(&sb, "Fact %d says that item%d weighs %d grams and ships from depot%d.", w, w, w*7%1000, w%13)
			w++
		}
		out = append(out, sb.String())
	}
	return out
}

func TestBlocksThatFitAreWhole(t *testing.T) {
	t.Parallel()
	paras := paragraphs(40, 4) // about 60 tokens each
	src := "# Facts\n\n" + strings.Join(paras, "\n\n")
	chunks := split(t, src, Options{MaxTokens: 150, Overlap: 20})
	for i, p := range paras {
		found := false
		for _, c := range chunks {
			if strings.Contains(c.Text, p) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("paragraph %d is whole in no chunk", i)
		}
	}
	if len(chunks) > 40 {
		t.Errorf("%d chunks for 40 paragraphs of 60 tokens in chunks of 150: not packed", len(chunks))
	}
}

func TestOversizeParagraphSplitsAtSentences(t *testing.T) {
	t.Parallel()
	src := paragraphs(1, 60)[0] // about 900 tokens
	chunks := split(t, src, Options{MaxTokens: 120, Overlap: 16})
	if len(chunks) < 8 {
		t.Fatalf("%d chunks, want at least 8", len(chunks))
	}
	for i, c := range chunks {
		if !strings.HasSuffix(c.Text, ".") {
			t.Errorf("chunk %d does not end a sentence: …%q", i, c.Text[max(0, len(c.Text)-30):])
		}
		if c.Tokens < 60 && i < len(chunks)-1 {
			t.Errorf("chunk %d has only %d tokens", i, c.Tokens)
		}
	}
}

func TestOversizeListSplitsAtItems(t *testing.T) {
	t.Parallel()
	var sb strings.Builder
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&sb, "- item %d: the depot in town%d opens at %d. Call ahead\n", i, i, 6+i%5)
	}
	src := sb.String()
	chunks := split(t, src, Options{MaxTokens: 80, Overlap: NoOverlap})
	if len(chunks) < 10 {
		t.Fatalf("%d chunks, want at least 10", len(chunks))
	}
	runes := []rune(src)
	for i, c := range chunks {
		if !strings.HasPrefix(c.Text, "- item ") || c.End < len(runes) && runes[c.End] != '\n' {
			t.Errorf("chunk %d is not whole items: %q", i, c.Text)
		}
	}
}

func TestOverlap(t *testing.T) {
	t.Parallel()
	const overlap = 20
	src := "# S\n\n" + paragraphs(1, 80)[0] + "\n\n# T\n\n" + paragraphs(1, 30)[0]
	chunks := split(t, src, Options{MaxTokens: 100, Overlap: overlap})
	runes := []rune(src)
	for i := 1; i < len(chunks); i++ {
		prev, c := chunks[i-1], chunks[i]
		if !cmp.Equal(prev.Headings, c.Headings) {
			if c.Start < prev.End {
				t.Errorf("chunk %d overlaps chunk %d of another section", i, i-1)
			}
			continue
		}
		if c.Start >= prev.End {
			t.Errorf("chunk %d does not overlap chunk %d", i, i-1)
			continue
		}
		shared := string(runes[c.Start:prev.End])
		if n := tokens.Count(shared); n > overlap || n < overlap/2 {
			t.Errorf("chunk %d repeats %d tokens (%q), want about %d", i, n, shared, overlap)
		}
		if !unicode.IsSpace(runes[c.Start-1]) {
			t.Errorf("chunk %d starts inside a word: %q", i, string(runes[c.Start-5:c.Start+5]))
		}
	}
}

func TestLongWordsAndLines(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
	}{
		{"10 MB line without spaces", strings.Repeat("abcdefghijklmnopqrstuvwxyz0123456789", 10<<20/36)},
		{"1 MB of ideographs", strings.Repeat("知识库检索增强生成", 1<<20/27)},
		{"symbols", strings.Repeat("=-+*", 1<<16)},
		{"a long URL in prose", "See " + "https://example.com/" + strings.Repeat("segment/", 300) + " for details."},
		{"emoji", strings.Repeat("👩‍💻🎉", 2000)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			chunks := split(t, tc.src, Options{MaxTokens: 200})
			if len(chunks) < 2 {
				t.Errorf("%d chunks", len(chunks))
			}
		})
	}
	t.Run("a rune over the limit", func(t *testing.T) {
		t.Parallel()
		chunks := split(t, "🎉🎉 x 🎉", Options{MaxTokens: 1})
		if len(chunks) < 4 {
			t.Errorf("got %q", texts(chunks))
		}
	})
}

func TestGodebugDoc(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("testdata/godebug.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, opt := range []Options{{}, {MaxTokens: 60, Overlap: 10}, {MaxTokens: 500, Overlap: NoOverlap}} {
		t.Run(fmt.Sprintf("%+v", opt), func(t *testing.T) {
			t.Parallel()
			chunks := split(t, string(b), opt)
			paths := map[string]bool{}
			for _, c := range chunks {
				paths[strings.Join(c.Headings, " > ")] = true
			}
			for _, p := range []string{"Introduction {#intro}", "GODEBUG History {#history} > Go 1.26", "GODEBUG History {#history} > Go 1.5"} {
				if !paths[p] {
					t.Errorf("no chunk under %q; paths: %v", p, paths)
				}
			}
			if paths["GODEBUG History {#history} > Go 1.26 > Go 1.25"] {
				t.Error("a heading of the same level did not replace its sibling")
			}
		})
	}
}

func TestDeterministic(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("testdata/godebug.md")
	if err != nil {
		t.Fatal(err)
	}
	first := split(t, string(b), Options{MaxTokens: 80})
	for i := 0; i < 3; i++ {
		if diff := cmp.Diff(first, split(t, string(b), Options{MaxTokens: 80})); diff != "" {
			t.Fatalf("run %d differs:\n%s", i, diff)
		}
	}
}

func FuzzSplit(f *testing.F) {
	for _, s := range []string{
		"", "# A\nx", "```\n# x\n```\n# y\nz", "- a\n- b\n\n| a | b |", "a\r\n\r\n# B\r\nc",
		"# Ü\n\nhéllo 👩‍💻 wörld", paragraphs(1, 12)[0], strings.Repeat("x", 3000), "\xff\xfe# a\n\xff",
		"   #### deep\n~~~~\n~~~\n~~~~\n",
	} {
		f.Add(s, uint8(20), uint8(4))
	}
	f.Fuzz(func(t *testing.T, src string, maxTokens, overlap uint8) {
		opt := Options{MaxTokens: int(maxTokens), Overlap: int(overlap) - 1}
		chunks, err := Split(src, opt)
		if err != nil {
			if !errors.Is(err, ErrInvalidOptions) {
				t.Fatalf("Split: %v", err)
			}
			return
		}
		checkInvariants(t, src, opt, chunks)
	})
}

func benchmarkSplit(b *testing.B, src string) {
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if _, err := Split(src, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSplitMarkdown splits 10 MB of Markdown (godebug.md repeated).
func BenchmarkSplitMarkdown(b *testing.B) {
	doc, err := os.ReadFile("testdata/godebug.md")
	if err != nil {
		b.Fatal(err)
	}
	benchmarkSplit(b, strings.Repeat(string(doc)+"\n", 10<<20/(len(doc)+1)))
}

// BenchmarkSplitLongLine splits a 10 MB line without spaces.
func BenchmarkSplitLongLine(b *testing.B) {
	benchmarkSplit(b, strings.Repeat("abcdefghijklmnopqrstuvwxyz0123456789", 10<<20/36))
}
