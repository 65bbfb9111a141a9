package fetch

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
)

// stubResolver answers lookups from a table instead of DNS. Each host has a
// list of answers, one per call, the last repeating; an answer is a comma-
// separated list of addresses. Unknown hosts do not exist.
type stubResolver struct {
	mu      sync.Mutex
	answers map[string][]string
	calls   map[string]int
}

func newStubResolver(answers map[string][]string) *stubResolver {
	return &stubResolver{answers: answers, calls: map[string]int{}}
}

func (r *stubResolver) LookupNetIP(ctx context.Context, _, host string) ([]netip.Addr, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	answers, ok := r.answers[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	n := r.calls[host]
	r.calls[host]++
	if n >= len(answers) {
		n = len(answers) - 1
	}
	var out []netip.Addr
	for _, s := range strings.Split(answers[n], ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, netip.MustParseAddr(s))
		}
	}
	return out, nil
}

func (r *stubResolver) count(host string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[host]
}

// testResolverTable maps the test hosts used across this package's tests.
func testResolverTable() map[string][]string {
	return map[string][]string{
		"localhost":           {"127.0.0.1, ::1"},
		"public.test":         {"93.184.216.34"},
		"example.test":        {"93.184.216.34"},
		"xn--bcher-kva.test":  {"93.184.216.34"},
		"metadata.test":       {"169.254.169.254"},
		"internal.test":       {"10.0.0.5"},
		"mixed.test":          {"93.184.216.34, 10.0.0.5"},
		"v6private.test":      {"fd00::5"},
		"mapped.test":         {"::ffff:10.0.0.1"},
		"nat64-loopback.test": {"64:ff9b::7f00:1"},
		"empty.test":          {""},
	}
}

// newTestFetcher returns a Fetcher whose resolver is a stub with the given
// table, so that no test depends on real DNS.
func newTestFetcher(t *testing.T, cfg Config, table map[string][]string) (*Fetcher, *stubResolver) {
	t.Helper()
	f := New(cfg)
	r := newStubResolver(table)
	f.resolver = r
	t.Cleanup(f.CloseIdleConnections)
	return f, r
}
