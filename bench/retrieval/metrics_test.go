package retrieval

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestRelevant(t *testing.T) {
	t.Parallel()
	span := Span{Doc: "d", Start: 100, End: 140} // 40 runes: half is 20
	odd := Span{Doc: "d", Start: 100, End: 141}  // 41 runes: half rounds up to 21
	tests := []struct {
		name string
		hit  Hit
		span Span
		want bool
	}{
		{"contains the span", Hit{"d", 0, 500}, span, true},
		{"equals the span", Hit{"d", 100, 140}, span, true},
		{"other document", Hit{"e", 0, 500}, span, false},
		{"before, touching", Hit{"d", 0, 100}, span, false},
		{"after, touching", Hit{"d", 140, 300}, span, false},
		{"first half exactly", Hit{"d", 0, 120}, span, true},
		{"one rune short of half", Hit{"d", 0, 119}, span, false},
		{"last half exactly", Hit{"d", 120, 400}, span, true},
		{"inside, half", Hit{"d", 110, 130}, span, true},
		{"inside, less than half", Hit{"d", 110, 129}, span, false},
		{"odd length: 20 of 41", Hit{"d", 0, 120}, odd, false},
		{"odd length: 21 of 41", Hit{"d", 0, 121}, odd, true},
		{"empty hit", Hit{"d", 120, 120}, span, false},
		{"inverted hit", Hit{"d", 140, 100}, span, false},
		{"empty span (evidence not located)", Hit{"d", 0, 500}, Span{"d", 0, 0}, false},
		{"one-rune span", Hit{"d", 5, 6}, Span{"d", 5, 6}, true},
		{"negative hit start", Hit{"d", -10, 500}, span, false},
		{"negative span start", Hit{"d", 0, 500}, Span{"d", -1, 40}, false},
		{"huge offsets do not overflow", Hit{"d", 0, math.MaxInt}, Span{"d", 0, math.MaxInt}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Relevant(tt.hit, tt.span); got != tt.want {
				t.Errorf("Relevant(%+v, %+v) = %v, want %v", tt.hit, tt.span, got, tt.want)
			}
		})
	}
}

func TestScore(t *testing.T) {
	t.Parallel()
	// Evidence spans of four questions, and hits that are (r) or are not
	// (x) relevant to each.
	spans := []Span{{"a", 100, 150}, {"a", 500, 540}, {"b", 0, 60}, {"c", 10, 90}}
	r := func(i int) Hit { s := spans[i]; return Hit{s.Doc, max(0, s.Start-10), s.End + 10} }
	x := Hit{"z", 0, 1000}
	at := func(rank int, hit Hit) []Hit { // rank-1 misses, then hit
		hits := make([]Hit, rank)
		for i := range hits {
			hits[i] = x
		}
		hits[rank-1] = hit
		return hits
	}
	tests := []struct {
		name    string
		spans   []Span
		results [][]Hit
		want    Scores
	}{
		{
			name:    "no questions",
			spans:   nil,
			results: [][]Hit{{x}},
			want:    Scores{},
		},
		{
			name:    "all first",
			spans:   spans,
			results: [][]Hit{{r(0)}, {r(1)}, {r(2)}, {r(3)}},
			want:    Scores{Questions: 4, RecallAt5: 1, RecallAt10: 1, MRRAt10: 1},
		},
		{
			name:    "nothing found",
			spans:   spans,
			results: [][]Hit{{x}, {x, x}, nil, {}},
			want:    Scores{Questions: 4},
		},
		{
			// ranks 1, 2, 5, 6: recall@5 = 3/4, recall@10 = 4/4,
			// MRR = (1 + 1/2 + 1/5 + 1/6) / 4 = (30+15+6+5)/30/4 = 56/120.
			name:    "ranks 1, 2, 5 and 6",
			spans:   spans,
			results: [][]Hit{at(1, r(0)), at(2, r(1)), at(5, r(2)), at(6, r(3))},
			want:    Scores{Questions: 4, RecallAt5: 0.75, RecallAt10: 1, MRRAt10: 56.0 / 120},
		},
		{
			// rank 10 counts, rank 11 does not: recall@10 = 1/2, MRR = 0.1/2.
			name:    "cut-off at 10",
			spans:   spans[:2],
			results: [][]Hit{at(10, r(0)), at(11, r(1))},
			want:    Scores{Questions: 2, RecallAt10: 0.5, MRRAt10: 0.05},
		},
		{
			// Only the first relevant hit counts; a hit for another
			// question's evidence is not relevant here.
			name:    "first relevant of several, hits for other questions",
			spans:   spans[:2],
			results: [][]Hit{{r(1), r(0), r(0)}, {r(0), x, r(1)}},
			want:    Scores{Questions: 2, RecallAt5: 1, RecallAt10: 1, MRRAt10: (0.5 + 1.0/3) / 2},
		},
		{
			// Missing results count as not found; extra ones are ignored.
			name:    "fewer results than questions",
			spans:   spans,
			results: [][]Hit{{r(0)}, {x, r(1)}},
			want:    Scores{Questions: 4, RecallAt5: 0.5, RecallAt10: 0.5, MRRAt10: 1.5 / 4},
		},
		{
			name:    "more results than questions",
			spans:   spans[:1],
			results: [][]Hit{{x, x, x, r(0)}, {r(1)}},
			want:    Scores{Questions: 1, RecallAt5: 1, RecallAt10: 1, MRRAt10: 0.25},
		},
		{
			name:    "an unlocated evidence span is never found",
			spans:   []Span{{"a", 0, 0}},
			results: [][]Hit{{{"a", 0, 1000}}},
			want:    Scores{Questions: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Score(tt.spans, tt.results)
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateApprox(0, 1e-12)); diff != "" {
				t.Errorf("Score (-want +got):\n%s", diff)
			}
		})
	}
}

func TestScoreTargets(t *testing.T) {
	t.Parallel()
	main := Span{"go_spec.html", 1000, 1100}
	alt := Span{"go_spec.html", 9000, 9060}
	other := Span{"go_mem.html", 200, 300}
	targets := [][]Span{{main, alt}, {main, other}, {main}, nil}
	results := [][]Hit{
		{{"go_spec.html", 0, 500}, {"go_spec.html", 8990, 9100}}, // the alternative at rank 2
		{{"go_mem.html", 250, 600}},                              // half of the other document's quote at rank 1
		{{"go_spec.html", 8990, 9100}},                           // an alternative of another question: not relevant
		{{"go_spec.html", 0, 100000}},                            // no spans: never found
	}
	want := Scores{Questions: 4, RecallAt5: 0.5, RecallAt10: 0.5, MRRAt10: (0.5 + 1) / 4}
	if diff := cmp.Diff(want, ScoreTargets(targets, results), cmpopts.EquateApprox(0, 1e-12)); diff != "" {
		t.Errorf("ScoreTargets (-want +got):\n%s", diff)
	}
}
