package fetch

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// fixedResolver answers every name with one public address, so that fuzzing
// Check exercises parsing and policy without DNS.
type fixedResolver struct{}

func (fixedResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	return []netip.Addr{netip.MustParseAddr("93.184.216.34")}, nil
}

func FuzzCheck(f *testing.F) {
	for _, seed := range []string{
		"http://example.test/", "https://EXAMPLE.test:0443/a?b#c", "http://2130706433/",
		"http://0x7f.1/", "http://127.1/", "http://[::ffff:127.0.0.1]/", "http://[64:ff9b::a9fe:a9fe]/",
		"http://169.254.169.254/", "http://bücher.test/", "http://127。0。0。1/", "http://u:p@x.test/",
		"ftp://x.test/", "http://x.test:99999/", "http://1.2.3.4.5/", "http://[fe80::1%25eth0]/",
		"http://0/", "http://08.1/", "http://0x.0x.0x.0x/", "http://a..b/", "http://8.8.8.8./",
	} {
		f.Add(seed)
	}
	fetcher := New(Config{})
	fetcher.resolver = fixedResolver{}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := fetcher.Check(context.Background(), raw)
		if err != nil {
			if !errors.Is(err, ErrInvalidURL) && !errors.Is(err, ErrForbiddenAddress) && !errors.Is(err, ErrUnreachable) {
				t.Fatalf("Check(%q): error %v wraps no sentinel", raw, err)
			}
			return
		}
		if u.Scheme != "http" && u.Scheme != "https" || u.User != nil || u.Host == "" {
			t.Fatalf("Check(%q) accepted %q", raw, u)
		}
		host, addr, err := normalizeHost(u.Hostname())
		if err != nil || host != u.Hostname() {
			t.Fatalf("Check(%q) = %q whose host is not canonical: %q, %v", raw, u, host, err)
		}
		if addr.IsValid() && classify(addr) != "" {
			t.Fatalf("Check(%q) accepted refused address %v", raw, addr)
		}
		again, err := fetcher.Check(context.Background(), u.String())
		if err != nil || again.String() != u.String() {
			t.Fatalf("Check(%q) = %q, but checking that again gives %v, %v", raw, u, again, err)
		}
	})
}

func FuzzNormalizeHost(f *testing.F) {
	for _, seed := range []string{
		"example.com", "127.1", "0x7f.1", "2130706433", "0177.0.0.1", "::ffff:1.2.3.4",
		"１２７.０.０.１", "xn--bcher-kva.example", "1.2.3.4.5", "0x", "09", "a_b.c.",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		host, addr, err := normalizeHost(in)
		if err != nil {
			return
		}
		if addr.IsValid() && addr.String() != host {
			t.Fatalf("normalizeHost(%q) = %q but addr %v", in, host, addr)
		}
		if !addr.IsValid() {
			if _, isAddr, _ := parseIPv4Host(host); isAddr {
				t.Fatalf("normalizeHost(%q) = name %q that reads as an IPv4 address", in, host)
			}
			if _, perr := netip.ParseAddr(host); perr == nil {
				t.Fatalf("normalizeHost(%q) = name %q that is an address", in, host)
			}
		}
		again, addr2, err := normalizeHost(host)
		if err != nil || again != host || addr2 != addr {
			t.Fatalf("normalizeHost not idempotent: %q → %q → %q, %v", in, host, again, err)
		}
	})
}

func FuzzParseAllow(f *testing.F) {
	for _, seed := range []string{
		"", "127.0.0.1, 10.0.0.0/8, ::1", "::ffff:10.0.0.0/104", "10.1.2.3/8,", "fe80::1%eth0", "1.2.3.4/33",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := ParseAllow(in)
		if err != nil {
			if !strings.Contains(err.Error(), "item ") {
				t.Fatalf("ParseAllow(%q): error %q names no item", in, err)
			}
			return
		}
		var parts []string
		for _, p := range got {
			if !p.IsValid() || p != p.Masked() || p.Addr().Is4In6() {
				t.Fatalf("ParseAllow(%q) gave %v", in, p)
			}
			parts = append(parts, p.String())
		}
		again, err := ParseAllow(strings.Join(parts, ","))
		if err != nil || len(again) != len(got) {
			t.Fatalf("ParseAllow(%q) = %v does not round-trip: %v, %v", in, got, again, err)
		}
		for i := range got {
			if again[i] != got[i] {
				t.Fatalf("ParseAllow(%q) = %v does not round-trip: %v", in, got, again)
			}
		}
	})
}

func FuzzSanitizeFilename(f *testing.F) {
	for _, seed := range []string{
		"report.pdf", "../../etc/passwd", `C:\x\y.bat`, `"q".txt`, "a\x00b", "..", ".x", "invoice\u202efdp.exe",
		strings.Repeat("é", 150) + ".pdf", "a\xffb",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got := sanitizeFilename(in)
		checkSafeFilename(t, got)
		if again := sanitizeFilename(got); again != got {
			t.Fatalf("sanitizeFilename not idempotent: %q → %q → %q", in, got, again)
		}
	})
}
