package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
)

func writeJSON(w io.Writer, r Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func writeText(w io.Writer, r Report) error {
	b := &strings.Builder{}
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("bench/voicechat: %s\n", r.Command)
	p("machine: %s, %d CPUs, GOMAXPROCS %d, %s; load average %s before, %s after; %.0f s in all\n",
		r.Host, r.CPUs, r.GOMAXPROCS, r.GoVersion, r.LoadBefore, r.LoadAfter, r.Seconds)
	st := r.Setup
	tts := "through a voice worker on the embedded bus"
	if st.TTS == ttsDirect {
		tts = "in process"
	}
	clients := "in a child process"
	if st.Clients == clientsInProcess {
		clients = "in this process"
	}
	p("setup: fake model's first token after %.0f ms, then a word every %.0f ms; end-of-turn silence %.0f ms; "+
		"Piper (%s, 48 kHz) %s, %d slots × %d threads; pocketsphinx, %d decoders; load-phase clients %s\n\n",
		st.TTFTMS, st.TokenIntervalMS, st.SilenceMS, agentVoice, tts, st.TTSSlots, st.TTSThreads, st.ASRDecoders, clients)

	for _, m := range r.Modes {
		p("latency, %s mode: %d turns, %d without a reply\n", m.Mode, m.Turns, m.Failed)
		tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "stage\tpipeline p50\tp95\tmax\t\talone p50\tp95\t\ttimed alone\t")
		for _, s := range m.Stages {
			fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%.0f\t\t%.2f\t%.2f\t\t%s\t\n", s.Stage, s.Pipeline.P50, s.Pipeline.P95, s.Pipeline.Max,
				s.Alone.P50, s.Alone.P95, s.AloneWhat)
		}
		fmt.Fprintf(tw, "total_ms\t%.0f\t%.0f\t%.0f\t\t%.1f\t\t\tsum of the p50s alone\t\n", m.Total.P50, m.Total.P95, m.Total.Max, m.AloneSum)
		if err := tw.Flush(); err != nil {
			return err
		}
		p("  overhead ratio (total p50 ÷ sum alone): %.2f (target ≤ 1.15)\n", m.Ratio)
		p("  client: last speech packet sent → first audible reply packet: p50 %.0f ms, p95 %.0f ms, max %.0f ms (n=%d)\n",
			m.Client.P50, m.Client.P95, m.Client.Max, m.Client.N)
		if m.Mode == modeOffline {
			p("  end of speech → first audio frame sent, p50 %.0f ms (target ≤ 900 ms)\n", m.Total.P50)
		}
		p("  explaining client − total: the reply's first sentence starts with p50 %.0f ms below −40 dBFS; "+
			"the detector dates the end of speech p50 %.0f ms after the question's last sample above −40 dBFS\n",
			m.LeadingQuiet.P50, m.SpeechEndLag.P50)
		if m.WorkerFirstAudio.N > 0 {
			p("  Piper's first audio through the voice worker, alone: p50 %.1f ms, p95 %.1f ms\n", m.WorkerFirstAudio.P50, m.WorkerFirstAudio.P95)
		}
		for _, h := range m.Heard {
			p("  heard %s\n", h)
		}
		for _, f := range m.Failures {
			p("  no reply: %s\n", f)
		}
		p("\n")
	}

	if r.Idle != nil {
		p("idle calls (clients send silence; CPU in cores over the window)\n")
		tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "calls\tserver\tclients\tpostgres\thost\tserver RSS MiB\tclients RSS MiB\tprobe total_ms\tprobe client ms\t")
		row := func(l idleLevel) {
			probeTotal, probeClient := "-", "-"
			if l.Probe != nil {
				probeTotal, probeClient = fmt.Sprint(l.Probe.TotalMS), fmt.Sprintf("%.0f", l.Probe.ClientMS)
				if l.Probe.Failure != "" {
					probeTotal = l.Probe.Failure
				}
			}
			fmt.Fprintf(tw, "%d\t%.2f\t%s\t%.2f\t%.2f\t%.0f\t%s\t%s\t%s\t\n", l.Calls, l.Cores.Server, coresOrDash(l.Cores.Client),
				l.Cores.PG, l.Cores.Host, l.ServerRSSMiB, mibOrDash(l.ClientRSSMiB, l.Cores.Client), probeTotal, probeClient)
		}
		row(r.Idle.Baseline)
		for _, l := range r.Idle.Levels {
			row(l)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if n := len(r.Idle.Levels); n > 0 {
			last := r.Idle.Levels[n-1]
			p("  per idle call (at %d vs none): server %.1f ms of CPU per second, %.2f MiB\n", last.Calls,
				1000*(last.Cores.Server-r.Idle.Baseline.Cores.Server)/float64(last.Calls),
				(last.ServerRSSMiB-r.Idle.Baseline.ServerRSSMiB)/float64(last.Calls))
		}
		p("\n")
	}

	if len(r.Speaking) > 0 {
		p("agents speaking at once (each reply %.1f s of speech, the model instant)\n", r.Setup.StorySeconds)
		tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "calls\tfailed\tlate/sent\tlate %\tmax late ms\tfirst audible p50\tp95\tstretch p50\tmax\tdelay var p99\tmax\tserver\tclients\tseconds\ttts busy\tretries\t")
		for _, l := range r.Speaking {
			fmt.Fprintf(tw, "%d\t%d\t%d/%d\t%.2f\t%d\t%.0f\t%.0f\t%.2f\t%.2f\t%.1f\t%.1f\t%.2f\t%s\t%.0f\t%.0f\t%.0f\t\n", l.Calls, l.Failed,
				l.FramesLate, l.FramesSent, l.LatePct, l.MaxLateMS, l.FirstAudible.P50, l.FirstAudible.P95, l.Stretch.P50, l.Stretch.Max,
				l.DelayVar.P99, l.DelayVar.Max, l.Cores.Server, coresOrDash(l.Cores.Client), l.Seconds, l.TTSBusy, l.TTSRetries)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		for _, l := range r.Speaking {
			if l.MetricLate != float64(l.FramesLate) {
				p("  %d calls: timbre_rtc_late_frames_total grew by %.0f, the session logs say %d\n", l.Calls, l.MetricLate, l.FramesLate)
			}
			for _, f := range l.Failures {
				p("  %d calls, failed: %s\n", l.Calls, f)
			}
		}
		if r.LargestSpeaking > 0 {
			p("  largest level with ≤ 1%% of frames late and every reply whole: %d calls\n", r.LargestSpeaking)
		} else {
			p("  no level had ≤ 1%% of frames late and every reply whole\n")
		}
		p("\n")
	}
	p("server warnings and errors logged: %d", r.Warnings)
	if len(r.PionWarnings) > 0 {
		n, keys := 0, slices.Sorted(maps.Keys(r.PionWarnings))
		for _, k := range keys {
			n += r.PionWarnings[k]
		}
		p(", and %d from pion:", n)
		slices.SortStableFunc(keys, func(a, b string) int { return r.PionWarnings[b] - r.PionWarnings[a] })
		for _, k := range keys[:min(len(keys), 3)] {
			p(" %d× %q", r.PionWarnings[k], k)
		}
	}
	p("\n")
	for _, w := range r.FirstWarnings {
		p("  %s\n", w)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func coresOrDash(c float64) string {
	if c < 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", c)
}

func mibOrDash(m, cores float64) string {
	if cores < 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f", m)
}
