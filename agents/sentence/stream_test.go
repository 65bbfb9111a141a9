package sentence

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// chop cuts text at random byte offsets, mid-rune included, into pieces of
// 0 to maxPiece bytes.
func chop(rng *rand.Rand, text string, maxPiece int) []string {
	var pieces []string
	for len(text) > 0 {
		n := min(rng.IntN(maxPiece+1), len(text))
		pieces = append(pieces, text[:n])
		text = text[n:]
	}
	return pieces
}

// stream pushes the pieces one by one and flushes.
func stream(opts Options, pieces []string) []string {
	g := New(opts)
	var out []string
	for _, p := range pieces {
		out = append(out, g.Push(p)...)
	}
	return append(out, g.Flush()...)
}

// bytewise cuts text into single bytes.
func bytewise(text string) []string {
	pieces := make([]string, len(text))
	for i := range len(text) {
		pieces[i] = text[i : i+1]
	}
	return pieces
}

// streamInputs are the texts the streaming tests chop: the table cases,
// the golden inputs and a few long mixtures.
func streamInputs(t *testing.T) []string {
	t.Helper()
	var inputs []string
	for _, tc := range splitCases {
		inputs = append(inputs, tc.in)
	}
	inputs = append(inputs, goldenInputs(t)...)
	var all strings.Builder
	for _, tc := range splitCases {
		all.WriteString(tc.in)
		all.WriteString(" ")
	}
	return append(inputs, all.String())
}

func TestStreamingMatchesSplit(t *testing.T) {
	t.Parallel()
	for _, maxLen := range []int{0, 30} {
		opts := Options{MaxLen: maxLen}
		for i, text := range streamInputs(t) {
			want := stream(opts, []string{text})
			if diff := cmp.Diff(want, stream(opts, bytewise(text))); diff != "" {
				t.Errorf("input %d %q, maxLen %d, byte by byte (-one shot +streamed):\n%s", i, text, maxLen, diff)
			}
			for seed := range uint64(20) {
				rng := rand.New(rand.NewPCG(seed, uint64(i)))
				pieces := chop(rng, text, 1+rng.IntN(12))
				if diff := cmp.Diff(want, stream(opts, pieces)); diff != "" {
					t.Errorf("input %d %q, maxLen %d, pieces %q (-one shot +streamed):\n%s", i, text, maxLen, pieces, diff)
				}
			}
		}
	}
}

