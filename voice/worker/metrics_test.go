package worker

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/timbre-ai/timbre/bus/bustest"
	"github.com/timbre-ai/timbre/voice/tts"
)

// sampleCount is the number of observations of histogram name in reg.
func sampleCount(t *testing.T, reg *prometheus.Registry, name string) uint64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	for _, f := range families {
		if f.GetName() == name {
			return f.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// value is the value of gauge or counter name{labels} in reg.
func value(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			for i, lp := range m.GetLabel() {
				if i*2+1 >= len(labels) || lp.GetName() != labels[i*2] || lp.GetValue() != labels[i*2+1] {
					continue metrics
				}
			}
			if m.GetGauge() != nil {
				return m.GetGauge().GetValue()
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// TestMetrics runs a worker and a client in one registry, as `timbre serve`
// does with its in-process workers.
func TestMetrics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	b := bustest.New(t)
	c := newClient(t, b, ClientConfig{Registerer: reg})
	release := make(chan struct{})
	e := newFake()
	e.behave = func(ctx context.Context, req tts.Request, emit func(tts.Chunk) error) error {
		if req.Text == "hold" {
			return gated(release, 0)(ctx, req, emit)
		}
		return speak(ctx, req, emit)
	}
	startWorker(t, b, e, Config{ID: "w1", Slots: 2, AdvertiseEvery: 20 * time.Millisecond, Registerer: reg})
	waitWorkers(t, c, "w1")

	if _, err := collect(t, t.Context(), c, tts.Request{Voice: "jenny", Text: "One.|Two."}); err != nil {
		t.Fatalf("Stream: %v", err)
	}
	for _, tt := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"timbre_tts_requests_total", []string{"result", "ok"}, 1},
		{"timbre_tts_slots", nil, 2},
		{"timbre_tts_slots_busy", nil, 0},
		{"timbre_tts_client_requests_total", []string{"result", "ok"}, 1},
		{"timbre_tts_queue_depth", nil, 0},
		{"timbre_tts_workers", nil, 1},
		{"timbre_tts_free_slots", nil, 2},
	} {
		if got := value(t, reg, tt.name, tt.labels...); got != tt.want {
			t.Errorf("%s%v = %v, want %v", tt.name, tt.labels, got, tt.want)
		}
	}
	for _, name := range []string{"timbre_tts_synthesis_seconds", "timbre_tts_first_audio_seconds", "timbre_tts_realtime_factor", "timbre_tts_client_first_audio_seconds"} {
		if got := sampleCount(t, reg, name); got != 1 {
			t.Errorf("%s has %d observations, want 1", name, got)
		}
	}

	// A request held before its first audio is in the queue depth and holds
	// a slot.
	done := make(chan error, 1)
	go func() {
		_, err := collect(t, t.Context(), c, tts.Request{Voice: "jenny", Text: "hold"})
		done <- err
	}()
	receive(t, e.started, "the held synthesis to start")
	eventually(t, "the gauges to show the held request", func() bool {
		return value(t, reg, "timbre_tts_queue_depth") == 1 && value(t, reg, "timbre_tts_slots_busy") == 1 &&
			value(t, reg, "timbre_tts_free_slots") == 1
	})
	close(release)
	if err := receive(t, done, "the held Stream to end"); err != nil {
		t.Fatalf("Stream: %v", err)
	}
	if got := value(t, reg, "timbre_tts_queue_depth"); got != 0 {
		t.Errorf("queue depth after the request = %v, want 0", got)
	}

	// A second worker of the same process shares the series.
	startWorker(t, b, newFake(), Config{ID: "w2", Slots: 3, Registerer: reg})
	if got := value(t, reg, "timbre_tts_slots"); got != 5 {
		t.Errorf("timbre_tts_slots with two workers = %v, want 5", got)
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatalf("GatherAndLint: %v", err)
	}
	for _, p := range problems {
		t.Errorf("metric %s: %s", p.Metric, p.Text)
	}
}

func TestMetricsUnregistered(t *testing.T) {
	t.Parallel()
	b, c := setup(t, ClientConfig{})
	startWorker(t, b, newFake(), Config{ID: "w1"})
	waitWorkers(t, c, "w1")
	if _, err := collect(t, t.Context(), c, tts.Request{Voice: "jenny", Text: "Hi."}); err != nil {
		t.Fatalf("Stream without a registry: %v", err)
	}
}
