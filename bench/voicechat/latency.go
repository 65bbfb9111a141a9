package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/timbre-ai/timbre/voice/rtc/rtctest"
	"github.com/timbre-ai/timbre/voice/talk"
)

// turnsPerCall is how many questions one call asks before the client
// hangs up and calls again, so that no conversation grows long.
const turnsPerCall = 10

// turnTimeout bounds one spoken turn, question to the reply's end.
const turnTimeout = 90 * time.Second

// stageKeys are the latency stages of a "turn" message, in order.
var stageKeys = []string{"end_of_turn_ms", "transcript_ms", "first_token_ms", "first_sentence_ms", "first_synth_ms", "first_audio_ms"}

// turnOutcome is one spoken turn as the client saw it.
type turnOutcome struct {
	question string
	// heard is the final transcript the server sent.
	heard string
	// latency is the "turn" message's stage timings (ms).
	latency map[string]int
	// clientMS is the client's last speech packet sent → the reply's first
	// audible packet received; negative when none came.
	clientMS float64
	// said is what the agent said.
	said string
	// failure says why the turn gave no reply ("" when it did).
	failure string
}

// message is a decoded data channel message.
type message struct {
	Type        string         `json:"type"`
	State       string         `json:"state"`
	Text        string         `json:"text"`
	Final       bool           `json:"final"`
	Interrupted bool           `json:"interrupted"`
	Said        string         `json:"said"`
	Latency     map[string]int `json:"latency"`
	Code        string         `json:"code"`
	Message     string         `json:"message"`
	Reason      string         `json:"reason"`
}

func decode(m rtctest.Message) message {
	var out message
	_ = json.Unmarshal(m.Data, &out)
	return out
}

// dial opens a call with the run's agent on mgr and waits for the
// session message.
func (s *server) dial(ctx context.Context, mgr *talk.Manager) (*rtctest.Client, talk.Opened, error) {
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var opened talk.Opened
	c, err := rtctest.Dial(dctx, func(offer string) (string, error) {
		var err error
		opened, err = mgr.Open(ctx, talk.OpenRequest{UserID: s.user.ID, UserName: s.user.DisplayName, AgentID: s.agent.ID, SDP: offer})
		return opened.SDP, err
	})
	if err != nil {
		return nil, opened, fmt.Errorf("dial: %w", err)
	}
	if _, _, err := c.WaitMessage(dctx, 0, func(m rtctest.Message) bool { return m.Type == "session" }); err != nil {
		_ = c.Close()
		return nil, opened, fmt.Errorf("no session message: %w", err)
	}
	return c, opened, nil
}

// runTurns asks n questions (after warm unmeasured ones) on calls of mgr,
// one at a time, each after the reply to the previous one has ended.
func (s *server) runTurns(ctx context.Context, mgr *talk.Manager, qs []question, n, warm int, say func(string, ...any)) ([]turnOutcome, error) {
	var c *rtctest.Client
	defer func() {
		if c != nil {
			_ = c.Close()
		}
	}()
	var outs []turnOutcome
	for i := range warm + n {
		if i%turnsPerCall == 0 {
			if c != nil {
				_ = c.Close()
				if err := s.waitIdle(ctx, 20*time.Second); err != nil {
					return nil, err
				}
			}
			var err error
			if c, _, err = s.dial(ctx, mgr); err != nil {
				return nil, err
			}
		}
		out, err := speakTurn(ctx, c, qs[i%len(qs)])
		if err != nil {
			return nil, fmt.Errorf("turn %d: %w", i+1, err)
		}
		if i >= warm {
			outs = append(outs, out)
		}
		if (i+1)%10 == 0 {
			say("%d of %d turns", i+1, warm+n)
		}
	}
	return outs, nil
}

// speakTurn speaks q into the call and waits for the turn to end.
func speakTurn(ctx context.Context, c *rtctest.Client, q question) (turnOutcome, error) {
	out := turnOutcome{question: q.text, clientMS: -1}
	after := len(c.Messages())
	arrFrom := len(c.Arrivals())
	if err := c.Speak(q.samples, q.rate); err != nil {
		return out, err
	}
	tctx, cancel := context.WithTimeout(ctx, turnTimeout)
	defer cancel()
	if err := c.WaitSpoken(tctx); err != nil {
		return out, err
	}
	endSent := speechEndSent(time.Now(), q)
	m, idx, err := c.WaitMessage(tctx, after, func(m rtctest.Message) bool {
		switch m.Type {
		case "turn", "error", "bye":
			return true
		case "state":
			return decode(m).State == talk.StateListening
		}
		return false
	})
	if err != nil {
		return out, err
	}
	msgs := c.Messages()
	for _, x := range msgs[after:idx] {
		if d := decode(x); d.Type == "user" && d.Final {
			out.heard = d.Text
		}
	}
	d := decode(m)
	switch d.Type {
	case "bye":
		return out, fmt.Errorf("the server ended the call: %s", d.Reason)
	case "error":
		out.failure = "error " + d.Code + ": " + d.Message
	case "state":
		out.failure = "nothing recognised"
	case "turn":
		out.latency, out.said = d.Latency, d.Said
		if d.Interrupted {
			out.failure = "the reply was interrupted"
		}
		if at, ok := firstAudible(c.Arrivals()[arrFrom:], endSent); ok {
			out.clientMS = float64(at.Sub(endSent).Microseconds()) / 1000
		}
	}
	// Back to listening before the next question.
	if d.Type != "state" {
		if _, _, err := c.WaitMessage(tctx, idx+1, func(m rtctest.Message) bool {
			return m.Type == "state" && decode(m).State == talk.StateListening
		}); err != nil {
			return out, errors.New("the session did not listen again after the turn")
		}
	}
	time.Sleep(300 * time.Millisecond)
	return out, nil
}
