package talk

import (
	"fmt"
	"strings"
	"time"
	"unicode"
)

// Config tunes voice sessions.
type Config struct {
	// Silence ends the user's turn (default 500 ms).
	Silence time.Duration
	// MinSpeech is the shortest sound taken as speech (default 200 ms).
	MinSpeech time.Duration
	// MaxTurn ends a user's turn by force (default 30 s).
	MaxTurn time.Duration
	// Backchannels are utterances that do not interrupt the agent, in any
	// case, without punctuation (DefaultBackchannels when nil).
	Backchannels []string
	// IdleTimeout ends a session in which nobody spoke (default 5 min).
	IdleTimeout time.Duration
	// MaxDuration ends any session (default 1 h).
	MaxDuration time.Duration
	// MaxPerUser bounds a user's open sessions (default 3); MaxSessions
	// the server's (default 200).
	MaxPerUser, MaxSessions int
	// DefaultVoice speaks for agents that have none ("" = refuse them).
	DefaultVoice string
}

// DefaultBackchannels are short acknowledgements that let the agent go on.
var DefaultBackchannels = []string{"yeah", "yes", "yep", "yup", "uh huh", "mm hmm", "mhm", "hmm", "mm", "ok", "okay",
	"right", "sure", "i see", "got it", "alright", "cool", "nice", "wow", "oh"}

func (c *Config) defaults() {
	if c.Silence == 0 {
		c.Silence = 500 * time.Millisecond
	}
	if c.MinSpeech == 0 {
		c.MinSpeech = 200 * time.Millisecond
	}
	if c.MaxTurn == 0 {
		c.MaxTurn = 30 * time.Second
	}
	if c.Backchannels == nil {
		c.Backchannels = DefaultBackchannels
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 5 * time.Minute
	}
	if c.MaxDuration == 0 {
		c.MaxDuration = time.Hour
	}
	if c.MaxPerUser == 0 {
		c.MaxPerUser = 3
	}
	if c.MaxSessions == 0 {
		c.MaxSessions = 200
	}
}

// Validate reports the first unusable setting.
func (c Config) Validate() error {
	switch {
	case c.Silence < 0 || c.Silence > 0 && (c.Silence < 100*time.Millisecond || c.Silence > 5*time.Second):
		return fmt.Errorf("end-of-turn silence %v must be from 100ms to 5s", c.Silence)
	case c.MinSpeech < 0 || c.MinSpeech > 2*time.Second:
		return fmt.Errorf("minimum speech %v must be from 0 to 2s", c.MinSpeech)
	case c.MaxTurn < 0 || c.MaxTurn > 0 && (c.MaxTurn < time.Second || c.MaxTurn > 5*time.Minute):
		return fmt.Errorf("maximum turn %v must be from 1s to 5m", c.MaxTurn)
	case c.IdleTimeout < 0 || c.MaxDuration < 0:
		return fmt.Errorf("session timeouts must not be negative")
	case c.MaxPerUser < 0 || c.MaxSessions < 0:
		return fmt.Errorf("session limits must not be negative")
	}
	return nil
}

// ParseBackchannels splits a comma-separated list of backchannels.
func ParseBackchannels(s string) []string {
	out := []string{}
	for _, p := range strings.Split(s, ",") {
		if p = normalizeUtterance(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// normalizeUtterance lowercases s, turns punctuation and hyphens into
// spaces and joins the words with single spaces: "Mm-hmm." → "mm hmm".
func normalizeUtterance(s string) string {
	f := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\''
	})
	return strings.Join(f, " ")
}

// backchannel reports whether text is one of the backchannels, or a
// repetition of them ("yeah yeah", "ok ok").
func (c *Config) backchannel(text string) bool {
	t := normalizeUtterance(text)
	if t == "" {
		return false
	}
	for t != "" {
		matched := false
		for _, b := range c.Backchannels {
			b = normalizeUtterance(b)
			if b == "" {
				continue
			}
			if t == b || strings.HasPrefix(t, b+" ") {
				t = strings.TrimSpace(t[len(b):])
				matched = true
				break
			}
		}
		if !matched {
			return false
		}
	}
	return true
}
