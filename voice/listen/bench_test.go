package listen

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// benchStream is 10 s of a call: silence, two sentences, silence.
func benchStream(b *testing.B) []float32 {
	var st stream
	st.add(silence(2 * time.Second))
	st.add(utterance(b, "jenny", textStory))
	st.add(silence(time.Second))
	st.add(utterance(b, "alan", textWeather))
	st.add(silence(10*time.Second - dur(len(st.samples))))
	return st.samples
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkDetector is one detector's cost on a call's audio pushed in
// 20 ms chunks: rtf is CPU time over audio time (all threads), so one
// core holds about 1/rtf sessions.
func BenchmarkDetector(b *testing.B) {
	for name, x := range map[string][]float32{
		"speech":  benchStream(b),
		"silence": silence(10 * time.Second),
	} {
		b.Run(name, func(b *testing.B) {
			d := newDetector(b, Config{})
			cpu := cpuTime()
			for b.Loop() {
				d.Reset()
				for i := 0; i < len(x); i += chunk20ms {
					d.Push(x[i:min(i+chunk20ms, len(x))])
				}
			}
			audio := float64(b.N) * float64(dur(len(x)))
			b.ReportMetric(float64(cpuTime()-cpu)/audio, "rtf")
			b.ReportMetric(float64(b.Elapsed())/audio*float64(Window)/float64(time.Microsecond), "µs/window")
		})
	}
}

// BenchmarkNewDetector is the cost of opening a detector (loading the
// model) and closing it.
func BenchmarkNewDetector(b *testing.B) {
	for b.Loop() {
		d, err := NewDetector(modelPath(), Config{})
		if err != nil {
			b.Fatal(err)
		}
		d.Close()
	}
}

// BenchmarkDetectorMemory opens detectors, runs a second of speech and
// three of silence through each so that ONNX Runtime has allocated what
// it needs, keeps them all open, and reports the growth of the process's
// resident memory per detector.
func BenchmarkDetectorMemory(b *testing.B) {
	x := benchStream(b)[:n(4*time.Second)]
	runtime.GC()
	before := rss(b)
	var open []*Detector
	for b.Loop() {
		d, err := NewDetector(modelPath(), Config{})
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < len(x); i += chunk20ms {
			d.Push(x[i:min(i+chunk20ms, len(x))])
		}
		open = append(open, d)
	}
	runtime.GC()
	b.ReportMetric(float64(rss(b)-before)/float64(len(open))/(1<<20), "MiB/detector")
	for _, d := range open {
		d.Close()
	}
}

// rss is the process's resident set size in bytes.
func rss(b *testing.B) int64 {
	s, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		b.Skipf("no /proc/self/statm: %v", err)
	}
	f := strings.Fields(string(s))
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		b.Fatal(err)
	}
	return pages * int64(os.Getpagesize())
}
