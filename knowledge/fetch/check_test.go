package fetch

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestCheckInvalidURL(t *testing.T) {
	t.Parallel()
	f, _ := newTestFetcher(t, Config{}, testResolverTable())
	tests := []string{
		"",
		"   ",
		"ftp://example.test/file",
		"file:///etc/passwd",
		"gopher://example.test/",
		"javascript:alert(1)",
		"data:text/html,hi",
		"http://user:pass@example.test/",
		"http://user@example.test/",
		"http://:@example.test/",
		"http:///path",
		"http://",
		"http:example.test",
		"//example.test/",
		"example.test",
		"http://example.test:99999/",
		"http://example.test:65536/",
		"http://example.test:0/",
		"http://example.test:abc/",
		"http://example.test:-1/",
		"http://" + strings.Repeat("a", MaxURLLength) + ".test/",
		"http://exa mple.test/",
		"http://exa\x00mple.test/",
		"http://1.2.3.4.5/",
		"http://256.0.0.1/",
		"http://0x100000000/",
		"http://[fe80::1%25eth0]/",
		"http://[::1/",
		`http://evil.test\@127.0.0.1/`,
		"http://a..b/",
		// Go's parser refuses escaped ASCII in hosts, which also stops
		// this spelling of 127.0.0.1.
		"http://%31%32%37.0.0.1/",
	}
	for _, raw := range tests {
		t.Run(raw, func(t *testing.T) {
			t.Parallel()
			u, err := f.Check(context.Background(), raw)
			if !errors.Is(err, ErrInvalidURL) {
				t.Fatalf("Check(%q) = %v, %v; want ErrInvalidURL", raw, u, err)
			}
			if len(err.Error()) > 400 {
				t.Errorf("message is %d bytes long: %.80q…", len(err.Error()), err)
			}
		})
	}
}

// TestCheckRefusesEveryForm lists the ways a URL can name an address the
// policy refuses. The stub resolver knows none of the numeric forms, so a form
// that slipped through to DNS would fail with ErrUnreachable instead.
func TestCheckRefusesEveryForm(t *testing.T) {
	t.Parallel()
	f, _ := newTestFetcher(t, Config{}, testResolverTable())
	tests := []struct {
		raw   string
		addr  string
		class string
	}{
		{"http://127.0.0.1/", "127.0.0.1", "loopback"},
		{"http://127.0.0.1:8080/admin", "127.0.0.1", "loopback"},
		{"http://localhost/", "127.0.0.1", "loopback"},
		{"HTTP://LOCALHOST/", "127.0.0.1", "loopback"},
		{"http://2130706433/", "127.0.0.1", "loopback"},
		{"http://0x7f.1/", "127.0.0.1", "loopback"},
		{"http://0x7f000001/", "127.0.0.1", "loopback"},
		{"http://127.1/", "127.0.0.1", "loopback"},
		{"http://0177.0.0.1/", "127.0.0.1", "loopback"},
		{"http://127.000.000.001/", "127.0.0.1", "loopback"},
		{"http://127.0.0.1./", "127.0.0.1", "loopback"},
		{"http://１２７.0.0.1/", "127.0.0.1", "loopback"},
		{"http://127。0。0。1/", "127.0.0.1", "loopback"},
		{"http://127%E3%80%820.0.1/", "127.0.0.1", "loopback"}, // escaped ideographic full stop
		{"http://[::1]/", "::1", "loopback"},
		{"http://[0:0:0:0:0:0:0:1]:80/", "::1", "loopback"},
		{"http://[::ffff:127.0.0.1]/", "127.0.0.1", "loopback"},
		{"http://[::ffff:7f00:1]/", "127.0.0.1", "loopback"},
		{"http://[::127.0.0.1]/", "::7f00:1", "IPv4-compatible loopback"},
		{"http://[64:ff9b::7f00:1]/", "64:ff9b::7f00:1", "NAT64-mapped loopback"},
		{"http://[64:ff9b::169.254.169.254]/", "64:ff9b::a9fe:a9fe", "NAT64-mapped link-local"},
		{"http://0/", "0.0.0.0", "unspecified"},
		{"http://0.0.0.0/", "0.0.0.0", "unspecified"},
		{"http://[::]/", "::", "unspecified"},
		{"http://169.254.169.254/latest/meta-data/", "169.254.169.254", "link-local"},
		{"http://2852039166/", "169.254.169.254", "link-local"},
		{"http://169.254.43518/", "169.254.169.254", "link-local"},
		{"http://[::ffff:a9fe:a9fe]/", "169.254.169.254", "link-local"},
		{"http://[fe80::1]/", "fe80::1", "link-local"},
		{"http://10.0.0.1/", "10.0.0.1", "private"},
		{"http://012.0.0.1/", "10.0.0.1", "private"},
		{"http://172.16.5.4/", "172.16.5.4", "private"},
		{"http://192.168.0.1:8080/", "192.168.0.1", "private"},
		{"http://[fd00::1]/", "fd00::1", "unique-local"},
		{"http://100.64.0.1/", "100.64.0.1", "carrier-grade NAT"},
		{"http://224.0.0.1/", "224.0.0.1", "multicast"},
		{"http://[ff02::1]/", "ff02::1", "multicast"},
		{"http://255.255.255.255/", "255.255.255.255", "broadcast"},
		{"http://0.1.2.3/", "0.1.2.3", "this network"},
		{"http://192.0.0.1/", "192.0.0.1", "IETF protocol assignment"},
		{"http://198.18.0.1/", "198.18.0.1", "benchmarking"},
		{"http://240.0.0.1/", "240.0.0.1", "reserved"},
		{"http://metadata.test/", "169.254.169.254", "link-local"},
		{"http://internal.test/", "10.0.0.5", "private"},
		{"http://mixed.test/", "10.0.0.5", "private"},
		{"http://v6private.test/", "fd00::5", "unique-local"},
		{"http://mapped.test/", "10.0.0.1", "private"},
		{"http://nat64-loopback.test/", "64:ff9b::7f00:1", "NAT64-mapped loopback"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			t.Parallel()
			u, err := f.Check(context.Background(), tt.raw)
			var ae *AddressError
			if !errors.As(err, &ae) {
				t.Fatalf("Check(%q) = %v, %v; want *AddressError", tt.raw, u, err)
			}
			if !errors.Is(err, ErrForbiddenAddress) {
				t.Errorf("errors.Is(%v, ErrForbiddenAddress) = false", err)
			}
			if ae.Addr != netip.MustParseAddr(tt.addr) {
				t.Errorf("refused address %v, want %s", ae.Addr, tt.addr)
			}
			if !strings.Contains(ae.Class, tt.class) {
				t.Errorf("class %q, want it to contain %q", ae.Class, tt.class)
			}
			if !strings.Contains(err.Error(), "TIMBRE_FETCH_ALLOW") {
				t.Errorf("message %q does not say how to permit the address", err)
			}
		})
	}
}

