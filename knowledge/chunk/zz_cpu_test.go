package chunk

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/timbre-ai/timbre/tokens"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestScratchCPU(t *testing.T) {
	doc, _ := os.ReadFile("testdata/godebug.md")
	md := strings.Repeat(string(doc)+"\n", 10<<20/(len(doc)+1))
	line := strings.Repeat("abcdefghijklmnopqrstuvwxyz0123456789", 10<<20/36)
	for _, c := range []struct {
		name string
		s    string
	}{{"markdown", md}, {"longline", line}} {
		best := time.Hour
		for i := 0; i < 3; i++ {
			t0 := cpuTime()
			Split(c.s, Options{})
			best = min(best, cpuTime()-t0)
		}
		bestC := time.Hour
		for i := 0; i < 3; i++ {
			t0 := cpuTime()
			tokens.Count(c.s)
			bestC = min(bestC, cpuTime()-t0)
		}
		fmt.Printf("%s: Split %.1f MB/s CPU, Count %.1f MB/s CPU\n", c.name, float64(len(c.s))/1e6/best.Seconds(), float64(len(c.s))/1e6/bestC.Seconds())
	}
}
