package embed

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"
)

// Ngram embedder constants. Changing any feature, weight or the hash changes
// every vector: bump NgramName with it.
const (
	// NgramName is the name of the feature-hashing embedder.
	NgramName = "local/ngram-v1"
	// NgramDim is its vector length: 384 keeps hash collisions rare enough
	// for texts of a few hundred words (a few thousand features) while a
	// vector stays 1.5 KB in pgvector, the size of common small sentence
	// models, so the index costs the same if a base switches to one.
	NgramDim = 384
	// ngramMaxBatch bounds one call; the work is in process, so the bound
	// only keeps one call from holding a CPU for long.
	ngramMaxBatch = 512

	weightWord     = 1.0  // a word (unigram)
	weightStopword = 0.2  // an English function word, as a word
	weightBigram   = 0.5  // two adjacent words, neither a function word
	weightCharGram = 0.25 // a character 3-, 4- or 5-gram of "<word>"

	featWord     = 'w'
	featBigram   = 'b'
	featCharGram = 'c'
	featEmpty    = 'e'
)

// Ngram is the "local/ngram-v1" embedder: no network, no files. A text's
// features are its words (lowercased, apostrophes dropped, split at hyphens),
// its adjacent word pairs, and the character 3- to 5-grams of each word
// wrapped in boundary markers ("<cat>" gives "<ca", "cat", "at>", "<cat",
// "cat>", "<cat>"). English function words count as words at a fifth of the
// weight and give no pairs or character grams: with no corpus statistics this
// is the cheap stand-in for inverse document frequency. Each distinct feature
// weighs its group's weight times 1+ln(count) (sublinear term frequency) and
// is hashed (FNV-1a 64, then a 64-bit finalizer) to one of NgramDim
// dimensions with a sign taken from the hash, so collisions tend to cancel.
// The sum is L2-normalized. A text with no word (empty, only punctuation)
// gets one fixed unit vector, the same for all such texts.
//
// Similar wording gives close vectors, also across inflections and typos
// through the character grams; it knows nothing of synonyms.
type Ngram struct {
	h hasher
}

// NewNgram returns the feature-hashing embedder.
func NewNgram() *Ngram { return &Ngram{h: hasher{dim: NgramDim}} }

// Name returns "local/ngram-v1".
func (*Ngram) Name() string { return NgramName }

// Dim returns NgramDim.
func (*Ngram) Dim() int { return NgramDim }

// MaxBatch returns 512.
func (*Ngram) MaxBatch() int { return ngramMaxBatch }

// Embed hashes each text; it fails only for a cancelled ctx or too many texts.
func (n *Ngram) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if err := checkBatch(NgramName, len(texts), ngramMaxBatch); err != nil {
		return nil, err
	}
	out := make([][]float32, len(texts))
	var s hashScratch
	for i, t := range texts {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("embed: %s: %w", NgramName, err)
		}
		out[i] = n.h.vector(t, &s)
	}
	return out, nil
}

// hasher maps texts to feature-hashed vectors of dim dimensions.
type hasher struct {
	dim int
}

// feature is one occurrence of a hashed feature and its group weight.
type feature struct {
	h uint64
	w float32
}

// hashScratch holds buffers reused from one text to the next.
type hashScratch struct {
	feats []feature
	words []string
	buf   []byte
	offs  []int
}

