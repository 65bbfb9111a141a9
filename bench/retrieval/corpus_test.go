package retrieval

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDocuments(t *testing.T) {
	t.Parallel()
	// A fake Go root with every corpus file, each holding its own name.
	fake := t.TempDir()
	if err := os.Mkdir(filepath.Join(fake, "doc"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range Names() {
		if err := os.WriteFile(filepath.Join(fake, "doc", name), []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	docs, err := Documents(fake)
	if err != nil {
		t.Fatal(err)
	}
	var want []Document
	for _, name := range Names() {
		want = append(want, Document{Name: name, Path: filepath.Join(fake, "doc", name), Bytes: []byte(name)})
	}
	if diff := cmp.Diff(want, docs); diff != "" {
		t.Errorf("Documents (-want +got):\n%s", diff)
	}

	t.Run("missing files are all named", func(t *testing.T) {
		t.Parallel()
		partial := t.TempDir()
		if err := os.MkdirAll(filepath.Join(partial, "doc"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(partial, "doc", "go_spec.html"), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Documents(partial)
		if !errors.Is(err, ErrMissingDocument) {
			t.Fatalf("err = %v, want ErrMissingDocument", err)
		}
		for _, name := range []string{"go_mem.html", "asm.html", "godebug.md"} {
			if !strings.Contains(err.Error(), name) {
				t.Errorf("error does not name %s: %v", name, err)
			}
		}
		if strings.Contains(err.Error(), "go_spec.html") {
			t.Errorf("error names go_spec.html, which is there: %v", err)
		}
	})
	t.Run("no Go root", func(t *testing.T) {
		t.Parallel()
		if _, err := Documents(""); !errors.Is(err, ErrMissingDocument) {
			t.Errorf("err = %v, want ErrMissingDocument", err)
		}
	})
	t.Run("not a Go root", func(t *testing.T) {
		t.Parallel()
		if _, err := Documents(t.TempDir()); !errors.Is(err, ErrMissingDocument) {
			t.Errorf("err = %v, want ErrMissingDocument", err)
		}
	})
	t.Run("a corpus file that cannot be read", func(t *testing.T) {
		t.Parallel()
		broken := t.TempDir()
		// A directory where a file should be: reading fails, but not
		// with "does not exist".
		for _, name := range Names() {
			if err := os.MkdirAll(filepath.Join(broken, "doc", name), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		_, err := Documents(broken)
		if err == nil || errors.Is(err, ErrMissingDocument) {
			t.Errorf("err = %v, want a read error", err)
		}
	})
	t.Run("the real Go root", func(t *testing.T) {
		t.Parallel()
		docs, err := Documents(goroot(t))
		if err != nil {
			t.Fatal(err)
		}
		if len(docs) != len(Names()) {
			t.Fatalf("%d documents, want %d", len(docs), len(Names()))
		}
		for _, d := range docs {
			if len(d.Bytes) < 10000 {
				t.Errorf("%s is %d bytes; the corpus documents are all larger", d.Name, len(d.Bytes))
			}
		}
	})
}

func TestParse(t *testing.T) {
	t.Parallel()
	const ev = "A nil map is equivalent to an empty map except that no elements may be added."
	q := func(id, doc, kind, question, evidence string) string {
		return `{"id":"` + id + `","doc":"` + doc + `","kind":"` + kind + `","question":"` + question + `","evidence":"` + evidence + `"}`
	}
	good := q("q1", "go_spec.html", "paraphrase", "Why can't I add to a nil map?", ev)
	tests := []struct {
		name    string
		data    string
		wantErr []string // substrings of the error; nil for success
	}{
		{name: "valid", data: "[" + good + "]"},
		{name: "valid with alternatives",
			data: `[{"id":"q1","doc":"go_spec.html","kind":"mixed","question":"?","evidence":"` + ev + `",` +
				`"also":[{"doc":"go_mem.html","evidence":"` + ev + `"}]}]`},
		{name: "not JSON", data: "questions", wantErr: []string{"decode"}},
		{name: "not an array", data: good, wantErr: []string{"decode"}},
		{name: "trailing data", data: "[" + good + "] []", wantErr: []string{"after the JSON array"}},
		{name: "empty", data: "[]", wantErr: []string{"empty"}},
		{name: "unknown field", data: `[{"id":"q1","answer":"x"}]`, wantErr: []string{"answer"}},
		{name: "duplicate id", data: "[" + good + "," + good + "]", wantErr: []string{"q1 (#2): id already used by #1"}},
		{name: "missing id", data: "[" + q("", "go_spec.html", "lexical", "Why?", ev) + "]", wantErr: []string{"#1: id is empty"}},
		{name: "missing question", data: "[" + q("q1", "go_spec.html", "lexical", " ", ev) + "]", wantErr: []string{"question is empty"}},
		{name: "unknown kind", data: "[" + q("q1", "go_spec.html", "semantic", "Why?", ev) + "]", wantErr: []string{`kind "semantic"`}},
		{name: "unknown document", data: "[" + q("q1", "effective_go.html", "lexical", "Why?", ev) + "]",
			wantErr: []string{`doc "effective_go.html" is not a corpus document`}},
		{name: "evidence too short", data: "[" + q("q1", "go_spec.html", "lexical", "Why?", "A nil map") + "]",
			wantErr: []string{"evidence is 9 runes, want 40 to 200"}},
		{name: "evidence too long", data: "[" + q("q1", "go_spec.html", "lexical", "Why?", strings.Repeat("é", 201)) + "]",
			wantErr: []string{"evidence is 201 runes"}},
		{name: "evidence not collapsed", data: "[" + q("q1", "go_spec.html", "lexical", "Why?", ev+`\n`) + "]",
			wantErr: []string{"whitespace"}},
		{name: "bad alternative",
			data: `[{"id":"q1","doc":"go_spec.html","kind":"mixed","question":"?","evidence":"` + ev + `",` +
				`"also":[{"doc":"nowhere.md","evidence":"short"}]}]`,
			wantErr: []string{`also[0]: doc "nowhere.md"`, "also[0]: evidence is 5 runes"}},
		{name: "every problem is reported",
			data:    "[" + q("q1", "x.html", "lexical", "Why?", ev) + "," + q("q2", "go_spec.html", "x", "Why?", ev) + "]",
			wantErr: []string{"question q1: doc", "question q2: kind"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			qs, err := Parse([]byte(tt.data))
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if len(qs) != 1 || qs[0].ID != "q1" || qs[0].Evidence != ev {
					t.Errorf("Parse = %+v", qs)
				}
				return
			}
			if !errors.Is(err, ErrInvalidQuestion) {
				t.Fatalf("err = %v, want ErrInvalidQuestion", err)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestLoad(t *testing.T) {
	t.Parallel()
	if _, err := Load(filepath.Join(t.TempDir(), "none.json")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v, want one wrapping os.ErrNotExist", err)
	}
	path := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(path, []byte("[]"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); !errors.Is(err, ErrInvalidQuestion) || !strings.Contains(err.Error(), path) {
		t.Errorf("invalid file: err = %v, want ErrInvalidQuestion naming the file", err)
	}
}
