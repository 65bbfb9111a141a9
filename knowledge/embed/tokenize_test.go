package embed

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestScanWords(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"  ,.!? ", nil},
		{"Hello, World!", []string{"hello", "world"}},
		{"don't stop", []string{"don't", "stop"}},
		{"don’t", []string{"don't"}},
		{"well-known e‑mail", []string{"well-known", "e-mail"}},
		{"-leading trailing- a--b 'quoted'", []string{"leading", "trailing", "a", "b", "quoted"}},
		{"ΣΊΣΥΦΟΣ Straße ÉCOLE", []string{"σίσυφοσ", "straße", "école"}},
		{"e\u0301te", []string{"e\u0301te"}},
		{"\u0301x", []string{"x"}},
		{"go1.26 is v2_beta", []string{"go1", "26", "is", "v2", "beta"}},
		{"東京タワー 123", []string{"東京タワー", "123"}},
		{"emoji🙂inside", []string{"emoji", "inside"}},
		{"bad\xffutf8", []string{"bad", "utf8"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			var got []string
			scanWords(tt.in, func(w string) { got = append(got, w) })
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("scanWords(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}
