package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/timbre-ai/timbre/knowledge"
	"github.com/timbre-ai/timbre/knowledge/chunk"
	"github.com/timbre-ai/timbre/knowledge/extract"
)

// corpusRoots are the directories of the Go root the corpus is read from.
var corpusRoots = [...]string{"doc", "api", "misc", "lib", "src"}

// Query selection: a corpus line becomes a candidate query when it has this
// many words, mostly plain words, and is none of the boilerplate below.
const (
	minQueryWords    = 8
	maxQueryWords    = 30
	candidatesPerDoc = 4
)

// boilerplate marks lines that repeat across thousands of files (licence
// headers, generated-code banners) and would make degenerate queries.
var boilerplate = [...]string{"copyright", "license", "all rights reserved", "bsd-style", "source code is governed",
	"do not edit", "generated", "http://", "https://"}

// corpusDoc is one file of the corpus, with what ingesting it will give.
type corpusDoc struct {
	// Path is where the file is read from; Name is Path relative to the Go
	// root ("src/net/http/server.go").
	Path, Name string
	// ContentType is the type declared to AddFile; Media is what
	// extract.Detect makes of it.
	ContentType, Media string
	Bytes              int
	// Chunks is how many chunks the service's chunker cuts the document into.
	Chunks int
}

// query is one search query: a corpus sentence with every third word left
// out, so that it is close to, but not the same as, the passage it came from.
type query struct {
	Text   string
	Source string // the document the sentence comes from
}

// corpus is the set of documents ingested, the embedding input of each of
// their chunks, and the queries.
type corpus struct {
	Docs    []corpusDoc
	Chunks  int
	Bytes   int64
	Inputs  []string
	Queries []query
	// Scanned counts the files read; the rest are files left out.
	Scanned, Duplicates, Unsupported, Empty int
	// BySource counts chunks per top directory of the Go root, ByMedia per
	// detected media type.
	BySource, ByMedia map[string]int
	Took              time.Duration
}

// buildCorpus reads files of the Go root in a fixed pseudo-random order
// (by a hash of their path, so every part of the tree is represented at
// any size) and keeps each one the knowledge service would ingest as new
// chunks, until the chunks reach want. It extracts and chunks each file with
// the same packages and options as the service, so the chunk count is known
// before ingestion. Files with the same content are kept once: the service
// stores them once.
func buildCorpus(ctx context.Context, goroot string, want, queries int) (*corpus, error) {
	started := time.Now()
	paths, err := corpusFiles(goroot)
	if err != nil {
		return nil, err
	}
	c := &corpus{BySource: map[string]int{}, ByMedia: map[string]int{}}
	seen := map[[sha256.Size]byte]bool{}
	var candidates []query
	opts := chunk.Options{MaxTokens: knowledge.DefaultChunkTokens, Overlap: knowledge.DefaultChunkOverlap}
	for _, name := range paths {
		if c.Chunks >= want {
			break
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		path := filepath.Join(goroot, filepath.FromSlash(name))
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read corpus file: %w", err)
		}
		c.Scanned++
		sum := sha256.Sum256(data)
		if seen[sum] {
			c.Duplicates++
			continue
		}
		seen[sum] = true
		d := corpusDoc{Path: path, Name: name, ContentType: contentType(name), Bytes: len(data)}
		base := filepath.Base(name)
		d.Media, err = extract.Detect(data, extract.Hint{Filename: base, ContentType: d.ContentType})
		if errors.Is(err, extract.ErrEmpty) {
			c.Empty++
			continue
		}
		if err != nil {
			c.Unsupported++
			continue
		}
		// As the worker does: the detected type is the hint for extraction.
		res, err := extract.Extract(ctx, data, extract.Hint{Filename: base, ContentType: d.Media})
		if errors.Is(err, extract.ErrEmpty) {
			c.Empty++
			continue
		}
		if err != nil {
			c.Unsupported++
			continue
		}
		chunks, err := chunk.Split(res.Text, opts)
		if err != nil {
			return nil, fmt.Errorf("chunk %s: %w", name, err)
		}
		if len(chunks) == 0 {
			c.Empty++
			continue
		}
		d.Chunks = len(chunks)
		c.Docs = append(c.Docs, d)
		c.Chunks += d.Chunks
		c.Bytes += int64(d.Bytes)
		c.BySource[strings.SplitN(name, "/", 2)[0]] += d.Chunks
		c.ByMedia[d.Media] += d.Chunks
		for _, ch := range chunks {
			c.Inputs = append(c.Inputs, embeddingInput(ch.Headings, ch.Text))
		}
		for _, s := range sentences(res.Text, candidatesPerDoc) {
			candidates = append(candidates, query{Text: paraphrase(s), Source: name})
		}
	}
	if len(c.Docs) == 0 {
		return nil, fmt.Errorf("no document to ingest found under %s", goroot)
	}
	c.Queries = pickQueries(candidates, queries)
	if len(c.Queries) == 0 {
		return nil, fmt.Errorf("no sentence suitable as a query in the %d documents of the corpus", len(c.Docs))
	}
	c.Took = time.Since(started)
	return c, nil
}

