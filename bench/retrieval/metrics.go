package retrieval

// Hit is one passage a search returned: rune offsets [Start, End) into the
// extracted text of Doc, the same text Targets located the evidence in.
type Hit struct {
	Doc        string
	Start, End int
}

// Span is where a question's evidence sits: rune offsets [Start, End) into
// the extracted text of Doc, as Locate returns them.
type Span struct {
	Doc        string
	Start, End int
}

// Relevant reports whether passage h answers the question whose evidence is
// at s: same document, and h covers at least half of s (rounded up).
//
// Half, rather than any overlap or the whole span: a passage holding a few
// words of the answer does not answer it, while a chunker may cut the answer
// at a passage boundary, in which case the passage with the larger part
// still counts (and with overlapping chunks, often both). A passage shorter
// than half the span never counts, which with evidence of at most 200 runes
// only matters for passages under 100 runes. Long passages are not
// penalised: a passage the size of a whole document is relevant to every
// question about it, so compare systems whose passages are of similar size.
// Empty, inverted or negative ranges never match.
func Relevant(h Hit, s Span) bool {
	if h.Doc != s.Doc || h.Start < 0 || h.Start >= h.End || s.Start < 0 || s.Start >= s.End {
		return false
	}
	overlap := min(h.End, s.End) - max(h.Start, s.Start)
	n := s.End - s.Start
	return overlap >= n/2+n%2
}

// Scores summarises a search run over a question set.
type Scores struct {
	Questions  int     // questions scored
	RecallAt5  float64 // fraction of questions with a relevant passage among the first 5
	RecallAt10 float64 // the same among the first 10
	MRRAt10    float64 // mean over questions of 1/rank of the first relevant passage in the first 10, 0 when none
}

// Score scores ranked results against one evidence span per question:
// results[i] are the passages returned for the question whose evidence is at
// spans[i], best first. See ScoreTargets.
func Score(spans []Span, results [][]Hit) Scores {
	targets := make([][]Span, len(spans))
	for i, s := range spans {
		targets[i] = []Span{s}
	}
	return ScoreTargets(targets, results)
}

// ScoreTargets scores ranked results against each question's spans (as
// Targets returns them): a passage is relevant when it is Relevant to any
// of them. Since every span of a question quotes the same answer, a
// question is found or not, and recall@k is the fraction of questions found
// in the first k passages.
//
// The questions are targets; results[i] belongs to targets[i]. A question
// with no results (results shorter than targets) or no spans counts as not
// found; results beyond len(targets) are ignored. Ranks count every passage
// as returned, duplicates included. With no questions every figure is 0.
// To score a subset (one kind of question, one document), pass the
// matching subsets of both slices.
func ScoreTargets(targets [][]Span, results [][]Hit) Scores {
	sc := Scores{Questions: len(targets)}
	if sc.Questions == 0 {
		return sc
	}
	var found5, found10 int
	var rr float64
	for i, spans := range targets {
		var hits []Hit
		if i < len(results) {
			hits = results[i]
		}
		rank := firstRelevant(hits, spans, 10)
		if rank == 0 {
			continue
		}
		if rank <= 5 {
			found5++
		}
		found10++
		rr += 1 / float64(rank)
	}
	n := float64(sc.Questions)
	sc.RecallAt5 = float64(found5) / n
	sc.RecallAt10 = float64(found10) / n
	sc.MRRAt10 = rr / n
	return sc
}

// firstRelevant returns the 1-based rank of the first of the first k hits
// relevant to any span, or 0.
func firstRelevant(hits []Hit, spans []Span, k int) int {
	for i, h := range hits[:min(k, len(hits))] {
		for _, s := range spans {
			if Relevant(h, s) {
				return i + 1
			}
		}
	}
	return 0
}
