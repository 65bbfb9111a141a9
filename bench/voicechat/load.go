package main

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/timbre-ai/timbre/voice/talk"
)

// idleLevel is the machine's state with Calls idle calls open.
type idleLevel struct {
	Calls int   `json:"calls"`
	Cores cores `json:"cores"`
	// ServerRSSMiB and ClientRSSMiB are the processes' resident memory.
	ServerRSSMiB float64 `json:"server_rss_mib"`
	ClientRSSMiB float64 `json:"client_rss_mib"`
	// Probe is a spoken turn on one more call, after the CPU window.
	Probe *probe `json:"probe,omitempty"`
}

// probe is one spoken turn's outcome.
type probe struct {
	TotalMS  int     `json:"total_ms"`
	ClientMS float64 `json:"client_ms"`
	Failure  string  `json:"failure,omitempty"`
}

type idleReport struct {
	// Baseline is the server with only the probe call open.
	Baseline idleLevel   `json:"baseline"`
	Levels   []idleLevel `json:"levels"`
}

// settle is how long a level rests after its calls are open, before it is
// measured (their first packets, the detectors' first windows); a quick
// run rests less.
func (s *server) settle() {
	if s.o.quick {
		time.Sleep(500 * time.Millisecond)
		return
	}
	time.Sleep(2 * time.Second)
}

// runIdle holds more and more calls whose clients send silence, and at
// each level measures the CPU over window and speaks one question on a
// probe call of this process.
func (s *server) runIdle(ctx context.Context, cl clients, qs []question, levels []int, window time.Duration, say func(string, ...any)) (idleReport, error) {
	var rep idleReport
	probeCall, _, err := s.dial(ctx, s.managers[modeLLM])
	if err != nil {
		return rep, err
	}
	defer func() { _ = probeCall.Close() }()
	runtime.GC()
	s.settle()
	measure := func(calls int) idleLevel {
		a := sampleUsage(cl.pid())
		time.Sleep(window)
		b := sampleUsage(cl.pid())
		return idleLevel{Calls: calls, Cores: coresBetween(a, b, cl.pid() > 0), ServerRSSMiB: mib(b.serverRSS), ClientRSSMiB: mib(b.clientRSS)}
	}
	rep.Baseline = measure(0)
	open := 0
	for i, n := range levels {
		if _, err := cl.do(ctx, request{Op: "dial", N: n - open}); err != nil {
			return rep, fmt.Errorf("open %d idle calls: %w", n, err)
		}
		open = n
		s.settle()
		l := measure(n)
		out, err := speakTurn(ctx, probeCall, qs[i%len(qs)])
		if err != nil {
			return rep, fmt.Errorf("probe turn with %d idle calls: %w", n, err)
		}
		l.Probe = &probe{TotalMS: out.latency["total_ms"], ClientMS: out.clientMS, Failure: out.failure}
		rep.Levels = append(rep.Levels, l)
		say("idle: %d calls, server %.2f cores, clients %.2f cores", n, l.Cores.Server, l.Cores.Client)
	}
	if _, err := cl.do(ctx, request{Op: "close"}); err != nil {
		return rep, err
	}
	_ = probeCall.Close()
	return rep, s.waitIdle(ctx, 60*time.Second)
}

// speakingLevel is Calls agents speaking a long reply at once.
type speakingLevel struct {
	Calls int `json:"calls"`
	// Failed counts replies that did not come whole; Failures are the
	// first few reasons.
	Failed   int      `json:"failed"`
	Failures []string `json:"failures,omitempty"`
	// FramesSent and FramesLate are the server's outbound frames over the
	// sessions' lives (voice/talk logs them when a session ends), late
	// meaning sent more than 20 ms after their slot; MaxLateMS is the
	// worst.
	FramesSent int64   `json:"frames_sent"`
	FramesLate int64   `json:"frames_late"`
	LatePct    float64 `json:"late_pct"`
	MaxLateMS  int64   `json:"max_late_ms"`
	// MetricLate is timbre_rtc_late_frames_total's growth (the same count,
	// from the Prometheus metric).
	MetricLate float64 `json:"metric_late"`
	// FirstAudible is the message typed → the reply's first audible
	// packet at the client (ms).
	FirstAudible quant `json:"first_audible_ms"`
	// Stretch is, per reply, its audible span at the client ÷ the audio
	// the server sent for it: above 1 when the reply stalled (synthesis
	// behind the player).
	Stretch quant `json:"stretch"`
	// DelayVar is the reply packets' delay variation at the clients (ms).
	DelayVar quant `json:"delay_var_ms"`
	// TTSBusy counts the syntheses the voice worker turned away for want
	// of a free slot, TTSRetries the client's sends again for any reason
	// (both 0 with -tts direct, whose requests wait for a slot in
	// process).
	TTSBusy    float64 `json:"tts_busy"`
	TTSRetries float64 `json:"tts_retries"`
	// Seconds is from the messages typed to the last reply's end.
	Seconds      float64 `json:"seconds"`
	Cores        cores   `json:"cores"`
	ServerRSSMiB float64 `json:"server_rss_mib"`
	ClientRSSMiB float64 `json:"client_rss_mib"`
}

