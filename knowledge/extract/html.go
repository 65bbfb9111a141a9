package extract

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
	"golang.org/x/net/html/charset"
	"golang.org/x/text/encoding"
)

// extractHTML converts an HTML document or fragment to text (see htmlWriter
// for the mapping). The encoding is taken from a byte-order mark, the
// hint's charset, a <meta charset> or http-equiv declaration, in that
// order; without any, UTF-8 if the bytes are valid UTF-8, else
// Windows-1252.
//
// Boilerplate: when the document has a <main> (or role=main), only its
// content is kept; otherwise, when it has an <article>, nav, header, footer
// and aside outside articles are dropped. Script, style, noscript,
// template, svg, iframe, head, form controls and hidden elements are always
// dropped.
//
// The title is the <title>, else the first <h1>, else the "Title" of a
// leading JSON comment (the convention of go.dev pages such as the Go
// spec). When the text has no "# " heading, the title is written as one.
func extractHTML(ctx context.Context, data []byte, h Hint) (Result, error) {
	src := decodeHTML(data, h.ContentType)
	w := newHTMLWriter(ctx)
	doc, err := html.Parse(strings.NewReader(src))
	if err == nil {
		err = w.convertTree(doc)
	} else {
		// The parser refuses documents nested more than 512 elements deep;
		// a flat tokenizer pass still gets their text.
		w = newHTMLWriter(ctx)
		err = w.convertTokens(src)
	}
	if err != nil {
		return Result{}, err
	}
	text := normalize(w.finish())
	title := w.title
	if title == "" {
		title = w.firstH1
	}
	if title == "" {
		title = w.metaTitle
	}
	title = cleanTitle(title)
	if title != "" && text != "" && !hasHeadingLevel1(text) {
		text = "# " + title + "\n\n" + text
	}
	return Result{Title: title, Text: text}, nil
}

// decodeHTML returns the document as valid UTF-8 (see extractHTML).
func decodeHTML(data []byte, contentType string) string {
	if bomEncoding(data) != "" {
		return decodeText(data, "")
	}
	e, name, certain := charset.DetermineEncoding(data, contentType)
	switch {
	case name == "utf-8":
		return utf8OrWindows1252(data)
	case !certain && name == "windows-1252" && utf8.Valid(data):
		// DetermineEncoding only looks at the first KiB; a page whose accents
		// come later, or that declares Latin-1 but is UTF-8, is still UTF-8.
		return string(data)
	case e == nil || e == encoding.Nop:
		return utf8OrWindows1252(data)
	}
	out, err := e.NewDecoder().Bytes(data)
	if err != nil {
		return utf8OrWindows1252(data)
	}
	return strings.ToValidUTF8(string(out), "\uFFFD")
}

// convertTree walks a parsed document without recursion.
func (w *htmlWriter) convertTree(doc *html.Node) error {
	w.metaTitle = leadingJSONTitle(doc)
	title, main, article := survey(doc)
	w.title = title
	root := doc
	if main != nil {
		root = main
		w.dropChrome = true
		w.articleDepth = 1 // everything kept is inside the main content
	} else if article {
		w.dropChrome = true
	}
	type frame struct {
		n    *html.Node
		exit bool
	}
	stack := []frame{{n: root}}
	for len(stack) > 0 {
		f := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if err := w.tick(); err != nil {
			return err
		}
		n := f.n
		if f.exit {
			w.end(n.DataAtom)
			continue
		}
		switch n.Type {
		case html.TextNode:
			w.text(n.Data)
			continue
		case html.ElementNode:
			if n.DataAtom == atom.Head || n.DataAtom == atom.Title {
				continue
			}
			if !w.start(n.DataAtom, n.Attr) {
				continue
			}
			stack = append(stack, frame{n: n, exit: true})
		case html.DocumentNode:
		default:
			continue
		}
		for c := n.LastChild; c != nil; c = c.PrevSibling {
			stack = append(stack, frame{n: c})
		}
	}
	return nil
}

