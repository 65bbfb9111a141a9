package main

import (
	"syscall"
	"time"

	"github.com/timbre-ai/timbre/bench/machine"
)

// run is one measured utterance.
type run struct {
	// firstAudio is request → first sentence's audio; 0 where the engine
	// gives no audio before the end (the piper CLI writing a file).
	firstAudio time.Duration
	// total is request → the whole utterance synthesised.
	total time.Duration
	// audio is how long the synthesised speech lasts.
	audio time.Duration
	// cpu is the CPU time (user + system, all threads) the utterance took;
	// 0 where it could not be told apart from other work.
	cpu time.Duration
}

// rtf is the real-time factor: seconds of synthesis per second of speech.
func (r run) rtf() float64 {
	if r.audio <= 0 {
		return 0
	}
	return r.total.Seconds() / r.audio.Seconds()
}

// summary is what the report prints of a series of runs.
type summary struct {
	n                  int
	first50, first90   time.Duration
	total50, total90   time.Duration
	audio50            time.Duration
	rtf50, rtf90       float64
	cores              float64 // CPU time ÷ synthesis time over all runs; 0 if unknown
	cpuPerAudio        float64 // CPU seconds per second of speech over all runs; 0 if unknown
	firstKnown, cpuSet bool
}

func summarise(runs []run) summary {
	s := summary{n: len(runs)}
	var firsts, totals, audios []time.Duration
	var rtfs []float64
	var cpu, wall, heard time.Duration
	for _, r := range runs {
		if r.firstAudio > 0 {
			firsts = append(firsts, r.firstAudio)
		}
		totals = append(totals, r.total)
		audios = append(audios, r.audio)
		rtfs = append(rtfs, r.rtf())
		cpu += r.cpu
		wall += r.total
		heard += r.audio
	}
	s.firstKnown = len(firsts) == len(runs) && len(runs) > 0
	s.first50, s.first90 = machine.Quantile(firsts, 0.5), machine.Quantile(firsts, 0.9)
	s.total50, s.total90 = machine.Quantile(totals, 0.5), machine.Quantile(totals, 0.9)
	s.audio50 = machine.Quantile(audios, 0.5)
	s.rtf50, s.rtf90 = machine.Quantile(rtfs, 0.5), machine.Quantile(rtfs, 0.9)
	if cpu > 0 && wall > 0 {
		s.cpuSet = true
		s.cores = cpu.Seconds() / wall.Seconds()
		if heard > 0 {
			s.cpuPerAudio = cpu.Seconds() / heard.Seconds()
		}
	}
	return s
}

// processCPU is this process's CPU time so far, every thread included
// (ONNX Runtime's too).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
