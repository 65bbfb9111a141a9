package retrieval

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/timbre-ai/timbre/bus/bustest"
	"github.com/timbre-ai/timbre/db/dbtest"
	"github.com/timbre-ai/timbre/knowledge"
	"github.com/timbre-ai/timbre/knowledge/embed"
)

// TestEvaluateDefaultEmbedder runs the whole evaluation with the default
// local embedder through the real service and holds the search quality to
// a floor below what it measures (see bench/README.md), so a regression in
// extraction, chunking, embedding or fusion fails here.
func TestEvaluateDefaultEmbedder(t *testing.T) {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	docs, err := Documents(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatal(err)
	}
	qs, err := Load("questions.json")
	if err != nil {
		t.Fatal(err)
	}
	ev, err := Evaluate(context.Background(), dbtest.New(t), bustest.New(t), []knowledge.Embedder{embed.NewNgram()}, docs, qs)
	if err != nil {
		t.Fatal(err)
	}
	floor := map[string]float64{knowledge.ModeVector: 0.60, knowledge.ModeText: 0.58, knowledge.ModeHybrid: 0.68}
	if len(ev.Rows) != 3 {
		t.Fatalf("%d rows, want 3", len(ev.Rows))
	}
	for _, r := range ev.Rows {
		t.Logf("%s %s: recall@5 %.3f recall@10 %.3f MRR@10 %.3f", r.Embedder, r.Mode, r.Scores.RecallAt5, r.Scores.RecallAt10, r.Scores.MRRAt10)
		if r.Scores.Questions != len(qs) {
			t.Errorf("%s: scored %d questions, want %d", r.Mode, r.Scores.Questions, len(qs))
		}
		if r.Scores.RecallAt10 < floor[r.Mode] {
			t.Errorf("%s recall@10 = %.3f, below the floor %.2f", r.Mode, r.Scores.RecallAt10, floor[r.Mode])
		}
	}
}
