package prompt

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/timbre-ai/timbre/agents/llm"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// goldenCase is one file of testdata/cases: an Input and what it shows.
type goldenCase struct {
	Comment string `json:"comment"`
	Input   Input  `json:"input"`
}

func loadCase(t *testing.T, name string) Input {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "cases", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var c goldenCase
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
	return c.Input
}

// TestGolden builds every input in testdata/cases and compares the
// rendered result with testdata/golden (go test ./agents/prompt -run
// TestGolden -update rewrites them).
func TestGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "cases", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no cases in testdata/cases")
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			in := loadCase(t, name)
			out, err := Build(in)
			if err == nil {
				checkInvariants(t, in, out)
			}
			checkGolden(t, name, renderGolden(in, out, err))
		})
	}
}

// checkGolden compares got with testdata/golden/name.txt, or rewrites the
// file under -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name+".txt")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (create it with -update): %v", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got), run with -update if intended:\n%s", path, diff)
	}
}

// renderGolden writes a build result for people to read.
func renderGolden(in Input, out Output, err error) string {
	var b strings.Builder
	if err != nil {
		fmt.Fprintf(&b, "error: %v\n", err)
		return b.String()
	}
	fmt.Fprintf(&b, "tokens: %d of %d\n", out.Tokens, in.ContextTokens-max(in.ReplyTokens, 0))
	fmt.Fprintf(&b, "dropped: %d of %d turns\n", out.Dropped, len(in.History))
	fmt.Fprintf(&b, "summary used: %v\n", out.SummaryUsed)
	fmt.Fprintf(&b, "passages used: %d of %d\n", out.PassagesUsed, len(in.Passages))
	fmt.Fprintf(&b, "examples used: %v (%d blocks)\n", out.ExamplesUsed, out.Examples)
	fmt.Fprintf(&b, "lore skipped: %d\n", out.LoreSkipped)
	for _, h := range out.Lore {
		fmt.Fprintf(&b, "lore: #%d %q %s %d tokens\n", h.Index, h.Name, h.Position, h.Tokens)
	}
	for _, m := range out.Messages {
		fmt.Fprintf(&b, "\n=== %s ===\n%s\n", m.Role, m.Content)
	}
	return b.String()
}

// checkInvariants asserts what every successful Build must hold.
func checkInvariants(t *testing.T, in Input, out Output) {
	t.Helper()
	avail := in.ContextTokens - max(in.ReplyTokens, 0)
	if out.Tokens > avail {
		t.Errorf("Tokens = %d, over the %d available", out.Tokens, avail)
	}
	if got := Count(out.Messages); got != out.Tokens {
		t.Errorf("Tokens = %d, but the messages count %d", out.Tokens, got)
	}
	if len(out.Messages) == 0 || out.Messages[0].Role != llm.System {
		t.Fatalf("first message is not the system message: %+v", out.Messages)
	}
	if out.Dropped < 0 || out.Dropped > len(in.History) || (len(in.History) > 0 && out.Dropped == len(in.History)) {
		t.Fatalf("Dropped = %d of %d turns; the newest turn must always be sent", out.Dropped, len(in.History))
	}
	var hist []llm.Message
	for _, m := range out.Messages[1:] {
		if m.Role != llm.System {
			hist = append(hist, m)
		}
	}
	var want []llm.Message
	for _, turn := range in.History[out.Dropped:] {
		want = append(want, llm.Message{Role: turn.Role, Content: turn.Content})
	}
	if diff := cmp.Diff(want, hist); diff != "" {
		t.Errorf("history messages are not History[Dropped:] unchanged (-want +got):\n%s", diff)
	}
	if out.PassagesUsed < 0 || out.PassagesUsed > len(in.Passages) {
		t.Errorf("PassagesUsed = %d of %d", out.PassagesUsed, len(in.Passages))
	}
	if out.ExamplesUsed != (out.Examples > 0) {
		t.Errorf("ExamplesUsed = %v with %d blocks", out.ExamplesUsed, out.Examples)
	}
}

func TestBuildErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   Input
		want error
	}{
		{
			name: "window smaller than the reply",
			in:   Input{History: []Turn{{Role: llm.User, Content: "hi"}}, ContextTokens: 100, ReplyTokens: 200},
			want: ErrTooSmall,
		},
		{
			name: "zero window",
			in:   Input{},
			want: ErrTooSmall,
		},
		{
			name: "newest message too long",
			in: Input{
				History:       []Turn{{Role: llm.User, Content: strings.Repeat("word ", 500)}},
				ContextTokens: 400, ReplyTokens: 50,
			},
			want: ErrTooSmall,
		},
		{
			name: "system turn in history",
			in: Input{
				History:       []Turn{{Role: llm.System, Content: "obey"}, {Role: llm.User, Content: "hi"}},
				ContextTokens: 4000,
			},
			want: ErrInvalidTurn,
		},
		{
			name: "empty role",
			in:   Input{History: []Turn{{Content: "hi"}}, ContextTokens: 4000},
			want: ErrInvalidTurn,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Build(tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Build() error = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestTooSmallBoundary checks that the window where the fixed parts just
// fit builds, and one token less does not.
func TestTooSmallBoundary(t *testing.T) {
	t.Parallel()
	in := loadCase(t, "plain_macros")
	in.ReplyTokens = 0
	in.ContextTokens = 1 << 20
	full, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	// The fixed parts: the system message without optional sections, the
	// newest turn and the post-history instructions.
	b := newBuilder(in)
	fixed := Count(b.render(plan{lore: make([]bool, len(b.lore)), dropped: len(in.History) - 1}))
	if fixed >= full.Tokens {
		t.Fatalf("fixed parts %d tokens, full prompt %d: the case has nothing optional", fixed, full.Tokens)
	}
	in.ContextTokens = fixed
	out, err := Build(in)
	if err != nil {
		t.Fatalf("Build() with exactly the fixed parts' room: %v", err)
	}
	if out.Dropped != len(in.History)-1 || out.ExamplesUsed || out.Tokens != fixed {
		t.Errorf("got Dropped %d, ExamplesUsed %v, Tokens %d; want only the fixed parts (%d tokens)",
			out.Dropped, out.ExamplesUsed, out.Tokens, fixed)
	}
	in.ContextTokens = fixed - 1
	if _, err := Build(in); !errors.Is(err, ErrTooSmall) {
		t.Errorf("Build() one token short: error = %v, want ErrTooSmall", err)
	}
}

func TestClientSystemAfterAgent(t *testing.T) {
	t.Parallel()
	in := loadCase(t, "client_system")
	out, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	sys := out.Messages[0].Content
	agent := strings.Index(sys, "You are Quill")
	scenario := strings.Index(sys, "Scenario:")
	client := strings.Index(sys, in.ClientSystem[0])
	client2 := strings.Index(sys, in.ClientSystem[2]) // [1] is blank and skipped
	if agent != 0 || scenario < 0 || client < scenario || client2 < client {
		t.Errorf("want agent prompt (at %d) first, then the card (scenario at %d), then client messages in order (at %d, %d):\n%s",
			agent, scenario, client, client2, sys)
	}
}

func TestDeterministic(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"lore_activation", "knowledge_hostile", "history_trimmed"} {
		in := loadCase(t, name)
		first, err := Build(in)
		if err != nil {
			t.Fatal(err)
		}
		for range 5 {
			again, err := Build(in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(first, again); diff != "" {
				t.Fatalf("%s: second build differs:\n%s", name, diff)
			}
		}
	}
}
