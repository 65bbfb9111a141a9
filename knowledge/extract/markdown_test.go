package extract

import (
	"context"
	"go/build"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestExtractMarkdown(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		in        string
		wantTitle string
		wantText  string
	}{
		{
			name:      "first heading is the title",
			in:        "Intro line.\n\n# Real Title #\n\nBody  text.\n",
			wantTitle: "Real Title",
			wantText:  "Intro line.\n\n# Real Title #\n\nBody text.",
		},
		{
			name:      "yaml front matter stripped, its title used and written as a heading",
			in:        "---\ntitle: \"Quoted: Title\"\ntags: [a, b]\n---\n## Section\n\nText.\n",
			wantTitle: "Quoted: Title",
			wantText:  "# Quoted: Title\n\n## Section\n\nText.",
		},
		{
			name:      "front matter title does not duplicate an existing h1",
			in:        "---\r\ntitle: Doc\r\n---\r\n# Doc heading\r\n\r\nText.\r\n",
			wantTitle: "Doc",
			wantText:  "# Doc heading\n\nText.",
		},
		{
			name:      "toml front matter",
			in:        "+++\ntitle = 'Hugo Page'\ndraft = false\n+++\nBody\n",
			wantTitle: "Hugo Page",
			wantText:  "# Hugo Page\n\nBody",
		},
		{
			name:      "unclosed front matter is content",
			in:        "---\ntitle: x\nno end\n",
			wantTitle: "",
			wantText:  "---\ntitle: x\nno end",
		},
		{
			name:      "setext headings become ATX",
			in:        "Main Title\n==========\n\nSub Title\n---------\n\nText.\n",
			wantTitle: "Main Title",
			wantText:  "# Main Title\n\n## Sub Title\n\nText.",
		},
		{
			name:      "thematic break under a long paragraph stays",
			in:        "line one\nline two\n---\nafter\n",
			wantTitle: "",
			wantText:  "line one\nline two\n---\nafter",
		},
		{
			name:      "heading inside a fence is not the title",
			in:        "```\n# not title\n```\n\n# Title\n",
			wantTitle: "Title",
			wantText:  "```\n# not title\n```\n\n# Title",
		},
		{
			name:      "lists tables and code kept",
			in:        "# T\n\n- one\n- two\n\n1. first\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```go\nfunc  main() {}\n```\n",
			wantTitle: "T",
			wantText:  "# T\n\n- one\n- two\n\n1. first\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```go\nfunc  main() {}\n```",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := Extract(context.Background(), []byte(tt.in), Hint{Filename: "doc.md"})
			if err != nil {
				t.Fatal(err)
			}
			if res.MediaType != MediaMarkdown {
				t.Errorf("MediaType = %q", res.MediaType)
			}
			if res.Title != tt.wantTitle {
				t.Errorf("Title = %q, want %q", res.Title, tt.wantTitle)
			}
			if diff := cmp.Diff(tt.wantText, res.Text); diff != "" {
				t.Errorf("Text mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestExtractMarkdownGoDoc runs on a real Markdown document from GOROOT.
func TestExtractMarkdownGoDoc(t *testing.T) {
	t.Parallel()
	data := goroot(t, "doc", "godebug.md")
	res, err := Extract(context.Background(), data, Hint{Filename: "godebug.md"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Title == "" {
		t.Error("no title")
	}
	headings := 0
	for line := range strings.Lines(res.Text) {
		if level, _ := atxHeading(strings.TrimSuffix(line, "\n")); level > 0 {
			headings++
		}
	}
	if headings < 5 {
		t.Errorf("found %d headings in godebug.md, want several", headings)
	}
	if strings.Count(res.Text, "```")%2 != 0 {
		t.Error("unbalanced code fences")
	}
	if normalize(res.Text) != res.Text {
		t.Error("Text is not normalized")
	}
}

// goroot reads a file under the Go installation that runs the tests.
func goroot(t testing.TB, elem ...string) []byte {
	t.Helper()
	path := filepath.Join(append([]string{build.Default.GOROOT}, elem...)...)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("this test reads %s from the Go installation: %v", path, err)
	}
	return data
}