func TestCheckMetadataMessage(t *testing.T) {
	t.Parallel()
	f, _ := newTestFetcher(t, Config{}, nil)
	_, err := f.Check(context.Background(), "http://169.254.169.254/")
	want := "refused to fetch 169.254.169.254: link-local addresses are not allowed (set TIMBRE_FETCH_ALLOW to permit)"
	if err == nil || err.Error() != want {
		t.Errorf("Check error = %v, want %q", err, want)
	}
}

func TestCheckAccepts(t *testing.T) {
	t.Parallel()
	allow := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8")}
	f, _ := newTestFetcher(t, Config{Allow: allow}, testResolverTable())
	tests := []struct {
		raw  string
		want string
	}{
		{"http://public.test/", "http://public.test/"},
		{"  https://EXAMPLE.test:0443/a/b?q=1#frag  ", "https://example.test:443/a/b?q=1"},
		{"http://8.8.8.8/", "http://8.8.8.8/"},
		{"http://0x08.0x08.0x08.0x08/", "http://8.8.8.8/"},
		{"http://134744072/x", "http://8.8.8.8/x"},
		{"http://[2606:4700:4700::1111]:8080/", "http://[2606:4700:4700::1111]:8080/"},
		{"http://[::ffff:8.8.8.8]/", "http://[::ffff:8.8.8.8]/"},
		{"http://[64:ff9b::808:808]/", "http://[64:ff9b::808:808]/"},
		{"http://bücher.test/", "http://xn--bcher-kva.test/"},
		{"http://example.test:/", "http://example.test/"},
		// Allowed by Config.Allow, and written oddly.
		{"http://127.1:8080/x", "http://127.0.0.1:8080/x"},
		{"http://[::ffff:127.0.0.1]/", "http://[::ffff:127.0.0.1]/"},
		{"http://internal.test/", "http://internal.test/"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			t.Parallel()
			u, err := f.Check(context.Background(), tt.raw)
			if err != nil {
				t.Fatalf("Check(%q): %v", tt.raw, err)
			}
			if u.String() != tt.want {
				t.Errorf("Check(%q) = %q, want %q", tt.raw, u, tt.want)
			}
		})
	}
}

func TestCheckUnreachable(t *testing.T) {
	t.Parallel()
	f, _ := newTestFetcher(t, Config{}, testResolverTable())
	for _, raw := range []string{"http://nonexistent.test/", "http://empty.test/"} {
		t.Run(raw, func(t *testing.T) {
			t.Parallel()
			_, err := f.Check(context.Background(), raw)
			if !errors.Is(err, ErrUnreachable) {
				t.Errorf("Check(%q) = %v, want ErrUnreachable", raw, err)
			}
		})
	}
}
