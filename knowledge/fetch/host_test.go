package fetch

import (
	"strings"
	"testing"
)

func TestNormalizeHost(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in     string
		want   string
		isAddr bool
	}{
		{"example.com", "example.com", false},
		{"EXAMPLE.Com", "example.com", false},
		{"example.com.", "example.com.", false},
		{"my_host.example", "my_host.example", false},
		{"bücher.example", "xn--bcher-kva.example", false},
		{"127.0.0.1", "127.0.0.1", true},
		{"2130706433", "127.0.0.1", true},
		{"0x7f000001", "127.0.0.1", true},
		{"0x7f.1", "127.0.0.1", true},
		{"0X7F.0.0.1", "127.0.0.1", true},
		{"127.1", "127.0.0.1", true},
		{"127.0.1", "127.0.0.1", true},
		{"0177.0.0.1", "127.0.0.1", true},
		{"017700000001", "127.0.0.1", true},
		{"127.000.000.001", "127.0.0.1", true},
		{"127.0.0.1.", "127.0.0.1", true},
		{"0", "0.0.0.0", true},
		{"0x", "0.0.0.0", true},
		{"169.254.43518", "169.254.169.254", true},
		{"0xa9.0xfe.0xa9.0xfe", "169.254.169.254", true},
		{"2852039166", "169.254.169.254", true},
		{"010.0.0.1", "8.0.0.1", true},
		{"１２７.０.０.１", "127.0.0.1", true}, // fullwidth digits
		{"127。0。0。1", "127.0.0.1", true}, // ideographic full stops
		{"::1", "::1", true},
		{"::FFFF:127.0.0.1", "::ffff:127.0.0.1", true},
		{"0:0:0:0:0:0:0:1", "::1", true},
		{"1.2.3.a", "1.2.3.a", false},
		{"0xg.example", "0xg.example", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, addr, err := normalizeHost(tt.in)
			if err != nil {
				t.Fatalf("normalizeHost(%q): %v", tt.in, err)
			}
			if got != tt.want || addr.IsValid() != tt.isAddr {
				t.Errorf("normalizeHost(%q) = %q, addr %v; want %q, address %v", tt.in, got, addr, tt.want, tt.isAddr)
			}
			if tt.isAddr && addr.String() != got {
				t.Errorf("normalizeHost(%q): host %q and addr %v differ", tt.in, got, addr)
			}
		})
	}
}

func TestNormalizeHostErrors(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"",
		"1.2.3.4.5",                  // ends in a number but has five parts
		"256.0.0.1",                  // part over 255
		"1.2.3.256",                  // last part over 255 with four parts
		"1.16777216",                 // last part over 24 bits with two parts
		"4294967296",                 // over 32 bits
		"08.0.0.1",                   // 8 is not an octal digit
		"0x1g.1",                     // last label numeric, first part not
		"99999999999999999999999999", // overflows uint64
		"fe80::1%eth0",               // zones are refused
		"::1::2",
		"1.2.3.4:80",
		"a..b",
		".example",
		"exa mple.com",
		"exa$mple.com",
		"a.b." + strings.Repeat("x", 64) + ".example", // label over 63 bytes
		strings.Repeat("abcdefgh.", 30) + "example",   // name over 253 bytes
	} {
		t.Run(in, func(t *testing.T) {
			t.Parallel()
			if got, addr, err := normalizeHost(in); err == nil {
				t.Errorf("normalizeHost(%q) = %q, %v; want error", in, got, addr)
			}
		})
	}
}