// convertTokens converts src with the tokenizer alone, keeping its own
// stack of open elements (at most maxOpen deep) to pair end tags.
func (w *htmlWriter) convertTokens(src string) error {
	const maxOpen = 256
	lower := strings.ToLower(src)
	w.dropChrome = strings.Contains(lower, "<main") || strings.Contains(lower, "<article")
	z := html.NewTokenizer(strings.NewReader(src))
	var open []atom.Atom
	skipping := 0 // index+1 in open of the element being skipped
	for {
		if err := w.tick(); err != nil {
			return err
		}
		switch z.Next() {
		case html.ErrorToken:
			for i := len(open) - 1; i >= 0; i-- {
				if skipping == 0 {
					w.end(open[i])
				} else if i+1 == skipping {
					skipping = 0
				}
			}
			return nil
		case html.TextToken:
			if w.inTitle {
				if w.title == "" {
					w.title = string(z.Text())
				}
			} else if skipping == 0 {
				w.text(string(z.Text()))
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			t := z.Token()
			if t.DataAtom == atom.Title {
				w.inTitle = true
				continue
			}
			void := isVoid(t.DataAtom)
			if !void && len(open) >= maxOpen {
				continue
			}
			if skipping != 0 {
				if !void {
					open = append(open, t.DataAtom)
				}
				continue
			}
			descend := w.start(t.DataAtom, t.Attr)
			if void {
				if descend {
					w.end(t.DataAtom)
				}
				continue
			}
			open = append(open, t.DataAtom)
			if !descend {
				skipping = len(open)
			}
		case html.EndTagToken:
			t := z.Token()
			if t.DataAtom == atom.Title {
				w.inTitle = false
				continue
			}
			for i := len(open) - 1; i >= 0; i-- {
				if open[i] != t.DataAtom {
					continue
				}
				for j := len(open) - 1; j >= i; j-- {
					if skipping == 0 {
						w.end(open[j])
					} else if j+1 == skipping {
						skipping = 0
					}
				}
				open = open[:i]
				break
			}
		}
	}
}

// survey walks the document once for what the conversion needs to know
// first: the text of the first <title> outside svg, the first visible
// <main> (or role=main) element, and whether there is an <article>.
func survey(doc *html.Node) (title string, main *html.Node, article bool) {
	walkElements(doc, func(n *html.Node) bool {
		switch {
		case n.DataAtom == atom.Svg:
			return false
		case n.DataAtom == atom.Title:
			if title == "" {
				var b strings.Builder
				for c := n.FirstChild; c != nil; c = c.NextSibling {
					if c.Type == html.TextNode {
						b.WriteString(c.Data)
					}
				}
				title = collapseSpaces(b.String())
			}
			return false
		case n.DataAtom == atom.Head:
			return true
		case isDroppedElement(n.DataAtom) || isHidden(n.Attr):
			return false
		case n.DataAtom == atom.Article:
			article = true
		case main == nil && (n.DataAtom == atom.Main || strings.EqualFold(strings.TrimSpace(attr(n.Attr, "role")), "main")):
			main = n
		}
		return true
	})
	return title, main, article
}

// walkElements calls f on every element under root in document order,
// without recursion; f returns false to skip an element's children.
func walkElements(root *html.Node, f func(*html.Node) bool) {
	stack := []*html.Node{root}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if n.Type == html.ElementNode && !f(n) {
			continue
		}
		for c := n.LastChild; c != nil; c = c.PrevSibling {
			stack = append(stack, c)
		}
	}
}

// leadingJSONTitle returns the "Title" of a JSON object in a comment that
// comes before any element or text, as go.dev pages carry, or "".
func leadingJSONTitle(doc *html.Node) string {
	for c := doc.FirstChild; c != nil; c = c.NextSibling {
		switch c.Type {
		case html.CommentNode:
			data := bytes.TrimSpace([]byte(c.Data))
			if !bytes.HasPrefix(data, []byte("{")) {
				return ""
			}
			var meta struct{ Title string }
			if json.Unmarshal(data, &meta) != nil {
				return ""
			}
			return meta.Title
		case html.DoctypeNode:
		default:
			return ""
		}
	}
	return ""
}
