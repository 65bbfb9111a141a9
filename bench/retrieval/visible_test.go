package retrieval

import (
	"bytes"
	"fmt"
	"path"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// visibleText renders a corpus document the simple way the question set is
// checked against: Markdown as its raw text, HTML as the text a browser
// would show (comments, <style> and <script> dropped, entities decoded),
// with a newline at every block boundary. It is deliberately independent of
// Timbre's own extractor, so that questions.json is validated against the
// document rather than against the code under evaluation.
func visibleText(name string, data []byte) (string, error) {
	switch path.Ext(name) {
	case ".md":
		return string(data), nil
	case ".html":
		root, err := html.Parse(bytes.NewReader(data))
		if err != nil {
			return "", fmt.Errorf("parse %s: %w", name, err)
		}
		var b strings.Builder
		writeVisible(&b, root)
		return b.String(), nil
	default:
		return "", fmt.Errorf("render %s: unknown document type %q", name, path.Ext(name))
	}
}

// writeVisible appends the visible text under n to b.
func writeVisible(b *strings.Builder, n *html.Node) {
	switch n.Type {
	case html.CommentNode, html.DoctypeNode:
		return
	case html.TextNode:
		b.WriteString(n.Data)
		return
	case html.ElementNode:
		switch n.DataAtom {
		case atom.Head, atom.Style, atom.Script, atom.Template, atom.Noscript:
			return
		case atom.Br:
			b.WriteByte('\n')
			return
		}
	}
	block := n.Type == html.ElementNode && isBlock(n.DataAtom)
	if block {
		b.WriteByte('\n')
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		writeVisible(b, c)
	}
	if block {
		b.WriteByte('\n')
	}
}

// isBlock reports whether a browser lays out elements of kind a as blocks,
// for the elements the corpus uses.
func isBlock(a atom.Atom) bool {
	switch a {
	case atom.P, atom.Div, atom.Pre, atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6,
		atom.Ul, atom.Ol, atom.Li, atom.Dl, atom.Dt, atom.Dd, atom.Table, atom.Tr, atom.Td, atom.Th,
		atom.Blockquote, atom.Hr, atom.Section, atom.Article, atom.Header, atom.Footer, atom.Nav:
		return true
	}
	return false
}

func TestVisibleText(t *testing.T) {
	t.Parallel()
	const page = `<!--{ "Title": "T" }-->
<style>p.rule { font-style: italic; }</style>
<script>var x = 1;</script>
<h2 id="a">Heading</h2>
<p>Text with <code>code</code>, <a href="/x">a link</a> &amp; &lt;entities&gt;&nbsp;here.<br>Next line.</p>
<pre class="ebnf">Production = name "=" .</pre>
<ul><li>one</li><li>two</li></ul>`
	got, err := visibleText("page.html", []byte(page))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(`Heading Text with code, a link & <entities> here. Next line. Production = name "=" . one two`,
		collapseSpace(got)); diff != "" {
		t.Errorf("visible text (-want +got):\n%s", diff)
	}

	md := "## Intro {#intro}\n\nA `key=value` pair.\n"
	if got, err := visibleText("x.md", []byte(md)); err != nil || got != md {
		t.Errorf("markdown: got %q, %v; want the raw text", got, err)
	}
	if _, err := visibleText("x.pdf", nil); err == nil {
		t.Error("unknown extension: no error")
	}
}
