package rtc

import (
	"math"
	"testing"

	"github.com/timbre-ai/timbre/voice/audio"
	"github.com/timbre-ai/timbre/voice/codec"
)

// opusPackets encodes n 20 ms frames of a 440 Hz tone at 48 kHz.
func opusPackets(t *testing.T, n int) [][]byte {
	t.Helper()
	enc, err := codec.NewOpusEncoder(48000, 1)
	if err != nil {
		t.Fatal(err)
	}
	pcm := make([]float32, 960)
	var pkts [][]byte
	for k := range n {
		for i := range pcm {
			pcm[i] = float32(0.5 * math.Sin(2*math.Pi*440*float64(k*960+i)/48000))
		}
		p, err := enc.Encode(nil, pcm)
		if err != nil {
			t.Fatal(err)
		}
		pkts = append(pkts, p)
	}
	return pkts
}

// TestInboundOrdering feeds the decoder what a network does to packets
// (loopback never does) and checks the frames it hands out: one per 20 ms
// of the sender's timeline, in order, with losses concealed.
func TestInboundOrdering(t *testing.T) {
	t.Parallel()
	pkts := opusPackets(t, 40)
	// A packet of the stream: index i, at sequence seq0+i and timestamp
	// ts0+960·i.
	const seq0, ts0 = 65530, 4294967000 // both wrap around
	pkt := func(i int) rtpPacket {
		return rtpPacket{ssrc: 1, seq: uint16(seq0 + i), ts: uint32(ts0 + 960*i), payload: pkts[i]}
	}
	seq := func(from, to int) []int {
		var s []int
		for i := from; i < to; i++ {
			s = append(s, i)
		}
		return s
	}
	tests := []struct {
		name                    string
		order                   []int
		frames, concealed, late int64
	}{
		{"in order", seq(0, 20), 20, 0, 0},
		{"swapped pair", append(append(seq(0, 5), 6, 5), seq(7, 20)...), 20, 0, 0},
		{"one lost", append(seq(0, 5), seq(6, 20)...), 20, 1, 0},
		{"three lost", append(seq(0, 5), seq(8, 20)...), 20, 3, 0},
		{"lost, then arrives too late", append(append(seq(0, 5), seq(6, 10)...), append([]int{5}, seq(10, 20)...)...), 20, 1, 1},
		{"duplicate", append(seq(0, 10), seq(9, 20)...), 20, 0, 1},
		{"duplicate while held", append(append(seq(0, 5), 6, 6, 5), seq(7, 20)...), 20, 0, 1},
		{"lost at the end stays held", append(seq(0, 10), 11, 12), 10, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stats peerCounters
			var got []audio.Frame
			in := newTestInbound(t, &stats, func(f audio.Frame) { got = append(got, f) })
			for _, i := range tt.order {
				in.accept(pkt(i))
			}
			if n := stats.framesIn.Load(); n != tt.frames || int64(len(got)) != n {
				t.Errorf("%d frames (%d handed out), want %d", n, len(got), tt.frames)
			}
			if n := stats.concealed.Load(); n != tt.concealed {
				t.Errorf("%d concealed, want %d", n, tt.concealed)
			}
			if n := stats.late.Load(); n != tt.late {
				t.Errorf("%d late, want %d", n, tt.late)
			}
			for _, f := range got {
				if f.SampleRate != InboundRate || f.Channels != 1 || len(f.Samples) != 320 {
					t.Fatalf("frame %v with %d samples", f.Format, len(f.Samples))
				}
			}
		})
	}
}

// TestInboundGaps checks the timestamp rules: a gap up to 1 s is filled
// with concealment, a longer one (a sender that paused) is not, and a new
// SSRC starts a new stream.
func TestInboundGaps(t *testing.T) {
	t.Parallel()
	pkts := opusPackets(t, 4)
	var stats peerCounters
	in := newTestInbound(t, &stats, nil)
	in.accept(rtpPacket{ssrc: 7, seq: 10, ts: 1000, payload: pkts[0]})
	in.accept(rtpPacket{ssrc: 7, seq: 11, ts: 1000 + 960*11, payload: pkts[1]}) // DTX: 200 ms without packets
	if c := stats.concealed.Load(); c != 10 {
		t.Errorf("a 200 ms gap: %d frames concealed, want 10", c)
	}
	in.accept(rtpPacket{ssrc: 7, seq: 12, ts: 1000 + 960*12 + 48000*3, payload: pkts[2]}) // 3 s later
	if c := stats.concealed.Load(); c != 10 {
		t.Errorf("a 3 s gap: %d frames concealed in all, want 10", c)
	}
	in.accept(rtpPacket{ssrc: 8, seq: 500, ts: 5, payload: pkts[3]}) // a new stream
	if n, c := stats.framesIn.Load(), stats.concealed.Load(); n != 14 || c != 10 {
		t.Errorf("%d frames, %d concealed; want 14, 10", n, c)
	}
	in.accept(rtpPacket{ssrc: 8, seq: 501, ts: 965, payload: []byte{0xff, 0xff, 0xff}}) // not Opus
	if e, c := stats.decodeErrors.Load(), stats.concealed.Load(); e != 1 || c != 11 {
		t.Errorf("a bad packet: %d decode errors, %d concealed; want 1, 11", e, c)
	}
}

func newTestInbound(t *testing.T, stats *peerCounters, h func(audio.Frame)) *inbound {
	t.Helper()
	in, err := newInbound(h, stats, make(chan struct{}))
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// TestInboundPadding checks that padding-only packets, which take
// sequence numbers but no time, neither delay nor add audio, whether they
// arrive or are lost.
func TestInboundPadding(t *testing.T) {
	t.Parallel()
	pkts := opusPackets(t, 10)
	for _, lost := range []bool{false, true} {
		var stats peerCounters
		in := newTestInbound(t, &stats, nil)
		for i := range 10 {
			seq := uint16(100 + i)
			if i >= 3 {
				seq++ // after the padding packet
			}
			if i == 3 && !lost {
				in.accept(rtpPacket{ssrc: 1, seq: 103, ts: 960 * 2})
			}
			in.accept(rtpPacket{ssrc: 1, seq: seq, ts: uint32(960 * i), payload: pkts[i]})
			// Arrived, the padding lets packet 3 play at once; lost, it
			// waits for two more.
			if want := int64(i + 1); i == 3 && !lost && stats.framesIn.Load() != want {
				t.Errorf("padding arrived: %d frames after packet 3, want %d", stats.framesIn.Load(), want)
			}
		}
		if n, c := stats.framesIn.Load(), stats.concealed.Load(); n != 10 || c != 0 {
			t.Errorf("padding lost=%v: %d frames, %d concealed; want 10, 0", lost, n, c)
		}
	}
}
