package llm

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP
// date. It returns 0 for an absent, malformed or past value.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		// Anything past a day is as good as "not today"; the cap keeps the
		// multiplication from overflowing.
		return time.Duration(min(secs, 86400)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// backoff is the wait before attempt n+1 after attempt n failed: base
// doubled n-1 times, with ±50% jitter so that clients that failed together
// do not come back together, capped at maxWait, and never shorter than the
// server's Retry-After.
func backoff(n int, base, maxWait, retryAfter time.Duration) time.Duration {
	d := base << min(n-1, 30)
	if d <= 0 || d > maxWait {
		d = maxWait
	}
	d = time.Duration(float64(d) * (0.5 + rand.Float64()))
	d = min(d, maxWait)
	return max(d, retryAfter)
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
