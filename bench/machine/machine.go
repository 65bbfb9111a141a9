// Package machine holds what the benchmark programs share: the state of the
// machine they ran on, and the order statistics they report.
package machine

import (
	"os"
	"slices"
	"strings"
)

// LoadAverage is /proc/loadavg's first three fields, or "unknown".
func LoadAverage() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(raw))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// Quantile is the nearest-rank q-quantile (0 < q ≤ 1) of xs: the smallest
// value with at least q of the values at or below it. With 5 values p90 is
// the largest. It is 0 for no values.
func Quantile[T ~int64 | ~float64](xs []T, q float64) T {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	rank := int(q*float64(len(s)) + 0.999999)
	rank = min(max(rank, 1), len(s))
	return s[rank-1]
}
