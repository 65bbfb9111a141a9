package retrieval

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestLocate(t *testing.T) {
	t.Parallel()
	const ev = "A nil map is equivalent to an empty map"
	tests := []struct {
		name      string
		extracted string
		evidence  string
		want      string // the runes of extracted at the returned offsets; "" when not found
		wantStart int    // the returned start, when found
	}{
		{name: "exact", extracted: "x. " + ev + ". y", evidence: ev, want: ev, wantStart: 3},
		{name: "case", extracted: "A NIL MAP is Equivalent to an empty map", evidence: ev, want: "A NIL MAP is Equivalent to an empty map"},
		{name: "line breaks and indentation",
			extracted: "A nil\n  map is\tequivalent to\n\nan empty map", evidence: ev,
			want: "A nil\n  map is\tequivalent to\n\nan empty map"},
		{name: "space dropped between inline elements",
			extracted: "Anil map is equivalent toan empty map", evidence: ev, want: "Anil map is equivalent toan empty map"},
		{name: "list markers",
			extracted: "Rules:\n\n- its kind, indicating\n- its location in the program",
			evidence:  "its kind, indicating its location in the program",
			want:      "its kind, indicating\n- its location in the program", wantStart: 10},
		{name: "fence inside the quote",
			extracted: "For example,\n\n```\nDATA divtab<>+0x00(SB)/4, $0xf4f8fcff\n```\n",
			evidence:  "For example, DATA divtab<>+0x00(SB)/4, $0xf4f8fcff",
			want:      "For example,\n\n```\nDATA divtab<>+0x00(SB)/4, $0xf4f8fcff"},
		{name: "heading marks",
			extracted: "## Introduction\n\nGo's emphasis on backwards compatibility",
			evidence:  "Introduction Go's emphasis on backwards compatibility",
			want:      "Introduction\n\nGo's emphasis on backwards compatibility", wantStart: 3},
		{name: "markdown code and emphasis",
			extracted: "A GODEBUG setting is a `key=value` pair that *controls* the execution",
			evidence:  "A GODEBUG setting is a key=value pair that controls the execution",
			want:      "A GODEBUG setting is a `key=value` pair that *controls* the execution"},
		{name: "table bars",
			extracted: "clear(m) | map[K]T | deletes all entries",
			evidence:  "clear(m) map[K]T deletes all entries",
			want:      "clear(m) | map[K]T | deletes all entries"},
		{name: "curly quotes and dashes",
			extracted: "the “Synchronization” section — below",
			evidence:  `the "Synchronization" section below`,
			want:      "the “Synchronization” section — below"},
		{name: "no-break space and soft hyphen",
			extracted: "a\u00a0pseudo\u00adregister named SP",
			evidence:  "a pseudoregister named SP",
			want:      "a\u00a0pseudo\u00adregister named SP"},
		{name: "offsets are runes, not bytes",
			extracted: "白鵬翔 ünïcödé — " + ev, evidence: ev, want: ev, wantStart: 14},
		{name: "first of two occurrences", extracted: ev + " / " + ev, evidence: ev, want: ev, wantStart: 0},
		{name: "evidence with markup of its own",
			extracted: "x-8(SP) and -8(SP) are different", evidence: "x8(SP) and 8(SP) are different",
			want: "x-8(SP) and -8(SP) are different"},
		{name: "invalid UTF-8 before the match counts one rune per byte",
			extracted: "\xff\xfe" + ev, evidence: ev, want: ev, wantStart: 2},
		{name: "not found", extracted: "A nil map is equivalent to a full map", evidence: ev},
		{name: "words are not reordered", extracted: "an empty map is equivalent to a nil map", evidence: ev},
		{name: "link targets are not bridged",
			extracted: "[permitted by the rules](/doc/go1compat) and so on",
			evidence:  "permitted by the rules and so on"},
		{name: "empty evidence", extracted: ev, evidence: ""},
		{name: "evidence of nothing but markup", extracted: "- * - ` #", evidence: " - ** ` "},
		{name: "empty text", extracted: "", evidence: ev},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			start, end, ok := Locate(tt.extracted, tt.evidence)
			if ok != (tt.want != "") {
				t.Fatalf("Locate(%q, %q) ok = %v, want %v", tt.extracted, tt.evidence, ok, tt.want != "")
			}
			if !ok {
				return
			}
			got := string([]rune(tt.extracted)[start:end])
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("located text (-want +got):\n%s", diff)
			}
			if start != tt.wantStart {
				t.Errorf("start = %d, want %d", start, tt.wantStart)
			}
		})
	}
}

