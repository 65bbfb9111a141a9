package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/timbre-ai/timbre/bench/benchdb"
)

// clockTick is Linux's USER_HZ, the unit of /proc's CPU times.
const clockTick = 10 * time.Millisecond

// usage is the CPU used so far by this process (the server), the client
// process, PostgreSQL, and the whole machine, and the memory of the two
// processes.
type usage struct {
	at                 time.Time
	server, client, pg time.Duration
	hostBusy, hostAll  uint64 // ticks
	serverRSS          int64
	clientRSS          int64
}

func sampleUsage(clientPID int) usage {
	u := usage{at: time.Now(), server: selfCPU(), serverRSS: rss(0)}
	if clientPID > 0 {
		if line, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", clientPID)); err == nil {
			u.client, _ = statCPU(string(line))
		}
		u.clientRSS = rss(clientPID)
	}
	for _, t := range benchdb.PostgresTicks() {
		u.pg += time.Duration(t) * clockTick
	}
	u.hostBusy, u.hostAll = hostTicks()
	return u
}

// cores is the CPU each party used between a and b, in cores.
type cores struct {
	Server float64 `json:"server"`
	// Client is -1 when the clients ran in this process.
	Client float64 `json:"client"`
	PG     float64 `json:"postgres"`
	Host   float64 `json:"host"`
}

func coresBetween(a, b usage, clientApart bool) cores {
	wall := b.at.Sub(a.at).Seconds()
	if wall <= 0 {
		return cores{}
	}
	c := cores{Server: (b.server - a.server).Seconds() / wall, Client: -1, PG: max(0, (b.pg-a.pg).Seconds()/wall)}
	if clientApart {
		c.Client = (b.client - a.client).Seconds() / wall
	}
	if all := b.hostAll - a.hostAll; all > 0 {
		c.Host = float64(b.hostBusy-a.hostBusy) / float64(all) * float64(runtime.NumCPU())
	}
	return c
}

// selfCPU is the CPU time this process has used, user and system, all
// threads (cgo's ONNX Runtime and pocketsphinx included).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// statCPU is utime+stime of a /proc/<pid>/stat line.
func statCPU(line string) (time.Duration, error) {
	closing := strings.LastIndexByte(line, ')')
	if closing < 0 {
		return 0, fmt.Errorf("no command name in %q", line)
	}
	f := strings.Fields(line[closing+1:])
	// After the name: state (field 3) … utime (14), stime (15).
	if len(f) < 13 {
		return 0, fmt.Errorf("short stat line %q", line)
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bad times in %q", line)
	}
	return time.Duration(utime+stime) * clockTick, nil
}

// rss is the resident memory of process pid (0: this one) in bytes; 0
// where /proc is not there.
func rss(pid int) int64 {
	path := "/proc/self/statm"
	if pid > 0 {
		path = fmt.Sprintf("/proc/%d/statm", pid)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0
	}
	return pages * int64(os.Getpagesize())
}

// hostTicks is the machine's busy and total CPU ticks (/proc/stat).
func hostTicks() (busy, all uint64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return parseHostTicks(line)
}

// parseHostTicks reads /proc/stat's "cpu" line: busy is everything but
// idle and iowait.
func parseHostTicks(line string) (busy, all uint64) {
	f := strings.Fields(line)
	if len(f) < 6 || f[0] != "cpu" {
		return 0, 0
	}
	for i, s := range f[1:] {
		if i >= 8 { // guest time is already in user
			break
		}
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, 0
		}
		all += v
		if i != 3 && i != 4 {
			busy += v
		}
	}
	return busy, all
}
