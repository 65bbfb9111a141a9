package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/timbre-ai/timbre/voice/audio"
	"github.com/timbre-ai/timbre/voice/tts"
)

// synthesise runs one request through the engine and times it. With
// measureCPU the process's CPU time is read around it, which is only
// meaningful while nothing else synthesises.
func synthesise(ctx context.Context, e tts.Engine, voice, text string, measureCPU bool) (run, error) {
	var (
		r       run
		samples int
		rate    int
	)
	var cpu0 time.Duration
	if measureCPU {
		cpu0 = processCPU()
	}
	start := time.Now()
	err := e.Stream(ctx, tts.Request{Voice: voice, Text: text}, func(c tts.Chunk) error {
		if c.Seq == 0 {
			r.firstAudio = time.Since(start)
		}
		samples += len(c.Samples)
		rate = c.SampleRate
		return nil
	})
	r.total = time.Since(start)
	if measureCPU {
		r.cpu = processCPU() - cpu0
	}
	if err != nil {
		return run{}, fmt.Errorf("synthesise with %s: %w", voice, err)
	}
	r.audio = audio.Format{SampleRate: rate, Channels: 1}.Duration(samples)
	return r, nil
}

// streamLoad is what one level of the concurrency test measured.
type streamLoad struct {
	streams int
	wall    time.Duration
	// perStream holds each loop's syntheses, in the order they finished.
	perStream [][]run
}

// concurrentRuns opens the voices with Slots = streams and runs that many
// loops at once, each synthesising text back to back until d has passed
// (the syntheses in flight then finish and count).
func concurrentRuns(ctx context.Context, dir string, threads, streams int, voice, text string, d time.Duration) (streamLoad, error) {
	p, err := tts.OpenPiper(tts.PiperConfig{Dir: dir, Threads: threads, Slots: streams})
	if err != nil {
		return streamLoad{}, err
	}
	defer p.Close()
	// Loads the model and warms the session outside the measurement.
	if _, err := synthesise(ctx, p, voice, text, false); err != nil {
		return streamLoad{}, err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	load := streamLoad{streams: streams, perStream: make([][]run, streams)}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	start := time.Now()
	deadline := start.Add(d)
	for i := range streams {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				r, err := synthesise(ctx, p, voice, text, false)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					cancel()
					return
				}
				load.perStream[i] = append(load.perStream[i], r)
			}
		})
	}
	wg.Wait()
	load.wall = time.Since(start)
	if firstErr != nil {
		return streamLoad{}, fmt.Errorf("%d concurrent streams: %w", streams, firstErr)
	}
	return load, nil
}
