package rtc_test

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/timbre-ai/timbre/voice/audio"
	"github.com/timbre-ai/timbre/voice/rtc"
	"github.com/timbre-ai/timbre/voice/rtc/rtctest"
)

// BenchmarkSpeakingSessions runs n real calls over loopback for 3 s, the
// server's players all speaking (22050 Hz speech enqueued in 100 ms
// chunks whenever less than 200 ms is queued) while each client's
// microphone sends silence. The clients run in the same process, without
// decoding, so the CPU figure includes their SRTP and reading: it
// overstates the server's share. It reports frames sent > 20 ms late,
// the worst lateness, the spread of packet arrival times against the
// RTP clock at the clients (p99 − p1 of arrival − timestamp), and CPU in
// % of one core per call. Run with -benchtime 1x.
//
//	go test -run '^$' -bench SpeakingSessions -benchtime 1x ./voice/rtc/
func BenchmarkSpeakingSessions(b *testing.B) {
	for _, n := range []int{10, 25, 50} {
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) {
			for b.Loop() {
				runSessions(b, n, 3*time.Second)
			}
		})
	}
}

func runSessions(b *testing.B, n int, d time.Duration) {
	tr := newTransport(b, rtc.Config{})
	chunk := make([]float32, 2205)
	for i := range chunk {
		chunk[i] = float32(0.4 * math.Sin(2*math.Pi*220*float64(i)/22050))
	}
	peers := make([]*rtc.Peer, n)
	clients := make([]*rtctest.Client, n)
	for i := range n {
		peers[i], clients[i] = dial(b, tr, rtc.Handlers{}, nil, rtctest.WithoutDecoding())
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var ru0 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	wall0 := time.Now()
	before := make([]rtc.PlayerStats, n)
	arrivals0 := make([]int, n)
	for i, p := range peers {
		player := p.Player()
		before[i] = player.Stats()
		arrivals0[i] = len(clients[i].Arrivals())
		wg.Go(func() {
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
				case <-player.Events():
				}
				for player.Buffered() < 200*time.Millisecond {
					if err := player.Enqueue(audio.Frame{Format: audio.Format{SampleRate: 22050, Channels: 1}, Samples: chunk}, i); err != nil {
						return
					}
				}
			}
		})
	}
	time.Sleep(d)
	close(stop)
	wg.Wait()
	var ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
	wall := time.Since(wall0)

	var frames, late int64
	var maxLate time.Duration
	var offsets []float64
	for i, p := range peers {
		st := p.Player().Stats()
		frames += st.Frames - before[i].Frames + st.Skipped - before[i].Skipped
		late += st.Late - before[i].Late + st.Skipped - before[i].Skipped
		maxLate = max(maxLate, st.MaxLate)
		arr := clients[i].Arrivals()[arrivals0[i]:]
		if len(arr) == 0 {
			continue
		}
		// Each client's offsets relative to its median, in ms.
		var own []float64
		for _, a := range arr {
			media := float64(int32(a.Timestamp-arr[0].Timestamp)) / 48
			own = append(own, float64(a.At.Sub(arr[0].At).Microseconds())/1000-media)
		}
		slices.Sort(own)
		med := own[len(own)/2]
		for _, o := range own {
			offsets = append(offsets, o-med)
		}
	}
	slices.Sort(offsets)
	spread := 0.0
	if len(offsets) > 0 {
		spread = offsets[len(offsets)*99/100] - offsets[len(offsets)/100]
	}
	b.ReportMetric(100*float64(late)/float64(max(frames, 1)), "late%")
	b.ReportMetric(float64(maxLate.Microseconds())/1000, "max_late_ms")
	b.ReportMetric(spread, "arrival_spread_ms")
	b.ReportMetric(100*cpu.Seconds()/wall.Seconds()/float64(n), "core%/session")
}
