package chat

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/timbre-ai/timbre/agents"
	"github.com/timbre-ai/timbre/knowledge"
)

func TestCiteScannerFindsMarkersAcrossDeltas(t *testing.T) {
	found := []knowledge.Result{{ChunkID: "c1", Text: "one"}, {ChunkID: "c2", Text: "two"}, {ChunkID: "c3", Text: "three"}}
	cases := []struct {
		name   string
		deltas []string
		limit  int
		want   []int
	}{
		{"whole markers", []string{"See [1] and [2]."}, 3, []int{1, 2}},
		{"split marker", []string{"See [", "2", "] then [1", "]"}, 3, []int{2, 1}},
		{"repeated marker once", []string{"[1] [1] [1]"}, 3, []int{1}},
		{"out of range", []string{"[0] [4] [12] [3]"}, 3, []int{3}},
		{"beyond the passages sent", []string{"[1] [2] [3]"}, 2, []int{1, 2}},
		{"not markers", []string{"[a] [1a] [] [[2]]"}, 3, []int{2}},
		{"long digit runs are not markers", []string{"[1234] [2"}, 3, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newCiteScanner(found)
			c.limit(tc.limit)
			text := ""
			var got []int
			for _, d := range tc.deltas {
				text += d
				for _, ct := range c.scan(text) {
					got = append(got, ct.Marker)
					if ct.ChunkID != found[ct.Marker-1].ChunkID {
						t.Fatalf("marker %d cites %s", ct.Marker, ct.ChunkID)
					}
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("markers (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOfflineReply(t *testing.T) {
	card := agents.Card{Name: "Ada", Nickname: "Countess", Description: "{{char}} computes for {{user}}. She likes engines."}
	long := strings.Repeat("Numbers are patient. ", 40)
	found := []knowledge.Result{
		{Text: "The engine weaves algebraic patterns.", Citation: knowledge.Citation{Title: "Notes"}},
		{Text: long},
		{Text: "third"}, {Text: "fourth"},
	}
	text, n := offlineReply(card, "Bo", found, true)
	if n != 3 {
		t.Fatalf("cites %d passages, want 3 (the cap)", n)
	}
	for _, want := range []string{"Countess here.", "> The engine weaves algebraic patterns. [1] (Notes)", "[2]", "[3]"} {
		if !strings.Contains(text, want) {
			t.Errorf("offline reply lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "fourth") || len(text) > 2000 {
		t.Errorf("offline reply quotes too much (%d bytes):\n%s", len(text), text)
	}

	text, n = offlineReply(card, "Bo", nil, true)
	if n != 0 || !strings.Contains(text, "found nothing about that") || !strings.Contains(text, "Countess computes for Bo.") {
		t.Errorf("no-match reply = %q", text)
	}
	text, _ = offlineReply(agents.Card{}, "Bo", nil, false)
	if !strings.HasPrefix(text, "This agent here.") {
		t.Errorf("nameless reply = %q", text)
	}
}

func TestExcerptTitleAndPieces(t *testing.T) {
	if got := excerpt("One. Two three four five six seven.", 20); got != "One. Two three four…" {
		t.Errorf("excerpt = %q", got)
	}
	if got := excerpt("The first sentence ends here. And then more words follow.", 40); got != "The first sentence ends here." {
		t.Errorf("excerpt = %q", got)
	}
	if got := excerpt("abcdefghij klmnopqrstuvwxyz", 15); got != "abcdefghij…" {
		t.Errorf("excerpt at a word = %q", got)
	}
	if got := title("  Hello there\nsecond line"); got != "Hello there" {
		t.Errorf("title = %q", got)
	}
	if got := title(strings.Repeat("word ", 30)); len([]rune(got)) > 61 || !strings.HasSuffix(got, "…") {
		t.Errorf("long title = %q", got)
	}
	in := "  Hello,  world!\nBye "
	if got := strings.Join(pieces(in), ""); got != in {
		t.Errorf("pieces lose text: %q", got)
	}
	if got := len(pieces("a b c")); got != 3 {
		t.Errorf("pieces(a b c) = %d", got)
	}
}