// runSpeaking has, at each level, that many calls type a message at once,
// answered at once by the fake model with the story (about 20 s of
// speech), and measures how the server keeps the replies' pace.
func (s *server) runSpeaking(ctx context.Context, cl clients, sig *signaling, story string, levels []int, say func(string, ...any)) ([]speakingLevel, error) {
	s.model.useInstant.Store(true)
	defer s.model.useInstant.Store(false)
	var out []speakingLevel
	for _, n := range levels {
		mark := sig.mark()
		lateBefore := s.counter("timbre_rtc_late_frames_total")
		busyBefore := s.counter("timbre_tts_requests_total", "result", "busy")
		retriesBefore := s.counter("timbre_tts_client_retries_total")
		if _, err := cl.do(ctx, request{Op: "dial", N: n}); err != nil {
			return out, fmt.Errorf("open %d calls: %w", n, err)
		}
		s.settle()
		a := sampleUsage(cl.pid())
		resp, err := cl.do(ctx, request{Op: "text", Text: story, Timeout: 10 * time.Minute})
		b := sampleUsage(cl.pid())
		if err != nil {
			return out, fmt.Errorf("%d calls speaking: %w", n, err)
		}
		if _, err := cl.do(ctx, request{Op: "close"}); err != nil {
			return out, err
		}
		if err := s.waitIdle(ctx, 60*time.Second); err != nil {
			return out, err
		}
		l := speakingLevel{Calls: n, Seconds: b.at.Sub(a.at).Seconds(), Cores: coresBetween(a, b, cl.pid() > 0),
			ServerRSSMiB: mib(b.serverRSS), ClientRSSMiB: mib(b.clientRSS)}
		opened := sig.since(mark)
		if err := s.collectFrames(ctx, &l, opened); err != nil {
			return out, err
		}
		l.MetricLate = s.counter("timbre_rtc_late_frames_total") - lateBefore
		l.TTSBusy = s.counter("timbre_tts_requests_total", "result", "busy") - busyBefore
		l.TTSRetries = s.counter("timbre_tts_client_retries_total") - retriesBefore
		if err := s.summariseReplies(ctx, &l, resp.Speak, opened); err != nil {
			return out, err
		}
		out = append(out, l)
		say("speaking: %d calls, %d of %d frames late (%.2f%%), %d failed", n, l.FramesLate, l.FramesSent, l.LatePct, l.Failed)
	}
	return out, nil
}

// collectFrames adds up the outbound frames of the sessions opened, from
// their end records.
func (s *server) collectFrames(ctx context.Context, l *speakingLevel, opened []talk.Opened) error {
	ids := make([]string, len(opened))
	for i, o := range opened {
		ids[i] = o.SessionID
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		ends, missing := s.logs.ended(ids)
		if missing == 0 || time.Now().After(deadline) {
			if missing > 0 {
				return fmt.Errorf("%d of %d sessions logged no end", missing, len(ids))
			}
			for _, e := range ends {
				l.FramesSent += e.framesSent
				l.FramesLate += e.framesLate
				l.MaxLateMS = max(l.MaxLateMS, e.maxLate)
			}
			if l.FramesSent > 0 {
				l.LatePct = 100 * float64(l.FramesLate) / float64(l.FramesSent)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// summariseReplies reads what the clients saw against what the server
// stored of each reply.
func (s *server) summariseReplies(ctx context.Context, l *speakingLevel, rep *speakReport, opened []talk.Opened) error {
	if rep == nil {
		return fmt.Errorf("the clients sent no results")
	}
	convs := make([]string, len(opened))
	for i, o := range opened {
		convs[i] = o.ConversationID
	}
	sent, err := s.replyAudio(ctx, convs)
	if err != nil {
		return err
	}
	var first, stretch []float64
	for _, r := range rep.Results {
		if r.Error != "" {
			l.Failed++
			if len(l.Failures) < 3 {
				l.Failures = append(l.Failures, r.Error)
			}
			continue
		}
		first = append(first, r.FirstAudibleMS)
		if a := sent[r.ConversationID]; a > 0 {
			stretch = append(stretch, r.SpanMS/float64(a.Milliseconds()))
		}
	}
	l.FirstAudible, l.Stretch, l.DelayVar = quantOf(first), quantOf(stretch), rep.DelayVar
	return nil
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