// vector returns the unit-length feature-hashed vector of text.
func (hs hasher) vector(text string, s *hashScratch) []float32 {
	s.feats = s.feats[:0]
	s.words = s.words[:0]
	scanWords(text, func(raw string) {
		raw = strings.ReplaceAll(raw, "'", "")
		for part := range strings.SplitSeq(raw, "-") {
			if part != "" {
				s.words = append(s.words, part)
			}
		}
	})
	for i, w := range s.words {
		stop := isStopword(w)
		if stop {
			s.feats = append(s.feats, feature{featureHash(featWord, w, ""), weightStopword})
			continue
		}
		s.feats = append(s.feats, feature{featureHash(featWord, w, ""), weightWord})
		if i+1 < len(s.words) && !isStopword(s.words[i+1]) {
			s.feats = append(s.feats, feature{featureHash(featBigram, w, s.words[i+1]), weightBigram})
		}
		s.charGrams(w)
	}
	v := make([]float32, hs.dim)
	if len(s.feats) == 0 {
		h := featureHash(featEmpty, "", "")
		v[h%uint64(hs.dim)] = 1
		return v
	}
	slices.SortFunc(s.feats, func(a, b feature) int {
		switch {
		case a.h < b.h:
			return -1
		case a.h > b.h:
			return 1
		}
		return 0
	})
	for i := 0; i < len(s.feats); {
		j := i + 1
		for j < len(s.feats) && s.feats[j].h == s.feats[i].h {
			j++
		}
		f := s.feats[i]
		w := float64(f.w) * (1 + math.Log(float64(j-i)))
		if f.h>>63 == 1 {
			w = -w
		}
		v[f.h%uint64(hs.dim)] += float32(w)
		i = j
	}
	if !normalize(v) {
		// Every feature cancelled out against another in its dimension;
		// astronomically rare, but the result must still be unit length.
		clear(v)
		v[featureHash(featEmpty, "", "")%uint64(hs.dim)] = 1
	}
	return v
}

// charGrams appends the character 3- to 5-grams of "<w>".
func (s *hashScratch) charGrams(w string) {
	s.buf = append(append(append(s.buf[:0], '<'), w...), '>')
	s.offs = s.offs[:0]
	for i := 0; i < len(s.buf); {
		s.offs = append(s.offs, i)
		_, size := utf8.DecodeRune(s.buf[i:])
		i += size
	}
	s.offs = append(s.offs, len(s.buf))
	runes := len(s.offs) - 1
	for n := 3; n <= 5; n++ {
		for i := 0; i+n <= runes; i++ {
			s.feats = append(s.feats, feature{featureHash(featCharGram, string(s.buf[s.offs[i]:s.offs[i+n]]), ""), weightCharGram})
		}
	}
}

// featureHash hashes a feature group byte and up to two strings (joined by a
// space) with FNV-1a 64, then mixes the bits (the splitmix64 finalizer) so
// that both the low bits (the dimension) and the top bit (the sign) are well
// spread.
func featureHash(group byte, a, b string) uint64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	h = (h ^ uint64(group)) * prime
	for i := 0; i < len(a); i++ {
		h = (h ^ uint64(a[i])) * prime
	}
	if b != "" {
		h = (h ^ ' ') * prime
		for i := 0; i < len(b); i++ {
			h = (h ^ uint64(b[i])) * prime
		}
	}
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}

// isStopword reports whether w is one of a fixed list of English function
// words. The list is part of "local/ngram-v1": never edit it without
// bumping NgramName.
func isStopword(w string) bool {
	switch w {
	case "a", "about", "above", "after", "again", "against", "all", "am", "an", "and",
		"any", "are", "as", "at", "be", "because", "been", "before", "being", "below",
		"between", "both", "but", "by", "can", "could", "did", "do", "does", "doing",
		"down", "during", "each", "few", "for", "from", "further", "had", "has", "have",
		"having", "he", "her", "here", "hers", "herself", "him", "himself", "his", "how",
		"i", "if", "in", "into", "is", "it", "its", "itself", "just", "me",
		"more", "most", "my", "myself", "no", "nor", "not", "now", "of", "off",
		"on", "once", "only", "or", "other", "our", "ours", "ourselves", "out", "over",
		"own", "same", "she", "should", "so", "some", "such", "than", "that", "the",
		"their", "theirs", "them", "themselves", "then", "there", "these", "they", "this", "those",
		"through", "to", "too", "under", "until", "up", "very", "was", "we", "were",
		"what", "when", "where", "which", "while", "who", "whom", "why", "will", "with",
		"would", "you", "your", "yours", "yourself", "yourselves":
		return true
	}
	return false
}