func TestFoldedCount(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text, needle string
		want         int
	}{
		{"abc abc ABC", "abc", 3},
		{"aaaa", "aa", 3}, // overlapping
		{"a-b a b", "ab", 2},
		{"abc", "", 0},
		{"", "abc", 0},
		{"ééé", "éé", 2},
	}
	for _, tt := range tests {
		if got := fold(tt.text).count(fold(tt.needle)); got != tt.want {
			t.Errorf("count(%q, %q) = %d, want %d", tt.text, tt.needle, got, tt.want)
		}
	}
}

func TestTargets(t *testing.T) {
	t.Parallel()
	texts := map[string]string{
		"go_spec.html": "# Spec\n\nStrings are *immutable*: once created, it is impossible to change them.\n\nA send on a closed channel panics.",
		"go_mem.html":  "A send on a channel is synchronized before the receive.",
	}
	qs := []Question{
		{ID: "q1", Doc: "go_spec.html", Evidence: "Strings are immutable: once created"},
		{ID: "q2", Doc: "go_spec.html", Evidence: "A send on a closed channel panics.",
			Also: []Alternative{{Doc: "go_mem.html", Evidence: "is synchronized before the receive"}}},
		{ID: "q3", Doc: "go_spec.html", Evidence: "not in the text at all"},
		{ID: "q4", Doc: "asm.html", Evidence: "no text extracted for this document"},
	}
	got, err := Targets(qs, texts)
	want := [][]Span{
		// "# Spec\n\n" is 8 runes; the two '*' make the match 37 runes long.
		{{Doc: "go_spec.html", Start: 8, End: 45}},
		// 8 + 71 runes of the first paragraph + "\n\n"; "A send on a channel " is 20 runes.
		{{Doc: "go_spec.html", Start: 81, End: 115}, {Doc: "go_mem.html", Start: 20, End: 54}},
		nil,
		nil,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("spans (-want +got):\n%s", diff)
	}
	if !errors.Is(err, ErrEvidenceNotFound) {
		t.Fatalf("err = %v, want ErrEvidenceNotFound", err)
	}
	for _, id := range []string{"q3", "q4"} {
		if !strings.Contains(err.Error(), "question "+id+":") {
			t.Errorf("error does not name %s: %v", id, err)
		}
	}
	for _, id := range []string{"q1", "q2"} {
		if strings.Contains(err.Error(), "question "+id+":") {
			t.Errorf("error names %s, which was found: %v", id, err)
		}
	}
	// The spans really are the evidence.
	for i, spans := range got[:2] {
		for _, s := range spans {
			runes := []rune(texts[s.Doc])
			if _, _, ok := Locate(string(runes[s.Start:s.End]), qs[i].Evidence); !ok && s.Doc == qs[i].Doc {
				t.Errorf("span %v of %s is %q, not its evidence", s, qs[i].ID, string(runes[s.Start:s.End]))
			}
		}
	}

	if _, err := Targets(qs[:2], texts); err != nil {
		t.Errorf("all found: err = %v, want nil", err)
	}
}

// FuzzLocate checks Locate's contract on arbitrary input: no panic, offsets
// inside the text, and the located runes fold to the same text as the
// evidence.
func FuzzLocate(f *testing.F) {
	f.Add("A nil map is equivalent to an empty map", "nil MAP")
	f.Add("- item one\n- item two\n```\ncode\n```", "item one item two code")
	f.Add("白鵬翔 “quoted” — text", `"quoted" text`)
	f.Add("\xff\xfe\xfdabc", "\xfeabc")
	f.Add("", "")
	f.Add("ǅǆǄ İı KK", "ǆǆ i̇ k")
	f.Fuzz(func(t *testing.T, extracted, evidence string) {
		start, end, ok := Locate(extracted, evidence)
		if !ok {
			if start != 0 || end != 0 {
				t.Fatalf("not found but offsets %d, %d", start, end)
			}
			if fold(extracted).count(fold(evidence)) != 0 {
				t.Fatalf("not found, but count finds %q in %q", evidence, extracted)
			}
			return
		}
		n := utf8.RuneCountInString(extracted)
		if start < 0 || start >= end || end > n {
			t.Fatalf("offsets [%d, %d) outside the %d runes of the text", start, end, n)
		}
		got := string([]rune(extracted)[start:end])
		if fold(got).text != fold(evidence).text {
			t.Fatalf("located %q, which folds to %q; evidence folds to %q", got, fold(got).text, fold(evidence).text)
		}
	})
}
