package sentence

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// FuzzSegmenter checks, for any input and any chopping of it, that nothing
// panics, that the sentences do not depend on the chopping, and that every
// sentence is speakable: not empty, clean of markers, emoji and stray
// whitespace, and no longer than the maximum length.
func FuzzSegmenter(f *testing.F) {
	for i, tc := range splitCases {
		f.Add(tc.in, uint64(i))
	}
	f.Add("**b**o*l*d_ _x__y~~z `c` [1](u) ![i](j) <br> #️⃣ 👨‍👩‍👧 \xf0\x9f", uint64(99))
	f.Add("```\n~~~\n```\n~~~\ntext", uint64(100))
	f.Add("Dr. J. R. R. U.S. e.g. etc. 3. 1. a.m. “Run!” she said. 「はい。」と", uint64(101))
	const maxLen = 40
	opts := Options{MaxLen: maxLen}
	f.Fuzz(func(t *testing.T, text string, seed uint64) {
		want := stream(opts, []string{text})
		rng := rand.New(rand.NewPCG(seed, seed>>32))
		pieces := chop(rng, text, 1+rng.IntN(16))
		if diff := cmp.Diff(want, stream(opts, pieces)); diff != "" {
			t.Fatalf("pieces %q (-one shot +streamed):\n%s", pieces, diff)
		}
		if diff := cmp.Diff(want, stream(opts, bytewise(text))); diff != "" {
			t.Fatalf("byte by byte (-one shot +streamed):\n%s", diff)
		}
		for _, s := range want {
			if problem := unspeakable(s, maxLen); problem != "" {
				t.Errorf("sentence %q from %q: %s", s, text, problem)
			}
		}
	})
}

// unspeakable says what is wrong with an emitted sentence, or "". It checks
// with its own notion of emoji rather than the package's.
func unspeakable(s string, maxLen int) string {
	switch {
	case !utf8.ValidString(s):
		return "invalid UTF-8"
	case strings.TrimSpace(s) != s:
		return "untrimmed"
	case utf8.RuneCountInString(s) > maxLen:
		return "longer than the maximum"
	case strings.ContainsAny(s, "*`\n\t\r"):
		return "marker or line break"
	case strings.Contains(s, "__"), strings.Contains(s, "~~"), strings.Contains(s, "  "):
		return "doubled marker or space"
	}
	hasWord := false
	for _, r := range s {
		switch {
		case r >= 0x1F000 && r <= 0x1FAFF, r >= 0x2600 && r <= 0x27BF,
			r >= 0xFE00 && r <= 0xFE0F, r == 0x20E3, r >= 0xE0000 && r <= 0xE007F:
			return "emoji"
		case r == utf8.RuneError:
			return "replacement character"
		case unicode.IsLetter(r) || unicode.IsNumber(r):
			hasWord = true
		}
	}
	if !hasWord {
		return "nothing to say"
	}
	return ""
}
