package chunk

import (
	"fmt"
	"unicode/utf8"
)

// Defaults for the zero Options.
const (
	DefaultMaxTokens = 200
	DefaultOverlap   = 24
)

// NoOverlap, as Options.Overlap, makes chunks start where the previous one
// ended.
const NoOverlap = -1

// Options tunes Split. The zero value means the defaults.
type Options struct {
	// MaxTokens is the upper bound of a chunk's Tokens; 0 means
	// DefaultMaxTokens. Only a chunk of a single rune that alone is over
	// the bound may exceed it.
	MaxTokens int
	// Overlap is about how many tokens a chunk repeats from the end of the
	// previous chunk of the same section. 0 means DefaultOverlap, lowered
	// to below half of MaxTokens when MaxTokens is small; NoOverlap means
	// none. Any other value must be positive and below MaxTokens/2.
	Overlap int
}

// Chunk is a piece of the source text.
type Chunk struct {
	// Index is the chunk's 0-based position in the document.
	Index int
	// Text is exactly the source text between Start and End.
	Text string
	// Headings is the path of headings above the chunk, outermost first;
	// nil before the first heading.
	Headings []string
	// Start and End are offsets in runes (Unicode code points) into the
	// source: Text == string([]rune(src)[Start:End]).
	Start, End int
	// Tokens is tokens.Count(Text).
	Tokens int
}

// resolve validates opt and fills in the defaults.
func (opt Options) resolve() (maxTokens, overlap int, err error) {
	maxTokens, overlap = opt.MaxTokens, opt.Overlap
	if maxTokens < 0 {
		return 0, 0, fmt.Errorf("%w: MaxTokens %d is negative", ErrInvalidOptions, maxTokens)
	}
	if maxTokens == 0 {
		maxTokens = DefaultMaxTokens
	}
	switch {
	case overlap == NoOverlap:
		overlap = 0
	case overlap == 0:
		overlap = min(DefaultOverlap, (maxTokens-1)/2)
	case overlap < 0:
		return 0, 0, fmt.Errorf("%w: Overlap %d is negative", ErrInvalidOptions, overlap)
	case 2*overlap >= maxTokens:
		return 0, 0, fmt.Errorf("%w: Overlap %d is not below half of MaxTokens %d", ErrInvalidOptions, overlap, maxTokens)
	}
	return maxTokens, overlap, nil
}

// Split cuts src into chunks (see the package documentation). It returns no
// chunks for a text that is empty or only whitespace and headings, and an
// error wrapping ErrInvalidOptions for invalid options only. Bytes of src
// that are not valid UTF-8 each become U+FFFD in the chunk text, as they do
// in []rune(src).
func Split(src string, opt Options) ([]Chunk, error) {
	maxTokens, overlap, err := opt.resolve()
	if err != nil {
		return nil, err
	}
	if !utf8.ValidString(src) {
		src = string([]rune(src))
	}
	sp := splitter{src: src, max: maxTokens, overlap: overlap}
	for _, sec := range sections(src) {
		sp.section(sec)
	}
	return sp.chunks(), nil
}
