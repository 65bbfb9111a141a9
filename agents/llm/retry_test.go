package llm

import (
	"net/http"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"7", 7 * time.Second},
		{" 2 ", 2 * time.Second},
		{"0", 0},
		{"-3", 0},
		{"soon", 0},
		{"1.5", 0},
		{"999999999999", 24 * time.Hour},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	const base, maxWait = 100 * time.Millisecond, time.Second
	tests := []struct {
		n          int
		retryAfter time.Duration
		lo, hi     time.Duration
	}{
		{1, 0, 50 * time.Millisecond, 150 * time.Millisecond},
		{2, 0, 100 * time.Millisecond, 300 * time.Millisecond},
		{3, 0, 200 * time.Millisecond, 600 * time.Millisecond},
		{5, 0, 500 * time.Millisecond, maxWait},  // 1.6s before jitter: capped
		{60, 0, 500 * time.Millisecond, maxWait}, // no overflow
		{1, 700 * time.Millisecond, 700 * time.Millisecond, 700 * time.Millisecond},
	}
	for _, tt := range tests {
		for range 50 {
			if d := backoff(tt.n, base, maxWait, tt.retryAfter); d < tt.lo || d > tt.hi {
				t.Errorf("backoff(%d, Retry-After %v) = %v, want within [%v, %v]", tt.n, tt.retryAfter, d, tt.lo, tt.hi)
				break
			}
		}
	}
}
