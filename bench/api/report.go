package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/timbre-ai/timbre/bench/benchdb"
)

// Result is one scenario's figures. Durations are in milliseconds.
type Result struct {
	Scenario    string  `json:"scenario"`
	Description string  `json:"description"`
	Requests    int     `json:"requests"`
	Seconds     float64 `json:"seconds"`
	RPS         float64 `json:"requests_per_second"`
	P50         float64 `json:"p50_ms"`
	P90         float64 `json:"p90_ms"`
	P99         float64 `json:"p99_ms"`
	Max         float64 `json:"max_ms"`
	Errors      int     `json:"errors"`
	FirstError  string  `json:"first_error,omitempty"`
	AvgBytes    float64 `json:"avg_body_bytes"`
	// ProcCores is the CPU this process (client and servers) used, in cores.
	ProcCores float64 `json:"process_cpu_cores"`
	// PostgresCores is the CPU all PostgreSQL processes on the machine used,
	// in cores; -1 when unknown (not Linux).
	PostgresCores float64 `json:"postgres_cpu_cores"`
	// HostCores is the CPU busy on the whole machine (this process,
	// PostgreSQL and anything else running), in cores; -1 when unknown.
	HostCores float64 `json:"host_cpu_cores"`
	// CPUPerRequest is the CPU time this process and PostgreSQL spent per
	// request, in microseconds. Unlike req/s it hardly changes when other
	// work competes for the CPUs.
	CPUPerRequest float64 `json:"cpu_us_per_request"`
}

// Ratio compares a real endpoint with a bare baseline.
type Ratio struct {
	Scenario string `json:"scenario"`
	Baseline string `json:"baseline"`
	// Percent is the scenario's requests/s as a percentage of the baseline's.
	Percent float64 `json:"percent"`
	// CPUPercent is the baseline's CPU per request as a percentage of the
	// scenario's: the throughput ratio to expect when the CPUs are the limit
	// and nothing else runs.
	CPUPercent float64 `json:"cpu_cost_percent"`
}

// Report is the whole run.
type Report struct {
	Machine   Machine  `json:"machine"`
	Settings  Settings `json:"settings"`
	Results   []Result `json:"results"`
	Ratios    []Ratio  `json:"ratios"`
	TargetPct float64  `json:"target_percent"`
}

