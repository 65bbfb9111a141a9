package talk

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the voice sessions' Prometheus metrics.
type Metrics struct {
	sessions   prometheus.Gauge
	turns      *prometheus.CounterVec
	bargeIns   prometheus.Counter
	firstAudio prometheus.Histogram
	lateFrames prometheus.Counter
	// droppedFrames counts inbound frames the call dropped because its
	// listener fell behind.
	droppedFrames prometheus.Counter
	// bargeInStop is from the start of the user's speech over the agent to
	// the agent's audio stopping (the detector's onset delay, plus a frame).
	bargeInStop prometheus.Histogram
}

// NewMetrics makes the metrics and registers them with reg (none when nil):
// timbre_rtc_sessions, timbre_voice_turns_total{result},
// timbre_voice_barge_ins_total, timbre_voice_first_audio_seconds (end of
// the user's speech to the reply's first frame sent),
// timbre_voice_barge_in_stop_seconds (the user's speech over the agent to
// its audio stopping) and timbre_rtc_late_frames_total (frames sent more
// than 20 ms late, counted when a call ends) and
// timbre_rtc_inbound_dropped_frames_total (frames of the user's audio
// dropped because the listener fell behind, counted when a call ends).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		sessions: prometheus.NewGauge(prometheus.GaugeOpts{Name: "timbre_rtc_sessions", Help: "Voice sessions open."}),
		turns: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "timbre_voice_turns_total",
			Help: "Voice turns ended, by result (complete or interrupted)."}, []string{"result"}),
		bargeIns: prometheus.NewCounter(prometheus.CounterOpts{Name: "timbre_voice_barge_ins_total",
			Help: "Replies the user interrupted."}),
		firstAudio: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "timbre_voice_first_audio_seconds",
			Help:    "From the end of the user's speech to the reply's first audio frame sent.",
			Buckets: []float64{0.3, 0.5, 0.7, 0.9, 1.2, 1.6, 2, 3, 5, 10}}),
		lateFrames: prometheus.NewCounter(prometheus.CounterOpts{Name: "timbre_rtc_late_frames_total",
			Help: "Outbound audio frames sent more than 20 ms after their time."}),
		droppedFrames: prometheus.NewCounter(prometheus.CounterOpts{Name: "timbre_rtc_inbound_dropped_frames_total",
			Help: "Inbound audio frames dropped because speech detection fell behind (counted when a call ends)."}),
		bargeInStop: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "timbre_voice_barge_in_stop_seconds",
			Help:    "From the start of the user's speech over the agent to the agent's audio stopping.",
			Buckets: []float64{0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.6, 1}}),
	}
	if reg != nil {
		reg.MustRegister(m.sessions, m.turns, m.bargeIns, m.firstAudio, m.lateFrames, m.droppedFrames, m.bargeInStop)
	}
	return m
}
