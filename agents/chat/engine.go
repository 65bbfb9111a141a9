package chat

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/timbre-ai/timbre/agents"
	"github.com/timbre-ai/timbre/agents/llm"
	"github.com/timbre-ai/timbre/agents/prompt"
	"github.com/timbre-ai/timbre/knowledge"
	"github.com/timbre-ai/timbre/tokens"
)

// Sink receives a reply as it is made. Every field is optional; the calls
// come from the goroutine that called the Service, in order.
type Sink struct {
	// Start is called once the user's message (nil for a regenerate) and
	// the reply's row are stored, before the model is called.
	Start func(user *Message, reply Message) error
	// Answering is called before the first piece of the reply with the
	// model that makes it (offline, when none answers).
	Answering func(Model)
	// Delta is called with each piece of the reply.
	Delta func(text string) error
	// Citation is called the first time the reply cites a passage.
	Citation func(Citation) error
}

// generation is one reply to make.
type generation struct {
	agent        agents.Agent
	userName     string
	history      []prompt.Turn // ends with the user's message
	summary      string
	clientSystem []string
	temperature  *float64
	maxTokens    int
	stop         []string
	start        time.Time
	sink         Sink
}

// outcome is what a generation made, also when it failed.
type outcome struct {
	text         string
	usage        llm.Usage
	model        Model
	finishReason string
	citations    []Citation
	dropped      int // oldest history turns left out of the prompt
	firstToken   *int
	total        int
	clientGone   bool // the sink refused a delta
}

// timings returns the outcome's timings.
func (o outcome) timings() *Timings {
	return &Timings{FirstTokenMS: o.firstToken, TotalMS: o.total}
}

// generate makes one reply: knowledge retrieval, prompt assembly, the model
// stream (or offline mode), citations.
func (s *Service) generate(ctx context.Context, g generation) (out outcome, err error) {
	defer func() { out.total = msSince(g.start) }()
	question := ""
	if n := len(g.history); n > 0 {
		question = g.history[n-1].Content
	}
	found, hadKnowledge := s.retrieve(ctx, g.agent.ID, question)
	provider, model := s.models.For(g.agent.LLM)
	out.model = model

	cites := newCiteScanner(found)
	emit := func(text string) error {
		if out.firstToken == nil {
			ms := msSince(g.start)
			out.firstToken = &ms
			if g.sink.Answering != nil {
				g.sink.Answering(out.model)
			}
		}
		out.text += text
		if g.sink.Delta != nil {
			if err := g.sink.Delta(text); err != nil {
				out.clientGone = true
				return err
			}
		}
		for _, c := range cites.scan(out.text) {
			out.citations = append(out.citations, c)
			if g.sink.Citation != nil {
				if err := g.sink.Citation(c); err != nil {
					out.clientGone = true
					return err
				}
			}
		}
		return nil
	}

	if provider != nil {
		replyTokens := g.maxTokens
		if replyTokens == 0 && g.agent.LLM.MaxTokens != nil {
			replyTokens = *g.agent.LLM.MaxTokens
		}
		if replyTokens == 0 {
			replyTokens = s.cfg.ReplyTokens
		}
		built, err := prompt.Build(prompt.Input{
			Card: g.agent.Card, User: g.userName, History: g.history, Summary: g.summary,
			Passages: passages(found), ClientSystem: g.clientSystem,
			ContextTokens: s.cfg.ContextTokens, ReplyTokens: replyTokens,
		})
		if err != nil {
			return out, fmt.Errorf("chat: assemble prompt: %w", err)
		}
		out.dropped = built.Dropped
		cites.limit(built.PassagesUsed)
		temperature := g.temperature
		if temperature == nil {
			temperature = g.agent.LLM.Temperature
		}
		res, err := provider.Stream(ctx, llm.Request{
			Model: model.Model, Messages: built.Messages, Temperature: temperature,
			MaxTokens: replyTokens, Stop: g.stop,
		}, emit)
		out.usage, out.finishReason = res.Usage, res.FinishReason
		if res.Model != "" {
			out.model.Model = res.Model
		}
		if err == nil || !errors.Is(err, llm.ErrUnreachable) || out.text != "" {
			return out, err
		}
		s.logger.Warn("language model unreachable; answering offline", "agent_id", g.agent.ID, "error", err)
		out.model = Model{Provider: model.Provider, Model: model.Model, Offline: true,
			Reason: "the language model is not reachable: " + err.Error()}
	}
	text, cited := offlineReply(g.agent.Card, g.userName, found, hadKnowledge)
	cites.limit(cited)
	out.usage = llm.Usage{CompletionTokens: tokens.Count(text), Estimated: true}
	out.finishReason = "stop"
	for _, piece := range pieces(text) {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		if err := emit(piece); err != nil {
			return out, err
		}
	}
	return out, nil
}

