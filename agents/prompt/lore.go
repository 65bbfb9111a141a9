package prompt

import (
	"cmp"
	"slices"
	"strings"

	"github.com/timbre-ai/timbre/agents"
	"github.com/timbre-ai/timbre/tokens"
)

// Lorebook limits and defaults (see the package documentation).
const (
	// DefaultScanDepth is how many of the newest history turns are scanned
	// for lorebook keys when the book sets no scan_depth.
	DefaultScanDepth = 2
	// DefaultLoreBudgetPercent is the lorebook's token budget, as a share
	// of the prompt space (context window less the reply), when the book
	// sets no positive token_budget.
	DefaultLoreBudgetPercent = 25
	// MaxRecursionPasses bounds recursive scanning: after the scan of the
	// history, at most this many passes scan the content of the entries
	// activated by the pass before.
	MaxRecursionPasses = 5
)

// LoreHit is one lorebook entry that Build inserted in the prompt.
type LoreHit struct {
	// Index is the entry's index in the card's character_book.entries.
	Index int `json:"index"`
	// Name is the entry's name, or its comment when it has no name.
	Name string `json:"name"`
	// Position is agents.PositionBeforeChar or agents.PositionAfterChar.
	Position string `json:"position"`
	// Tokens is tokens.Count of the entry's content after macro expansion.
	Tokens int `json:"tokens"`
}

// loreEntry is an activated entry, ready to insert.
type loreEntry struct {
	index    int
	name     string
	content  string // macros expanded, trimmed
	position string
	tokens   int
	order    int // insertion_order
	constant bool
	priority int
	hasPrio  bool
}

// candidate is an enabled entry with content, during activation.
type candidate struct {
	loreEntry
	keys, secondary keySet
	selective       bool
	primary, second bool // a key, a secondary key matched so far
	active          bool
}

func (c *candidate) scan(s *segment, w *work) {
	if !c.primary {
		c.primary = c.keys.match(s, w)
	}
	if c.selective && !c.second {
		c.second = c.secondary.match(s, w)
	}
	c.active = c.primary && (!c.selective || c.second)
}

// activateLore returns the entries of book that the history activates, in
// insertion order (insertion_order ascending, then index). expand applies
// the card's macros to entry content and plain keys.
func activateLore(book *agents.CharacterBook, history []Turn, expand func(string) string) []loreEntry {
	if book == nil || len(book.Entries) == 0 {
		return nil
	}
	var cands []*candidate
	regexLeft := MaxRegexKeys
	for i, e := range book.Entries {
		if !e.Enabled {
			continue
		}
		content := strings.TrimSpace(expand(e.Content))
		if content == "" {
			continue
		}
		name := e.Name
		if strings.TrimSpace(name) == "" {
			name = e.Comment
		}
		position := agents.PositionBeforeChar
		if e.Position == agents.PositionAfterChar {
			position = agents.PositionAfterChar
		}
		caseSensitive := e.CaseSensitive != nil && *e.CaseSensitive
		c := &candidate{
			loreEntry: loreEntry{
				index:    i,
				name:     name,
				content:  content,
				position: position,
				order:    e.InsertionOrder,
				constant: e.Constant != nil && *e.Constant,
			},
			keys: compileKeys(e.Keys, e.UseRegex, caseSensitive, expand, &regexLeft),
		}
		if e.Priority != nil {
			c.priority, c.hasPrio = *e.Priority, true
		}
		if e.Selective != nil && *e.Selective {
			c.secondary = compileKeys(e.SecondaryKeys, e.UseRegex, caseSensitive, expand, &regexLeft)
			// A selective entry without usable secondary keys behaves
			// like a plain one, as the spec's "if true, require a key
			// from both" has nothing to require.
			c.selective = !c.secondary.empty()
		}
		c.active = c.constant
		cands = append(cands, c)
	}

	depth := DefaultScanDepth
	if book.ScanDepth != nil && *book.ScanDepth >= 0 {
		depth = *book.ScanDepth
	}
	depth = min(depth, len(history))
	var scan []string
	for _, t := range history[len(history)-depth:] {
		scan = append(scan, t.Content)
	}
	text := strings.Join(scan, "\n")
	if len(text) > MaxScanBytes {
		text = text[len(text)-MaxScanBytes:] // the newest words matter most
	}
	w := &work{left: maxScanWork}
	fresh := activatePass(cands, newSegment(text), depth > 0, w)

	if book.RecursiveScanning != nil && *book.RecursiveScanning {
		// Constant entries' content is scanned too: it is in the prompt
		// like any activated entry's.
		for _, c := range cands {
			if c.constant {
				fresh = append(fresh, c)
			}
		}
		budget := MaxScanBytes
		for pass := 0; pass < MaxRecursionPasses && len(fresh) > 0 && budget > 0; pass++ {
			var b strings.Builder
			for _, c := range fresh {
				text := c.content
				if len(text) > budget {
					text = text[:budget]
				}
				budget -= len(text)
				b.WriteString(text)
				b.WriteByte('\n')
			}
			fresh = activatePass(cands, newSegment(b.String()), true, w)
		}
	}

	var out []loreEntry
	for _, c := range cands {
		if c.active {
			c.tokens = tokens.Count(c.content)
			out = append(out, c.loreEntry)
		}
	}
	slices.SortStableFunc(out, func(a, b loreEntry) int {
		return cmp.Or(cmp.Compare(a.order, b.order), cmp.Compare(a.index, b.index))
	})
	return out
}

// activatePass scans s for the keys of every inactive candidate and
// returns those it activated.
func activatePass(cands []*candidate, s *segment, scan bool, w *work) []*candidate {
	if !scan {
		return nil
	}
	var fresh []*candidate
	for _, c := range cands {
		if c.active {
			continue
		}
		c.scan(s, w)
		if c.active {
			fresh = append(fresh, c)
		}
	}
	return fresh
}

// keepOrder returns the indexes of entries in the order the lore budget
// serves them: highest priority first (an entry without priority comes
// after every entry with one), constant entries before others of the same
// priority, then insertion order.
func keepOrder(entries []loreEntry) []int {
	idx := make([]int, len(entries))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(i, j int) int {
		a, b := entries[i], entries[j]
		if a.hasPrio != b.hasPrio {
			if a.hasPrio {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(b.priority, a.priority); c != 0 {
			return c
		}
		if a.constant != b.constant {
			if a.constant {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(a.order, b.order), cmp.Compare(a.index, b.index))
	})
	return idx
}
