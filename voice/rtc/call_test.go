package rtc_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/timbre-ai/timbre/voice/rtc"
	"github.com/timbre-ai/timbre/voice/rtc/rtctest"
)

// TestConnect answers a browser-like offer and checks that the call comes
// up both ways: the answer carries loopback candidates, the data channel
// opens, and both sides' packets flow (the client's microphone and the
// server's silence run from the start).
func TestConnect(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		opts []rtctest.Option
	}{
		{"offer without candidates", nil},
		{"offer with candidates", []rtctest.Option{rtctest.WithCandidates()}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tr := newTransport(t, rtc.Config{})
			rec := newRecorder()
			var answer string
			var peer *rtc.Peer
			c, err := rtctest.Dial(testContext(t), func(offer string) (string, error) {
				p, a, err := tr.Accept(testContext(t), offer, rec.handlers())
				peer, answer = p, a
				return a, err
			}, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			defer peer.Close()
			if !strings.Contains(answer, "a=candidate:") || !strings.Contains(answer, " 127.0.0.1 ") {
				t.Errorf("answer has no loopback candidate:\n%s", answer)
			}
			if !strings.Contains(answer, "opus/48000/2") || !strings.Contains(answer, "a=sendrecv") {
				t.Errorf("answer does not send and receive Opus:\n%s", answer)
			}
			rec.wait(t, "Open", func() bool { return len(rec.calls) > 0 })
			waitFor(t, "packets both ways", func() bool {
				s := peer.Stats()
				return s.PacketsIn >= 10 && s.PacketsOut >= 10 && c.Stats().PacketsReceived >= 10
			})
			if got := tr.Peers(); got != 1 {
				t.Errorf("Peers() = %d, want 1", got)
			}
			s := peer.Stats()
			if s.FramesIn == 0 || s.BytesIn == 0 || s.BytesOut == 0 {
				t.Errorf("stats %+v: want frames and bytes both ways", s)
			}
		})
	}
}

// TestInboundTone speaks a 440 Hz tone from the client and checks what the
// Audio handler gets: 20 ms mono 16 kHz frames carrying the tone, at its
// level, for as long as it was spoken, without dropouts.
func TestInboundTone(t *testing.T) {
	t.Parallel()
	tr := newTransport(t, rtc.Config{})
	rec := newRecorder()
	peer, c := dial(t, tr, rec.handlers(), nil)

	const amp, freq = 0.5, 440.0
	spoken := 1500 * time.Millisecond
	if err := c.Speak(tone(24000, freq, amp, spoken), 24000); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitSpoken(testContext(t)); err != nil {
		t.Fatal(err)
	}
	// The client's microphone sends silence after the tone: wait for
	// 300 ms of it to have been decoded.
	rec.wait(t, "silence after the tone", func() bool {
		n := len(rec.frames)
		if n < 15 {
			return false
		}
		for _, f := range rec.frames[n-15:] {
			for _, v := range f.Samples {
				if math.Abs(float64(v)) > 0.01 {
					return false
				}
			}
		}
		for _, f := range rec.frames {
			for _, v := range f.Samples {
				if math.Abs(float64(v)) > 0.1 {
					return true // the tone came before the silence
				}
			}
		}
		return false
	})
	rec.mu.Lock()
	for i, f := range rec.frames {
		if f.SampleRate != rtc.InboundRate || f.Channels != 1 || len(f.Samples) != 320 {
			t.Fatalf("frame %d: %v with %d samples, want 16 kHz mono, 320 samples", i, f.Format, len(f.Samples))
		}
	}
	rec.mu.Unlock()

	x := rec.samples()
	start, end, ok := toneSpan(x, rtc.InboundRate, amp/4)
	if !ok {
		t.Fatal("no tone received")
	}
	got := time.Duration(end-start) * time.Second / rtc.InboundRate
	if d := got - spoken; d < -20*time.Millisecond || d > 20*time.Millisecond {
		t.Errorf("tone lasts %v, spoken %v", got, spoken)
	}
	mid := x[start+1600 : end-1600] // leave out 100 ms at each end
	if f := zeroCrossFreq(mid, rtc.InboundRate); math.Abs(f-freq) > 1 {
		t.Errorf("tone at %.2f Hz, want %v", f, freq)
	}
	wantRMS := amp / math.Sqrt2
	if rms := float64(0); true {
		for _, v := range mid {
			rms += float64(v) * float64(v)
		}
		rms = math.Sqrt(rms / float64(len(mid)))
		if math.Abs(20*math.Log10(rms/wantRMS)) > 1 {
			t.Errorf("tone RMS %.4f, want %.4f ±1 dB", rms, wantRMS)
		}
	}
	if n := dropouts(mid, rtc.InboundRate, wantRMS); n > 0 {
		t.Errorf("%d dropouts of 5 ms in the tone", n)
	}
	s := peer.Stats()
	if s.FramesIn != int64(len(x)/320) {
		t.Errorf("stats count %d frames in, the handler got %d", s.FramesIn, len(x)/320)
	}
	t.Logf("stats: %+v", s)
}
