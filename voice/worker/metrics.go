package worker

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Results counted by timbre_tts_requests_total and
// timbre_tts_client_requests_total, besides the error codes (busy,
// unknown_voice, engine, …).
const resultOK = "ok"

// workerMetrics are a worker's. Several workers of one process share them
// (the series are sums over the process's workers).
type workerMetrics struct {
	requests   *prometheus.CounterVec
	synthesis  prometheus.Histogram
	firstAudio prometheus.Histogram
	slotsBusy  prometheus.Gauge
	slots      prometheus.Gauge
	rtf        prometheus.Histogram
}

func newWorkerMetrics(reg prometheus.Registerer) (*workerMetrics, error) {
	m := &workerMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "timbre_tts_requests_total",
			Help: "Synthesis requests a voice worker answered, by result (ok or the error code: busy, stopping, unknown_voice, engine, …).",
		}, []string{"result"}),
		synthesis: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "timbre_tts_synthesis_seconds",
			Help:    "Time a voice worker took for a whole synthesis request it accepted, from receipt to its last sentence.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}),
		firstAudio: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "timbre_tts_first_audio_seconds",
			Help:    "Time from a voice worker's receipt of a request to its sending the first sentence's audio.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		slotsBusy: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "timbre_tts_slots_busy",
			Help: "Synthesis slots in use in this process's voice workers.",
		}),
		slots: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "timbre_tts_slots",
			Help: "Synthesis slots of this process's voice workers.",
		}),
		rtf: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "timbre_tts_realtime_factor",
			Help:    "Synthesis time divided by the duration of the audio made, per successful request (below 1 is faster than real time).",
			Buckets: []float64{.02, .05, .1, .2, .3, .5, .75, 1, 1.5, 2, 5},
		}),
	}
	var err error
	if m.requests, err = register(reg, m.requests); err != nil {
		return nil, err
	}
	if m.synthesis, err = register(reg, m.synthesis); err != nil {
		return nil, err
	}
	if m.firstAudio, err = register(reg, m.firstAudio); err != nil {
		return nil, err
	}
	if m.slotsBusy, err = register(reg, m.slotsBusy); err != nil {
		return nil, err
	}
	if m.slots, err = register(reg, m.slots); err != nil {
		return nil, err
	}
	if m.rtf, err = register(reg, m.rtf); err != nil {
		return nil, err
	}
	return m, nil
}

// clientMetrics are a client's; names differ from the worker's so that one
// registry can hold both.
type clientMetrics struct {
	queueDepth prometheus.Gauge
	retries    *prometheus.CounterVec
	workers    prometheus.Gauge
	freeSlots  prometheus.Gauge
	requests   *prometheus.CounterVec
	firstAudio prometheus.Histogram
}

func newClientMetrics(reg prometheus.Registerer) (*clientMetrics, error) {
	m := &clientMetrics{
		queueDepth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "timbre_tts_queue_depth",
			Help: "Synthesis requests that have not had their first audio yet: waiting for a worker, being retried, or synthesising their first sentence.",
		}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "timbre_tts_client_retries_total",
			Help: "Synthesis requests sent again because the previous send never started, by reason (busy, stopping, no_responders, worker_lost, …).",
		}, []string{"reason"}),
		workers: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "timbre_tts_workers",
			Help: "Voice workers advertising and not leaving.",
		}),
		freeSlots: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "timbre_tts_free_slots",
			Help: "Free synthesis slots over the live voice workers, by their latest adverts.",
		}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "timbre_tts_client_requests_total",
			Help: "Synthesis requests sent to voice workers, by result (ok, canceled, busy, no_workers, worker_lost, or the worker's error code).",
		}, []string{"result"}),
		firstAudio: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "timbre_tts_client_first_audio_seconds",
			Help:    "Time from a synthesis request to its first sentence's audio, retries and the bus included.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
	}
	var err error
	if m.queueDepth, err = register(reg, m.queueDepth); err != nil {
		return nil, err
	}
	if m.retries, err = register(reg, m.retries); err != nil {
		return nil, err
	}
	if m.workers, err = register(reg, m.workers); err != nil {
		return nil, err
	}
	if m.freeSlots, err = register(reg, m.freeSlots); err != nil {
		return nil, err
	}
	if m.requests, err = register(reg, m.requests); err != nil {
		return nil, err
	}
	if m.firstAudio, err = register(reg, m.firstAudio); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c with reg (nil: not at all). When an identical
// collector is already registered — another worker of the same process — it
// returns that one, so both count into the same series.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if reg == nil {
		return c, nil
	}
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, fmt.Errorf("worker: register metrics: %w", err)
}
