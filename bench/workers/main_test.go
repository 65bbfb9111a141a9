package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/timbre-ai/timbre/bus"
	"github.com/timbre-ai/timbre/bus/bustest"
	"github.com/timbre-ai/timbre/voice/tts"
	"github.com/timbre-ai/timbre/voice/worker"
)

func TestFailure(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		err       error
		sentences int
		want      string
	}{
		{"success", nil, 3, ""},
		{"busy after retries", fmt.Errorf("worker: gave up after 5 attempts: %w", worker.ErrBusy), 0, failBusy},
		{"no workers", fmt.Errorf("%w: gave up", worker.ErrNoWorkers), 0, failNoWorkers},
		{"lost after audio", fmt.Errorf("voice worker w1 stopped responding mid-stream (1 sentences delivered): %w", bus.ErrWorkerLost), 1, failLostMidStream},
		{"lost before audio", fmt.Errorf("gave up: %w", bus.ErrWorkerLost), 0, failLostBefore},
		{"deadline", fmt.Errorf("worker: synthesis: %w", context.DeadlineExceeded), 0, failDeadline},
		{"engine", fmt.Errorf("voice worker w1: %w", tts.ErrEngine), 0, failOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := failure(tt.err, tt.sentences); got != tt.want {
				t.Errorf("failure(%v, %d) = %q, want %q", tt.err, tt.sentences, got, tt.want)
			}
		})
	}
}

func TestSummarise(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1_700_000_000, 0)
	ok := func(stream int, first, total, audio time.Duration) request {
		return request{stream: stream, start: t0, firstAudio: first, total: total, audio: audio, sentences: 3}
	}
	busy := request{stream: 1, start: t0, total: 800 * time.Millisecond, err: fmt.Errorf("x: %w", worker.ErrBusy)}

	tests := []struct {
		name    string
		reqs    []request
		streams int
		wall    time.Duration
		want    loadSummary
	}{
		{
			name:    "two streams keep up",
			reqs:    []request{ok(0, 100*time.Millisecond, time.Second, 8*time.Second), ok(1, 200*time.Millisecond, 2*time.Second, 8*time.Second), ok(0, 300*time.Millisecond, 4*time.Second, 8*time.Second)},
			streams: 2,
			wall:    4 * time.Second,
			want: loadSummary{requests: 3, ok: 3, failures: map[string]int{}, audioPerSec: 6, rtf50: 0.25, rtf95: 0.5,
				streamRTFWorst: 5.0 / 16, first50: 200 * time.Millisecond, first95: 300 * time.Millisecond, keepsUp: true},
		},
		{
			name:    "a busy failure: does not keep up, costs its stream time",
			reqs:    []request{ok(0, 100*time.Millisecond, time.Second, 8*time.Second), ok(1, 100*time.Millisecond, time.Second, 8*time.Second), busy},
			streams: 2,
			wall:    2 * time.Second,
			want: loadSummary{requests: 3, ok: 2, failures: map[string]int{failBusy: 1}, audioPerSec: 8, rtf50: 0.125, rtf95: 0.125,
				streamRTFWorst: 1.8 / 8, first50: 100 * time.Millisecond, first95: 100 * time.Millisecond},
		},
		{
			name:    "a stream slower than real time",
			reqs:    []request{ok(0, time.Second, 3*time.Second, 2*time.Second)},
			streams: 1,
			wall:    3 * time.Second,
			want: loadSummary{requests: 1, ok: 1, failures: map[string]int{}, audioPerSec: 2.0 / 3, rtf50: 1.5, rtf95: 1.5,
				streamRTFWorst: 1.5, first50: time.Second, first95: time.Second},
		},
		{
			name:    "a stream that got nothing",
			reqs:    []request{ok(0, 100*time.Millisecond, time.Second, 8*time.Second), busy},
			streams: 2,
			wall:    time.Second,
			want: loadSummary{requests: 2, ok: 1, failures: map[string]int{failBusy: 1}, audioPerSec: 8, rtf50: 0.125, rtf95: 0.125,
				streamRTFWorst: 0.125, first50: 100 * time.Millisecond, first95: 100 * time.Millisecond},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := summarise(tt.reqs, tt.streams, tt.wall)
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(loadSummary{}), approx); diff != "" {
				t.Errorf("summarise (-want +got):\n%s", diff)
			}
		})
	}
}

var approx = cmp.Comparer(func(a, b float64) bool { return math.Abs(a-b) < 1e-9 })

