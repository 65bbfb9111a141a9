package extract

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestExtractHTML(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		in        string
		hint      Hint
		wantTitle string
		wantText  string
	}{
		{
			name: "structure",
			in: `<!DOCTYPE html><html><head><title> The  Page </title><style>p{color:red}</style>
<script>var x = "<p>not text</p>";</script></head><body>
<h1>Main &amp; Only</h1>
<p>First   paragraph with a <a href="/x">link</a>,
<b>bold</b>word and an entity &mdash; here.</p>
<p>Line one<br>Line two</p>
<h2>Lists</h2>
<ul><li>alpha</li><li><p>beta</p><ul><li>nested</li></ul></li></ul>
<ol start="3"><li>three</li><li>four</li></ol>
<h3>Code</h3>
<pre class="go">func  main() {
	fmt.Println("&lt;hi&gt;")
}
</pre>
<table><tr><th>Name</th><th>Qty</th></tr><tr><td>Apple</td><td>3</td></tr><tr><td></td><td></td></tr></table>
<p>E = mc<sup>2</sup> and H<sub>2</sub>O, a note<sup>[1]</sup>.</p>
<noscript>enable js</noscript><template><p>tmpl</p></template><svg><text>svg text</text></svg>
</body></html>`,
			wantTitle: "The Page",
			wantText: "# Main & Only\n\n" +
				"First paragraph with a link, boldword and an entity — here.\n\n" +
				"Line one\nLine two\n\n" +
				"## Lists\n\n" +
				"- alpha\n- beta\n  - nested\n\n3. three\n4. four\n\n" +
				"### Code\n\n" +
				"```\nfunc  main() {\n\tfmt.Println(\"<hi>\")\n}\n```\n\n" +
				"Name | Qty\nApple | 3\n\n" +
				"E = mc^2 and H2O, a note[1].",
		},
		{
			name: "main keeps only the main content",
			in: `<html><head><title>Blog</title></head><body><header><h1>Site name</h1><nav><a>Home</a></nav></header>
<aside>Popular posts</aside>
<main><article><header><h1>Post title</h1></header><p>Post body.</p><nav>On this page</nav><footer>Post footer</footer></article></main>
<footer>Copyright</footer></body></html>`,
			wantTitle: "Blog",
			wantText:  "# Post title\n\nPost body.\n\nPost footer",
		},
		{
			name: "article drops chrome outside it",
			in: `<body><nav>Menu</nav><header>Banner</header><div role="navigation">Links</div>
<article><h2>Story</h2><p>Text.</p></article><aside>Ads</aside><div>Kept div</div><footer>Foot</footer></body>`,
			wantTitle: "",
			wantText:  "## Story\n\nText.\n\nKept div",
		},
		{
			name:      "without main or article chrome is kept",
			in:        `<body><nav>Menu</nav><p>Text.</p><footer>Foot</footer></body>`,
			wantTitle: "",
			wantText:  "Menu\n\nText.\n\nFoot",
		},
		{
			name:      "hidden elements dropped",
			in:        `<p>shown</p><p hidden>gone</p><div style="display: none">gone</div><span aria-hidden="true">★</span><p>too</p>`,
			wantTitle: "",
			wantText:  "shown\n\ntoo",
		},
		{
			name:      "first h1 is the title without a title element",
			in:        `<h2>Before</h2><h1>Heading <i>One</i></h1><h1>Second</h1>`,
			wantTitle: "Heading One",
			wantText:  "## Before\n\n# Heading One\n\n# Second",
		},
		{
			name:      "title written as a heading when the text has none",
			in:        `<html><head><title>Only Title</title></head><body><h2>Part</h2><p>x</p></body></html>`,
			wantTitle: "Only Title",
			wantText:  "# Only Title\n\n## Part\n\nx",
		},
		{
			name:      "leading JSON comment title (go.dev pages)",
			in:        "<!--{\n\t\"Title\": \"The Spec\",\n\t\"Path\": \"/ref/spec\"\n}-->\n<h2>Intro</h2><p>x</p>",
			wantTitle: "The Spec",
			wantText:  "# The Spec\n\n## Intro\n\nx",
		},
		{
			name:      "pre holding a fence gets a longer fence",
			in:        "<pre>```\ncode\n```</pre>",
			wantTitle: "",
			wantText:  "````\n```\ncode\n```\n````",
		},
		{
			name:      "nested tables flatten into the outer cell",
			in:        `<table><tr><td>a<table><tr><td>b</td><td>c</td></tr></table></td><td>d</td></tr></table>`,
			wantTitle: "",
			wantText:  "a b c | d",
		},
		{
			name:      "definition lists and blockquotes are blocks",
			in:        `<dl><dt>Term</dt><dd>Meaning</dd></dl><blockquote><p>Quote</p></blockquote>`,
			wantTitle: "",
			wantText:  "Term\n\nMeaning\n\nQuote",
		},
		{
			name:      "latin-1 per meta charset",
			in:        "<html><head><meta charset=\"iso-8859-1\"></head><body><p>caf\xe9 cr\xe8me</p></body></html>",
			wantTitle: "",
			wantText:  "café crème",
		},
		{
			name:      "windows-1251 per http-equiv",
			in:        "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=windows-1251\"></head><body><p>\xcf\xf0\xe8\xe2\xe5\xf2</p></body></html>",
			wantTitle: "",
			wantText:  "Привет",
		},
		{
			name:      "hint charset wins over meta",
			in:        "<meta charset=\"utf-8\"><p>\xe9t\xe9</p>",
			hint:      Hint{ContentType: "text/html; charset=iso-8859-1"},
			wantTitle: "",
			wantText:  "été",
		},
		{
			name:      "utf-8 after the first KiB without a declaration",
			in:        "<p>" + strings.Repeat("a", 2000) + "</p><p>naïve</p>",
			wantTitle: "",
			wantText:  strings.Repeat("a", 2000) + "\n\nnaïve",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			hint := tt.hint
			hint.Filename = "page.html"
			res, err := Extract(context.Background(), []byte(tt.in), hint)
			if err != nil {
				t.Fatal(err)
			}
			if res.MediaType != MediaHTML {
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

func TestExtractHTMLHostile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		in       string
		wantText []string // substrings the text must hold
	}{
		{
			name:     "10k nested divs",
			in:       strings.Repeat("<div>", 10000) + "deep text" + strings.Repeat("</div>", 10000) + "<p>after</p>",
			wantText: []string{"deep text", "after"},
		},
		{
			name:     "10k nested formatting elements never closed",
			in:       "<p>start" + strings.Repeat("<b><i>", 10000) + "bold text",
			wantText: []string{"start", "bold text"},
		},
		{
			name:     "deep nesting inside a skipped element",
			in:       "<h1>Kept</h1><nav>" + strings.Repeat("<div>", 5000) + "menu" + strings.Repeat("</div>", 5000) + "</nav><article><p>Body</p></article>",
			wantText: []string{"Kept", "Body"},
		},
		{
			name:     "huge attribute",
			in:       `<p title="` + strings.Repeat("x", 4<<20) + `">short text</p>`,
			wantText: []string{"short text"},
		},
		{
			name:     "unterminated tag and comment",
			in:       "<p>visible</p><div class=\"x <!-- never closed",
			wantText: []string{"visible"},
		},
		{
			name:     "NUL bytes and invalid UTF-8",
			in:       "<p>a\x00b \xff\xfe c</p>" + strings.Repeat("<p>words words words</p>", 20),
			wantText: []string{"ab", "words"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := Extract(context.Background(), []byte(tt.in), Hint{Filename: "x.html"})
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range tt.wantText {
				if !strings.Contains(res.Text, want) {
					t.Errorf("text lacks %q:\n%.500s", want, res.Text)
				}
			}
			if strings.Contains(res.Text, "<") {
				t.Errorf("markup left in text: %.300q", res.Text)
			}
			if normalize(res.Text) != res.Text {
				t.Error("Text is not normalized")
			}
		})
	}
}

// TestExtractGoSpec runs on $GOROOT/doc/go_spec.html, an HTML fragment
// without <html> or <title>, with h2/h3 sections and EBNF in <pre>.
func TestExtractGoSpec(t *testing.T) {
	t.Parallel()
	data := goroot(t, "doc", "go_spec.html")
	res, err := Extract(context.Background(), data, Hint{Filename: "go_spec.html"})
	if err != nil {
		t.Fatal(err)
	}
	if res.MediaType != MediaHTML {
		t.Errorf("MediaType = %q", res.MediaType)
	}
	if want := "The Go Programming Language Specification"; res.Title != want {
		t.Errorf("Title = %q, want %q", res.Title, want)
	}
	lines := strings.Split(res.Text, "\n")
	has := func(line string) bool {
		for _, l := range lines {
			if l == line {
				return true
			}
		}
		return false
	}
	for _, h := range []string{"# The Go Programming Language Specification", "## Introduction", "## Types", "### Struct types", "## Statements", "### For statements"} {
		if !has(h) {
			t.Errorf("heading line %q not found", h)
		}
	}
	// EBNF productions stay inside fences, verbatim (aligned with spaces).
	inFence := false
	ebnf := map[string]bool{}
	for _, l := range lines {
		if strings.HasPrefix(l, "```") {
			inFence = !inFence
			continue
		}
		if inFence && strings.Contains(l, " = ") {
			ebnf[strings.Fields(l)[0]] = true
		}
	}
	if inFence {
		t.Error("a fence is left open")
	}
	for _, p := range []string{"Production", "StructType", "FieldDecl", "ForStmt", "Block"} {
		if !ebnf[p] {
			t.Errorf("EBNF production %s not found inside a fence", p)
		}
	}
	if !has("Production  = production_name \"=\" [ Expression ] \".\" .") {
		t.Error("the Production rule lost its alignment or its quotes")
	}
	if tag := regexp.MustCompile(`</?(p|pre|h[1-6]|a|code|i|b|ul|ol|li|sub|sup|br|span|div)\b[^>]*>`).FindString(res.Text); tag != "" {
		t.Errorf("tag %q left in text", tag)
	}
	for _, e := range []string{"&lt;", "&gt;", "&amp;", "&quot;", "&#"} {
		if strings.Contains(res.Text, e) {
			t.Errorf("entity %q left undecoded", e)
		}
	}
	if !strings.Contains(res.Text, "x <- chan") && !strings.Contains(res.Text, "<-chan") {
		t.Error("the channel operator (written &lt;- in the source) was not decoded")
	}
	if normalize(res.Text) != res.Text {
		t.Error("Text is not normalized")
	}
}
