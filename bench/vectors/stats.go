package main

import (
	"bufio"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/timbre-ai/timbre/bench/benchdb"
)

// latency summarises a set of measured durations.
type latency struct {
	N                   int
	P50, P95, P99, Mean time.Duration
}

// summarize returns the nearest-rank percentiles of ds.
func summarize(ds []time.Duration) latency {
	if len(ds) == 0 {
		return latency{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	return latency{N: len(s), P50: percentile(s, 50), P95: percentile(s, 95), P99: percentile(s, 99), Mean: sum / time.Duration(len(s))}
}

// percentile is the nearest-rank p-th percentile of sorted.
func percentile(sorted []time.Duration, p int) time.Duration {
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 * n)
	return sorted[max(rank, 1)-1]
}

// clockTicks is Linux's USER_HZ, the unit of the CPU times in /proc; it is
// 100 on every architecture Go supports.
const clockTicks = 100

// cpuMeter measures the CPU used over an interval by this process, by every
// process named postgres, and by the whole machine.
type cpuMeter struct {
	wall     time.Time
	self     time.Duration
	pg       map[int]uint64
	hostBusy uint64
}

// cpuUse is what a cpuMeter measured, in cores (CPU seconds per second);
// Postgres and Host are -1 where /proc is not readable.
type cpuUse struct {
	Self, Postgres, Host float64
}

func startCPU() cpuMeter {
	busy, _ := hostBusyTicks()
	return cpuMeter{wall: time.Now(), self: selfCPU(), pg: benchdb.PostgresTicks(), hostBusy: busy}
}

func (m cpuMeter) stop() cpuUse {
	wall := time.Since(m.wall).Seconds()
	u := cpuUse{Self: (selfCPU() - m.self).Seconds() / wall, Postgres: -1, Host: -1}
	if m.pg != nil {
		var ticks uint64
		for pid, t := range benchdb.PostgresTicks() {
			// A backend that started during the interval counts from zero;
			// one that ended is lost (the pool keeps its connections open).
			ticks += t - min(t, m.pg[pid])
		}
		u.Postgres = float64(ticks) / clockTicks / wall
	}
	if busy, ok := hostBusyTicks(); ok && m.hostBusy > 0 {
		u.Host = float64(busy-m.hostBusy) / clockTicks / wall
	}
	return u
}

// selfCPU is this process's user and system CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// hostBusyTicks returns the machine's non-idle CPU ticks from /proc/stat.
func hostBusyTicks() (uint64, bool) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return 0, false
	}
	fields := strings.Fields(sc.Text())
	if len(fields) < 6 || fields[0] != "cpu" {
		return 0, false
	}
	var busy uint64
	for i, f := range fields[1:] {
		n, _ := strconv.ParseUint(f, 10, 64)
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		busy += n
	}
	return busy, true
}

// memPeak samples the Go heap while a phase runs and reads the process's
// peak resident set size (VmHWM) at the end.
type memPeak struct {
	stop chan struct{}
	done chan struct{}
	// HeapInuse and Sys are the largest runtime.MemStats values sampled;
	// RSSBefore is VmRSS at the start; PeakRSS is VmHWM at the end, since
	// the start when HWMReset (Linux clears it on request), else since the
	// process started.
	HeapInuse, Sys     uint64
	RSSBefore, PeakRSS int64
	HWMReset           bool
}

// startMemPeak resets the kernel's peak RSS counter where it can and
// samples runtime.MemStats every 50 ms until stopped.
func startMemPeak() *memPeak {
	m := &memPeak{stop: make(chan struct{}), done: make(chan struct{})}
	// Writing 5 to clear_refs resets VmHWM to the current RSS (Linux 4.0+).
	m.HWMReset = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	m.RSSBefore = procStatus("VmRSS")
	go func() {
		defer close(m.done)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			m.sample()
			select {
			case <-m.stop:
				return
			case <-t.C:
			}
		}
	}()
	return m
}

func (m *memPeak) sample() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.HeapInuse = max(m.HeapInuse, ms.HeapInuse)
	m.Sys = max(m.Sys, ms.Sys)
}

// finish stops sampling and reads the peak RSS.
func (m *memPeak) finish() {
	close(m.stop)
	<-m.done
	m.sample()
	m.PeakRSS = procStatus("VmHWM")
}

// procStatus reads a "kB" field of /proc/self/status in bytes, -1 if it
// cannot.
func procStatus(field string) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for line := range strings.Lines(string(data)) {
		rest, ok := strings.CutPrefix(line, field+":")
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return -1
		}
		return kb * 1024
	}
	return -1
}