func TestLossSummarise(t *testing.T) {
	t.Parallel()
	kill := time.Unix(1_700_000_000, 0)
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	at := func(offset, first, total time.Duration, sentences int, err error) request {
		return request{start: kill.Add(offset), firstAudio: first, total: total, sentences: sentences, err: err}
	}
	lost := fmt.Errorf("stopped responding mid-stream: %w", bus.ErrWorkerLost)
	r := lossRound{killAt: kill, reqs: []request{
		at(-ms(900), ms(100), ms(500), 3, nil),                              // finished before the kill
		at(-ms(300), ms(100), ms(600), 3, nil),                              // in flight with audio, ok
		at(-ms(200), ms(100), ms(1900), 1, lost),                            // lost mid-stream, error 1.7 s after
		at(-ms(50), ms(1850), ms(2400), 3, nil),                             // waiting at the kill, sent again, ok
		at(-ms(20), 0, ms(1600), 0, fmt.Errorf("x: %w", bus.ErrWorkerLost)), // lost before audio, gave up
		at(ms(10), ms(100), ms(500), 3, nil),                                // started after
		at(ms(20), 0, ms(700), 0, fmt.Errorf("x: %w", worker.ErrBusy)),      // started after, failed
	}}
	got := r.summarise()
	want := lossSummary{
		inFlight: 4, ok: 2, midStream: 1, beforeAudio: 1,
		errorAfter: []time.Duration{ms(1580), ms(1700)},
		waitingOK:  []time.Duration{ms(1800)},
		after:      2, afterFailed: 1, afterFirstMax: ms(100),
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(lossSummary{})); diff != "" {
		t.Errorf("summarise (-want +got):\n%s", diff)
	}
}

func TestParseExposition(t *testing.T) {
	t.Parallel()
	const text = `# HELP timbre_tts_requests_total Synthesis requests a voice worker answered.
# TYPE timbre_tts_requests_total counter
timbre_tts_requests_total{result="busy"} 67
timbre_tts_requests_total{result="ok"} 6
# TYPE timbre_tts_synthesis_seconds histogram
timbre_tts_synthesis_seconds_bucket{le="0.5"} 5
timbre_tts_synthesis_seconds_bucket{le="+Inf"} 6
timbre_tts_synthesis_seconds_sum 2.4
timbre_tts_synthesis_seconds_count 6
timbre_tts_slots 2
go_info{version="go1.26 (devel) x"} 1
broken_line
not_a_number NaNx
`
	got, err := parseExposition(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{
		`timbre_tts_requests_total{result="busy"}`:       67,
		`timbre_tts_requests_total{result="ok"}`:         6,
		`timbre_tts_synthesis_seconds_bucket{le="0.5"}`:  5,
		`timbre_tts_synthesis_seconds_bucket{le="+Inf"}`: 6,
		`timbre_tts_synthesis_seconds_sum`:               2.4,
		`timbre_tts_synthesis_seconds_count`:             6,
		`timbre_tts_slots`:                               2,
		`go_info{version="go1.26 (devel) x"}`:            1,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parseExposition (-want +got):\n%s", diff)
	}

	stats := readWorkerStats(delta(got, map[string]float64{`timbre_tts_requests_total{result="ok"}`: 2, "timbre_tts_synthesis_seconds_count": 2, "timbre_tts_synthesis_seconds_sum": 0.4}))
	if stats.synthesisMean != 500*time.Millisecond {
		t.Errorf("synthesis mean = %s, want 500ms (2 s over 4 requests)", stats.synthesisMean)
	}
	if diff := cmp.Diff(map[string]float64{"busy": 67, "ok": 4}, stats.results); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
}

func TestStatCPU(t *testing.T) {
	t.Parallel()
	// A command name with spaces and a parenthesis; utime 150, stime 25.
	const stat = "4242 (timbre (w) x) S 1 4242 4242 0 -1 4194560 500 0 0 0 150 25 0 0 20 0 9 0 100 1000 200 rest"
	got, err := statCPU(stat)
	if err != nil {
		t.Fatal(err)
	}
	if want := 1750 * time.Millisecond; got != want {
		t.Errorf("statCPU = %s, want %s", got, want)
	}
	if _, err := statCPU("4242 (timbre) S 1 2"); err == nil {
		t.Error("statCPU of a short line: no error")
	}
}

func TestSetupsAndLists(t *testing.T) {
	t.Parallel()
	got := setups([]int{1, 2}, []int{1, 2}, []int{1})
	want := []setup{{1, 1, 1}, {1, 2, 1}, {2, 1, 1}, {2, 2, 1}}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(setup{})); diff != "" {
		t.Errorf("setups (-want +got):\n%s", diff)
	}
	if got := (setup{2, 1, 1}).describe(); got != "2 worker processes, TIMBRE_TTS_SLOTS=1, TIMBRE_TTS_THREADS=1 (2 slots in all)" {
		t.Errorf("describe = %q", got)
	}
	for _, bad := range []string{"1,x", "0", "-2"} {
		if _, err := intList(bad); err == nil {
			t.Errorf("intList(%q): no error", bad)
		}
	}
	gotSetups, err := parseSetups("1x16x1, 2×8×1")
	if err != nil || !cmp.Equal(gotSetups, []setup{{1, 16, 1}, {2, 8, 1}}, cmp.AllowUnexported(setup{})) {
		t.Errorf("parseSetups = %v, %v; want [1×16×1 2×8×1]", gotSetups, err)
	}
	for _, bad := range []string{"1x2", "1x0x1", "axbxc", "1x2x3x4", "1,,x2x1"} {
		if _, err := parseSetups(bad); err == nil {
			t.Errorf("parseSetups(%q): no error", bad)
		}
	}
	if got, err := intList(" 1, 2,,16 "); err != nil || !cmp.Equal(got, []int{1, 2, 16}) {
		t.Errorf("intList = %v, %v; want [1 2 16]", got, err)
	}
}

