package embed

import (
	"context"
	"errors"
	"flag"
	"math"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// cosine returns the cosine similarity of two vectors.
func cosine(a, b []float32) float64 {
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	return dot / math.Sqrt(na*nb)
}

// checkUnit fails t unless every vector has dim finite values and unit length.
func checkUnit(t *testing.T, vs [][]float32, dim int) {
	t.Helper()
	for i, v := range vs {
		if len(v) != dim {
			t.Fatalf("vector %d has %d values, want %d", i, len(v), dim)
		}
		var sum float64
		for _, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				t.Fatalf("vector %d holds %v", i, x)
			}
			sum += float64(x) * float64(x)
		}
		if math.Abs(math.Sqrt(sum)-1) > 1e-5 {
			t.Fatalf("vector %d has length %v, want 1", i, math.Sqrt(sum))
		}
	}
}

func TestNewConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		cfg      Config
		wantName string
		wantErr  error
		wantText string
	}{
		{name: "default is local ngram", cfg: Config{}, wantName: NgramName},
		{name: "local ngram", cfg: Config{Provider: "local", Model: "ngram"}, wantName: NgramName},
		{name: "provider case-insensitive", cfg: Config{Provider: "Local"}, wantName: NgramName},
		{name: "openai defaults", cfg: Config{Provider: "openai", APIKey: "sk-x"}, wantName: "openai/text-embedding-3-small"},
		{name: "openai compatible without key", cfg: Config{Provider: "openai", BaseURL: "http://127.0.0.1:8080/v1", Model: "bge"}, wantName: "openai/bge"},
		{name: "ollama defaults", cfg: Config{Provider: "ollama"}, wantName: "ollama/nomic-embed-text"},
		{name: "unknown provider", cfg: Config{Provider: "cohere"}, wantErr: ErrConfig, wantText: `"cohere" unknown`},
		{name: "unknown local model", cfg: Config{Model: "bert"}, wantErr: ErrConfig, wantText: `"bert" unknown`},
		{name: "wink without data dir", cfg: Config{Model: "wink"}, wantErr: ErrConfig, wantText: "TIMBRE_DATA_DIR"},
		{name: "wink table missing", cfg: Config{Model: "wink", DataDir: t.TempDir()}, wantErr: ErrMissingTable, wantText: "make setup"},
		{name: "openai.com without key", cfg: Config{Provider: "openai"}, wantErr: ErrConfig, wantText: "API key"},
		{name: "base URL without scheme", cfg: Config{Provider: "ollama", BaseURL: "127.0.0.1:11434"}, wantErr: ErrConfig, wantText: "http(s)://"},
		{name: "base URL ftp", cfg: Config{Provider: "openai", BaseURL: "ftp://x/v1"}, wantErr: ErrConfig},
		{name: "base URL with query", cfg: Config{Provider: "openai", BaseURL: "http://x/v1?a=b"}, wantErr: ErrConfig},
		{name: "negative timeout", cfg: Config{Timeout: -1}, wantErr: ErrConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, err := New(tt.cfg)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("New() error = %v, want %v", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantText) {
					t.Fatalf("New() error = %q, want it to say %q", err, tt.wantText)
				}
				return
			}
			if err != nil {
				t.Fatalf("New() error = %v", err)
			}
			if got := e.Name(); got != tt.wantName {
				t.Fatalf("Name() = %q, want %q", got, tt.wantName)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   []float32
		ok   bool
	}{
		{"unit", []float32{1, 0}, true},
		{"scaled", []float32{3, 4}, true},
		{"huge", []float32{3e38, 3e38}, true},
		{"zero", []float32{0, 0}, false},
		{"empty", nil, false},
		{"nan", []float32{float32(math.NaN()), 1}, false},
		{"inf", []float32{float32(math.Inf(-1)), 1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := append([]float32(nil), tt.in...)
			if got := normalize(v); got != tt.ok {
				t.Fatalf("normalize(%v) = %v, want %v", tt.in, got, tt.ok)
			}
			if tt.ok {
				checkUnit(t, [][]float32{v}, len(v))
			}
		})
	}
}

func TestBatchLimit(t *testing.T) {
	t.Parallel()
	e := NewNgram()
	_, err := e.Embed(context.Background(), make([]string, e.MaxBatch()+1))
	if !errors.Is(err, ErrRejected) {
		t.Fatalf("Embed(%d texts) error = %v, want ErrRejected", e.MaxBatch()+1, err)
	}
}
