package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metric names of voice/worker this bench reads.
const (
	metricQueueDepth    = "timbre_tts_queue_depth"
	metricClientRetries = "timbre_tts_client_retries_total"
	metricClientResults = "timbre_tts_client_requests_total"
	metricWorkers       = "timbre_tts_workers"
	metricSynthesis     = "timbre_tts_synthesis_seconds"
	metricFirstAudio    = "timbre_tts_first_audio_seconds"
	metricRTF           = "timbre_tts_realtime_factor"
	metricRequests      = "timbre_tts_requests_total"
)

// gauge reads the gauge name from g; 0 when it is not there.
func gauge(g prometheus.Gatherer, name string) float64 {
	mfs, err := g.Gather()
	if err != nil {
		return 0
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) > 0 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return 0
}

// counters reads the counter vector name from g, by the value of its label.
func counters(g prometheus.Gatherer, name, label string) map[string]float64 {
	out := map[string]float64{}
	mfs, err := g.Gather()
	if err != nil {
		return out
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			key := ""
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label {
					key = lp.GetValue()
				}
			}
			out[key] += m.GetCounter().GetValue()
		}
	}
	return out
}

// delta is after − before for every series that grew.
func delta(after, before map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range after {
		if d := v - before[k]; d > 0 {
			out[k] = d
		}
	}
	return out
}

// sum adds up the values of m.
func sum(m map[string]float64) float64 {
	t := 0.0
	for _, v := range m {
		t += v
	}
	return t
}

// scrape fetches a worker process's /metrics and parses it.
func scrape(ctx context.Context, addr string) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", addr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape %s: status %s", addr, resp.Status)
	}
	return parseExposition(resp.Body)
}

// parseExposition reads Prometheus's text format into series → value, the
// series written as in the text (`name{label="v"}`). Comments, and samples
// whose value does not parse, are skipped.
func parseExposition(r io.Reader) (map[string]float64, error) {
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		var series, rest string
		if i := strings.LastIndexByte(line, '}'); i >= 0 && strings.IndexByte(line, '{') < i {
			series, rest = line[:i+1], line[i+1:]
		} else {
			f := strings.Fields(line)
			if len(f) < 2 {
				continue
			}
			series, rest = f[0], strings.Join(f[1:], " ")
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			continue
		}
		out[series] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read metrics: %w", err)
	}
	return out, nil
}

// workerStats is what the worker processes' own metrics say about a
// stretch of load: the deltas of their series, summed over the processes.
type workerStats struct {
	// synthesisMean is the mean of timbre_tts_synthesis_seconds (receipt to
	// last sentence, per accepted request).
	synthesisMean time.Duration
	// firstAudioMean is the mean of timbre_tts_first_audio_seconds.
	firstAudioMean time.Duration
	// rtfMean is the mean of timbre_tts_realtime_factor.
	rtfMean float64
	// results is timbre_tts_requests_total by result.
	results map[string]float64
}

// readWorkerStats makes workerStats of the summed deltas of the processes'
// series.
func readWorkerStats(d map[string]float64) workerStats {
	mean := func(name string) float64 {
		if n := d[name+"_count"]; n > 0 {
			return d[name+"_sum"] / n
		}
		return 0
	}
	s := workerStats{
		synthesisMean:  time.Duration(mean(metricSynthesis) * float64(time.Second)),
		firstAudioMean: time.Duration(mean(metricFirstAudio) * float64(time.Second)),
		rtfMean:        mean(metricRTF),
		results:        map[string]float64{},
	}
	prefix := metricRequests + `{result="`
	for k, v := range d {
		if rest, ok := strings.CutPrefix(k, prefix); ok {
			s.results[strings.TrimSuffix(rest, `"}`)] += v
		}
	}
	return s
}

// clockTick is the unit of /proc/<pid>/stat's CPU times (USER_HZ, 100 on
// every Linux this runs on).
const clockTick = 10 * time.Millisecond

// procCPU is the CPU time (user + system, every thread) process pid has
// used, from /proc; 0 when it cannot be read.
func procCPU(pid int) time.Duration {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	d, err := statCPU(string(raw))
	if err != nil {
		return 0
	}
	return d
}

// statCPU reads utime + stime from the text of /proc/<pid>/stat. The
// command name (field 2) may hold spaces and parentheses, so fields are
// counted from the last ')'.
func statCPU(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("stat %q: no command name", stat)
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("stat: %d fields after the name, want at least 13", len(f))
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("stat: CPU time %q: %w", s, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * clockTick, nil
}

// selfCPU is this process's CPU time: the client and the embedded NATS.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// hostCPU is the machine's busy CPU time and total CPU time so far, from
// /proc/stat.
func hostCPU() (busy, total time.Duration) {
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(raw), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0
	}
	var all, idle int64
	for i, s := range f[1:] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, 0
		}
		// guest and guest_nice are already in user and nice.
		if i >= 8 {
			break
		}
		all += n
		if i == 3 || i == 4 { // idle, iowait
			idle += n
		}
	}
	return time.Duration(all-idle) * clockTick, time.Duration(all) * clockTick
}
