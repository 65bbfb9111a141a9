package benchdb

import (
	"os"
	"strconv"
	"strings"
)

// PostgresTicks returns the user+system CPU ticks of every process named
// postgres, by pid; nil where /proc is not there.
func PostgresTicks() map[int]uint64 {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	out := map[int]uint64{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // exited meanwhile
		}
		if t, ok := parseStat(string(b), "postgres"); ok {
			out[pid] = t
		}
	}
	return out
}

// parseStat returns utime+stime from a /proc/<pid>/stat line if the
// process's name is comm.
func parseStat(line, comm string) (uint64, bool) {
	open, closing := strings.IndexByte(line, '('), strings.LastIndexByte(line, ')')
	if open < 0 || closing < open || line[open+1:closing] != comm {
		return 0, false
	}
	// After the name: state (field 3) … utime (14), stime (15).
	f := strings.Fields(line[closing+1:])
	if len(f) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return utime + stime, true
}