// TestEmitsOnNextSentenceStart pushes plain texts one rune at a time and
// checks that each sentence comes out exactly when the first rune of the
// next one is pushed: not before (it could not be certain) and not after.
func TestEmitsOnNextSentenceStart(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		sentences []string // joined by a space to make the text
	}{
		{"periods", []string{"Hello there.", "World is big.", "End."}},
		{"questions and exclamations", []string{"Why?", "Because!", "Fine?!", "Yes."}},
		{"abbreviations inside", []string{"Dr. Smith met Mr. Jones.", "They talked about 3.14 and v1.2."}},
		{"quotes", []string{`He said "Stop."`, `"Go!" she said.`, "Done."}},
		{"ellipsis", []string{"Wait...", "What happened?"}},
		{"cyrillic", []string{"Привет.", "Как дела?"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			text := strings.Join(tc.sentences, " ")
			runes := []rune(text)
			// The rune index at which sentence k+1 starts.
			var starts []int
			pos := 0
			for _, s := range tc.sentences[:len(tc.sentences)-1] {
				pos += utf8.RuneCountInString(s) + 1
				starts = append(starts, pos)
			}
			var g Segmenter
			var got []string
			for i, r := range runes {
				out := g.Push(string(r))
				if len(out) == 0 {
					continue
				}
				k := len(got)
				if k >= len(starts) || starts[k] != i || len(out) != 1 {
					t.Fatalf("at rune %d (%q) got %q; sentence %d should come at rune %d", i, r, out, k, starts[min(k, len(starts)-1)])
				}
				got = append(got, out...)
			}
			got = append(got, g.Flush()...)
			if diff := cmp.Diff(tc.sentences, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestEmitsAsSoonAsCertain pins the delta on which each sentence appears
// in cases where the decision waits on something other than a letter.
func TestEmitsAsSoonAsCertain(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		deltas []string
		want   [][]string // per delta, then the Flush
	}{
		{"waits for the next letter", []string{"Hello there.", " ", "W", "orld."},
			[][]string{nil, nil, {"Hello there."}, nil, {"World."}}},
		{"abbreviation never ends", []string{"Dr.", " ", "S", "mith left"},
			[][]string{nil, nil, nil, nil, {"Dr. Smith left"}}},
		{"decimal never ends", []string{"It is 3.", "1", "4 exactly."},
			[][]string{nil, nil, nil, {"It is 3.14 exactly."}}},
		{"lowercase goes on", []string{"Wait!", " ", "he said."},
			[][]string{nil, nil, nil, {"Wait! he said."}}},
		{"a digit waits one rune, it may be a keycap emoji", []string{"It was 1999.", " 2", "0", "00 came."},
			[][]string{nil, nil, {"It was 1999."}, nil, {"2000 came."}}},
		{"cjk needs no space", []string{"你好。", "再"},
			[][]string{nil, {"你好。"}, {"再"}}},
		{"list item ends at its newline", []string{"- item one", "\n", "- item two"},
			[][]string{nil, {"item one"}, nil, {"item two"}}},
		{"blank line ends a paragraph", []string{"Para one", "\n", "\n", "Two"},
			[][]string{nil, nil, {"Para one"}, nil, {"Two"}}},
		{"action after a sentence ends it when it opens", []string{"Okay.", " *", "sighs", "* Fine."},
			[][]string{nil, nil, {"Okay."}, nil, {"Fine."}}},
		{"heading ends at its newline", []string{"# Title", "\n", "Text."},
			[][]string{nil, {"Title"}, nil, {"Text."}}},
		{"code block start ends the unit", []string{"Run this:", "\n```", "sh\nls\n", "```\nDone."},
			[][]string{nil, {"Run this:"}, nil, nil, {"Done."}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var g Segmenter
			var got [][]string
			for _, d := range tc.deltas {
				got = append(got, g.Push(d))
			}
			got = append(got, g.Flush())
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("per delta (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReuseAfterFlush(t *testing.T) {
	t.Parallel()
	g := New(Options{MaxLen: 30})
	first := append(g.Push("*waves* One. Two [1"), g.Flush()...)
	second := append(g.Push("Three. Four"), g.Flush()...)
	if diff := cmp.Diff([]string{"One.", "Two [1"}, first); diff != "" {
		t.Errorf("first stream (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Three.", "Four"}, second); diff != "" {
		t.Errorf("second stream (-want +got):\n%s", diff)
	}
	long := append(g.Push(strings.Repeat("abc ", 20)), g.Flush()...)
	for _, s := range long {
		if utf8.RuneCountInString(s) > 30 {
			t.Errorf("MaxLen lost after Flush: %q", s)
		}
	}
}

// TestBoundedWork feeds adversarial text and checks that the pending
// buffers stay bounded and that no rune is read again more than a bounded
// number of times, which keeps the work linear in the input.
func TestBoundedWork(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		unit string
	}{
		{"no spaces", "abcdefghij"},
		{"unclosed stars", "*a "},
		{"unclosed brackets", "[a "},
		{"unclosed link", "[a](b "},
		{"angles", "<b c "},
		{"list markers", "\n1"},
		{"terminators", "!?."},
		{"abbreviations", "Dr. "},
		{"stray stars", "*a * "},
		{"mixed openers", "*x [y <b "},
		{"openers inside a span", "*a <b [c "},
		{"long words between openers", "*abcdefghijklmnopqrstuvwxyz [abcdefghijklmnopqrstuvwxyz "},
		{"emphasis everywhere", "*a* _b_ **c** ~~d~~ "},
		{"every opener", "*<[!`_~\\#1 "},
		{"nested kinds", "*a <b [c ](d <e *f "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var g Segmenter
			text := strings.Repeat(tc.unit, 200_000/len(tc.unit))
			in := 0
			for _, piece := range chop(rand.New(rand.NewPCG(1, 2)), text, 64) {
				g.Push(piece)
				in += utf8.RuneCountInString(piece)
				if len(g.s.cur) > DefaultMaxLen || len(g.c.hold) > holdCap || len(g.c.dest) > destCap || len(g.c.redo) > holdCap+destCap+8 {
					t.Fatalf("buffers grew: cur %d, hold %d, dest %d, redo %d", len(g.s.cur), len(g.c.hold), len(g.c.dest), len(g.c.redo))
				}
			}
			t.Logf("%s: %d runes read again for %d runes of input", tc.name, g.c.reread, in)
			if g.c.reread > 5*in {
				t.Errorf("%d runes read again for %d runes of input", g.c.reread, in)
			}
			g.Flush()
		})
	}
}

func BenchmarkPush(b *testing.B) {
	var text strings.Builder
	for text.Len() < 64<<10 {
		for _, tc := range splitCases {
			text.WriteString(tc.in)
			text.WriteString("\n")
		}
	}
	// Deltas of 1 to 8 bytes, as a model streams them.
	pieces := chop(rand.New(rand.NewPCG(7, 7)), text.String(), 8)
	b.SetBytes(int64(text.Len()))
	b.ReportAllocs()
	var g Segmenter
	for b.Loop() {
		n := 0
		for _, p := range pieces {
			n += len(g.Push(p))
		}
		n += len(g.Flush())
		if n == 0 {
			b.Fatal("no sentences")
		}
	}
}
