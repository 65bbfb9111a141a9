// Package extract turns the bytes of an uploaded document into plain text
// with light structure marks, which the chunker splits into cited passages.
//
// It owns format detection (content sniffing checked against the client's
// untrusted hint) and the readers for plain text, Markdown, HTML and PDF.
// The text it returns is Markdown-like: "# " … "###### " heading lines,
// paragraphs separated by one blank line, "- " and "1. " list items,
// ``` fences around code kept verbatim, "cell | cell" table rows, collapsed
// whitespace, LF line ends and no control characters other than \n and \t.
//
// Every reader treats its input as hostile: malformed documents give errors
// that wrap one of the sentinels in errors.go with a reason that can be shown
// to the user; they never panic, loop forever or allocate without bound.
//
// It imports golang.org/x/net/html, golang.org/x/text and
// github.com/ledongthuc/pdf, and nothing else from Timbre.
package extract
