package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/timbre-ai/timbre/voice/rtc/rtctest"
)

// TestMain lets the test binary be the smoke run's client process, as the
// program is its own.
func TestMain(m *testing.M) {
	if url := os.Getenv(childEnv); url != "" {
		os.Exit(childMain(url, os.Stdin, os.Stdout))
	}
	os.Exit(m.Run())
}

func noEnv(string) (string, bool) { return "", false }

func TestParseFlags(t *testing.T) {
	t.Parallel()
	o, err := parseFlags(nil, noEnv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.turns != 30 || o.ttft != 200*time.Millisecond || !cmp.Equal(o.modes, []string{modeLLM, modeOffline}) ||
		!cmp.Equal(o.idle, []int{10, 25, 50, 100}) || !cmp.Equal(o.speaking, []int{5, 10, 20, 30}) ||
		o.adminURL != defaultAdminURL || !strings.HasSuffix(o.dataDir, "/.data") || o.clients != clientsProcess || o.ttsPath != ttsWorker {
		t.Errorf("defaults = %+v", o)
	}

	q, err := parseFlags([]string{"-quick", "-speaking", "3", "-mode", "offline"},
		func(k string) (string, bool) {
			return map[string]string{"TIMBRE_DATA_DIR": "/d", "TIMBRE_TEST_DATABASE_URL": "postgres://x/y"}[k], true
		}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if q.turns != 1 || q.warmup != 0 || !cmp.Equal(q.idle, []int{2}) || !cmp.Equal(q.speaking, []int{3}) ||
		!cmp.Equal(q.modes, []string{modeOffline}) || q.dataDir != "/d" || q.adminURL != "postgres://x/y" {
		t.Errorf("-quick with -speaking 3 -mode offline = %+v; want 1 turn, idle [2], speaking [3], the environment's dirs", q)
	}

	for _, bad := range [][]string{
		{"-turns", "0"}, {"-mode", "fast"}, {"-mode", ""}, {"-idle", "25,10"}, {"-idle", "x"}, {"-speaking", "0"},
		{"-ttft", "-1s"}, {"-window", "0s"}, {"-silence", "50ms"}, {"-tts", "remote"}, {"-tts-slots", "0"},
		{"-clients", "elsewhere"}, {"-speaking", "5000"}, {"extra"},
	} {
		if _, err := parseFlags(bad, noEnv, io.Discard); err == nil {
			t.Errorf("parseFlags(%q): no error", bad)
		}
	}
}

// tone is a 440 Hz sine of amplitude a lasting d at rate.
func tone(d time.Duration, rate int, a float64) []float32 {
	out := make([]float32, int(d.Seconds()*float64(rate)))
	for i := range out {
		out[i] = float32(a * math.Sin(2*math.Pi*440*float64(i)/float64(rate)))
	}
	return out
}

func TestTrailingSilence(t *testing.T) {
	t.Parallel()
	const rate = 22050
	x := append(tone(time.Second, rate, 0.5), make([]float32, rate*3/10)...)
	// A whisper below −40 dBFS at the end counts as silence.
	x = append(x, tone(100*time.Millisecond, rate, 0.001)...)
	if got := trailingSilence(x, rate); got < 390*time.Millisecond || got > 410*time.Millisecond {
		t.Errorf("trailingSilence = %v, want 400 ms (300 ms of zeros and 100 ms of whisper, to the 10 ms block)", got)
	}
	if got := trailingSilence(tone(time.Second, rate, 0.5), rate); got > 10*time.Millisecond {
		t.Errorf("trailingSilence of a tone to the end = %v, want under a block", got)
	}
	if got := trailingSilence(make([]float32, rate), rate); got != time.Second {
		t.Errorf("trailingSilence of silence = %v, want all of it", got)
	}
	y := append(append(make([]float32, rate/4), tone(50*time.Millisecond, rate, 0.001)...), tone(time.Second, rate, 0.5)...)
	if got := leadingSilence(y, rate); got < 290*time.Millisecond || got > 310*time.Millisecond {
		t.Errorf("leadingSilence = %v, want 300 ms (250 ms of zeros and 50 ms of whisper, to the 10 ms block)", got)
	}
	if got := leadingSilence(make([]float32, rate), rate); got != time.Second {
		t.Errorf("leadingSilence of silence = %v, want all of it", got)
	}
}

func TestSpeechEndSent(t *testing.T) {
	t.Parallel()
	last := time.Unix(1_700_000_000, 0)
	tests := []struct {
		n48, end48 int
		want       time.Duration // before last
	}{
		{9600, 9600, 0},                      // speech to the end: the last packet
		{9600, 4800, 100 * time.Millisecond}, // speech ends with frame 4 of 0–9
		{9601, 4801, 100 * time.Millisecond}, // frames 0–10; the last sample of speech is the first of frame 5
		{9600, 961, 160 * time.Millisecond},  // frame 1 of 0–9
		{9600, 0, 180 * time.Millisecond},    // no speech: frame 0
	}
	for _, tt := range tests {
		if got := last.Sub(speechEndSent(last, question{n48: tt.n48, end48: tt.end48})); got != tt.want {
			t.Errorf("n48 %d, end48 %d: speech ended %v before the last packet, want %v", tt.n48, tt.end48, got, tt.want)
		}
	}
}

func TestArrivals(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1_700_000_000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	arr := []rtctest.Arrival{
		{At: at(0), Timestamp: 0, RMS: 0.001},
		{At: at(20), Timestamp: 960, RMS: 0.2},
		{At: at(45), Timestamp: 1920, RMS: math.NaN()}, // out of order: no level
		{At: at(60), Timestamp: 2880, RMS: 0.3},
		{At: at(80), Timestamp: 3840, RMS: 0.0001},
	}
	if got, ok := firstAudible(arr, at(0)); !ok || !got.Equal(at(20)) {
		t.Errorf("firstAudible after 0 ms = %v, %v; want the packet at 20 ms", got, ok)
	}
	if got, ok := firstAudible(arr, at(20)); !ok || !got.Equal(at(60)) {
		t.Errorf("firstAudible after 20 ms = %v, %v; want the packet at 60 ms (not the one without a level)", got, ok)
	}
	if _, ok := firstAudible(arr, at(60)); ok {
		t.Error("firstAudible after the last loud packet found one")
	}
	if first, last, ok := audibleSpan(arr); !ok || first != 1 || last != 3 {
		t.Errorf("audibleSpan = %d, %d, %v; want 1, 3", first, last, ok)
	}
	if _, _, ok := audibleSpan(arr[:1]); ok {
		t.Error("audibleSpan of a quiet packet: found one")
	}
	dv := delayVariation(arr)
	want := []float64{0, 0, 5, 0, 0}
	if !cmp.Equal(dv, want, cmp.Comparer(func(a, b float64) bool { return math.Abs(a-b) < 1e-9 })) {
		t.Errorf("delayVariation = %v, want %v", dv, want)
	}
	// The earliest packet is the reference, wherever it is.
	early := []rtctest.Arrival{{At: at(10), Timestamp: 0}, {At: at(20), Timestamp: 960}}
	if got := delayVariation(early); !cmp.Equal(got, []float64{10, 0}) {
		t.Errorf("delayVariation with a late first packet = %v, want [10 0]", got)
	}
}

func TestQuant(t *testing.T) {
	t.Parallel()
	xs := []float64{5, 1, 4, 2, 3, 10, 9, 8, 7, 6}
	want := quant{N: 10, P50: 5, P95: 10, P99: 10, Max: 10}
	if got := quantOf(xs); got != want {
		t.Errorf("quantOf = %+v, want %+v", got, want)
	}
	if got := quantOf(nil); got != (quant{}) {
		t.Errorf("quantOf(nil) = %+v, want zero", got)
	}
}

func TestStatCPU(t *testing.T) {
	t.Parallel()
	got, err := statCPU("4242 (voice chat (x)) S 1 4242 4242 0 -1 4194560 500 0 0 0 150 25 0 0 20 0 9 0 100")
	if err != nil || got != 1750*time.Millisecond {
		t.Errorf("statCPU = %v, %v; want 1.75s", got, err)
	}
	if _, err := statCPU("4242 (x) S 1 2"); err == nil {
		t.Error("statCPU of a short line: no error")
	}
	busy, all := parseHostTicks("cpu  100 5 50 800 40 3 2 0 7 0")
	if busy != 160 || all != 1000 {
		t.Errorf("parseHostTicks = %d busy of %d, want 160 of 1000", busy, all)
	}
	if busy, all := parseHostTicks("cpu0 1 2 3 4 5"); busy != 0 || all != 0 {
		t.Errorf("parseHostTicks of a per-CPU line = %d, %d; want nothing", busy, all)
	}
}

func TestLogCapture(t *testing.T) {
	t.Parallel()
	h := newLogCapture(slog.LevelInfo)
	log := slog.New(h).With("session_id", "rtc_1", "agent_id", "a")
	log.Info("voice session started")
	log.Info("voice session ended", "reason", "hangup", "frames_sent", int64(500), "frames_late", int64(3), "max_late_ms", int64(41))
	slog.New(h.atLevel(slog.LevelWarn)).Info("not kept")
	slog.New(h.atLevel(slog.LevelWarn)).Warn("something slipped", "error", "x")
	slog.New(h.atLevel(slog.LevelWarn)).Warn("Failed to ping without candidate pairs", "pion", "ice")
	slog.New(h.atLevel(slog.LevelWarn)).Warn("[0x3621ea96d188] failed to write packets", "pion", "sctp")
	slog.New(h.atLevel(slog.LevelWarn)).Warn("[0x1] failed to write packets", "pion", "sctp")

	ends, missing := h.ended([]string{"rtc_1", "rtc_2"})
	want := []sessionEnd{{reason: "hangup", framesSent: 500, framesLate: 3, maxLate: 41}}
	if !cmp.Equal(ends, want, cmp.AllowUnexported(sessionEnd{})) || missing != 1 {
		t.Errorf("ended = %+v, %d missing; want %+v and 1 missing", ends, missing, want)
	}
	pion, n, first := h.warnings()
	if want := map[string]int{"Failed to ping without candidate pairs": 1, "failed to write packets": 2}; !cmp.Equal(pion, want) {
		t.Errorf("pion's warnings = %v, want %v", pion, want)
	}
	if n != 1 || len(first) != 1 || !strings.Contains(first[0], "something slipped") {
		t.Errorf("other warnings = %d %q, want the one, kept", n, first)
	}
}

func TestSummariseMode(t *testing.T) {
	t.Parallel()
	lat := func(total int) map[string]int {
		return map[string]int{"end_of_turn_ms": 512, "transcript_ms": 100, "first_token_ms": 250, "first_sentence_ms": 150,
			"first_synth_ms": 300, "first_audio_ms": 10, "total_ms": total}
	}
	outs := []turnOutcome{
		{question: "a", heard: "a", latency: lat(1300), clientMS: 1350},
		{question: "b", heard: "b", latency: lat(1400), clientMS: 1420},
		{question: "c", failure: "nothing recognised", clientMS: -1},
	}
	st := standalone{vad: []float64{512}, asr: []float64{90}, ttft: []float64{201}, segment: []float64{140},
		piper: []float64{280}, opus: []float64{0.3, 0.2, 0.4}}
	r := summariseMode(modeLLM, outs, st)
	if r.Turns != 3 || r.Failed != 1 || len(r.Failures) != 1 || len(r.Heard) != 2 {
		t.Errorf("turns %d, failed %d (%q), heard %q; want 3, 1 and two heard", r.Turns, r.Failed, r.Failures, r.Heard)
	}
	if r.Total.N != 2 || r.Total.P50 != 1300 || r.Client.P50 != 1350 {
		t.Errorf("total %+v, client %+v; want 2 turns, p50 1300 and 1350", r.Total, r.Client)
	}
	if len(r.Stages) != len(stageKeys) || r.Stages[0].Pipeline.P50 != 512 || r.Stages[5].Alone.P50 != 0.3 {
		t.Errorf("stages = %+v", r.Stages)
	}
	if sum := 512 + 90 + 201 + 140 + 280 + 0.3; math.Abs(r.AloneSum-sum) > 1e-9 || math.Abs(r.Ratio-1300/sum) > 1e-9 {
		t.Errorf("alone sum %v, ratio %v; want %v and %v", r.AloneSum, r.Ratio, sum, 1300/sum)
	}
}

func TestWords(t *testing.T) {
	t.Parallel()
	if got := words("Rowan here.  I can't."); !cmp.Equal(got, []string{"Rowan ", "here.  ", "I ", "can't."}) {
		t.Errorf("words = %q", got)
	}
	if got := segmentAlone("Rowan here. I can't hold a conversation."); got < 0 {
		t.Errorf("segmentAlone = %v", got)
	}
}

// TestQuickRun makes a whole tiny run against PostgreSQL, the voices, the
// VAD model and pocketsphinx, its clients in a child process (this test
// binary), and checks that every phase reported what it measured. It
// asserts nothing about speed.
func TestQuickRun(t *testing.T) {
	args := []string{"-quick", "-json"}
	if os.Getenv("TIMBRE_DATA_DIR") == "" {
		args = append(args, "-data-dir", "../../.data")
	}
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	done := make(chan int, 1)
	go func() { done <- run(args, &stdout, &stderr) }()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("run %q exited %d (run `make setup` for PostgreSQL, the voices, the VAD model and pocketsphinx):\n%s", args, code, stderr.String())
		}
	case <-ctx.Done():
		t.Fatalf("run %q did not finish in 3 minutes:\n%s", args, stderr.String())
	}
	var rep Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("the report is not JSON: %v\n%s", err, stdout.String())
	}
	if len(rep.Modes) != 2 {
		t.Fatalf("modes = %d, want llm and offline", len(rep.Modes))
	}
	for _, m := range rep.Modes {
		if m.Turns != 1 || m.Total.N == 0 || m.Client.N == 0 || m.AloneSum <= 0 || m.Ratio <= 0 {
			t.Errorf("%s: %d turns, %d with a total, %d seen by the client, alone sum %v, ratio %v; want 1 turn and the figures",
				m.Mode, m.Turns, m.Total.N, m.Client.N, m.AloneSum, m.Ratio)
		}
		for _, s := range m.Stages {
			if s.Pipeline.N != m.Total.N || s.Alone.N == 0 {
				t.Errorf("%s %s: %d turns timed it, %d alone; want %d and some", m.Mode, s.Stage, s.Pipeline.N, s.Alone.N, m.Total.N)
			}
		}
		if m.Total.P50 < m.Stages[0].Pipeline.P50 {
			t.Errorf("%s: total p50 %v is less than its end-of-turn stage %v", m.Mode, m.Total.P50, m.Stages[0].Pipeline.P50)
		}
		if m.WorkerFirstAudio.N == 0 || m.LeadingQuiet.N == 0 || m.SpeechEndLag.N == 0 {
			t.Errorf("%s: first audio through the voice worker, leading quiet, speech end lag: %d, %d, %d measured; want some",
				m.Mode, m.WorkerFirstAudio.N, m.LeadingQuiet.N, m.SpeechEndLag.N)
		}
	}
	if rep.Idle == nil || len(rep.Idle.Levels) != 1 {
		t.Fatalf("idle = %+v, want one level", rep.Idle)
	}
	l := rep.Idle.Levels[0]
	if l.Calls != 2 || l.Cores.Server <= 0 || l.Cores.Client <= 0 || l.ServerRSSMiB <= 0 || l.ClientRSSMiB <= 0 || l.Probe == nil {
		t.Errorf("idle level = %+v; want 2 calls, CPU and memory of both processes, a probe", l)
	}
	if len(rep.Speaking) != 1 {
		t.Fatalf("speaking levels = %d, want 1", len(rep.Speaking))
	}
	sp := rep.Speaking[0]
	if sp.Calls != 2 || sp.Failed != 0 || sp.FramesSent == 0 || sp.FirstAudible.N != 2 || sp.Stretch.N != 2 || sp.DelayVar.N == 0 {
		t.Errorf("speaking level = %+v; want 2 whole replies, frames counted, first audio, stretch and delay variation", sp)
	}
	if sp.MetricLate != float64(sp.FramesLate) {
		t.Errorf("timbre_rtc_late_frames_total grew by %v, the session logs count %d late frames", sp.MetricLate, sp.FramesLate)
	}
	var text bytes.Buffer
	if err := writeText(&text, rep); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"latency, llm mode", "latency, offline mode", "overhead ratio", "idle calls", "agents speaking at once"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("the text report lacks %q:\n%s", want, text.String())
		}
	}
	t.Logf("%s", text.String())
}
