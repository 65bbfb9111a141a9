package prompt

import (
	"testing"

	"github.com/timbre-ai/timbre/agents"
)

func TestExpand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, char, user, want string
	}{
		{"plain", "{{char}} greets {{user}}.", "Aria", "Mara", "Aria greets Mara."},
		{"any case", "{{Char}} {{CHAR}} {{uSeR}}", "Aria", "Mara", "Aria Aria Mara"},
		{"spaces inside braces", "{{ char }} and {{  user}}", "Aria", "Mara", "Aria and Mara"},
		{"legacy tags", "<BOT> to <USER>, <bot> to <user>", "Aria", "Mara", "Aria to Mara, Aria to Mara"},
		{"one pass: names are not expanded again", "{{char}} / {{user}}", "{{user}}", "<BOT>", "{{user}} / <BOT>"},
		{"original left alone", "{{original}} then {{char}}", "Aria", "Mara", "{{original}} then Aria"},
		{"unknown macros left alone", "{{random}} {{char} {char}} <bott>", "Aria", "Mara", "{{random}} {{char} {char}} <bott>"},
		{"no macros", "plain text, no braces", "Aria", "Mara", "plain text, no braces"},
		{"empty", "", "Aria", "Mara", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Expand(tt.in, tt.char, tt.user); got != tt.want {
				t.Errorf("Expand(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestExpandOriginal(t *testing.T) {
	t.Parallel()
	orig := "DEFAULT for {{char}}" // inserted as is: one pass
	got := expand("{{original}}; {{ Original }}; {{char}}", "Aria", "Mara", &orig)
	if want := "DEFAULT for {{char}}; DEFAULT for {{char}}; Aria"; got != want {
		t.Errorf("expand() = %q, want %q", got, want)
	}
}

func TestCharName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		card agents.Card
		want string
	}{
		{agents.Card{Name: "Aria Vale", Nickname: "Aria"}, "Aria"},
		{agents.Card{Name: "Aria Vale", Nickname: "  "}, "Aria Vale"},
		{agents.Card{Name: " Aria Vale "}, "Aria Vale"},
		{agents.Card{}, ""},
	}
	for _, tt := range tests {
		if got := CharName(tt.card); got != tt.want {
			t.Errorf("CharName(%q, %q) = %q, want %q", tt.card.Name, tt.card.Nickname, got, tt.want)
		}
	}
}

func cardNamed(name string) agents.Card { return agents.Card{Name: name} }
