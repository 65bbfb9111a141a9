package retrieval

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"
)

// Names returns the file names of the corpus documents, as they appear
// under $(go env GOROOT)/doc. doc/README.md (notes for Go contributors on
// writing release notes) is left out on purpose: it is not documentation of
// Go and no question is about it.
func Names() []string {
	return []string{"go_spec.html", "go_mem.html", "asm.html", "godebug.md"}
}

// Document is one corpus file.
type Document struct {
	Name  string // file name, e.g. "go_spec.html"; what Question.Doc and Hit.Doc refer to
	Path  string // where it was read from: goroot/doc/Name
	Bytes []byte // the file's contents, unchanged
}

// Documents reads the corpus files from goroot/doc, in the order of Names.
// When any is missing the error wraps ErrMissingDocument and names every
// missing file.
func Documents(goroot string) ([]Document, error) {
	if goroot == "" {
		return nil, fmt.Errorf("retrieval: no Go root given (use the output of `go env GOROOT`): %w", ErrMissingDocument)
	}
	dir := filepath.Join(goroot, "doc")
	var docs []Document
	var missing []string
	for _, name := range Names() {
		path := filepath.Join(dir, name)
		data, err := os.ReadFile(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			missing = append(missing, name)
			continue
		case err != nil:
			return nil, fmt.Errorf("retrieval: read corpus document %s: %w", path, err)
		}
		docs = append(docs, Document{Name: name, Path: path, Bytes: data})
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("retrieval: %s not found in %s (is %s the Go root? see `go env GOROOT`): %w",
			strings.Join(missing, ", "), dir, goroot, ErrMissingDocument)
	}
	return docs, nil
}

// Kinds of question, by how close their wording is to the document's.
const (
	// KindLexical is a keyword question: it uses the document's own terms.
	KindLexical = "lexical"
	// KindParaphrase asks in a user's words, with few or none of the
	// document's terms, so only a search that matches meaning finds it.
	KindParaphrase = "paraphrase"
	// KindMixed shares some terms with the document and paraphrases the rest.
	KindMixed = "mixed"
)

// Evidence length bounds, in runes.
const (
	MinEvidence = 40
	MaxEvidence = 200
)

// Question is one labelled question of the evaluation set.
type Question struct {
	ID       string `json:"id"`       // unique, e.g. "q001"
	Doc      string `json:"doc"`      // the corpus document that answers it (one of Names)
	Kind     string `json:"kind"`     // KindLexical, KindParaphrase or KindMixed
	Question string `json:"question"` // as a user would ask it
	// Evidence is an exact quote of Doc's visible text (entities decoded,
	// whitespace collapsed to single spaces), MinEvidence to MaxEvidence
	// runes, that answers the question; it occurs once in Doc.
	Evidence string `json:"evidence"`
	// Also lists other places that answer the question just as well (the
	// specification states some rules twice, and the memory model repeats
	// some of the specification); a passage holding any of them counts.
	// Usually empty.
	Also []Alternative `json:"also,omitempty"`
}

// Alternative is another quote that answers a question, possibly in another
// document; the same rules as for Question.Evidence apply.
type Alternative struct {
	Doc      string `json:"doc"`
	Evidence string `json:"evidence"`
}

// Load reads and validates a question set (questions.json) from path.
func Load(path string) ([]Question, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("retrieval: read question set: %w", err)
	}
	qs, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return qs, nil
}

// Parse decodes and validates a question set: a JSON array of Question
// objects with no unknown fields. Every problem found is reported (joined);
// each wraps ErrInvalidQuestion. Parse does not open the documents: whether
// the evidence really occurs in them is checked by this package's tests.
func Parse(data []byte) ([]Question, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var qs []Question
	if err := dec.Decode(&qs); err != nil {
		return nil, fmt.Errorf("retrieval: decode question set: %w: %w", err, ErrInvalidQuestion)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("retrieval: decode question set: data after the JSON array: %w", ErrInvalidQuestion)
	}
	if len(qs) == 0 {
		return nil, fmt.Errorf("retrieval: question set is empty: %w", ErrInvalidQuestion)
	}
	var errs []error
	seen := make(map[string]int, len(qs))
	for i, q := range qs {
		name := q.ID
		if name == "" {
			name = fmt.Sprintf("#%d", i+1)
		}
		if first, dup := seen[q.ID]; dup && q.ID != "" {
			errs = append(errs, fmt.Errorf("retrieval: question %s (#%d): id already used by #%d: %w", name, i+1, first, ErrInvalidQuestion))
		} else {
			seen[q.ID] = i + 1
		}
		for _, problem := range q.problems() {
			errs = append(errs, fmt.Errorf("retrieval: question %s: %s: %w", name, problem, ErrInvalidQuestion))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return qs, nil
}

// problems lists what is wrong with q on its own (not its id's uniqueness).
func (q Question) problems() []string {
	var out []string
	if q.ID == "" {
		out = append(out, "id is empty")
	}
	if strings.TrimSpace(q.Question) == "" {
		out = append(out, "question is empty")
	}
	switch q.Kind {
	case KindLexical, KindParaphrase, KindMixed:
	default:
		out = append(out, fmt.Sprintf("kind %q is not %s, %s or %s", q.Kind, KindLexical, KindParaphrase, KindMixed))
	}
	out = append(out, evidenceProblems("", q.Doc, q.Evidence)...)
	for i, a := range q.Also {
		out = append(out, evidenceProblems(fmt.Sprintf("also[%d]: ", i), a.Doc, a.Evidence)...)
	}
	return out
}

// evidenceProblems checks one document reference and quote.
func evidenceProblems(prefix, doc, evidence string) []string {
	var out []string
	if !slices.Contains(Names(), doc) {
		out = append(out, fmt.Sprintf("%sdoc %q is not a corpus document (%s)", prefix, doc, strings.Join(Names(), ", ")))
	}
	if !utf8.ValidString(evidence) {
		return append(out, prefix+"evidence is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(evidence); n < MinEvidence || n > MaxEvidence {
		out = append(out, fmt.Sprintf("%sevidence is %d runes, want %d to %d", prefix, n, MinEvidence, MaxEvidence))
	}
	if evidence != collapseSpace(evidence) {
		out = append(out, prefix+"evidence has leading, trailing or repeated whitespace (collapse it to single spaces)")
	}
	return out
}

// collapseSpace trims s and replaces every run of whitespace with one space.
func collapseSpace(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
