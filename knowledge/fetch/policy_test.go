package fetch

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestClassifyRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr  string
		class string
	}{
		{"127.0.0.1", "loopback"},
		{"127.255.255.254", "loopback"},
		{"10.0.0.1", "private"},
		{"172.16.0.1", "private"},
		{"172.31.255.255", "private"},
		{"192.168.1.1", "private"},
		{"100.64.0.1", "carrier-grade NAT (100.64.0.0/10)"},
		{"100.127.255.255", "carrier-grade NAT (100.64.0.0/10)"},
		{"169.254.169.254", "link-local"},
		{"169.254.0.1", "link-local"},
		{"0.0.0.0", "unspecified"},
		{"0.1.2.3", `"this network" (0.0.0.0/8)`},
		{"192.0.0.170", "IETF protocol assignment (192.0.0.0/24)"},
		{"192.0.2.1", "documentation"},
		{"198.18.0.1", "benchmarking (198.18.0.0/15)"},
		{"198.19.255.255", "benchmarking (198.18.0.0/15)"},
		{"224.0.0.1", "multicast"},
		{"239.255.255.250", "multicast"},
		{"240.0.0.1", "reserved (240.0.0.0/4)"},
		{"255.255.255.255", "broadcast"},
		{"::", "unspecified"},
		{"::1", "loopback"},
		{"fe80::1", "link-local"},
		{"fe80::1%eth0", "link-local"},
		{"fc00::1", "unique-local"},
		{"fd12:3456::1", "unique-local"},
		{"fec0::1", "site-local"},
		{"ff02::1", "multicast"},
		{"2001:db8::1", "documentation"},
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"},
		{"100::1", "discard-only (100::/64)"},
		{"64:ff9b:1::a00:1", "local-use NAT64"},
		// The same refused IPv4 addresses written inside IPv6.
		{"::ffff:127.0.0.1", "loopback"},
		{"::ffff:7f00:1", "loopback"},
		{"::ffff:169.254.169.254", "link-local"},
		{"::ffff:10.0.0.1", "private"},
		{"::ffff:0.0.0.0", "unspecified"},
		{"::127.0.0.1", "IPv4-compatible loopback"},
		{"::169.254.169.254", "IPv4-compatible link-local"},
		{"::8.8.8.8", "reserved (::/8)"},
		{"::ffff:0:7f00:1", "IPv4-compatible loopback"},
		{"64:ff9b::127.0.0.1", "NAT64-mapped loopback"},
		{"64:ff9b::a9fe:a9fe", "NAT64-mapped link-local"},
		{"64:ff9b::10.1.1.1", "NAT64-mapped private"},
		{"2002:7f00:1::", "6to4-mapped loopback"},
		{"2002:a9fe:a9fe::1", "6to4-mapped link-local"},
		{"4000::1", "reserved"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			t.Parallel()
			got := classify(netip.MustParseAddr(tt.addr))
			if got != tt.class {
				t.Errorf("classify(%s) = %q, want %q", tt.addr, got, tt.class)
			}
		})
	}
}

func TestClassifyPublic(t *testing.T) {
	t.Parallel()
	for _, a := range []string{
		"8.8.8.8", "1.1.1.1", "93.184.216.34",
		// Neighbours of refused blocks.
		"9.255.255.255", "11.0.0.0", "172.15.255.255", "172.32.0.0",
		"100.63.255.255", "100.128.0.0", "169.253.255.255", "169.255.0.0",
		"192.167.255.255", "192.169.0.0", "198.17.255.255", "198.20.0.0",
		"223.255.255.255", "126.255.255.255", "128.0.0.0", "1.0.0.0",
		"2606:4700:4700::1111", "2a00:1450:4001:80b::200e",
		"::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1",
	} {
		t.Run(a, func(t *testing.T) {
			t.Parallel()
			if got := classify(netip.MustParseAddr(a)); got != "" {
				t.Errorf("classify(%s) = %q, want public", a, got)
			}
		})
	}
}

