package fetch

import (
	"fmt"
	"net/netip"
	"strings"
)

// rangeClass names a block of addresses the fetcher refuses.
type rangeClass struct {
	prefix netip.Prefix
	class  string
}

// refusedV4 lists the IPv4 blocks that are not public unicast, most specific
// first where blocks overlap (broadcast lies inside 240.0.0.0/4).
func refusedV4() []rangeClass {
	return []rangeClass{
		{netip.MustParsePrefix("0.0.0.0/32"), "unspecified"},
		{netip.MustParsePrefix("0.0.0.0/8"), `"this network" (0.0.0.0/8)`},
		{netip.MustParsePrefix("10.0.0.0/8"), "private"},
		{netip.MustParsePrefix("100.64.0.0/10"), "carrier-grade NAT (100.64.0.0/10)"},
		{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
		{netip.MustParsePrefix("169.254.0.0/16"), "link-local"},
		{netip.MustParsePrefix("172.16.0.0/12"), "private"},
		{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignment (192.0.0.0/24)"},
		{netip.MustParsePrefix("192.0.2.0/24"), "documentation"},
		{netip.MustParsePrefix("192.88.99.0/24"), "6to4 relay (192.88.99.0/24)"},
		{netip.MustParsePrefix("192.168.0.0/16"), "private"},
		{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking (198.18.0.0/15)"},
		{netip.MustParsePrefix("198.51.100.0/24"), "documentation"},
		{netip.MustParsePrefix("203.0.113.0/24"), "documentation"},
		{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
		{netip.MustParsePrefix("255.255.255.255/32"), "broadcast"},
		{netip.MustParsePrefix("240.0.0.0/4"), "reserved (240.0.0.0/4)"},
	}
}

// refusedV6 lists the IPv6 blocks refused outright. Blocks that embed an IPv4
// address (mapped, NAT64, 6to4) are handled by classify instead.
func refusedV6() []rangeClass {
	return []rangeClass{
		{netip.MustParsePrefix("::/128"), "unspecified"},
		{netip.MustParsePrefix("::1/128"), "loopback"},
		{netip.MustParsePrefix("64:ff9b:1::/48"), "local-use NAT64"},
		{netip.MustParsePrefix("100::/64"), "discard-only (100::/64)"},
		{netip.MustParsePrefix("2001:2::/48"), "benchmarking (2001:2::/48)"},
		{netip.MustParsePrefix("2001:db8::/32"), "documentation"},
		// Teredo addresses carry an obfuscated IPv4 client address and relay
		// through third parties; nothing legitimate serves documents on them.
		{netip.MustParsePrefix("2001::/32"), "Teredo"},
		{netip.MustParsePrefix("3fff::/20"), "documentation"},
		{netip.MustParsePrefix("fc00::/7"), "unique-local"},
		{netip.MustParsePrefix("fe80::/10"), "link-local"},
		{netip.MustParsePrefix("fec0::/10"), "site-local"},
		{netip.MustParsePrefix("ff00::/8"), "multicast"},
	}
}

// classify returns the class of addr when the policy refuses it, or "" when
// the address is public. It ignores Config.Allow; see policy.refusal.
func classify(addr netip.Addr) string {
	addr = addr.WithZone("")
	if !addr.IsValid() {
		return "invalid"
	}
	if addr.Is4In6() {
		return classify(addr.Unmap())
	}
	if addr.Is4() {
		for _, r := range refusedV4() {
			if r.prefix.Contains(addr) {
				return r.class
			}
		}
		return ""
	}
	for _, r := range refusedV6() {
		if r.prefix.Contains(addr) {
			return r.class
		}
	}
	b := addr.As16()
	switch {
	case netip.MustParsePrefix("64:ff9b::/96").Contains(addr):
		// NAT64 gateways translate to the embedded IPv4 address, which may be
		// one of ours; public ones are legitimate on IPv6-only networks.
		if c := classify(netip.AddrFrom4([4]byte(b[12:16]))); c != "" {
			return "NAT64-mapped " + c
		}
		return ""
	case netip.MustParsePrefix("2002::/16").Contains(addr):
		if c := classify(netip.AddrFrom4([4]byte(b[2:6]))); c != "" {
			return "6to4-mapped " + c
		}
		return ""
	case netip.MustParsePrefix("::/8").Contains(addr):
		// Besides :: and ::1 this holds IPv4-compatible (::a.b.c.d) and
		// IPv4-translated forms, all deprecated; name the embedded class when
		// there is one so the message is useful.
		if c := classify(netip.AddrFrom4([4]byte(b[12:16]))); c != "" {
			return "IPv4-compatible " + c
		}
		return "reserved (::/8)"
	case !netip.MustParsePrefix("2000::/3").Contains(addr):
		return "reserved"
	}
	return ""
}

// policy decides which addresses may be connected to.
type policy struct {
	allow []netip.Prefix
}

// refusal returns the class of addr when it is refused, or "" when it may be
// fetched, either because it is public or because Allow lists it.
func (p policy) refusal(addr netip.Addr) string {
	addr = addr.WithZone("")
	for _, pre := range p.allow {
		if pre.Contains(addr) || pre.Contains(addr.Unmap()) {
			return ""
		}
	}
	return classify(addr)
}

// admit checks every address host resolved to and refuses all of them when
// any is refused, so that a name cannot mix a public address with a private
// one and have the dialer pick the private one.
func (p policy) admit(host string, addrs []netip.Addr) error {
	for _, a := range addrs {
		if c := p.refusal(a); c != "" {
			return &AddressError{Host: host, Addr: a.WithZone(""), Class: c}
		}
	}
	return nil
}

// ParseAllow parses a comma-separated list of IP addresses and CIDR prefixes,
// as in "127.0.0.1, 10.0.0.0/8, ::1", into prefixes. A single address becomes
// a /32 or /128; an IPv4-mapped IPv6 address becomes its IPv4 form; host bits
// in a prefix are cleared ("10.1.2.3/8" is 10.0.0.0/8). Empty items are
// skipped, so "" gives no prefixes.
func ParseAllow(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for i, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		p, err := parseAllowItem(item)
		if err != nil {
			return nil, fmt.Errorf("fetch: allow list item %d %q: %w", i+1, item, err)
		}
		out = append(out, p)
	}
	return out, nil
}

func parseAllowItem(item string) (netip.Prefix, error) {
	if strings.Contains(item, "%") {
		return netip.Prefix{}, fmt.Errorf("IPv6 zones are not supported")
	}
	if strings.Contains(item, "/") {
		p, err := netip.ParsePrefix(item)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("not a CIDR prefix (want e.g. 10.0.0.0/8 or fd00::/8)")
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(item)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("not an IP address (want e.g. 127.0.0.1 or ::1)")
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}
