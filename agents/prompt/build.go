package prompt

import (
	"fmt"
	"strings"

	"github.com/timbre-ai/timbre/agents"
	"github.com/timbre-ai/timbre/agents/llm"
	"github.com/timbre-ai/timbre/tokens"
)

// MessageOverhead is the tokens counted for each message on top of its
// content (role and separators in the chat template).
const MessageOverhead = 4

// DefaultSystemPrompt is the system prompt of a card that has none, and
// what {{original}} stands for in a card's system_prompt.
const DefaultSystemPrompt = "You are {{char}}. Write {{char}}'s next reply in this fictional chat with {{user}}. " +
	"Stay in character, and never write {{user}}'s words or actions."

// Turn is one message of the conversation.
type Turn struct {
	// Role is llm.User or llm.Assistant.
	Role    llm.Role `json:"role"`
	Content string   `json:"content"`
}

// Input is everything a prompt is built from.
type Input struct {
	Card agents.Card `json:"card"`
	// User is the user's name, which {{user}} stands for; DefaultUser when
	// empty.
	User string `json:"user,omitempty"`
	// History is the conversation, oldest first; the last turn is the new
	// user message, which is always sent.
	History []Turn `json:"history"`
	// Summary is the rolling summary (long-term memory) of the turns
	// before History.
	Summary string `json:"summary,omitempty"`
	// Passages are retrieved knowledge, best first.
	Passages []Passage `json:"passages,omitempty"`
	// ClientSystem are system messages from an API client. They are added
	// after the agent's own system prompt and card, never in its place.
	ClientSystem []string `json:"client_system,omitempty"`
	// ContextTokens is the model's context window.
	ContextTokens int `json:"context_tokens"`
	// ReplyTokens is the part of the window reserved for the reply.
	ReplyTokens int `json:"reply_tokens"`
}

// Output is a built prompt and what went into it.
type Output struct {
	// Messages is the prompt, in the order to send it.
	Messages []llm.Message
	// Lore lists the lorebook entries inserted, in the order they appear.
	Lore []LoreHit
	// LoreSkipped counts entries that were activated but left out by the
	// lorebook's token budget or the context window.
	LoreSkipped int
	// Dropped is how many of the oldest History turns did not fit; the
	// sent turns are always History[Dropped:].
	Dropped int
	// PassagesUsed is how many of Input.Passages (the best first) fit.
	PassagesUsed int
	// SummaryUsed reports whether Input.Summary was sent.
	SummaryUsed bool
	// ExamplesUsed reports whether any example dialogue was sent;
	// Examples counts the <START> blocks of mes_example that were.
	ExamplesUsed bool
	Examples     int
	// Tokens is the estimated prompt size: tokens.Count of every message's
	// content plus MessageOverhead per message.
	Tokens int
}

// Count returns the estimated size of msgs as Output.Tokens counts it.
func Count(msgs []llm.Message) int {
	n := 0
	for _, m := range msgs {
		n += tokens.Count(m.Content) + MessageOverhead
	}
	return n
}

// builder holds the prepared parts of a prompt.
type builder struct {
	history  []Turn
	avail    int
	system   string // the system prompt, expanded
	card     []string
	client   []string
	post     string
	lore     []loreEntry
	summary  string
	passages []Passage
	rendered []string // rendered passages, filled as selection reaches them
	examples []string
	heading  string
}

// plan says which optional parts a prompt includes.
type plan struct {
	lore     []bool // parallel to builder.lore
	passages int
	summary  bool
	dropped  int
	examples int
}

