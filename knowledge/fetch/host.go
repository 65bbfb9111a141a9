package fetch

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"golang.org/x/net/idna"
)

// normalizeHost turns the host of a URL (brackets and port removed, percent
// escapes already decoded) into the form the fetcher connects to: an address
// in canonical form, or a lowercase ASCII DNS name. addr is valid when the
// host is an address.
//
// Hosts are read as browsers read them (the WHATWG URL host parser):
// internationalised names are mapped to ASCII, which also turns fullwidth
// digits and ideographic full stops into ASCII ones, and a host whose last
// label is a number is an IPv4 address in any of the forms inet_aton
// accepts: "2130706433", "0x7f.1", "0177.0.0.1", "127.1". Reading them here,
// rather than leaving them to a resolver that may or may not understand them,
// means the policy always sees the address that will be dialled.
func normalizeHost(h string) (host string, addr netip.Addr, err error) {
	if h == "" {
		return "", netip.Addr{}, errors.New("the host is empty")
	}
	if strings.Contains(h, ":") {
		a, err := netip.ParseAddr(h)
		if err != nil || !a.Is6() {
			return "", netip.Addr{}, fmt.Errorf("%q is not a valid IPv6 address", h)
		}
		if a.Zone() != "" {
			return "", netip.Addr{}, errors.New("IPv6 zone identifiers are not supported")
		}
		return a.String(), a, nil
	}
	name := h
	if !isASCII(name) {
		// Lookup mapping as browsers do it, but without STD3 rules so that
		// names with underscores, which exist in the wild, still resolve.
		p := idna.New(idna.MapForLookup(), idna.BidiRule(), idna.Transitional(false), idna.StrictDomainName(false))
		if name, err = p.ToASCII(name); err != nil {
			return "", netip.Addr{}, fmt.Errorf("%q is not a valid host name", h)
		}
	}
	name = strings.ToLower(name)
	a, isAddr, err := parseIPv4Host(name)
	if err != nil {
		return "", netip.Addr{}, fmt.Errorf("%q looks like an IPv4 address but is not a valid one", h)
	}
	if isAddr {
		return a.String(), a, nil
	}
	if err := checkDNSName(name); err != nil {
		return "", netip.Addr{}, fmt.Errorf("%q is not a valid host name: %w", h, err)
	}
	return name, netip.Addr{}, nil
}

// parseIPv4Host reads host as an IPv4 address when its last label is a number
// (decimal, 0x-prefixed hexadecimal, or 0-prefixed octal). isAddr is false
// for ordinary names; err is set when the host ends in a number yet is not a
// valid address, as in "1.2.3.4.5" or "256.1.1.1": such hosts are not names.
func parseIPv4Host(host string) (addr netip.Addr, isAddr bool, err error) {
	parts := strings.Split(host, ".")
	if len(parts) > 1 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	if !endsInNumber(parts[len(parts)-1]) {
		return netip.Addr{}, false, nil
	}
	if len(parts) > 4 {
		return netip.Addr{}, true, errors.New("more than four parts")
	}
	nums := make([]uint64, len(parts))
	for i, p := range parts {
		n, err := parseIPv4Number(p)
		if err != nil {
			return netip.Addr{}, true, fmt.Errorf("part %q: %w", p, err)
		}
		if i < len(parts)-1 && n > 255 {
			return netip.Addr{}, true, fmt.Errorf("part %q exceeds 255", p)
		}
		nums[i] = n
	}
	last := nums[len(nums)-1]
	if last >= 1<<(8*(5-len(nums))) {
		return netip.Addr{}, true, fmt.Errorf("last part %q is too large", parts[len(parts)-1])
	}
	v := uint32(last)
	for i, n := range nums[:len(nums)-1] {
		v |= uint32(n) << (8 * (3 - i))
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true, nil
}

// endsInNumber reports whether a host's last label makes it an IPv4 address.
func endsInNumber(label string) bool {
	if label == "" {
		return false
	}
	if strings.Trim(label, "0123456789") == "" {
		return true
	}
	_, err := parseIPv4Number(label)
	return err == nil
}

// parseIPv4Number reads one part of an IPv4 host: "0x1f" is hexadecimal,
// "017" octal, anything else decimal. "0x" alone is zero.
func parseIPv4Number(s string) (uint64, error) {
	if s == "" {
		return 0, errors.New("empty part")
	}
	base := 10
	switch {
	case len(s) >= 2 && (s[:2] == "0x" || s[:2] == "0X"):
		s, base = s[2:], 16
	case len(s) >= 2 && s[0] == '0':
		s, base = s[1:], 8
	}
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(s, base, 64)
	if err != nil {
		return 0, fmt.Errorf("not a base-%d number", base)
	}
	return n, nil
}

// checkDNSName accepts lowercase ASCII names of letters, digits, hyphens and
// underscores in labels of 1 to 63 bytes, 253 bytes in all, with an optional
// trailing dot.
func checkDNSName(name string) error {
	name = strings.TrimSuffix(name, ".")
	if name == "" {
		return errors.New("empty name")
	}
	if len(name) > 253 {
		return errors.New("longer than 253 characters")
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" {
			return errors.New("empty label")
		}
		if len(label) > 63 {
			return errors.New("label longer than 63 characters")
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' && c != '_' {
				return fmt.Errorf("character %q is not allowed", c)
			}
		}
	}
	return nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
