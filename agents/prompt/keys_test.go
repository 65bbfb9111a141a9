package prompt

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/timbre-ai/timbre/agents"
)

func TestContainsKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text, key string
		want      bool
	}{
		{"concatenate the charts", "cat", false},
		{"the cat sat", "cat", true},
		{"cat", "cat", true},
		{"cats", "cat", false},
		{"a cat's toy", "cat", true},
		{"catcat, then cat", "cat", true}, // a later occurrence is a whole word
		{"dragon_slayer", "dragon", false},
		{"red dragon!", "red dragon", true},
		{"c++17 rocks", "c++", true}, // ends in a symbol: no boundary needed after
		{"abc++", "c++", false},
		{"asp.net", ".net", true}, // starts with a symbol: no boundary needed before
		{"café au lait", "café", true},
		{"cafés", "café", false},
		{"nai\u0308ve", "nai", false}, // a combining mark is part of the word
		{"我的猫很可爱", "猫", true},         // no spaces in Chinese: substring
		{"고양이가 좋아", "고양이", true},      // Korean particles attach: substring
		{"", "cat", false},
		{"\xff cat \xfe", "cat", true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%s", tt.key, tt.text), func(t *testing.T) {
			t.Parallel()
			if got := containsKey(tt.text, tt.key); got != tt.want {
				t.Errorf("containsKey(%q, %q) = %v, want %v", tt.text, tt.key, got, tt.want)
			}
		})
	}
}

func TestCompileRegexKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		key           string
		caseSensitive bool
		text          string
		valid, match  bool
	}{
		{"slash form with i", "/drag(on|ons)/i", true, "DRAGONS", true, true},
		{"slash form is case-sensitive without i", "/DRAGON/", false, "dragon", true, false},
		{"javascript flags ignored", "/dragon/gi", true, "a DRAGON", true, true},
		{"bare pattern follows case_sensitive false", "drag\\w+", false, "DRAGONS", true, true},
		{"bare pattern follows case_sensitive true", "drag\\w+", true, "DRAGONS", true, false},
		{"s flag", "/a.b/s", true, "a\nb", true, true},
		{"no s flag", "/a.b/", true, "a\nb", true, false},
		{"m flag", "/^b$/m", true, "a\nb", true, true},
		{"unterminated slash is a bare pattern", "/dragon", true, "the /dragon", true, true},
		{"path-like key is a bare pattern", "/path/to/file", true, "see /path/to/file", true, true},
		{"lookbehind is not RE2", "(?<=x)y", true, "xy", false, false},
		{"backreference is not RE2", `(a)\1`, true, "aa", false, false},
		{"unbalanced", "(dragon", true, "(dragon", false, false},
		{"huge repeat", "a{1001}", true, "a", false, false},
		{"over the length limit", strings.Repeat("a", MaxRegexKeyBytes+1), true, "a", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			re := compileRegexKey(tt.key, tt.caseSensitive)
			if (re != nil) != tt.valid {
				t.Fatalf("compileRegexKey(%q) valid = %v, want %v", tt.key, re != nil, tt.valid)
			}
			if re != nil && re.MatchString(tt.text) != tt.match {
				t.Errorf("%q matches %q = %v, want %v", re, tt.text, !tt.match, tt.match)
			}
		})
	}
}

// TestPlainKeyIndex checks that the indexed lookup of plainKey.contains
// agrees with containsKey on random texts and keys drawn from a small
// alphabet of word, symbol, space, CJK and invalid bytes.
func TestPlainKeyIndex(t *testing.T) {
	t.Parallel()
	pieces := []string{"a", "b", "ab", " ", "  ", "-", "+", "_", "é", "e\u0301", "猫", "\xff", "\n", "'", "1"}
	r := rand.New(rand.NewPCG(3, 4))
	gen := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		return b.String()
	}
	for i := range 20000 {
		text, key := gen(r.IntN(30)), gen(1+r.IntN(4))
		if strings.TrimSpace(key) != key || key == "" {
			continue
		}
		want := containsKey(text, key)
		got := newPlainKey(key, true).contains(newSegment(text), &work{left: maxScanWork})
		if got != want {
			t.Fatalf("case %d: contains(%q, %q) = %v, containsKey = %v", i, text, key, got, want)
		}
	}
}

func TestWorkBound(t *testing.T) {
	t.Parallel()
	s := newSegment("the red dragon sleeps")
	k := newPlainKey("dragon", false)
	if !k.contains(s, &work{left: 100}) {
		t.Fatal("dragon not found with work to spare")
	}
	if k.contains(s, &work{left: 0}) {
		t.Error("a key matched with no work left")
	}
	sym := newPlainKey("+x", false)
	w := &work{left: len("+x") + 3} // less than the text's length
	if sym.contains(newSegment("a long text, then +x"), w) || w.left != 0 {
		t.Errorf("a scan the work cannot pay for must fail and use up the work (left %d)", w.left)
	}
}

// TestHugeBook runs a book at the card limits (1000 entries of 256 keys
// and 256 secondary keys) over a long history: the word index answers
// one-word keys with a lookup, and the one entry named fires.
func TestHugeBook(t *testing.T) {
	t.Parallel()
	book := &agents.CharacterBook{ScanDepth: ptr(10)}
	for i := range agents.MaxLoreEntries {
		var keys []string
		for k := range agents.MaxEntryKeys {
			keys = append(keys, fmt.Sprintf("key%dx%d", i, k))
		}
		book.Entries = append(book.Entries, agents.BookEntry{
			Keys: keys, SecondaryKeys: keys, Selective: ptr(true), Content: fmt.Sprint("entry ", i), Enabled: true,
		})
	}
	history := userTurns(strings.Repeat("key key0 key1x key2x2x ", 3000), "then key777x13 and more")
	got := activateLore(book, history, func(s string) string { return s })
	if len(got) != 1 || got[0].index != 777 {
		t.Errorf("activated %d entries, want only entry 777", len(got))
	}
}

func TestMaxRegexKeys(t *testing.T) {
	t.Parallel()
	book := &agents.CharacterBook{}
	for i := range MaxRegexKeys + 1 {
		book.Entries = append(book.Entries, agents.BookEntry{
			Keys: []string{fmt.Sprintf("/k%d\\b/", i)}, UseRegex: true, Content: "c", Enabled: true,
		})
	}
	history := userTurns(fmt.Sprintf("k0 k%d k%d", MaxRegexKeys-1, MaxRegexKeys))
	var got []int
	for _, e := range activateLore(book, history, func(s string) string { return s }) {
		got = append(got, e.index)
	}
	if want := []int{0, MaxRegexKeys - 1}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("activated %v, want %v: regex keys past MaxRegexKeys are skipped", got, want)
	}
}
