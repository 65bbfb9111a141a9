package main

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// tokensText renders a Piper phoneme_id_map as the tokens.txt sherpa-onnx
// reads for a Piper voice: one "<symbol> <id>" line per symbol, ordered by
// id. It returns the text and the number of lines.
//
// sherpa-onnx splits each line on ASCII whitespace and takes a line with a
// single field to be the id of the space symbol, so the space is written as
// " <id>". It keys tokens by one Unicode code point and exits the process on
// a symbol of any other length, so such symbols are refused here, as are the
// other ASCII whitespace characters, which a line cannot hold. Piper allows
// several ids per symbol but sherpa-onnx one; the first is kept, which is
// all Piper's published voices have.
func tokensText(idMap map[string][]int) (string, int, error) {
	type token struct {
		symbol string
		id     int
	}
	tokens := make([]token, 0, len(idMap))
	for sym, ids := range idMap {
		if err := checkSymbol(sym); err != nil {
			return "", 0, err
		}
		if len(ids) == 0 {
			return "", 0, fmt.Errorf("%w: %q has no id", errBadToken, sym)
		}
		if ids[0] < 0 {
			return "", 0, fmt.Errorf("%w: %q has the negative id %d", errBadToken, sym, ids[0])
		}
		tokens = append(tokens, token{sym, ids[0]})
	}
	slices.SortFunc(tokens, func(a, b token) int {
		return cmp.Or(cmp.Compare(a.id, b.id), strings.Compare(a.symbol, b.symbol))
	})

	var b strings.Builder
	for _, t := range tokens {
		if t.symbol != " " {
			b.WriteString(t.symbol)
		}
		b.WriteByte(' ')
		b.WriteString(strconv.Itoa(t.id))
		b.WriteByte('\n')
	}
	return b.String(), len(tokens), nil
}

// checkSymbol says why sym cannot be a line of tokens.txt, if it cannot.
func checkSymbol(sym string) error {
	if !utf8.ValidString(sym) {
		return fmt.Errorf("%w: %q is not UTF-8", errBadToken, sym)
	}
	if n := utf8.RuneCountInString(sym); n != 1 {
		return fmt.Errorf("%w: %q is %d code points, sherpa-onnx takes 1", errBadToken, sym, n)
	}
	// The characters C++'s stream extraction treats as separators in the
	// "C" locale; the space alone has a spelling of its own.
	if strings.ContainsAny(sym, "\t\n\v\f\r") {
		return fmt.Errorf("%w: %q is whitespace other than the space", errBadToken, sym)
	}
	return nil
}
