package embed

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func embedOne(t *testing.T, e Embedder, text string) []float32 {
	t.Helper()
	vs, err := e.Embed(context.Background(), []string{text})
	if err != nil {
		t.Fatalf("Embed(%q) error = %v", text, err)
	}
	return vs[0]
}

func TestNgramUnitLength(t *testing.T) {
	t.Parallel()
	texts := []string{
		"",
		"   \n\t",
		"?!… —",
		"a",
		"Hello, World!",
		"ΣΊΣΥΦΟΣ, naïve café, Straße",
		"東京タワーは高いです",
		"🙂🙂🙂",
		"bad \xff\xfe utf8",
		strings.Repeat("the quick brown fox jumps over the lazy dog ", 2000),
		strings.Repeat("x", 100000),
	}
	vs, err := NewNgram().Embed(context.Background(), texts)
	if err != nil {
		t.Fatalf("Embed() error = %v", err)
	}
	if len(vs) != len(texts) {
		t.Fatalf("Embed() gave %d vectors for %d texts", len(vs), len(texts))
	}
	checkUnit(t, vs, NgramDim)
}

func TestNgramDeterministic(t *testing.T) {
	t.Parallel()
	texts := []string{"Timbre turns documents into answers.", "", "Straße"}
	a, err := NewNgram().Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	// A fresh embedder, and each text alone: no state carries over.
	for i, text := range texts {
		b := embedOne(t, NewNgram(), text)
		if diff := cmp.Diff(a[i], b); diff != "" {
			t.Fatalf("vector of %q differs between calls (-first +second):\n%s", text, diff)
		}
	}
}

func TestNgramEquivalentTexts(t *testing.T) {
	t.Parallel()
	e := NewNgram()
	tests := []struct{ a, b string }{
		{"Hello, World!", "hello world"},
		{"STRASSE ÉCOLE", "strasse école"},
		{"don't", "dont"},
		{"", "?!"}, // no words: the one fixed vector
		{"", "   "},
	}
	for _, tt := range tests {
		t.Run(tt.a+"|"+tt.b, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(embedOne(t, e, tt.a), embedOne(t, e, tt.b), cmpopts.EquateApprox(0, 1e-7)); diff != "" {
				t.Fatalf("%q and %q should embed alike (-a +b):\n%s", tt.a, tt.b, diff)
			}
		})
	}
	if c := cosine(embedOne(t, e, ""), embedOne(t, e, "hello")); c > 0.5 {
		t.Fatalf("cosine(empty, hello) = %.3f: the empty-text vector should not resemble a text", c)
	}
}

// similarityCase is a triple where anchor is closer in meaning and wording
// to near than to far; the local embedders must order them so.
type similarityCase struct{ anchor, near, far string }

func similarityCases() []similarityCase {
	return []similarityCase{
		{"How do I reset my password?", "Steps to reset a forgotten password", "The weather in Paris is sunny today"},
		{"PostgreSQL database backup and restore", "restoring a Postgres database from a backup file", "baking sourdough bread at home"},
		{"running shoes for marathon training", "the best shoe for running a marathon", "training a neural network on GPUs"},
		{"Kubernetes pod keeps restarting", "why does my kubernetes pod restart", "my pet dog keeps barking"},
		{"recieve the payment", "receive payment", "send the invoice"},
		{"Die Katze schläft auf dem Sofa", "Katze auf dem Sofa", "Der Hund läuft im Park"},
	}
}

func TestNgramSimilarityOrder(t *testing.T) {
	t.Parallel()
	e := NewNgram()
	for _, tt := range similarityCases() {
		t.Run(tt.anchor, func(t *testing.T) {
			t.Parallel()
			a, n, f := embedOne(t, e, tt.anchor), embedOne(t, e, tt.near), embedOne(t, e, tt.far)
			near, far := cosine(a, n), cosine(a, f)
			if near <= far {
				t.Fatalf("cosine(anchor, near) = %.3f <= cosine(anchor, far) = %.3f", near, far)
			}
			t.Logf("near %.3f far %.3f", near, far)
		})
	}
}

// TestNgramGolden pins the vectors of "local/ngram-v1": vectors stored under
// that name must never change. If this fails after a deliberate change to
// the features, bump NgramName and refresh with -update.
func TestNgramGolden(t *testing.T) {
	t.Parallel()
	path := filepath.Join("testdata", "ngram-v1.golden.json")
	texts := []string{"", "Hello, World!", "Timbre embeds knowledge bases.", "naïve café — ΣΊΣΥΦΟΣ don't well-known"}
	vs, err := NewNgram().Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	type golden struct {
		Text   string    `json:"text"`
		Vector []float32 `json:"vector"`
	}
	got := make([]golden, len(texts))
	for i, text := range texts {
		got[i] = golden{text, vs[i]}
	}
	if *update {
		// One line per text keeps the file's diffs readable.
		lines := make([]string, len(got))
		for i, g := range got {
			data, err := json.Marshal(g)
			if err != nil {
				t.Fatal(err)
			}
			lines[i] = string(data)
		}
		if err := os.WriteFile(path, []byte("[\n"+strings.Join(lines, ",\n")+"\n]\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	var want []golden
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-6)); diff != "" {
		t.Fatalf("%s vectors changed (-golden +now); bump the name if this is deliberate:\n%s", NgramName, diff)
	}
}

func TestNgramCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := NewNgram().Embed(ctx, []string{"x"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Embed(cancelled) error = %v, want context.Canceled", err)
	}
}

func FuzzNgram(f *testing.F) {
	for _, s := range []string{"", "Hello, World!", "don't-stop", "ΣΊΣΥΦΟΣ", "\xff", "a--b''c"} {
		f.Add(s)
	}
	e := NewNgram()
	f.Fuzz(func(t *testing.T, text string) {
		vs, err := e.Embed(context.Background(), []string{text, text})
		if err != nil {
			t.Fatal(err)
		}
		checkUnit(t, vs, NgramDim)
		for i := range vs[0] {
			if vs[0][i] != vs[1][i] {
				t.Fatalf("two embeddings of %q differ at %d", text, i)
			}
		}
		if n := math.Abs(cosine(vs[0], vs[1]) - 1); n > 1e-6 {
			t.Fatalf("cosine with itself off by %v", n)
		}
	})
}

// BenchmarkNgram embeds 200-word passages; it reports texts/s.
func BenchmarkNgram(b *testing.B) {
	text := strings.Repeat("Timbre ingests documents, splits them into passages and embeds each passage for hybrid search. ", 15)
	batch := make([]string, 64)
	for i := range batch {
		batch[i] = text
	}
	e := NewNgram()
	b.ResetTimer()
	for b.Loop() {
		if _, err := e.Embed(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "texts/s")
}
