package retrieval

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// goroot returns the Go root whose doc/ holds the corpus: the one of the go
// command running the tests.
func goroot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v (the corpus is read from the Go root's doc/ directory)", err)
	}
	root := strings.TrimSpace(string(out))
	if root == "" {
		t.Fatal("go env GOROOT printed nothing")
	}
	return root
}

// goVersion returns the first line of goroot/VERSION, for failure messages.
func goVersion(root string) string {
	data, err := os.ReadFile(filepath.Join(root, "VERSION"))
	if err != nil {
		return "unknown version"
	}
	first, _, _ := strings.Cut(string(data), "\n")
	return first
}

// corpusText renders every corpus document with visibleText, folded once
// for searching.
func corpusText(t *testing.T) map[string]folded {
	t.Helper()
	docs, err := Documents(goroot(t))
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]folded, len(docs))
	for _, d := range docs {
		text, err := visibleText(d.Name, d.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		out[d.Name] = fold(text)
	}
	return out
}

// TestQuestionSet checks every question of questions.json: the fields and
// their bounds, and that the evidence (and every alternative) occurs exactly
// once in the visible text of its document.
func TestQuestionSet(t *testing.T) {
	t.Parallel()
	qs, err := Load("questions.json")
	if err != nil {
		t.Fatal(err)
	}
	root := goroot(t)
	texts := corpusText(t)
	ids := make(map[string]bool, len(qs))
	for _, q := range qs {
		t.Run(q.ID, func(t *testing.T) {
			if q.ID == "" || ids[q.ID] {
				t.Errorf("id %q is empty or used twice", q.ID)
			}
			ids[q.ID] = true
			if strings.TrimSpace(q.Question) == "" {
				t.Error("question is empty")
			}
			if !strings.HasSuffix(q.Question, "?") && !strings.HasSuffix(q.Question, ".") {
				t.Errorf("question %q does not end like a question", q.Question)
			}
			switch q.Kind {
			case KindLexical, KindParaphrase, KindMixed:
			default:
				t.Errorf("kind %q is unknown", q.Kind)
			}
			// A question copied out of its evidence tests nothing.
			if strings.Contains(fold(q.Evidence).text, fold(strings.TrimRight(q.Question, "?.")).text) {
				t.Errorf("question %q is contained in its evidence", q.Question)
			}
			quotes := append([]Alternative{{Doc: q.Doc, Evidence: q.Evidence}}, q.Also...)
			for _, ev := range quotes {
				if n := utf8.RuneCountInString(ev.Evidence); n < MinEvidence || n > MaxEvidence {
					t.Errorf("evidence %q is %d runes, want %d to %d", ev.Evidence, n, MinEvidence, MaxEvidence)
				}
				if ev.Evidence != collapseSpace(ev.Evidence) {
					t.Errorf("evidence %q is not whitespace-collapsed", ev.Evidence)
				}
				text, ok := texts[ev.Doc]
				if !ok {
					t.Errorf("doc %q is not a corpus document", ev.Doc)
					continue
				}
				switch n := text.count(fold(ev.Evidence)); n {
				case 1:
				case 0:
					t.Errorf("evidence %q not found in %s of %s (%s): the document changed or the quote is wrong",
						ev.Evidence, ev.Doc, root, goVersion(root))
				default:
					t.Errorf("evidence %q occurs %d times in %s: quote more so it is unique", ev.Evidence, n, ev.Doc)
				}
			}
		})
	}
}

// TestQuestionSetShape checks the set as a whole: its size, its spread over
// the documents and kinds, and that the kind labels mean something.
func TestQuestionSetShape(t *testing.T) {
	t.Parallel()
	qs, err := Load("questions.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) < 60 {
		t.Errorf("%d questions, want at least 60", len(qs))
	}
	perDoc := map[string]int{}
	perKind := map[string]int{}
	for _, q := range qs {
		perDoc[q.Doc]++
		perKind[q.Kind]++
	}
	t.Logf("questions: %d; per document: %v; per kind: %v", len(qs), perDoc, perKind)
	for _, name := range Names() {
		if name != "go_spec.html" && perDoc[name] < 8 {
			t.Errorf("%s has %d questions, want at least 8", name, perDoc[name])
		}
		if perDoc[name] > perDoc["go_spec.html"] {
			t.Errorf("%s has more questions (%d) than go_spec.html (%d)", name, perDoc[name], perDoc["go_spec.html"])
		}
	}
	// Roughly a third each.
	for _, kind := range []string{KindLexical, KindParaphrase, KindMixed} {
		if share := float64(perKind[kind]) / float64(len(qs)); share < 0.25 || share > 0.42 {
			t.Errorf("%s questions are %.0f%% of the set, want about a third", kind, 100*share)
		}
	}

	// The labels are judgement calls, but on average a lexical question must
	// share more of its words with its evidence than a mixed one, and a
	// mixed one more than a paraphrase.
	mean := map[string]float64{}
	for _, q := range qs {
		mean[q.Kind] += wordOverlap(q.Question, q.Evidence) / float64(perKind[q.Kind])
	}
	t.Logf("mean share of question words found in the evidence: %v", mean)
	if !(mean[KindLexical] > mean[KindMixed] && mean[KindMixed] > mean[KindParaphrase]) {
		t.Errorf("word overlap by kind is not lexical > mixed > paraphrase: %v", mean)
	}
}

// wordOverlap returns the share of the question's content words (by their
// first five letters, a crude stem) that occur in the evidence.
func wordOverlap(question, evidence string) float64 {
	// Stop words say nothing about vocabulary.
	stop := strings.Fields(`a an the of to in on and or is are be do does did i my me you your it its
		what when why how which can for with from that this there as at by not no into if than then get give use used will`)
	words := regexp.MustCompile(`[\pL\pN]+`)
	stems := func(s string) map[string]bool {
		out := map[string]bool{}
		for _, w := range words.FindAllString(strings.ToLower(s), -1) {
			if len(w) < 2 || slices.Contains(stop, w) {
				continue
			}
			if r := []rune(w); len(r) > 5 {
				w = string(r[:5])
			}
			out[w] = true
		}
		return out
	}
	q, e := stems(question), stems(evidence)
	if len(q) == 0 {
		return 0
	}
	shared := 0
	for w := range q {
		if e[w] {
			shared++
		}
	}
	return float64(shared) / float64(len(q))
}
