package rtc

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/timbre-ai/timbre/voice/audio"
)

// Benchmarks of the outbound path, the one that scales with speaking
// sessions. Figures are printed, never asserted.
//
//	go test -run '^$' -bench 'PlayerFrame|PacedPlayers' -benchtime 1x ./voice/rtc/   (PacedPlayers)
//	go test -run '^$' -bench PlayerFrame ./voice/rtc/

// piperChunk is 20 ms of a 22050 Hz tone, as Piper voices speak.
func piperChunk(k int) audio.Frame {
	const rate = 22050
	x := make([]float32, rate/50)
	for i := range x {
		x[i] = float32(0.4 * math.Sin(2*math.Pi*220*float64(k*len(x)+i)/rate))
	}
	return audio.Frame{Format: audio.Format{SampleRate: rate, Channels: 1}, Samples: x}
}

// benchPeer answers a raw pion offerer over loopback and returns the
// server's peer once connected, with its own pacer stopped so that the
// benchmark drives the track.
func benchPeer(b *testing.B) *Peer {
	b.Helper()
	tr, err := NewTransport(Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = tr.Close() })
	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: opusCodec, PayloadType: 111}, webrtc.RTPCodecTypeAudio); err != nil {
		b.Fatal(err)
	}
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	client, err := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = client.Close() })
	if _, err := client.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio); err != nil {
		b.Fatal(err)
	}
	if _, err := client.CreateDataChannel(DataChannelLabel, nil); err != nil {
		b.Fatal(err)
	}
	client.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		buf := make([]byte, 1500)
		for {
			if _, _, err := t.Read(buf); err != nil {
				return
			}
		}
	})
	offer, err := client.CreateOffer(nil)
	if err != nil {
		b.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(client)
	if err := client.SetLocalDescription(offer); err != nil {
		b.Fatal(err)
	}
	<-gathered
	opened := make(chan struct{})
	var once sync.Once
	peer, answer, err := tr.Accept(context.Background(), client.LocalDescription().SDP, Handlers{Open: func() { once.Do(func() { close(opened) }) }})
	if err != nil {
		b.Fatal(err)
	}
	if err := client.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		b.Fatal(err)
	}
	select {
	case <-opened:
	case <-time.After(10 * time.Second):
		b.Fatal("no connection")
	}
	peer.player.close()
	return peer
}

// BenchmarkPlayerFrame is the CPU cost of one 20 ms frame of a speaking
// session's outbound audio: enqueueing 20 ms of 22050 Hz speech
// (resampling to 48 kHz), encoding it to Opus and writing the RTP packet,
// into a track with no peer (unbound) or through a connected peer (SRTP,
// RTCP report interceptor, UDP send). "silence" is an idle session's
// frame (the repeated packet). sessions/core is 20 ms over the cost.
func BenchmarkPlayerFrame(b *testing.B) {
	for _, connected := range []bool{false, true} {
		for _, speech := range []bool{true, false} {
			name := map[bool]string{false: "unbound", true: "connected"}[connected] + "/" + map[bool]string{false: "silence", true: "speech"}[speech]
			b.Run(name, func(b *testing.B) {
				var out rtpWriter
				if connected {
					out = benchPeer(b).player.out
				} else {
					track, err := webrtc.NewTrackLocalStaticRTP(opusCodec, "audio", "bench")
					if err != nil {
						b.Fatal(err)
					}
					out = track
				}
				p := newPlayer(out, slog.New(slog.DiscardHandler))
				if err := p.prepare(); err != nil {
					b.Fatal(err)
				}
				for k := range int64(30) { // let the silence packet settle
					p.slot(k, time.Now())
				}
				k := int64(30)
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					if speech {
						if err := p.Enqueue(piperChunk(int(k)), 1); err != nil {
							b.Fatal(err)
						}
					}
					p.slot(k, time.Now())
					k++
					for len(p.events) > 0 {
						<-p.events
					}
				}
				perFrame := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
				b.ReportMetric(perFrame, "ns/frame")
				b.ReportMetric(float64(FrameDuration.Nanoseconds())/perFrame, "sessions/core")
			})
		}
	}
}

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPacedPlayers runs n players for 3 s, each with its own pacer
// goroutine and a feeder that enqueues 22050 Hz speech in 100 ms chunks
// whenever less than 200 ms is queued (speech synthesis ahead of
// playback), writing to unbound tracks. It reports the share of frames
// sent more than 20 ms late, the worst lateness, and the CPU used per
// session in % of one core. Run with -benchtime 1x; pin cores with
// taskset to measure a 2-core machine.
func BenchmarkPacedPlayers(b *testing.B) {
	for _, n := range []int{25, 40, 50, 75, 100} {
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) {
			for b.Loop() {
				runPaced(b, n, 3*time.Second)
			}
		})
	}
}

func runPaced(b *testing.B, n int, d time.Duration) {
	chunk := make([]float32, 2205)
	for i := range chunk {
		chunk[i] = float32(0.4 * math.Sin(2*math.Pi*220*float64(i)/22050))
	}
	players := make([]*Player, n)
	for i := range players {
		track, err := webrtc.NewTrackLocalStaticRTP(opusCodec, "audio", "bench")
		if err != nil {
			b.Fatal(err)
		}
		players[i] = newPlayer(track, slog.New(slog.DiscardHandler))
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	cpu0, wall0 := cpuTime(), time.Now()
	for i, p := range players {
		p.start()
		wg.Go(func() {
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
				case <-p.events:
				}
				for p.Buffered() < 200*time.Millisecond {
					if err := p.Enqueue(audio.Frame{Format: audio.Format{SampleRate: 22050, Channels: 1}, Samples: chunk}, i); err != nil {
						return
					}
				}
			}
		})
		// Stagger the starts over a frame, as calls do.
		time.Sleep(FrameDuration / time.Duration(n))
	}
	time.Sleep(d)
	close(stop)
	wg.Wait()
	cpu, wall := cpuTime()-cpu0, time.Since(wall0)
	var frames, audioFrames, late int64
	var maxLate time.Duration
	for _, p := range players {
		p.close()
		st := p.Stats()
		// A skipped slot is a frame that was never sent: count it late.
		frames += st.Frames + st.Skipped
		audioFrames += st.Audio
		late += st.Late + st.Skipped
		maxLate = max(maxLate, st.MaxLate)
	}
	b.ReportMetric(100*float64(late)/float64(frames), "late%")
	b.ReportMetric(float64(maxLate.Microseconds())/1000, "max_late_ms")
	b.ReportMetric(100*float64(audioFrames)/float64(frames), "speech%")
	b.ReportMetric(100*cpu.Seconds()/wall.Seconds()/float64(n), "core%/session")
}
