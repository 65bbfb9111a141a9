package llm

import "github.com/timbre-ai/timbre/tokens"

// perMessage is the estimate's allowance for a message's framing (role and
// separators) around its content.
const perMessage = 4

// usageOf returns the reported usage, estimating what the provider did not
// report.
func usageOf(m meta, msgs []Message, reply string) Usage {
	u := Usage{PromptTokens: m.prompt, CompletionTokens: m.completion}
	if !m.hasPrompt {
		u.PromptTokens, u.Estimated = EstimatePrompt(msgs), true
	}
	if !m.hasCompletion {
		u.CompletionTokens, u.Estimated = tokens.Count(reply), true
	}
	return u
}

// EstimatePrompt estimates the tokens a prompt costs: each message's
// content counted by the tokens package, plus 4 per message.
func EstimatePrompt(msgs []Message) int {
	n := 0
	for _, m := range msgs {
		n += tokens.Count(m.Content) + perMessage
	}
	return n
}
