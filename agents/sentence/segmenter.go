package sentence

import (
	"strings"
	"unicode/utf8"
)

// DefaultMaxLen is the longest pending text, in runes, before a run-on
// sentence is split so that speech can start.
const DefaultMaxLen = 250

// minMaxLen keeps a tiny MaxLen from cutting text into shreds.
const minMaxLen = 20

// Options tunes a Segmenter.
type Options struct {
	// MaxLen is the longest pending text, in runes, before a run-on is
	// split; 0 means DefaultMaxLen and values below 20 count as 20. No
	// emitted sentence is longer.
	MaxLen int
}

// Segmenter turns a stream of text deltas into speakable sentences, each
// returned as soon as its end is certain. The zero value is ready to use
// with the default options. A Segmenter is not safe for concurrent use;
// after Flush it is ready for a new stream.
type Segmenter struct {
	maxLen int
	carry  string // the first bytes of a rune split across deltas
	skipLF bool   // a CR was read: a LF right after it is the same line break
	c      cleaner
	s      splitter
}

// New returns a Segmenter with the given options.
func New(opts Options) *Segmenter {
	return &Segmenter{maxLen: opts.MaxLen}
}

// Push reads the next delta of the stream and returns the sentences it
// completed, in order, or nil. A delta may end anywhere, even inside a rune
// or a Markdown marker.
func (g *Segmenter) Push(delta string) []string {
	g.setup()
	text := delta
	if g.carry != "" {
		text = g.carry + delta
		g.carry = ""
	}
	for i := 0; i < len(text); {
		if !utf8.FullRuneInString(text[i:]) {
			g.carry = strings.Clone(text[i:])
			break
		}
		r, n := utf8.DecodeRuneInString(text[i:]) // invalid bytes give U+FFFD, one at a time
		g.read(r)
		i += n
	}
	return g.take()
}

// Flush ends the stream and returns the sentences still pending. The
// Segmenter is then reset, with its options, for a new stream.
func (g *Segmenter) Flush() []string {
	g.setup()
	for i := 0; i < len(g.carry); {
		r, n := utf8.DecodeRuneInString(g.carry[i:])
		g.read(r)
		i += n
	}
	g.c.put(eof)
	g.drain()
	out := g.take()
	*g = Segmenter{maxLen: g.maxLen}
	return out
}

// Split cuts a whole text into speakable sentences: Push(text) then Flush
// on a new Segmenter with default options.
func Split(text string) []string {
	var g Segmenter
	return append(g.Push(text), g.Flush()...)
}

// Speakable returns the speakable form of a whole text: the sentences Split
// finds, joined by single spaces. Cleaning and splitting are one pass, so
// what Speakable returns is exactly what a stream of the same text would
// speak.
func Speakable(text string) string {
	return strings.Join(Split(text), " ")
}

func (g *Segmenter) setup() {
	if g.s.maxLen != 0 {
		return
	}
	switch {
	case g.maxLen == 0:
		g.s.maxLen = DefaultMaxLen
	case g.maxLen < minMaxLen:
		g.s.maxLen = minMaxLen
	default:
		g.s.maxLen = g.maxLen
	}
}

// read normalizes line breaks (CR LF, CR, NEL, LS to LF; PS to a blank
// line) and passes the rune through both stages.
func (g *Segmenter) read(r rune) {
	if g.skipLF {
		g.skipLF = false
		if r == '\n' {
			return
		}
	}
	switch r {
	case '\r':
		g.skipLF = true
		r = '\n'
	case '\u0085', '\u2028':
		r = '\n'
	case '\u2029':
		g.c.put('\n')
		r = '\n'
	}
	g.c.put(r)
	g.drain()
}

// drain moves the cleaner's output into the splitter.
func (g *Segmenter) drain() {
	for _, r := range g.c.out {
		g.s.put(r)
	}
	g.c.out = g.c.out[:0]
}

// take hands over the sentences found so far.
func (g *Segmenter) take() []string {
	if len(g.s.out) == 0 {
		return nil
	}
	out := g.s.out
	g.s.out = nil
	return out
}