// Machine describes where the run happened.
type Machine struct {
	NumCPU     int    `json:"num_cpu"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	GoVersion  string `json:"go_version"`
	OS         string `json:"os"`
	Postgres   string `json:"postgres"`
	Echo       string `json:"echo"`
}

// Settings are the flags the run used.
type Settings struct {
	Concurrency int     `json:"concurrency"`
	Duration    string  `json:"duration"`
	Warmup      string  `json:"warmup"`
	Agents      int     `json:"agents"`
	DBConns     int     `json:"db_max_conns"`
	LogLevel    string  `json:"server_log_level"`
	Seed        uint64  `json:"seed"`
	Scenarios   string  `json:"scenarios"`
	Command     string  `json:"command"`
	SeedSeconds float64 `json:"seed_seconds"`
	PGSettings  string  `json:"pg_settings,omitempty"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func summarize(name, desc string, r loadResult) Result {
	n := len(r.latencies)
	res := Result{
		Scenario: name, Description: desc, Requests: n, Seconds: r.elapsed.Seconds(),
		P50: ms(percentile(r.latencies, 50)), P90: ms(percentile(r.latencies, 90)),
		P99: ms(percentile(r.latencies, 99)), Max: ms(percentile(r.latencies, 100)),
		Errors: r.errors, FirstError: r.firstErr,
		ProcCores: r.cpu.proc, PostgresCores: r.cpu.postgres, HostCores: r.cpu.host,
	}
	if r.elapsed > 0 {
		res.RPS = float64(n) / r.elapsed.Seconds()
	}
	if ok := n - r.errors; ok > 0 {
		res.AvgBytes = float64(r.bytes) / float64(ok)
	}
	if n > 0 {
		cores := r.cpu.proc + max(r.cpu.postgres, 0)
		res.CPUPerRequest = cores * r.elapsed.Seconds() / float64(n) * 1e6
	}
	return res
}

// ratios pairs each real scenario with the bare baselines that ran.
func ratios(results []Result) []Ratio {
	byName := map[string]Result{}
	for _, r := range results {
		byName[r.Scenario] = r
	}
	pairs := [][2]string{
		{"agent-get", "bare-agent"},
		{"agent-get-nocache", "bare-agent"},
		{"agent-search", "bare-search"},
		{"agent-search-nocache", "bare-search"},
		{"agent-search", "bare-agent"},
		{"agent-list", "bare-search"},
	}
	var out []Ratio
	for _, p := range pairs {
		got, ok1 := byName[p[0]]
		base, ok2 := byName[p[1]]
		if !ok1 || !ok2 || base.RPS <= 0 {
			continue
		}
		r := Ratio{Scenario: p[0], Baseline: p[1], Percent: 100 * got.RPS / base.RPS}
		if got.CPUPerRequest > 0 {
			r.CPUPercent = 100 * base.CPUPerRequest / got.CPUPerRequest
		}
		out = append(out, r)
	}
	return out
}

func writeJSON(w io.Writer, rep Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

func writeTable(w io.Writer, rep Report) error {
	m, s := rep.Machine, rep.Settings
	fmt.Fprintf(w, "Timbre API load benchmark\n")
	fmt.Fprintf(w, "machine: %d CPUs, GOMAXPROCS %d, %s %s; PostgreSQL %s; Echo v%s\n",
		m.NumCPU, m.GOMAXPROCS, m.GoVersion, m.OS, m.Postgres, m.Echo)
	fmt.Fprintf(w, "note:    the load generator, both HTTP servers and PostgreSQL share these %d CPUs;\n", m.NumCPU)
	fmt.Fprintf(w, "         every figure includes the client's own cost (closed loop, keep-alive HTTP/1.1 over loopback)\n")
	fmt.Fprintf(w, "server:  api.New (all production middleware; request log via slog at %s to io.Discard),\n", s.LogLevel)
	pg := ""
	if s.PGSettings != "" {
		pg = " (PostgreSQL settings " + s.PGSettings + ")"
	}
	fmt.Fprintf(w, "         pgx pool of %d connections%s, Authorization: Bearer <API key> on every real request\n", s.DBConns, pg)
	fmt.Fprintf(w, "bare:    echo.New() with no middleware, one handler writing a fixed JSON blob (c.JSONBlob)\n")
	fmt.Fprintf(w, "run:     -c %d -d %s -warmup %s -agents %d -seed %d (seeding took %.1fs)\n",
		s.Concurrency, s.Duration, s.Warmup, s.Agents, s.Seed, s.SeedSeconds)
	fmt.Fprintf(w, "command: %s\n\n", s.Command)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tbody B\treq/s\tp50 ms\tp90 ms\tp99 ms\tmax ms\terrors\tbench CPU\tpg CPU\thost CPU\tCPU µs/req\t")
	for _, r := range rep.Results {
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%.2f\t%.2f\t%.2f\t%.2f\t%d\t%.2f\t%s\t%s\t%.0f\t\n",
			r.Scenario, r.AvgBytes, r.RPS, r.P50, r.P90, r.P99, r.Max, r.Errors, r.ProcCores,
			cores(r.PostgresCores), cores(r.HostCores), r.CPUPerRequest)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	for _, r := range rep.Results {
		fmt.Fprintf(w, "  %-13s %s\n", r.Scenario, r.Description)
		if r.FirstError != "" {
			fmt.Fprintf(w, "  %-13s first error: %s\n", "", r.FirstError)
		}
	}
	if len(rep.Ratios) > 0 {
		fmt.Fprintf(w, "\nrelative to the bare handler (target: req/s at least %.0f%% of the bare handler's):\n", rep.TargetPct)
		fmt.Fprintf(w, "  %-28s %8s %14s\n", "", "req/s", "by CPU cost")
		for _, r := range rep.Ratios {
			verdict := "meets target"
			if r.Percent < rep.TargetPct {
				verdict = "BELOW target"
			}
			fmt.Fprintf(w, "  %-13s / %-12s %7.1f%% %13.1f%%  %s\n", r.Scenario, r.Baseline, r.Percent, r.CPUPercent, verdict)
		}
	}
	fmt.Fprintf(w, "\nCPU columns are cores used during the measured part out of %d: bench = this\n", m.NumCPU)
	fmt.Fprintln(w, "process (client + both servers), pg = every PostgreSQL process, host = the whole machine.")
	fmt.Fprintln(w, "host well above bench + pg means other work (e.g. builds) competed for the CPUs: rerun.")
	fmt.Fprintln(w, "CPU µs/req = (bench + pg) CPU time per request; \"by CPU cost\" = bare CPU µs/req over the")
	fmt.Fprintln(w, "endpoint's, the req/s ratio to expect on an otherwise idle machine where the CPUs are the limit.")
	return nil
}

func cores(c float64) string {
	if c < 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", c)
}

// cpuMeter measures CPU use over an interval.
type cpuMeter struct {
	wall      time.Time
	procStart time.Duration
	pgStart   map[int]uint64 // CPU ticks of each PostgreSQL process; nil when unknown
	hostBusy  uint64
	hostTotal uint64
	hostOK    bool
}

// cpuSample is CPU used over an interval, in cores.
type cpuSample struct {
	proc     float64
	postgres float64 // -1 when unknown
	host     float64 // -1 when unknown
}

// clockTicks is Linux's USER_HZ, the unit of /proc CPU times; it is 100 on
// every mainstream architecture.
const clockTicks = 100

func startCPU() cpuMeter {
	m := cpuMeter{wall: time.Now(), procStart: processCPU(), pgStart: benchdb.PostgresTicks()}
	m.hostBusy, m.hostTotal, m.hostOK = hostCPU()
	return m
}

func (m cpuMeter) stop(numCPU int) cpuSample {
	wall := time.Since(m.wall).Seconds()
	s := cpuSample{proc: (processCPU() - m.procStart).Seconds() / wall, postgres: -1, host: -1}
	if busy, total, ok := hostCPU(); ok && m.hostOK && total > m.hostTotal {
		s.host = float64(busy-m.hostBusy) / float64(total-m.hostTotal) * float64(numCPU)
	}
	if end := benchdb.PostgresTicks(); end != nil && m.pgStart != nil {
		var ticks uint64
		for pid, t := range end {
			// A process started during the interval counts from zero; one
			// that ended is lost (backends of the server's pool live on).
			if t >= m.pgStart[pid] {
				ticks += t - m.pgStart[pid]
			}
		}
		s.postgres = float64(ticks) / clockTicks / wall
	}
	return s
}

// processCPU is the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// hostCPU reads the machine's busy and total CPU ticks from /proc/stat
// (Linux); ok is false elsewhere.
func hostCPU() (busy, total uint64, ok bool) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0, 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return 0, 0, false
	}
	fields := strings.Fields(sc.Text())
	if len(fields) < 5 || fields[0] != "cpu" {
		return 0, 0, false
	}
	for i, v := range fields[1:] {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return 0, 0, false
		}
		// guest and guest_nice (fields 9 and 10) are already in user and nice.
		if i >= 8 {
			break
		}
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total, true
}
