package machine

import (
	"testing"
	"time"
)

func TestQuantile(t *testing.T) {
	xs := []float64{5, 1, 4, 2, 3}
	for _, tc := range []struct {
		q    float64
		want float64
	}{{0.01, 1}, {0.2, 1}, {0.5, 3}, {0.9, 5}, {1, 5}} {
		if got := Quantile(xs, tc.q); got != tc.want {
			t.Errorf("Quantile(%v) = %v, want %v", tc.q, got, tc.want)
		}
	}
	if xs[0] != 5 {
		t.Errorf("Quantile sorted its input in place: %v", xs)
	}
	if got := Quantile([]time.Duration{3, 1, 2}, 0.5); got != 2 {
		t.Errorf("median of durations = %v, want 2", got)
	}
	if got := Quantile([]float64(nil), 0.5); got != 0 {
		t.Errorf("Quantile of nothing = %v", got)
	}
}
