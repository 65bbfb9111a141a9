package chat

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/timbre-ai/timbre/agents"
	"github.com/timbre-ai/timbre/agents/prompt"
	"github.com/timbre-ai/timbre/knowledge"
)

// Offline replies quote at most this many passages, each cut to about
// excerptRunes characters at a sentence end.
const (
	offlinePassages = 3
	excerptRunes    = 420
)

// offlineReply is what an agent says when no language model answers: its
// best passages, quoted and cited, or else what its card says about it. It
// says plainly that it is quoting, so it is never taken for model output.
// It returns the text and how many passages it cites.
func offlineReply(card agents.Card, user string, found []knowledge.Result, hadKnowledge bool) (string, int) {
	name := prompt.CharName(card)
	if name == "" {
		name = "This agent"
	}
	var b strings.Builder
	n := min(len(found), offlinePassages)
	if n > 0 {
		fmt.Fprintf(&b, "%s here. I can't compose an answer right now, so here is what my notes say about that:", name)
		for i := range n {
			title := found[i].Citation.Title
			if title != "" {
				title = " (" + title + ")"
			}
			fmt.Fprintf(&b, "\n\n> %s [%d]%s", strings.ReplaceAll(excerpt(found[i].Text, excerptRunes), "\n", "\n> "), i+1, title)
		}
		return b.String(), n
	}
	if hadKnowledge {
		fmt.Fprintf(&b, "%s here. I looked through my notes and found nothing about that.", name)
	} else {
		fmt.Fprintf(&b, "%s here. I can't hold a real conversation right now.", name)
	}
	about := prompt.Expand(card.Description, name, user)
	if strings.TrimSpace(about) == "" {
		about = prompt.Expand(card.Personality, name, user)
	}
	if about = excerpt(about, excerptRunes); about != "" {
		b.WriteString(" What I can tell you is who I am: ")
		b.WriteString(about)
	}
	return b.String(), 0
}

// excerpt cuts text to about n characters, at the last sentence end before
// the cut when there is one, else at a word, marking the cut with "…".
func excerpt(text string, n int) string {
	text = strings.TrimSpace(text)
	if utf8.RuneCountInString(text) <= n {
		return text
	}
	cut := truncateRunes(text, n)
	if i := strings.LastIndexAny(cut, ".!?"); i > len(cut)/2 {
		return cut[:i+1]
	}
	if i := strings.LastIndexFunc(cut, unicode.IsSpace); i > 0 {
		cut = cut[:i]
	}
	return strings.TrimRightFunc(cut, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) }) + "…"
}

// pieces splits text into words with their following space, the way a
// model streams tokens, so offline replies stream like any other.
func pieces(text string) []string {
	var out []string
	start := 0
	inSpace := false
	for i, r := range text {
		space := unicode.IsSpace(r)
		if inSpace && !space {
			out = append(out, text[start:i])
			start = i
		}
		inSpace = space
	}
	if start < len(text) {
		out = append(out, text[start:])
	}
	return out
}