// corpusFiles lists the candidate files under the corpus roots, relative to
// goroot with forward slashes, in the corpus order.
func corpusFiles(goroot string) ([]string, error) {
	var names []string
	for _, root := range corpusRoots {
		dir := filepath.Join(goroot, root)
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if path == dir && errors.Is(err, fs.ErrNotExist) {
					return fs.SkipDir
				}
				return err
			}
			if d.IsDir() {
				if d.Name() == "testdata" {
					// Fixtures: deliberately broken, binary or huge files.
					return fs.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() || !wanted(d.Name()) {
				return nil
			}
			rel, err := filepath.Rel(goroot, path)
			if err != nil {
				return err
			}
			names = append(names, filepath.ToSlash(rel))
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("list the corpus files under %s: %w", goroot, err)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no corpus file under %s (is it a Go root? see `go env GOROOT`)", goroot)
	}
	key := func(s string) uint64 {
		h := fnv.New64a()
		h.Write([]byte(s))
		return h.Sum64()
	}
	slices.SortFunc(names, func(a, b string) int {
		if ka, kb := key(a), key(b); ka != kb {
			if ka < kb {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	return names, nil
}

// wanted reports whether a file holds text worth ingesting: Go source,
// Markdown, HTML, text, READMEs.
func wanted(name string) bool {
	switch filepath.Ext(name) {
	case ".go", ".md", ".txt", ".html":
		return true
	}
	return strings.HasPrefix(name, "README")
}

// contentType is the type an uploader would declare for a file.
func contentType(name string) string {
	switch filepath.Ext(name) {
	case ".md":
		return "text/markdown"
	case ".html":
		return "text/html"
	}
	return "text/plain; charset=utf-8"
}

// embeddingInput is the text embedded for a chunk, as the knowledge
// service builds it: the heading path, a line break, the chunk's text.
func embeddingInput(headings []string, text string) string {
	if len(headings) == 0 {
		return text
	}
	return strings.Join(headings, " > ") + "\n" + text
}

// sentences returns up to n lines of text that read as prose: comment or
// text lines of minQueryWords to maxQueryWords words, mostly made of
// letters, that are not boilerplate. Comment markers are removed.
func sentences(text string, n int) []string {
	var out []string
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		line = strings.TrimLeft(line, "/#*->| \t")
		line = strings.TrimSpace(line)
		words := strings.Fields(line)
		if len(words) < minQueryWords || len(words) > maxQueryWords {
			continue
		}
		lower := strings.ToLower(line)
		if slices.ContainsFunc(boilerplate[:], func(b string) bool { return strings.Contains(lower, b) }) {
			continue
		}
		plain := 0
		for _, w := range words {
			if isPlainWord(w) {
				plain++
			}
		}
		if plain*5 < len(words)*4 {
			continue
		}
		out = append(out, strings.Join(words, " "))
		if len(out) == n {
			break
		}
	}
	return out
}

// isPlainWord reports whether w is letters, with at most punctuation
// around them ("word", "word,", "(word)").
func isPlainWord(w string) bool {
	w = strings.TrimFunc(w, func(r rune) bool { return strings.ContainsRune(`.,;:!?()"'`+"`", r) })
	if w == "" {
		return false
	}
	for _, r := range w {
		if !unicode.IsLetter(r) && r != '-' && r != '\'' {
			return false
		}
	}
	return true
}

// paraphrase drops every third word of a sentence.
func paraphrase(s string) string {
	words := strings.Fields(s)
	kept := words[:0:0]
	for i, w := range words {
		if i%3 != 2 {
			kept = append(kept, w)
		}
	}
	return strings.Join(kept, " ")
}

// pickQueries takes n queries spread evenly over the candidates, skipping
// repeats; fewer when there are not enough distinct candidates.
func pickQueries(candidates []query, n int) []query {
	seen := map[string]bool{}
	var out []query
	take := func(q query) {
		if !seen[q.Text] && len(out) < n {
			seen[q.Text] = true
			out = append(out, q)
		}
	}
	for i := range n {
		if len(candidates) == 0 {
			break
		}
		take(candidates[i*len(candidates)/n])
	}
	// Fill the places of repeats, in order.
	for _, q := range candidates {
		take(q)
	}
	return out
}
