package embed

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func readMini(t testing.TB) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "wink-mini.json"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestConvertWinkMini(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	var progress []int
	if err := ConvertWink(bytes.NewReader(readMini(t)), &out, func(n int) { progress = append(progress, n) }); err != nil {
		t.Fatalf("ConvertWink() error = %v", err)
	}
	if diff := cmp.Diff([]int{5}, progress); diff != "" {
		t.Fatalf("progress calls (-want +got):\n%s", diff)
	}
	tab, err := parseTable(out.Bytes())
	if err != nil {
		t.Fatalf("parseTable() error = %v", err)
	}
	if tab.dims != 3 || tab.count != 5 || !tab.freqOrder {
		t.Fatalf("table has %d words × %d dims, frequency order %v; want 5 × 3, true", tab.count, tab.dims, tab.freqOrder)
	}
	want := map[string][]float64{
		"the":    {0.5, -0.25, 0.125},
		"cat":    {1.0, 2.0, -3.0},
		"kitten": {1.1, 1.9, -2.8},
		"car":    {-2.0, 0.5, 1.5},
		"naïve":  {0, 0, 0.001},
	}
	for i, word := range []string{"the", "cat", "kitten", "car", "naïve"} {
		row, ok := tab.lookup(word)
		if !ok || row != i {
			t.Fatalf("lookup(%q) = %d, %v; want row %d", word, row, ok, i)
		}
		got := make([]float32, 3)
		tab.addRow(got, row, 1)
		most := 0.0
		for _, x := range want[word] {
			most = max(most, math.Abs(x))
		}
		for j, x := range want[word] {
			// int8 with a per-row scale: within half a step.
			if d := math.Abs(float64(got[j]) - x); d > most/127/2+1e-7 {
				t.Fatalf("%s[%d] = %v, want %v (off by %v)", word, j, got[j], x, d)
			}
		}
	}
	for _, missing := range []string{"", "dog", "th", "thee", "Cat", "naive"} {
		if row, ok := tab.lookup(missing); ok {
			t.Fatalf("lookup(%q) = row %d, want none", missing, row)
		}
	}
}

func TestConvertWinkOutOfOrder(t *testing.T) {
	t.Parallel()
	in := `{"dimensions":2,"l2NormIndex":2,"wordIndex":3,"vectors":{"b":[0,-1,1,1],"c":[2,0,2,2],"a":[1,0,1,0]}}`
	var out bytes.Buffer
	if err := ConvertWink(strings.NewReader(in), &out, nil); err != nil {
		t.Fatal(err)
	}
	tab, err := parseTable(out.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]float32{"a": {1, 0}, "b": {0, -1}, "c": {2, 0}}
	for i, word := range []string{"a", "b", "c"} {
		if got := string(tab.word(i)); got != word {
			t.Fatalf("row %d is %q, want %q", i, got, word)
		}
		got := make([]float32, 2)
		tab.addRow(got, i, 1)
		if diff := cmp.Diff(want[word], got); diff != "" {
			t.Fatalf("vector of %q (-want +got):\n%s", word, diff)
		}
	}
}

func TestConvertWinkErrors(t *testing.T) {
	t.Parallel()
	mini := string(readMini(t))
	tests := []struct {
		name, json, wantText string
	}{
		{"empty input", "", "EOF"},
		{"not an object", "[1,2]", "document"},
		{"vectors before dimensions", `{"vectors":{"a":[1,2,3,1,0]},"dimensions":3,"l2NormIndex":3,"wordIndex":4}`, "before it"},
		{"no vectors", `{"dimensions":3,"l2NormIndex":3,"wordIndex":4,"words":[]}`, "missing or empty"},
		{"empty vectors", `{"dimensions":3,"l2NormIndex":3,"wordIndex":4,"vectors":{}}`, "missing or empty"},
		{"short vector", `{"dimensions":3,"l2NormIndex":3,"wordIndex":4,"vectors":{"a":[1,2,1,0]}}`, "has 4 numbers"},
		{"string in vector", `{"dimensions":3,"l2NormIndex":3,"wordIndex":4,"vectors":{"a":[1,"2",3,1,0]}}`, "vector of \"a\""},
		{"fractional index", `{"dimensions":3,"l2NormIndex":3,"wordIndex":4,"vectors":{"a":[1,2,3,1,0.5]}}`, "word index 0.5"},
		{"index gap", `{"dimensions":3,"l2NormIndex":3,"wordIndex":4,"vectors":{"a":[1,2,3,1,0],"b":[1,2,3,1,2]}}`, "not 0…1"},
		{"index repeated", `{"dimensions":3,"l2NormIndex":3,"wordIndex":4,"vectors":{"a":[1,2,3,1,0],"b":[1,2,3,1,0]}}`, "not 0…1"},
		{"word repeated", `{"dimensions":3,"l2NormIndex":3,"wordIndex":4,"vectors":{"a":[1,2,3,1,0],"a":[1,2,3,1,1]}}`, "appears twice"},
		{"words disagree", `{"dimensions":3,"l2NormIndex":3,"wordIndex":4,"words":["b","a"],"vectors":{"a":[1,2,3,1,0],"b":[1,2,3,1,1]}}`, `words[0] is "b"`},
		{"words count", `{"dimensions":3,"l2NormIndex":3,"wordIndex":4,"words":["a"],"vectors":{"a":[1,2,3,1,0],"b":[1,2,3,1,1]}}`, "1 words for 2 vectors"},
		{"size disagrees", strings.Replace(mini, `"size":5`, `"size":6`, 1), "says 6"},
		{"negative dimensions", `{"dimensions":-3}`, "negative"},
		{"empty word", `{"dimensions":3,"l2NormIndex":3,"wordIndex":4,"vectors":{"":[1,2,3,1,0]}}`, "empty"},
		{"truncated", mini[:len(mini)/2], "vectors"},
		{"trailing data", mini + "{}", "data after"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			err := ConvertWink(strings.NewReader(tt.json), &out, nil)
			if err == nil {
				t.Fatalf("ConvertWink() = nil, want an error saying %q", tt.wantText)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Fatalf("ConvertWink() error = %q, want it to say %q", err, tt.wantText)
			}
		})
	}
}

// errWriter fails after n bytes.
type errWriter struct{ n int }

func (w *errWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		return 0, errors.New("disk full")
	}
	w.n -= len(p)
	return len(p), nil
}

func TestConvertWinkWriteError(t *testing.T) {
	t.Parallel()
	err := ConvertWink(bytes.NewReader(readMini(t)), &errWriter{n: 10}, nil)
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("ConvertWink() error = %v, want the write error", err)
	}
}

// FuzzConvertWink checks that the converter never panics and that whatever
// it accepts, the loader accepts too.
func FuzzConvertWink(f *testing.F) {
	f.Add(readMini(f))
	f.Add([]byte(`{"dimensions":1,"l2NormIndex":1,"wordIndex":2,"vectors":{"a":[1,1,0]}}`))
	f.Add([]byte(`{"dimensions":2,"l2NormIndex":3,"wordIndex":2,"vectors":{"a":[0,0,0,0]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var out bytes.Buffer
		if err := ConvertWink(bytes.NewReader(data), &out, nil); err != nil {
			return
		}
		if _, err := parseTable(out.Bytes()); err != nil {
			t.Fatalf("ConvertWink accepted %q but its table does not load: %v", data, err)
		}
	})
}
