package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/timbre-ai/timbre/voice/audio"
	"github.com/timbre-ai/timbre/voice/tts"
	"github.com/timbre-ai/timbre/voice/worker"
)

// failurePause spaces a loop's requests after a failure, so that an error
// that comes back at once cannot spin.
const failurePause = 10 * time.Millisecond

// speak makes one request through the client and times it.
func speak(ctx context.Context, c *worker.Client, stream int, voice, text string) request {
	r := request{stream: stream, start: time.Now()}
	var samples, rate int
	r.err = c.Stream(ctx, tts.Request{Voice: voice, Text: text}, func(ch tts.Chunk) error {
		if r.sentences == 0 {
			r.firstAudio = time.Since(r.start)
		}
		r.sentences++
		samples += len(ch.Samples)
		rate = ch.SampleRate
		return nil
	})
	r.total = time.Since(r.start)
	if rate > 0 {
		r.audio = audio.Format{SampleRate: rate, Channels: 1}.Duration(samples)
	}
	return r
}

// driver runs closed-loop streams: each loop sends the text, waits for the
// whole reply, and sends it again, until stopped.
type driver struct {
	stopCh chan struct{}
	wg     sync.WaitGroup

	mu   sync.Mutex
	reqs []request
}

// drive starts n loops on c.
func drive(ctx context.Context, c *worker.Client, n int, voice, text string) *driver {
	d := &driver{stopCh: make(chan struct{})}
	for i := range n {
		d.wg.Go(func() {
			for {
				select {
				case <-d.stopCh:
					return
				case <-ctx.Done():
					return
				default:
				}
				r := speak(ctx, c, i, voice, text)
				d.mu.Lock()
				d.reqs = append(d.reqs, r)
				d.mu.Unlock()
				if r.err != nil {
					time.Sleep(failurePause)
				}
			}
		})
	}
	return d
}

// finish stops the loops from starting requests, waits for the requests
// under way and returns every request made.
func (d *driver) finish() []request {
	close(d.stopCh)
	d.wg.Wait()
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.reqs
}

// sampler reads the client's queue depth gauge every 10 ms.
type sampler struct {
	stopCh chan struct{}
	done   chan struct{}
	max    float64
	total  float64
	n      int
}

func sample(g prometheus.Gatherer) *sampler {
	s := &sampler{stopCh: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-s.stopCh:
				return
			case <-t.C:
				v := gauge(g, metricQueueDepth)
				s.max = max(s.max, v)
				s.total += v
				s.n++
			}
		}
	}()
	return s
}

// finish stops sampling and returns the largest and the mean depth seen.
func (s *sampler) finish() (largest, mean float64) {
	close(s.stopCh)
	<-s.done
	if s.n > 0 {
		mean = s.total / float64(s.n)
	}
	return s.max, mean
}

// level is what one load level measured.
type level struct {
	setup   setup
	streams int
	wall    time.Duration
	reqs    []request
	sum     loadSummary
	// queueMax and queueMean are of timbre_tts_queue_depth, sampled.
	queueMax, queueMean float64
	// retries is timbre_tts_client_retries_total by reason.
	retries map[string]float64
	// workers is what the worker processes' /metrics counted.
	workers workerStats
	// workerCPU is the CPU time of every worker process; benchCPU is this
	// process's (client and NATS); hostBusy is the whole machine's.
	workerCPU, benchCPU, hostBusy time.Duration
}

// snapshot is the counters a level takes differences of.
type snapshot struct {
	retries   map[string]float64
	workers   map[string]float64
	workerCPU time.Duration
	benchCPU  time.Duration
	hostBusy  time.Duration
}

func (p *pool) snapshot(ctx context.Context, reg prometheus.Gatherer) (snapshot, error) {
	s := snapshot{retries: counters(reg, metricClientRetries, "reason"), workers: map[string]float64{}, benchCPU: selfCPU()}
	s.hostBusy, _ = hostCPU()
	for _, pr := range p.procs {
		m, err := scrape(ctx, pr.metricsAddr)
		if err != nil {
			return s, fmt.Errorf("worker %s: %w", pr.id, err)
		}
		for k, v := range m {
			s.workers[k] += v
		}
		s.workerCPU += procCPU(pr.pid())
	}
	return s, nil
}

// runLevel runs n loops for d on the pool as it stands.
func (p *pool) runLevel(ctx context.Context, reg prometheus.Gatherer, s setup, n int, d time.Duration) (level, error) {
	before, err := p.snapshot(ctx, reg)
	if err != nil {
		return level{}, err
	}
	smp := sample(reg)
	start := time.Now()
	drv := drive(ctx, p.client, n, p.voice, p.text)
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
	reqs := drv.finish()
	wall := time.Since(start)
	qMax, qMean := smp.finish()
	if err := ctx.Err(); err != nil {
		return level{}, err
	}
	after, err := p.snapshot(ctx, reg)
	if err != nil {
		return level{}, err
	}
	return level{
		setup: s, streams: n, wall: wall, reqs: reqs, sum: summarise(reqs, n, wall),
		queueMax: qMax, queueMean: qMean,
		retries:   delta(after.retries, before.retries),
		workers:   readWorkerStats(delta(after.workers, before.workers)),
		workerCPU: after.workerCPU - before.workerCPU,
		benchCPU:  after.benchCPU - before.benchCPU,
		hostBusy:  after.hostBusy - before.hostBusy,
	}, nil
}
