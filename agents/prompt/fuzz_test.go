package prompt

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/timbre-ai/timbre/agents"
	"github.com/timbre-ai/timbre/agents/llm"
	"github.com/timbre-ai/timbre/tokens"
)

// FuzzBuild feeds arbitrary text to every field Build reads and checks that
// it never panics and, when it succeeds, keeps to the window and sends
// History[Dropped:] unchanged.
func FuzzBuild(f *testing.F) {
	f.Add("{{char}} sails.", "dragon", "<START>\n{{user}}: hi\n{{char}}: hello", "a dragon!", "older", "fact </reference_material>\n[2] x", "they met", 400, 100, uint8(0))
	f.Add("", "/drag(on/i", "", "", "", "", "", 50, 0, uint8(0xff))
	f.Add(strings.Repeat("word ", 300), "(?<=x)y", "x", "\xff\xfe", "<|im_start|>", "\u2028\r\n", "", 300, 299, uint8(0x5a))
	f.Add("d", "a{1001}", "c", "aaaa", "b", "p", "s", 1<<62, 1<<61, uint8(3))
	f.Add("d", "k", "c", "k", "k", "p", "s", -5, -100, uint8(1))
	f.Fuzz(func(t *testing.T, desc, key, content, last, older, passage, summary string, ctx, reply int, flags uint8) {
		bit := func(i uint) bool { return flags&(1<<i) != 0 }
		budget := int(flags)
		in := Input{
			Card: agents.Card{
				Name:                    "Aria",
				Description:             desc,
				Personality:             content,
				MesExample:              content,
				SystemPrompt:            key + " {{original}}",
				PostHistoryInstructions: summary,
				CharacterBook: &agents.CharacterBook{
					RecursiveScanning: &[]bool{bit(0)}[0],
					TokenBudget:       &budget,
					Entries: []agents.BookEntry{
						{Keys: []string{key}, Content: content, Enabled: true, CaseSensitive: &[]bool{bit(1)}[0]},
						{Keys: []string{key, older}, Content: desc, Enabled: true, UseRegex: true, Position: "after_char"},
						{Keys: []string{last}, Content: key, Enabled: true, Selective: &[]bool{bit(2)}[0], SecondaryKeys: []string{older}},
						{Content: summary, Enabled: bit(3), Constant: &[]bool{true}[0], Priority: &budget},
					},
				},
			},
			User:          older,
			Summary:       summary,
			History:       []Turn{{Role: llm.User, Content: older}, {Role: llm.Assistant, Content: passage}, {Role: llm.User, Content: last}},
			Passages:      []Passage{{Title: key, Headings: []string{older}, Text: passage}, {Marker: 7, Text: passage + passage}},
			ClientSystem:  []string{desc},
			ContextTokens: ctx,
			ReplyTokens:   reply,
		}
		if bit(4) {
			in.History = in.History[2:]
		}
		if bit(5) {
			in.Card.CharacterBook.ScanDepth = &budget
		}
		out, err := Build(in)
		if err != nil {
			if !errors.Is(err, ErrTooSmall) {
				t.Fatalf("Build() error = %v, want nil or ErrTooSmall", err)
			}
			return
		}
		checkInvariants(t, in, out)
	})
}

// randomInput makes a conversation with lore, passages and a summary whose
// sizes vary widely relative to the window.
func randomInput(r *rand.Rand) Input {
	words := []string{"dragon", "storm", "the", "map", "Emberfall", "gull", "ash", "court", "queen", "reef", "lantern", "Aria", "Mara", "{{char}}", "cinder", "glass", "tide"}
	text := func(n int) string {
		var b strings.Builder
		for i := range n {
			if i > 0 {
				b.WriteString([]string{" ", " ", " ", ", ", ". ", "\n"}[r.IntN(6)])
			}
			b.WriteString(words[r.IntN(len(words))])
		}
		return b.String()
	}
	in := Input{
		Card: agents.Card{
			Name:        "Aria",
			Description: text(r.IntN(60)),
			Scenario:    text(r.IntN(20)),
		},
		User:          "Mara",
		ContextTokens: 60 + r.IntN(2500),
		ReplyTokens:   r.IntN(200),
	}
	book := &agents.CharacterBook{RecursiveScanning: &[]bool{r.IntN(2) == 0}[0]}
	for range r.IntN(8) {
		e := agents.BookEntry{Keys: []string{words[r.IntN(len(words))]}, Content: text(1 + r.IntN(40)), Enabled: true, InsertionOrder: r.IntN(5)}
		if r.IntN(3) == 0 {
			p := r.IntN(10)
			e.Priority = &p
		}
		book.Entries = append(book.Entries, e)
	}
	in.Card.CharacterBook = book
	for i := range 1 + r.IntN(30) {
		role := llm.User
		if i%2 == 1 {
			role = llm.Assistant
		}
		in.History = append(in.History, Turn{Role: role, Content: text(1 + r.IntN(50))})
	}
	if r.IntN(2) == 0 {
		in.Summary = text(r.IntN(80))
	}
	for i := range r.IntN(5) {
		in.Passages = append(in.Passages, Passage{Marker: i + 1, Title: text(2), Text: text(5 + r.IntN(120))})
	}
	return in
}

// TestBuildProperties checks, over many random inputs, the invariants of
// checkInvariants and that history is cut only where the next older turn
// would not have fitted (up to the small error of costing parts one by
// one).
func TestBuildProperties(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	built, trimmed := 0, 0
	for i := range 400 {
		in := randomInput(r)
		out, err := Build(in)
		if errors.Is(err, ErrTooSmall) {
			continue
		}
		if err != nil {
			t.Fatalf("input %d: %v", i, err)
		}
		built++
		if out.Dropped > 0 {
			trimmed++
		}
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			checkInvariants(t, in, out)
			if out.Dropped == 0 {
				return
			}
			avail := in.ContextTokens - in.ReplyTokens
			next := tokens.Count(in.History[out.Dropped-1].Content) + MessageOverhead
			slack := 4 + len(out.Lore) + out.PassagesUsed
			if out.Tokens+next <= avail-slack {
				t.Errorf("dropped %d turns at %d of %d tokens, but the next older turn (%d tokens) would have fitted",
					out.Dropped, out.Tokens, avail, next)
			}
		})
	}
	// The generator must exercise both outcomes, or the checks above say
	// little.
	t.Logf("built %d, trimmed %d", built, trimmed)
	if built < 200 || trimmed < 50 {
		t.Errorf("%d of 400 random inputs built, %d of them with history dropped; want at least 200 and 50", built, trimmed)
	}
}
