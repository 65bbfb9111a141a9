package prompt

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/timbre-ai/timbre/agents"
	"github.com/timbre-ai/timbre/agents/llm"
)

func ptr[T any](v T) *T { return &v }

func userTurns(texts ...string) []Turn {
	var h []Turn
	for i, s := range texts {
		role := llm.User
		if i%2 == 1 {
			role = llm.Assistant
		}
		h = append(h, Turn{Role: role, Content: s})
	}
	return h
}

func TestActivateLore(t *testing.T) {
	t.Parallel()
	entry := func(content string, keys ...string) agents.BookEntry {
		return agents.BookEntry{Keys: keys, Content: content, Enabled: true}
	}
	// chain returns entries where entry i's content names the key of
	// entry i+1, and entry 0's key is "link0".
	chain := func(n int) []agents.BookEntry {
		var es []agents.BookEntry
		for i := range n {
			es = append(es, entry(fmt.Sprintf("then link%d", i+1), fmt.Sprintf("link%d", i)))
		}
		return es
	}
	tests := []struct {
		name    string
		book    agents.CharacterBook
		history []Turn
		want    []int
	}{
		{
			name:    "scan depth 0 scans nothing",
			book:    agents.CharacterBook{ScanDepth: ptr(0), Entries: []agents.BookEntry{entry("a", "dragon"), {Content: "c", Enabled: true, Constant: ptr(true)}}},
			history: userTurns("dragon"),
			want:    []int{1},
		},
		{
			name:    "negative scan depth means the default",
			book:    agents.CharacterBook{ScanDepth: ptr(-3), Entries: []agents.BookEntry{entry("a", "old"), entry("b", "recent")}},
			history: userTurns("old", "x", "recent"),
			want:    []int{1},
		},
		{
			name:    "scan depth beyond the history scans it all",
			book:    agents.CharacterBook{ScanDepth: ptr(50), Entries: []agents.BookEntry{entry("a", "old"), entry("b", "recent")}},
			history: userTurns("old", "x", "recent"),
			want:    []int{0, 1},
		},
		{
			name:    "empty history activates constants only",
			book:    agents.CharacterBook{Entries: []agents.BookEntry{entry("a", "x"), {Content: "c", Enabled: true, Constant: ptr(true)}}},
			history: nil,
			want:    []int{1},
		},
		{
			name: "disabled constant stays off",
			book: agents.CharacterBook{Entries: []agents.BookEntry{{Content: "c", Constant: ptr(true)}}},
			want: nil,
		},
		{
			name: "selective without usable secondary keys acts as plain",
			book: agents.CharacterBook{Entries: []agents.BookEntry{
				{Keys: []string{"dragon"}, Content: "a", Enabled: true, Selective: ptr(true), SecondaryKeys: []string{" ", ""}},
			}},
			history: userTurns("a dragon"),
			want:    []int{0},
		},
		{
			name: "secondary keys without selective are ignored",
			book: agents.CharacterBook{Entries: []agents.BookEntry{
				{Keys: []string{"dragon"}, Content: "a", Enabled: true, SecondaryKeys: []string{"gold"}},
			}},
			history: userTurns("a dragon"),
			want:    []int{0},
		},
		{
			name: "secondary keys follow case_sensitive and use_regex",
			book: agents.CharacterBook{Entries: []agents.BookEntry{
				{Keys: []string{"Dragon"}, Content: "a", Enabled: true, CaseSensitive: ptr(true), Selective: ptr(true), SecondaryKeys: []string{"gold"}},
				{Keys: []string{"Dragon"}, Content: "b", Enabled: true, CaseSensitive: ptr(true), Selective: ptr(true), SecondaryKeys: []string{"Gold"}},
				{Keys: []string{"/drag/i"}, Content: "c", Enabled: true, UseRegex: true, Selective: ptr(true), SecondaryKeys: []string{"/G[aeiou]ld/"}},
			}},
			history: userTurns("the Dragon's Gold"),
			want:    []int{1, 2},
		},
		{
			name: "keys may use macros",
			book: agents.CharacterBook{Entries: []agents.BookEntry{
				entry("a", "{{char}}'s ship"), entry("b", "{{user}}"),
			}},
			history: userTurns("Tell me about aria's ship"),
			want:    []int{0},
		},
		{
			name:    "without recursive_scanning entries do not activate each other",
			book:    agents.CharacterBook{Entries: chain(3)},
			history: userTurns("link0"),
			want:    []int{0},
		},
		{
			name:    "recursion stops after MaxRecursionPasses",
			book:    agents.CharacterBook{RecursiveScanning: ptr(true), Entries: chain(MaxRecursionPasses + 3)},
			history: userTurns("link0"),
			want:    []int{0, 1, 2, 3, 4, 5},
		},
		{
			name: "recursion cycles end",
			book: agents.CharacterBook{RecursiveScanning: ptr(true), Entries: []agents.BookEntry{
				entry("mentions beta", "alpha"), entry("mentions alpha", "beta"), entry("mentions gamma", "delta"),
			}},
			history: userTurns("alpha"),
			want:    []int{0, 1},
		},
		{
			name: "ties in insertion_order keep book order",
			book: agents.CharacterBook{Entries: []agents.BookEntry{
				{Keys: []string{"x"}, Content: "a", Enabled: true, InsertionOrder: 5},
				{Keys: []string{"x"}, Content: "b", Enabled: true, InsertionOrder: -1},
				{Keys: []string{"x"}, Content: "c", Enabled: true, InsertionOrder: 5},
				{Keys: []string{"x"}, Content: "d", Enabled: true, InsertionOrder: 0},
			}},
			history: userTurns("x"),
			want:    []int{1, 3, 0, 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ex := func(s string) string { return Expand(s, "Aria", "Mara") }
			var got []int
			for _, e := range activateLore(&tt.book, tt.history, ex) {
				got = append(got, e.index)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("activated entries (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLorePosition(t *testing.T) {
	t.Parallel()
	book := agents.CharacterBook{Entries: []agents.BookEntry{
		{Content: "a", Enabled: true, Constant: ptr(true), Position: "after_char"},
		{Content: "b", Enabled: true, Constant: ptr(true), Position: "at_depth"},
		{Content: "c", Enabled: true, Constant: ptr(true)},
	}}
	var got []string
	for _, e := range activateLore(&book, nil, func(s string) string { return s }) {
		got = append(got, e.position)
	}
	want := []string{agents.PositionAfterChar, agents.PositionBeforeChar, agents.PositionBeforeChar}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("positions (-want +got):\n%s", diff)
	}
}

func TestKeepOrder(t *testing.T) {
	t.Parallel()
	entries := []loreEntry{
		{index: 0, order: 1},                                   // no priority
		{index: 1, priority: 5, hasPrio: true, order: 9},       // 5
		{index: 2, priority: 5, hasPrio: true, constant: true}, // 5, constant: before 1
		{index: 3, priority: -2, hasPrio: true},                // negative still beats none
		{index: 4, priority: 9, hasPrio: true, order: 3},
		{index: 5, constant: true, order: 0}, // no priority, constant: first of the unprioritised
		{index: 6, priority: 5, hasPrio: true, order: 2},
	}
	want := []int{4, 2, 6, 1, 3, 5, 0}
	if diff := cmp.Diff(want, keepOrder(entries)); diff != "" {
		t.Errorf("keepOrder (-want +got):\n%s", diff)
	}
}
