package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/timbre-ai/timbre/voice/worker"
)

// killWaitLimit bounds how long a round waits, after killAfter, for a
// request without its first audio before it kills.
const killWaitLimit = 2 * time.Second

// lossRound is one kill -9 of a worker under load.
type lossRound struct {
	victim string
	// inFlightAtKill is the client's count of its requests on the victim
	// just before the kill.
	inFlightAtKill int
	killAt         time.Time
	// forgotAfter is kill → the client no longer lists the victim; 0 when
	// it still did at the end of the round.
	forgotAfter time.Duration
	reqs        []request
	// retries is timbre_tts_client_retries_total by reason, over the round.
	retries map[string]float64
}

// lossSummary is what the report prints of a round's requests.
type lossSummary struct {
	// inFlight are the requests under way at the kill, on either worker.
	inFlight int
	// ok, midStream, beforeAudio and other split inFlight by outcome.
	ok, midStream, beforeAudio, other int
	// errorAfter holds kill → Stream's error, for each failed one.
	errorAfter []time.Duration
	// waitingOK holds kill → first audio, for the requests that had no
	// audio yet at the kill and then succeeded (some of them sent again).
	waitingOK []time.Duration
	// after and afterFailed count the requests started after the kill;
	// afterFirstMax is the longest first audio among them (one sent to the
	// dead worker first waits for the client to notice).
	after, afterFailed int
	afterFirstMax      time.Duration
}

func (r lossRound) summarise() lossSummary {
	var s lossSummary
	for _, q := range r.reqs {
		switch {
		case q.start.After(r.killAt):
			s.after++
			if q.err != nil {
				s.afterFailed++
			}
			s.afterFirstMax = max(s.afterFirstMax, q.firstAudio)
			continue
		case !q.end().After(r.killAt):
			continue // finished before the kill
		}
		s.inFlight++
		hadAudio := q.firstAudio > 0 && !q.start.Add(q.firstAudio).After(r.killAt)
		switch failure(q.err, q.sentences) {
		case "":
			s.ok++
			if !hadAudio {
				s.waitingOK = append(s.waitingOK, q.start.Add(q.firstAudio).Sub(r.killAt))
			}
			continue
		case failLostMidStream:
			s.midStream++
		case failLostBefore:
			s.beforeAudio++
		default:
			s.other++
		}
		s.errorAfter = append(s.errorAfter, q.end().Sub(r.killAt))
	}
	slices.Sort(s.errorAfter)
	slices.Sort(s.waitingOK)
	return s
}

// lossOptions are the worker-loss phase's settings.
type lossOptions struct {
	rounds, streams int
	setup           setup
	// killAfter is load start → kill (then the first moment a request waits
	// for its first audio, within killWaitLimit); observe is kill → end of
	// the round.
	killAfter, observe time.Duration
}

// runLoss runs the rounds: two workers under load, one killed with SIGKILL
// in each round and replaced before the next.
func (p *pool) runLoss(ctx context.Context, reg prometheus.Gatherer, o lossOptions) ([]lossRound, error) {
	p.stopAll()
	var rounds []lossRound
	for range o.rounds {
		if missing := o.setup.procs - len(p.procs); missing > 0 {
			if _, err := p.start(ctx, missing, o.setup); err != nil {
				return rounds, err
			}
			if err := p.warm(ctx, o.setup.procs*o.setup.slots); err != nil {
				return rounds, err
			}
		}
		// Let the adverts after the warm-up settle.
		time.Sleep(300 * time.Millisecond)
		r, err := p.lossRound(ctx, reg, o)
		if err != nil {
			return rounds, err
		}
		rounds = append(rounds, r)
	}
	return rounds, nil
}

func (p *pool) lossRound(ctx context.Context, reg prometheus.Gatherer, o lossOptions) (lossRound, error) {
	before := counters(reg, metricClientRetries, "reason")
	drv := drive(ctx, p.client, o.streams, p.voice, p.text)
	select {
	case <-ctx.Done():
	case <-time.After(o.killAfter):
	}
	// Kill while a request waits for its first sentence, so that a round
	// can show both outcomes: sent again (no audio yet) and failed
	// mid-stream. The wait is bounded; the kill comes anyway.
	for wait := time.Now().Add(killWaitLimit); time.Now().Before(wait) && ctx.Err() == nil; time.Sleep(time.Millisecond) {
		if gauge(reg, metricQueueDepth) >= 1 {
			break
		}
	}
	var r lossRound
	// The worker with the most of this client's requests on it.
	for _, w := range p.client.Workers() {
		if r.victim == "" || w.InFlight > r.inFlightAtKill {
			r.victim, r.inFlightAtKill = w.ID, w.InFlight
		}
	}
	pr := p.byID(r.victim)
	if pr == nil {
		drv.finish()
		return r, fmt.Errorf("worker loss: no process for worker %q", r.victim)
	}
	if err := pr.cmd.Process.Kill(); err != nil {
		drv.finish()
		return r, fmt.Errorf("worker loss: kill %d: %w", pr.pid(), err)
	}
	r.killAt = time.Now()
	end := r.killAt.Add(o.observe)
	for time.Now().Before(end) && ctx.Err() == nil {
		if r.forgotAfter == 0 && !slices.ContainsFunc(p.client.Workers(), func(w worker.WorkerInfo) bool { return w.ID == r.victim }) {
			r.forgotAfter = time.Since(r.killAt)
		}
		time.Sleep(5 * time.Millisecond)
	}
	r.reqs = drv.finish()
	<-pr.exited
	p.remove(pr)
	r.retries = delta(counters(reg, metricClientRetries, "reason"), before)
	return r, ctx.Err()
}