func TestCounts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		m    map[string]float64
		want string
	}{
		{nil, "0"},
		{map[string]float64{"busy": 56}, "56 busy"},
		{map[string]float64{"ok": 6, "busy": 67}, "73 (busy 67, ok 6)"},
		{map[string]float64{"ok": 0, "busy": 3}, "3 busy"},
	}
	for _, tt := range tests {
		if got := countsF(tt.m); got != tt.want {
			t.Errorf("countsF(%v) = %q, want %q", tt.m, got, tt.want)
		}
	}
}

func TestTailBuffer(t *testing.T) {
	t.Parallel()
	b := &tailBuffer{max: 8}
	for _, s := range []string{"abc", "defgh", "ijkl"} {
		if n, err := b.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	if got := b.String(); got != "efghijkl" {
		t.Errorf("tail = %q, want the last 8 bytes %q", got, "efghijkl")
	}
}

// fakeEngine speaks every request as three sentences of 0.1 s, with a
// short pause before each, so that requests overlap.
type fakeEngine struct{}

var fakeVoice = tts.Voice{ID: "fake", Name: "Fake", Language: "en", Kind: tts.KindBuiltin, SampleRate: 8000, Engine: "fake"}

func (fakeEngine) Voices() []tts.Voice { return []tts.Voice{fakeVoice} }

func (fakeEngine) Close() error { return nil }

func (fakeEngine) Stream(ctx context.Context, req tts.Request, onChunk func(tts.Chunk) error) error {
	for i := range 3 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
		if err := onChunk(tts.Chunk{Seq: i, Text: req.Text, Samples: make([]float32, 800), SampleRate: 8000}); err != nil {
			return err
		}
	}
	return nil
}

// TestDrive runs the load loops against an in-process worker with one
// slot, so some requests are turned away, and checks that every request
// is recorded as the client's metrics count it.
func TestDrive(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b := bustest.New(t)
	w, err := worker.Start(ctx, b, fakeEngine{}, worker.Config{Slots: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	reg := prometheus.NewRegistry()
	c, err := worker.NewClient(b, worker.ClientConfig{Registerer: reg}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}

	d := drive(ctx, c, 3, fakeVoice.ID, "One. Two. Three.")
	time.Sleep(300 * time.Millisecond)
	reqs := d.finish()

	if len(reqs) == 0 {
		t.Fatal("no requests recorded")
	}
	oks := 0
	for _, r := range reqs {
		if r.stream < 0 || r.stream >= 3 {
			t.Errorf("request of stream %d, want 0–2", r.stream)
		}
		switch kind := failure(r.err, r.sentences); kind {
		case "":
			oks++
			if r.sentences != 3 || r.audio != 300*time.Millisecond || r.firstAudio <= 0 || r.firstAudio > r.total {
				t.Errorf("successful request: %d sentences, %s of audio, first audio %s of %s; want 3, 300ms, within the total",
					r.sentences, r.audio, r.firstAudio, r.total)
			}
		case failBusy:
		default:
			t.Errorf("request failed with %q (%v); only busy is expected of a one-slot worker", kind, r.err)
		}
	}
	if oks == 0 {
		t.Error("no request succeeded")
	}
	results := counters(reg, metricClientResults, "result")
	if got := int(sum(results)); got != len(reqs) {
		t.Errorf("client counted %d requests (%v), the loops recorded %d", got, results, len(reqs))
	}
	if got := int(results["ok"]); got != oks {
		t.Errorf("client counted %d ok, the loops %d", got, oks)
	}
	if got := gauge(reg, metricQueueDepth); got != 0 {
		t.Errorf("queue depth after the loops finished = %v, want 0", got)
	}
	if got := gauge(reg, metricWorkers); got != 1 {
		t.Errorf("%s = %v, want 1", metricWorkers, got)
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Error("the test ran out of time")
	}
}