// Build assembles the prompt for the next reply of in.Card's character.
// The package documentation describes the layout and the budget. It
// returns ErrTooSmall when the parts that are always sent do not fit and
// ErrInvalidTurn for a history turn of another role than user or
// assistant.
func Build(in Input) (Output, error) {
	for i, t := range in.History {
		if t.Role != llm.User && t.Role != llm.Assistant {
			return Output{}, fmt.Errorf("prompt: history turn %d has role %q: %w", i, t.Role, ErrInvalidTurn)
		}
	}
	if in.ContextTokens <= 0 || in.ReplyTokens >= in.ContextTokens {
		return Output{}, fmt.Errorf("prompt: a context window of %d tokens leaves no room after a %d-token reply: %w",
			in.ContextTokens, in.ReplyTokens, ErrTooSmall)
	}
	b := newBuilder(in)
	p := plan{lore: make([]bool, len(b.lore)), dropped: max(len(b.history)-1, 0)}
	fixed := Count(b.render(p))
	if fixed > b.avail {
		return Output{}, fmt.Errorf("prompt: the system prompt and the newest message need %d tokens, %d are left after the reply: %w",
			fixed, b.avail, ErrTooSmall)
	}
	b.fill(&p, b.avail-fixed, loreBudget(in.Card.CharacterBook, b.avail))

	// The greedy fill works from per-part estimates; joining parts can
	// shift a token or two, so check the real count and shed the least
	// important parts until it fits. It ends: the fixed parts alone fit.
	msgs := b.render(p)
	total := Count(msgs)
	for total > b.avail && b.shrink(&p) {
		msgs = b.render(p)
		total = Count(msgs)
	}

	out := Output{
		Messages:     msgs,
		Dropped:      p.dropped,
		PassagesUsed: p.passages,
		SummaryUsed:  p.summary,
		ExamplesUsed: p.examples > 0,
		Examples:     p.examples,
		Tokens:       total,
	}
	for _, pos := range []string{agents.PositionBeforeChar, agents.PositionAfterChar} {
		for i, e := range b.lore {
			if p.lore[i] && e.position == pos {
				out.Lore = append(out.Lore, LoreHit{Index: e.index, Name: e.name, Position: e.position, Tokens: e.tokens})
			}
		}
	}
	out.LoreSkipped = len(b.lore) - len(out.Lore)
	return out, nil
}

// newBuilder expands the card and prepares every part of the prompt.
func newBuilder(in Input) *builder {
	char := CharName(in.Card)
	user := strings.TrimSpace(in.User)
	if user == "" {
		user = DefaultUser
	}
	b := &builder{
		history:  in.History,
		avail:    in.ContextTokens - max(in.ReplyTokens, 0),
		passages: in.Passages,
	}
	c := in.Card
	// {{original}} means something only in system_prompt and
	// post_history_instructions; elsewhere it is removed rather than shown
	// to the model. The platform has no post-history instructions of its
	// own, so there it stands for nothing too.
	none := ""
	ex := func(s string) string { return expand(s, char, user, &none) }
	original := Expand(DefaultSystemPrompt, char, user)
	b.system = strings.TrimSpace(expand(c.SystemPrompt, char, user, &original))
	if b.system == "" {
		b.system = original
	}
	b.post = strings.TrimSpace(ex(c.PostHistoryInstructions))
	if s := strings.TrimSpace(ex(c.Description)); s != "" {
		b.card = append(b.card, s)
	}
	if s := strings.TrimSpace(ex(c.Personality)); s != "" {
		b.card = append(b.card, char+"'s personality: "+s)
	}
	if s := strings.TrimSpace(ex(c.Scenario)); s != "" {
		b.card = append(b.card, "Scenario: "+s)
	}
	for _, s := range in.ClientSystem {
		if s = strings.TrimSpace(s); s != "" {
			b.client = append(b.client, s)
		}
	}
	// The summary is model-written from what users said: defuse a forged
	// knowledge fence in it.
	if s := strings.TrimSpace(neutralize(in.Summary, fenceTag)); s != "" {
		b.summary = "Earlier in this conversation: " + s
	}
	b.lore = activateLore(c.CharacterBook, in.History, ex)
	b.examples = exampleBlocks(c.MesExample, ex)
	b.heading = "Example dialogue showing how " + char + " writes (not part of this conversation):"
	return b
}

// exampleBlocks splits mes_example into its <START> blocks, each expanded
// and headed by "<START>".
func exampleBlocks(mes string, expand func(string) string) []string {
	var blocks []string
	for _, blk := range splitFold(mes, "<start>") {
		if blk = strings.TrimSpace(expand(blk)); blk != "" {
			blocks = append(blocks, "<START>\n"+blk)
		}
	}
	return blocks
}

