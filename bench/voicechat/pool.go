package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/timbre-ai/timbre/bench/machine"
	"github.com/timbre-ai/timbre/voice/rtc/rtctest"
)

// dialParallel is how many calls a pool dials at once.
const dialParallel = 4

// pool is a set of calls, each a browser-like client whose microphone
// sends silence unless told otherwise.
type pool struct {
	// signal answers an offer (the server's Manager.Open, directly or over
	// HTTP).
	signal  func(ctx context.Context, offer string) (string, error)
	clients []*rtctest.Client
}

// dial adds n calls.
func (p *pool) dial(ctx context.Context, n int) error {
	out := make([]*rtctest.Client, n)
	errs := make([]error, n)
	sem := make(chan struct{}, dialParallel)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			dctx, cancel := context.WithTimeout(ctx, 60*time.Second)
			defer cancel()
			c, err := rtctest.Dial(dctx, func(offer string) (string, error) { return p.signal(ctx, offer) })
			if err == nil {
				if _, _, err = c.WaitMessage(dctx, 0, func(m rtctest.Message) bool { return m.Type == "session" }); err != nil {
					_ = c.Close()
				}
			}
			out[i], errs[i] = c, err
		})
	}
	wg.Wait()
	for i, c := range out {
		if errs[i] == nil {
			p.clients = append(p.clients, c)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	return nil
}

// close hangs every call up.
func (p *pool) close() {
	var wg sync.WaitGroup
	for _, c := range p.clients {
		wg.Go(func() { _ = c.Close() })
	}
	wg.Wait()
	p.clients = nil
}

// speakResult is what one client saw of a typed turn answered by voice.
type speakResult struct {
	// FirstAudibleMS is the message sent → the reply's first audible packet.
	FirstAudibleMS float64 `json:"first_audible_ms"`
	// SpanMS is the reply's first audible packet → its last.
	SpanMS float64 `json:"span_ms"`
	// ConversationID names the call's conversation.
	ConversationID string `json:"conversation_id"`
	// Error says why the turn failed; "" when it did not.
	Error string `json:"error,omitempty"`
}

// speakReport is every client's speakResult and the delay variation of
// the reply packets of all of them.
type speakReport struct {
	Results []speakResult `json:"results"`
	// DelayVar is over every reply packet of every client: how much later
	// than its client's earliest it arrived, relative to its RTP time (ms).
	DelayVar quant `json:"delay_var"`
}

// speakText has every call type text at the same moment and waits for
// each reply to end (its "turn" message).
func (p *pool) speakText(ctx context.Context, text string, timeout time.Duration) speakReport {
	results := make([]speakResult, len(p.clients))
	dvs := make([][]float64, len(p.clients))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, c := range p.clients {
		wg.Go(func() { results[i], dvs[i] = speakOne(ctx, c, text, timeout, start) })
	}
	close(start)
	wg.Wait()
	var all []float64
	for _, d := range dvs {
		all = append(all, d...)
	}
	return speakReport{Results: results, DelayVar: quantOf(all)}
}

func speakOne(ctx context.Context, c *rtctest.Client, text string, timeout time.Duration, start <-chan struct{}) (speakResult, []float64) {
	var r speakResult
	msgs := c.Messages()
	for _, m := range msgs {
		if m.Type == "session" {
			r.ConversationID = decodeSession(m)
		}
	}
	after, arrFrom := len(msgs), len(c.Arrivals())
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	<-start
	sent := time.Now()
	if err := c.Send(map[string]string{"type": "text", "text": text}); err != nil {
		r.Error = err.Error()
		return r, nil
	}
	m, _, err := c.WaitMessage(tctx, after, func(m rtctest.Message) bool { return m.Type == "turn" || m.Type == "bye" })
	if err != nil {
		r.Error = err.Error()
		return r, nil
	}
	if d := decode(m); d.Type == "bye" {
		r.Error = "the server ended the call: " + d.Reason
		return r, nil
	} else if d.Interrupted {
		r.Error = "the reply was interrupted"
	}
	for _, x := range c.Messages()[after:] {
		if d := decode(x); d.Type == "error" {
			r.Error = "error " + d.Code + ": " + d.Message
		}
	}
	time.Sleep(100 * time.Millisecond) // the last packets in flight
	arr := c.Arrivals()[arrFrom:]
	first, last, ok := audibleSpan(arr)
	if !ok {
		if r.Error == "" {
			r.Error = "no audible reply"
		}
		return r, nil
	}
	r.FirstAudibleMS = float64(arr[first].At.Sub(sent).Microseconds()) / 1000
	r.SpanMS = float64(arr[last].At.Sub(arr[first].At).Microseconds()) / 1000
	return r, delayVariation(arr[first : last+1])
}

func decodeSession(m rtctest.Message) string {
	var s struct {
		ConversationID string `json:"conversation_id"`
	}
	_ = json.Unmarshal(m.Data, &s)
	return s.ConversationID
}

// quant is the order statistics of a figure, in ms unless said.
type quant struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

func quantOf(xs []float64) quant {
	if len(xs) == 0 {
		return quant{}
	}
	return quant{N: len(xs), P50: machine.Quantile(xs, 0.5), P95: machine.Quantile(xs, 0.95),
		P99: machine.Quantile(xs, 0.99), Max: machine.Quantile(xs, 1)}
}