// retrieve finds the passages of the agent's knowledge that best answer
// question. A failed search costs the reply its knowledge, not the reply.
func (s *Service) retrieve(ctx context.Context, agentID, question string) (found []knowledge.Result, hadKnowledge bool) {
	if s.knowledge == nil || s.cfg.Passages <= 0 || question == "" {
		return nil, false
	}
	bases, err := s.knowledge.AgentBases(ctx, agentID)
	if err != nil {
		s.logger.Warn("knowledge bases not read; replying without knowledge", "agent_id", agentID, "error", err)
		return nil, false
	}
	if len(bases) == 0 {
		return nil, false
	}
	ids := make([]string, len(bases))
	for i, b := range bases {
		ids[i] = b.ID
	}
	res, err := s.knowledge.SearchBases(ctx, ids, knowledge.Query{Text: truncateRunes(question, 2000), K: s.cfg.Passages})
	if err != nil {
		s.logger.Warn("knowledge search failed; replying without knowledge", "agent_id", agentID, "error", err)
		return nil, true
	}
	if res.Degraded != "" {
		s.logger.Warn("knowledge search degraded to full text", "agent_id", agentID, "reason", res.Degraded)
	}
	return res.Results, true
}

// passages numbers search results as the prompt's citation markers.
func passages(found []knowledge.Result) []prompt.Passage {
	out := make([]prompt.Passage, len(found))
	for i, r := range found {
		out[i] = prompt.Passage{Marker: i + 1, Title: r.Citation.Title, Headings: r.Citation.Headings,
			Page: r.Citation.Page, URL: r.Citation.URL, Text: r.Text}
	}
	return out
}

// citeScanner finds the markers ([1], [2]…) a reply cites as it streams.
type citeScanner struct {
	found   []knowledge.Result
	max     int
	seen    map[int]bool
	scanned int // bytes of the reply already scanned
}

func newCiteScanner(found []knowledge.Result) *citeScanner {
	return &citeScanner{found: found, max: len(found), seen: map[int]bool{}}
}

// limit restricts citations to the first n passages (those in the prompt).
func (c *citeScanner) limit(n int) { c.max = min(n, len(c.found)) }

// scan returns the citations first made in text since the last scan. A
// marker cut across deltas ("[1" then "]") is found on the next scan.
func (c *citeScanner) scan(text string) []Citation {
	var out []Citation
	i := c.scanned
	for i < len(text) {
		if text[i] != '[' {
			i++
			continue
		}
		j := i + 1
		for j < len(text) && j-i <= 3 && text[j] >= '0' && text[j] <= '9' {
			j++
		}
		if j == len(text) {
			break // the marker may go on in the next delta
		}
		if text[j] == ']' && j > i+1 {
			n, _ := strconv.Atoi(text[i+1 : j])
			if n >= 1 && n <= c.max && !c.seen[n] {
				c.seen[n] = true
				out = append(out, citationOf(n, c.found[n-1]))
			}
		}
		i = j
	}
	c.scanned = i
	return out
}

func citationOf(marker int, r knowledge.Result) Citation {
	return Citation{Marker: marker, ChunkID: r.ChunkID, DocumentID: r.DocumentID, KnowledgeBaseID: r.KBID,
		Title: r.Citation.Title, Headings: r.Citation.Headings, Page: r.Citation.Page, URL: r.Citation.URL,
		Start: r.Citation.Start, End: r.Citation.End, Text: r.Text}
}

func msSince(t time.Time) int { return int(time.Since(t).Milliseconds()) }

func truncateRunes(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}