// splitFold splits s around each occurrence of sep, a lower-case ASCII
// separator, matched in any case.
func splitFold(s, sep string) []string {
	var parts []string
	lower := asciiLower(s) // keeps byte offsets, unlike strings.ToLower
	for {
		i := strings.Index(lower, sep)
		if i < 0 {
			return append(parts, s)
		}
		parts = append(parts, s[:i])
		s, lower = s[i+len(sep):], lower[i+len(sep):]
	}
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// loreBudget is the book's token_budget when positive, else
// DefaultLoreBudgetPercent of the prompt space.
func loreBudget(book *agents.CharacterBook, avail int) int {
	if book != nil && book.TokenBudget != nil && *book.TokenBudget > 0 {
		return *book.TokenBudget
	}
	return share(avail, DefaultLoreBudgetPercent)
}

// share returns percent % of n, rounded down, without overflowing for
// any n >= 0.
func share(n, percent int) int {
	return n/100*percent + n%100*percent/100
}

// fill adds optional parts to p in order of importance while they fit in
// room tokens: lore (within its budget), passages (best first, within
// DefaultPassageBudgetPercent), the summary, history newest first, then
// example blocks. Each part's cost is its own count plus a separator or
// the message overhead.
func (b *builder) fill(p *plan, room, loreMax int) {
	loreUsed := 0
	for _, i := range keepOrder(b.lore) {
		t := b.lore[i].tokens
		if loreUsed+t > loreMax || t+1 > room {
			continue // a smaller entry of lower priority may still fit
		}
		p.lore[i] = true
		loreUsed += t
		room -= t + 1
	}

	passageMax := share(b.avail, DefaultPassageBudgetPercent)
	spent := tokens.Count(knowledgeHead+knowledgeTail) + 1
	for i, ps := range b.passages {
		if spent >= passageMax || spent >= room {
			break // no passage fits; spare rendering the rest
		}
		if i == len(b.rendered) {
			b.rendered = append(b.rendered, renderPassage(ps, i+1))
		}
		c := tokens.Count(b.rendered[i]) + 1
		if spent+c > passageMax || spent+c > room {
			break
		}
		spent += c
		p.passages = i + 1
	}
	if p.passages > 0 {
		room -= spent
	}

	if b.summary != "" {
		if c := tokens.Count(b.summary) + 1; c <= room {
			p.summary = true
			room -= c
		}
	}

	for i := len(b.history) - 2; i >= 0; i-- {
		c := tokens.Count(b.history[i].Content) + MessageOverhead
		if c > room {
			break
		}
		room -= c
		p.dropped = i
	}

	if len(b.examples) > 0 {
		room -= tokens.Count(b.heading) + 1
		for _, blk := range b.examples {
			c := tokens.Count(blk) + 1
			if c > room {
				break
			}
			room -= c
			p.examples++
		}
	}
}

// shrink removes the least important part of p: the last example block,
// the oldest history turn sent (but never the newest), the summary, the
// lowest-ranked passage, then the lore entry last in keep order. It
// reports false when only the fixed parts are left.
func (b *builder) shrink(p *plan) bool {
	switch {
	case p.examples > 0:
		p.examples--
	case p.dropped < len(b.history)-1:
		p.dropped++
	case p.summary:
		p.summary = false
	case p.passages > 0:
		p.passages--
	default:
		order := keepOrder(b.lore)
		for k := len(order) - 1; k >= 0; k-- {
			if p.lore[order[k]] {
				p.lore[order[k]] = false
				return true
			}
		}
		return false
	}
	return true
}

// render writes the messages of p: one system message, the history turns
// sent, and the post-history instructions.
func (b *builder) render(p plan) []llm.Message {
	sections := []string{b.system, b.loreAt(p, agents.PositionBeforeChar)}
	sections = append(sections, b.card...)
	sections = append(sections, b.loreAt(p, agents.PositionAfterChar))
	if p.summary {
		sections = append(sections, b.summary)
	}
	if p.passages > 0 {
		sections = append(sections, knowledgeBlock(b.rendered[:p.passages]))
	}
	sections = append(sections, b.client...)
	if p.examples > 0 {
		sections = append(sections, b.heading+"\n"+strings.Join(b.examples[:p.examples], "\n"))
	}
	var sys strings.Builder
	for _, s := range sections {
		if s == "" {
			continue
		}
		if sys.Len() > 0 {
			sys.WriteString("\n\n")
		}
		sys.WriteString(s)
	}

	msgs := make([]llm.Message, 0, len(b.history)-p.dropped+2)
	msgs = append(msgs, llm.Message{Role: llm.System, Content: sys.String()})
	for _, t := range b.history[p.dropped:] {
		msgs = append(msgs, llm.Message{Role: t.Role, Content: t.Content})
	}
	if b.post != "" {
		msgs = append(msgs, llm.Message{Role: llm.System, Content: b.post})
	}
	return msgs
}

// loreAt joins the content of the entries of p at position, one per line,
// in insertion order.
func (b *builder) loreAt(p plan, pos string) string {
	var parts []string
	for i, e := range b.lore {
		if p.lore[i] && e.position == pos {
			parts = append(parts, e.content)
		}
	}
	return strings.Join(parts, "\n")
}
