package prompt

import (
	"regexp"
	"strings"

	"github.com/timbre-ai/timbre/agents"
)

// macro matches the macros a card may use: {{char}}, {{user}} and
// {{original}} in any case and with optional spaces inside the braces, and
// the legacy <BOT> and <USER> of older cards.
var macro = regexp.MustCompile(`(?i)\{\{\s*(char|user|original)\s*\}\}|<(bot|user)>`)

// DefaultUser is the name {{user}} stands for when Input.User is empty.
const DefaultUser = "User"

// CharName returns the name a card's character goes by in prompts: the V3
// nickname when it is set, else the name (both trimmed).
func CharName(c agents.Card) string {
	if n := strings.TrimSpace(c.Nickname); n != "" {
		return n
	}
	return strings.TrimSpace(c.Name)
}

// Expand replaces the macros of card text: {{char}} (and the legacy <BOT>)
// by char, {{user}} (and <USER>) by user. Macro names are matched in any
// case ({{Char}}, <bot>) and may have spaces inside the braces ({{ user }}).
// The replacement is one pass, so a name that itself contains "{{user}}" is
// inserted as it is. Other macros, {{original}} included, are left as they
// are: {{original}} has a meaning only in a card's system_prompt and
// post_history_instructions, which Build expands itself.
func Expand(s, char, user string) string {
	return expand(s, char, user, nil)
}

// expand is Expand that also replaces {{original}} by *original when
// original is not nil.
func expand(s, char, user string, original *string) string {
	if !strings.ContainsAny(s, "{<") {
		return s
	}
	return macro.ReplaceAllStringFunc(s, func(m string) string {
		sub := macro.FindStringSubmatch(m)
		name := strings.ToLower(sub[1] + sub[2])
		switch name {
		case "char", "bot":
			return char
		case "user":
			return user
		case "original":
			if original != nil {
				return *original
			}
		}
		return m
	})
}
