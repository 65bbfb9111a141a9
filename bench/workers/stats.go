package main

import (
	"context"
	"errors"
	"time"

	"github.com/timbre-ai/timbre/bus"
	"github.com/timbre-ai/timbre/voice/worker"

	"github.com/timbre-ai/timbre/bench/machine"
)

// request is one Stream call of a load loop.
type request struct {
	// stream numbers the loop that made it.
	stream int
	start  time.Time
	// firstAudio is start → the first sentence delivered; 0 when none came.
	firstAudio time.Duration
	// total is start → Stream returned.
	total time.Duration
	// audio is how long the delivered speech lasts.
	audio     time.Duration
	sentences int
	err       error
}

func (r request) end() time.Time { return r.start.Add(r.total) }

// rtf is the request's real-time factor: time in Stream ÷ speech it got.
func (r request) rtf() float64 {
	if r.audio <= 0 {
		return 0
	}
	return r.total.Seconds() / r.audio.Seconds()
}

// Kinds of failed request, as the report counts them.
const (
	failBusy          = "busy"
	failNoWorkers     = "no_workers"
	failLostMidStream = "lost_mid_stream"
	failLostBefore    = "lost_before_audio"
	failDeadline      = "deadline"
	failOther         = "other"
)

// failure classifies a failed request; "" for a successful one.
func failure(err error, sentences int) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, bus.ErrWorkerLost) && sentences > 0:
		return failLostMidStream
	case errors.Is(err, bus.ErrWorkerLost):
		return failLostBefore
	case errors.Is(err, worker.ErrBusy):
		return failBusy
	case errors.Is(err, worker.ErrNoWorkers):
		return failNoWorkers
	case errors.Is(err, context.DeadlineExceeded):
		return failDeadline
	default:
		return failOther
	}
}

// loadSummary is what the report prints of one load level's requests.
type loadSummary struct {
	requests, ok int
	// failures counts the failed requests by kind.
	failures map[string]int
	// audioPerSec is seconds of speech delivered by successful requests per
	// second of wall time.
	audioPerSec float64
	// rtf50 and rtf95 are over successful requests.
	rtf50, rtf95 float64
	// streamRTFWorst is the highest, over the loops, of time spent in
	// Stream ÷ speech received (failed requests count their time and no
	// speech).
	streamRTFWorst float64
	// first50 and first95 are over the requests that got audio.
	first50, first95 time.Duration
	// keepsUp: no request failed and every loop made speech faster than
	// it lasts.
	keepsUp bool
}

func summarise(reqs []request, streams int, wall time.Duration) loadSummary {
	s := loadSummary{requests: len(reqs), failures: map[string]int{}}
	var rtfs []float64
	var firsts []time.Duration
	var heard time.Duration
	busy := make([]time.Duration, streams)
	got := make([]time.Duration, streams)
	for _, r := range reqs {
		if r.stream >= 0 && r.stream < streams {
			busy[r.stream] += r.total
			got[r.stream] += r.audio
		}
		if r.firstAudio > 0 {
			firsts = append(firsts, r.firstAudio)
		}
		if kind := failure(r.err, r.sentences); kind != "" {
			s.failures[kind]++
			continue
		}
		s.ok++
		heard += r.audio
		rtfs = append(rtfs, r.rtf())
	}
	if wall > 0 {
		s.audioPerSec = heard.Seconds() / wall.Seconds()
	}
	s.rtf50, s.rtf95 = machine.Quantile(rtfs, 0.5), machine.Quantile(rtfs, 0.95)
	s.first50, s.first95 = machine.Quantile(firsts, 0.5), machine.Quantile(firsts, 0.95)
	s.keepsUp = s.ok == s.requests && s.requests > 0
	for i := range streams {
		switch {
		case got[i] > 0:
			s.streamRTFWorst = max(s.streamRTFWorst, busy[i].Seconds()/got[i].Seconds())
		case busy[i] > 0:
			// A loop that got no speech at all never kept up.
			s.keepsUp = false
		}
	}
	if s.streamRTFWorst >= 1 {
		s.keepsUp = false
	}
	return s
}
