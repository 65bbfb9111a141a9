package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/timbre-ai/timbre/bench/machine"
)

func printLevels(out io.Writer, levels []level, o options) {
	fmt.Fprintf(out, "Load (%s, the 3-sentence text; each stream sends it again as soon as its reply ends; new requests for %s per level):\n",
		o.voice, o.perLevel)
	fmt.Fprintln(out, "setup = worker processes × TIMBRE_TTS_SLOTS × TIMBRE_TTS_THREADS")
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "setup\tstreams\tok / requests\tfailed\tspeech/s\tRTF p50 / p95\tstream RTF worst\tfirst audio p50 / p95\tqueue depth max / mean\tretries\tworker synth mean\tworker results\tCPU workers / bench / host\tkeeps up\t")
	for _, l := range levels {
		s := l.sum
		keeps := "yes"
		if !s.keepsUp {
			keeps = "no"
		}
		secs := l.wall.Seconds()
		fmt.Fprintf(w, "%s\t%d\t%d / %d\t%s\t%.1f\t%.3f / %.3f\t%.3f\t%s / %s\t%.0f / %.1f\t%s\t%s\t%s\t%.2f / %.2f / %.2f\t%s\t\n",
			l.setup, l.streams, s.ok, s.requests, counts(s.failures), s.audioPerSec, s.rtf50, s.rtf95, s.streamRTFWorst,
			msec(s.first50), msec(s.first95), l.queueMax, l.queueMean, countsF(l.retries),
			msec(l.workers.synthesisMean), countsF(l.workers.results),
			l.workerCPU.Seconds()/secs, l.benchCPU.Seconds()/secs, l.hostBusy.Seconds()/secs, keeps)
	}
	w.Flush()
	fmt.Fprintln(out, `speech/s: seconds of speech delivered per second of wall time, all streams together. RTF: a request's time in
Stream ÷ the speech it got (successful requests). stream RTF worst: the slowest stream's time in Stream ÷ its
speech, failures included. queue depth: timbre_tts_queue_depth (requests without their first audio yet), sampled
every 10 ms. retries: timbre_tts_client_retries_total by reason. worker synth mean and results:
timbre_tts_synthesis_seconds and timbre_tts_requests_total from the worker processes' /metrics. CPU: cores used
by the worker processes, by this process (client and NATS), and on the whole machine. keeps up: no request
failed and every stream's RTF < 1.`)
	fmt.Fprintln(out)

	fmt.Fprintln(out, "Most streams kept up, per setup:")
	var order []setup
	best := map[setup]int{}
	for _, l := range levels {
		if _, ok := best[l.setup]; !ok {
			order = append(order, l.setup)
			best[l.setup] = 0
		}
		if l.sum.keepsUp {
			best[l.setup] = max(best[l.setup], l.streams)
		}
	}
	for _, s := range order {
		fmt.Fprintf(out, "  %s  %s: %d of the levels run\n", s, s.describe(), best[s])
	}
	fmt.Fprintln(out)
}

func printLoss(out io.Writer, rounds []lossRound, o lossOptions) {
	fmt.Fprintf(out, "Worker loss (%s; %d streams; SIGKILL %s after the load starts, once a request waits for its first audio; watched for %s):\n",
		o.setup.describe(), o.streams, o.killAfter, o.observe)
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "round\ton victim\tin flight\tok\tfailed mid-stream\tfailed before audio\tother\terror after kill\tretries\twaiting → first audio after kill\tstarted after / failed\ttheir first audio max\tclient dropped victim after\t")
	var total lossSummary
	retries := map[string]float64{}
	var forgot []time.Duration
	for i, r := range rounds {
		s := r.summarise()
		dropped := "still listed"
		if r.forgotAfter > 0 {
			dropped = msec(r.forgotAfter)
			forgot = append(forgot, r.forgotAfter)
		}
		fmt.Fprintf(w, "%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%d / %d\t%s\t%s\t\n",
			i+1, r.inFlightAtKill, s.inFlight, s.ok, s.midStream, s.beforeAudio, s.other,
			durations(s.errorAfter), countsF(r.retries), durations(s.waitingOK), s.after, s.afterFailed,
			msec(s.afterFirstMax), dropped)
		total.inFlight += s.inFlight
		total.ok += s.ok
		total.midStream += s.midStream
		total.beforeAudio += s.beforeAudio
		total.other += s.other
		total.errorAfter = append(total.errorAfter, s.errorAfter...)
		total.waitingOK = append(total.waitingOK, s.waitingOK...)
		total.after += s.after
		total.afterFailed += s.afterFailed
		total.afterFirstMax = max(total.afterFirstMax, s.afterFirstMax)
		for k, v := range r.retries {
			retries[k] += v
		}
	}
	w.Flush()
	slices.Sort(total.errorAfter)
	fmt.Fprintf(out, `on victim: the client's requests on the killed worker just before the kill. in flight: requests under way at
the kill, on either worker, and how they ended. error after kill: kill → Stream returned its error, per failed
request. waiting → first audio: kill → first audio for in-flight requests that had none at the kill and succeeded.
retries: timbre_tts_client_retries_total over the round.
`)
	fmt.Fprintf(out, "All rounds: %d requests in flight at the kills: %d ok, %d failed mid-stream, %d failed before audio, %d other failures;\n",
		total.inFlight, total.ok, total.midStream, total.beforeAudio, total.other)
	if len(total.errorAfter) > 0 {
		fmt.Fprintf(out, "errors reported %s–%s after the kill (median %s); ",
			msec(total.errorAfter[0]), msec(total.errorAfter[len(total.errorAfter)-1]), msec(machine.Quantile(total.errorAfter, 0.5)))
	}
	fmt.Fprintf(out, "retries %s; requests started after the kill: %d, %d failed, first audio at most %s; client dropped the victim after %s.\n\n",
		countsF(retries), total.after, total.afterFailed, msec(total.afterFirstMax), durations(forgot))
}

func msec(d time.Duration) string {
	return strconv.FormatInt(d.Milliseconds(), 10) + " ms"
}

// durations lists ds in milliseconds, sorted; "—" when empty.
func durations(ds []time.Duration) string {
	if len(ds) == 0 {
		return "—"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = strconv.FormatInt(d.Milliseconds(), 10)
	}
	return strings.Join(parts, ", ") + " ms"
}

// counts is "0", or the total and its parts by key: "5 (busy 4, no_workers 1)".
func counts(m map[string]int) string {
	f := make(map[string]float64, len(m))
	for k, v := range m {
		f[k] = float64(v)
	}
	return countsF(f)
}

func countsF(m map[string]float64) string {
	total := sum(m)
	if total == 0 {
		return "0"
	}
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, 0, len(keys))
	only := ""
	for _, k := range keys {
		if m[k] != 0 {
			parts = append(parts, fmt.Sprintf("%s %.0f", k, m[k]))
			only = k
		}
	}
	if len(parts) == 1 {
		return fmt.Sprintf("%.0f %s", total, only)
	}
	return fmt.Sprintf("%.0f (%s)", total, strings.Join(parts, ", "))
}
