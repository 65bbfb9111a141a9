package db

import (
	"crypto/rand"
	"encoding/base32"
	"strings"
)

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewID returns an opaque, random identifier such as "agt_k3l…": a short
// prefix naming the kind of object and 80 random bits.
func NewID(prefix string) string {
	b := make([]byte, 10)
	// crypto/rand.Read never fails on supported platforms (Go 1.24+).
	_, _ = rand.Read(b)
	return prefix + "_" + idEncoding.EncodeToString(b)
}

// ValidID reports whether s looks like an ID NewID made with prefix; it lets
// handlers turn garbage into a clean 404 without a query.
func ValidID(prefix, s string) bool {
	rest, ok := strings.CutPrefix(s, prefix+"_")
	if !ok || len(rest) != 16 {
		return false
	}
	_, err := idEncoding.DecodeString(rest)
	return err == nil
}