func TestPolicyAllow(t *testing.T) {
	t.Parallel()
	p := policy{allow: []netip.Prefix{
		netip.MustParsePrefix("127.0.0.1/32"),
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("fd00::/8"),
	}}
	tests := []struct {
		addr    string
		refused bool
	}{
		{"127.0.0.1", false},
		{"::ffff:127.0.0.1", false},
		{"127.0.0.2", true},
		{"10.200.0.1", false},
		{"192.168.0.1", true},
		{"fd00::1", false},
		{"fc00::1", true},
		{"169.254.169.254", true},
		{"::1", true},
		// A NAT64 gateway's 127.0.0.1 is not ours: allowing 127.0.0.1/32
		// does not allow it.
		{"64:ff9b::7f00:1", true},
		{"8.8.8.8", false},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			t.Parallel()
			got := p.refusal(netip.MustParseAddr(tt.addr)) != ""
			if got != tt.refused {
				t.Errorf("refused(%s) = %v, want %v", tt.addr, got, tt.refused)
			}
		})
	}
}

func TestAdmitRefusesMixedAnswers(t *testing.T) {
	t.Parallel()
	addrs := []netip.Addr{netip.MustParseAddr("93.184.216.34"), netip.MustParseAddr("10.0.0.7")}
	err := policy{}.admit("mixed.test", addrs)
	var ae *AddressError
	if !errors.As(err, &ae) {
		t.Fatalf("admit = %v, want *AddressError", err)
	}
	if ae.Addr != addrs[1] || ae.Class != "private" || ae.Host != "mixed.test" {
		t.Errorf("AddressError = %+v", ae)
	}
	if !errors.Is(err, ErrForbiddenAddress) {
		t.Errorf("errors.Is(%v, ErrForbiddenAddress) = false", err)
	}
}

func TestAddressErrorMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  *AddressError
		want string
	}{
		{
			&AddressError{Addr: netip.MustParseAddr("169.254.169.254"), Class: "link-local"},
			"refused to fetch 169.254.169.254: link-local addresses are not allowed (set TIMBRE_FETCH_ALLOW to permit)",
		},
		{
			&AddressError{Host: "169.254.169.254", Addr: netip.MustParseAddr("169.254.169.254"), Class: "link-local"},
			"refused to fetch 169.254.169.254: link-local addresses are not allowed (set TIMBRE_FETCH_ALLOW to permit)",
		},
		{
			&AddressError{Host: "db.internal", Addr: netip.MustParseAddr("10.0.0.5"), Class: "private"},
			"refused to fetch db.internal (10.0.0.5): private addresses are not allowed (set TIMBRE_FETCH_ALLOW to permit)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			t.Parallel()
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseAllow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"  ", nil},
		{"127.0.0.1, 10.0.0.0/8, ::1", []string{"127.0.0.1/32", "10.0.0.0/8", "::1/128"}},
		{"127.0.0.1,", []string{"127.0.0.1/32"}},
		{"10.1.2.3/8", []string{"10.0.0.0/8"}},
		{"::ffff:127.0.0.1", []string{"127.0.0.1/32"}},
		{"::ffff:10.0.0.0/104", []string{"10.0.0.0/8"}},
		{"fd00::/8 , 192.168.0.0/16", []string{"fd00::/8", "192.168.0.0/16"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseAllow(tt.in)
			if err != nil {
				t.Fatalf("ParseAllow(%q): %v", tt.in, err)
			}
			var gotS []string
			for _, p := range got {
				gotS = append(gotS, p.String())
			}
			if diff := cmp.Diff(tt.want, gotS); diff != "" {
				t.Errorf("ParseAllow(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestParseAllowErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		item string // what the message must name
	}{
		{"127.0.0.1, localhost", `item 2 "localhost"`},
		{"10.0.0.0/33", `item 1 "10.0.0.0/33"`},
		{"10.0.0.0/8, 300.1.1.1", `item 2 "300.1.1.1"`},
		{"fe80::1%eth0", `item 1 "fe80::1%eth0"`},
		{"1.2.3.4/", `item 1 "1.2.3.4/"`},
		{"10.0.0.0/8 192.168.0.0/16", `item 1 "10.0.0.0/8 192.168.0.0/16"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseAllow(tt.in)
			if err == nil {
				t.Fatalf("ParseAllow(%q) = %v, want error", tt.in, got)
			}
			if !strings.Contains(err.Error(), tt.item) {
				t.Errorf("error %q does not name %s", err, tt.item)
			}
		})
	}
}
