package sentence

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenFiles lists the model replies in testdata/, each with a .golden
// file beside it holding its sentences, one per line.
func goldenFiles(t *testing.T) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "*.md"))
	if err != nil {
		t.Fatalf("list testdata: %v", err)
	}
	if len(paths) == 0 {
		t.Fatal("no testdata/*.md inputs")
	}
	return paths
}

func goldenInputs(t *testing.T) []string {
	t.Helper()
	var inputs []string
	for _, p := range goldenFiles(t) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("read input: %v", err)
		}
		inputs = append(inputs, string(b))
	}
	return inputs
}

func TestGolden(t *testing.T) {
	t.Parallel()
	for _, p := range goldenFiles(t) {
		t.Run(filepath.Base(p), func(t *testing.T) {
			t.Parallel()
			in, err := os.ReadFile(p)
			if err != nil {
				t.Fatalf("read input: %v", err)
			}
			got := strings.Join(Split(string(in)), "\n") + "\n"
			golden := strings.TrimSuffix(p, ".md") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatalf("write golden: %v", err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("read golden (run with -update to create it): %v", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("%s (-golden +got):\n%s", golden, diff)
			}
		})
	}
}
