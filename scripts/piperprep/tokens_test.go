package main

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// sherpaReadTokens reads tokens.txt the way sherpa-onnx's Piper frontend
// does: each line is split on the whitespace of C++'s "C" locale, a line
// with one field is the id of the space, and each symbol must be one code
// point. It fails the test where sherpa-onnx would exit the process.
func sherpaReadTokens(t *testing.T, text string) map[rune]int {
	t.Helper()
	cSpace := func(r rune) bool { return strings.ContainsRune(" \t\n\v\f\r", r) }
	tokens := map[rune]int{}
	for i, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		fields := strings.FieldsFunc(line, cSpace)
		var sym string
		var idText string
		switch len(fields) {
		case 1:
			sym, idText = " ", fields[0]
		case 2:
			sym, idText = fields[0], fields[1]
		default:
			t.Fatalf("line %d %q: %d fields; sherpa-onnx exits", i+1, line, len(fields))
		}
		id, err := strconv.Atoi(idText)
		if err != nil {
			t.Fatalf("line %d %q: id: %v", i+1, line, err)
		}
		r := []rune(sym)
		if len(r) != 1 {
			t.Fatalf("line %d %q: symbol of %d code points; sherpa-onnx exits", i+1, line, len(r))
		}
		if _, dup := tokens[r[0]]; dup {
			t.Fatalf("line %d %q: duplicate symbol; sherpa-onnx exits", i+1, line)
		}
		tokens[r[0]] = id
	}
	return tokens
}

func TestTokensText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		idMap map[string][]int
		want  string
	}{
		{
			name:  "specials and the space",
			idMap: map[string][]int{"_": {0}, "^": {1}, "$": {2}, " ": {3}, "!": {4}},
			want:  "_ 0\n^ 1\n$ 2\n 3\n! 4\n",
		},
		{
			name:  "digits are symbols, not ids",
			idMap: map[string][]int{"0": {130}, "1": {131}, "9": {139}},
			want:  "0 130\n1 131\n9 139\n",
		},
		{
			name:  "quotes, hash and arrows",
			idMap: map[string][]int{"\"": {150}, "#": {149}, "'": {5}, "↓": {148}, "↑": {151}},
			want:  "' 5\n↓ 148\n# 149\n\" 150\n↑ 151\n",
		},
		{
			name:  "combining marks stand alone",
			idMap: map[string][]int{"\u0303": {141}, "\u0327": {140}, "\u032a": {142}},
			want:  "\u0327 140\n\u0303 141\n\u032a 142\n",
		},
		{
			name:  "IPA letters and stress marks",
			idMap: map[string][]int{"ɐ": {50}, "ˈ": {120}, "ː": {122}, "ᵻ": {128}},
			want:  "ɐ 50\nˈ 120\nː 122\nᵻ 128\n",
		},
		{
			// U+00A0 and U+3000 are Unicode spaces but not C-locale ones:
			// sherpa-onnx reads them as ordinary symbols.
			name:  "non-ASCII spaces are ordinary symbols",
			idMap: map[string][]int{"\u00a0": {7}, "\u3000": {8}},
			want:  "\u00a0 7\n\u3000 8\n",
		},
		{
			name:  "several ids: the first",
			idMap: map[string][]int{"a": {14, 99}},
			want:  "a 14\n",
		},
		{
			name:  "shared id: ordered by symbol",
			idMap: map[string][]int{"b": {3}, "a": {3}},
			want:  "a 3\nb 3\n",
		},
		{
			name:  "empty map",
			idMap: map[string][]int{},
			want:  "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, n, err := tokensText(tt.idMap)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("tokens.txt (-want +got):\n%s", diff)
			}
			if n != len(tt.idMap) {
				t.Errorf("count = %d, want %d", n, len(tt.idMap))
			}
			if got == "" {
				return
			}
			want := map[rune]int{}
			for sym, ids := range tt.idMap {
				want[[]rune(sym)[0]] = ids[0]
			}
			if diff := cmp.Diff(want, sherpaReadTokens(t, got)); diff != "" {
				t.Errorf("as sherpa-onnx reads it (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTokensTextRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		idMap map[string][]int
	}{
		{"two code points", map[string][]int{"ab": {1}}},
		{"letter and combining mark", map[string][]int{"a\u0303": {1}}},
		{"empty symbol", map[string][]int{"": {1}}},
		{"tab", map[string][]int{"\t": {1}}},
		{"newline", map[string][]int{"\n": {1}}},
		{"carriage return", map[string][]int{"\r": {1}}},
		{"vertical tab", map[string][]int{"\v": {1}}},
		{"invalid UTF-8", map[string][]int{"\xff": {1}}},
		{"no id", map[string][]int{"a": {}}},
		{"negative id", map[string][]int{"a": {-1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := tokensText(tt.idMap)
			if !errors.Is(err, errBadToken) {
				t.Errorf("tokensText error = %v, want errBadToken", err)
			}
		})
	}
}
