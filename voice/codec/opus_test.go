package codec

import (
	"errors"
	"math"
	"testing"

	"github.com/timbre-ai/timbre/voice/audio"
)

func TestPacketSamples(t *testing.T) {
	t.Parallel()
	tests := []struct {
		packet []byte
		want   int // 0: corrupt
	}{
		{[]byte{0x08}, 960},        // SILK NB 20 ms, code 0
		{[]byte{0x18}, 2880},       // SILK NB 60 ms
		{[]byte{0x19, 1, 1}, 5760}, // SILK 60 ms, code 1: two frames
		{[]byte{0x60}, 480},        // Hybrid SWB 10 ms
		{[]byte{0x68}, 960},        // Hybrid SWB 20 ms
		{[]byte{0x80}, 120},        // CELT NB 2.5 ms
		{[]byte{0xf8}, 960},        // CELT FB 20 ms
		{[]byte{0xfb, 0x06}, 5760}, // CELT FB 20 ms, code 3, 6 frames
		{[]byte{0xfb, 0x07}, 0},    // 140 ms: too long
		{[]byte{0x83, 48}, 5760},   // 48 × 2.5 ms
		{[]byte{0xfb, 0x00}, 0},    // zero frames
		{[]byte{0xfb}, 0},          // count byte missing
		{nil, 0},                   // empty
	}
	for _, tt := range tests {
		got, err := packetSamples(tt.packet)
		if tt.want == 0 {
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("% x: %d, %v; want ErrCorrupt", tt.packet, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("% x: %d, %v; want %d", tt.packet, got, err, tt.want)
		}
	}
}

// TestOpusFrames round-trips 20 ms frames through OpusEncoder and
// OpusDecoder, as the WebRTC path will.
func TestOpusFrames(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ rate, channels int }{{16000, 1}, {48000, 2}} {
		enc, err := NewOpusEncoder(tt.rate, tt.channels)
		if err != nil {
			t.Fatal(err)
		}
		dec, err := NewOpusDecoder(tt.rate, tt.channels)
		if err != nil {
			t.Fatal(err)
		}
		if enc.FrameLen() != tt.rate/50 {
			t.Errorf("frame %d samples, want %d", enc.FrameLen(), tt.rate/50)
		}
		mono := sine(tt.rate, tt.rate, 440, 0.5)
		in := audio.AppendUpmix(nil, mono, tt.channels)
		frame := enc.FrameLen() * tt.channels
		var out []float32
		var packet []byte
		for i := 0; i+frame <= len(in); i += frame {
			if packet, err = enc.Encode(packet[:0], in[i:i+frame]); err != nil {
				t.Fatal(err)
			}
			if out, err = dec.Decode(out, packet); err != nil {
				t.Fatal(err)
			}
		}
		if len(out) != len(in) {
			t.Errorf("%d Hz %d ch: %d samples out, want %d", tt.rate, tt.channels, len(out), len(in))
		}
		left := channel(out, tt.channels, 0)[enc.Lookahead():]
		if f := zeroCrossFreq(middle(left), tt.rate); math.Abs(f-440) > 1 {
			t.Errorf("%d Hz: tone at %.2f Hz", tt.rate, f)
		}
		// The codec shifts phase by a few samples at most (0.2 ms).
		if lag, corr := bestLag(left, tt.rate, 440, 20); abs(lag) > 8*tt.rate/OpusRate+1 || corr < 0.99 {
			t.Errorf("%d Hz: after dropping Lookahead() the output matches at lag %d (corr %.3f)", tt.rate, lag, corr)
		}
		// A lost packet conceals 20 ms.
		n := len(out)
		if out, err = dec.Decode(out, nil); err != nil || len(out)-n != frame {
			t.Errorf("concealment: %d samples, %v; want %d", len(out)-n, err, frame)
		}
		var pcm16 []int16
		if pcm16, err = dec.DecodeInt16(pcm16, packet); err != nil || len(pcm16) != frame {
			t.Errorf("DecodeInt16: %d samples, %v", len(pcm16), err)
		}
	}
}

func TestOpusFrameErrors(t *testing.T) {
	t.Parallel()
	if _, err := NewOpusEncoder(44100, 1); err == nil {
		t.Error("encoder at 44100 Hz accepted")
	}
	if _, err := NewOpusDecoder(16000, 3); err == nil {
		t.Error("decoder with 3 channels accepted")
	}
	enc, _ := NewOpusEncoder(16000, 1)
	if _, err := enc.Encode(nil, make([]float32, 100)); err == nil {
		t.Error("a 100-sample frame accepted")
	}
	if p, err := enc.EncodeInt16(nil, make([]int16, 320)); err != nil || len(p) == 0 {
		t.Errorf("EncodeInt16: %d bytes, %v", len(p), err)
	}
	if err := enc.SetBitrate(600000); err == nil {
		t.Error("bitrate 600000 accepted")
	}
	dec, _ := NewOpusDecoder(16000, 1)
	out := []float32{1, 2}
	out, err := dec.Decode(out, []byte{0x09, 1, 2, 3}) // code 1 with an odd byte count
	if !errors.Is(err, ErrCorrupt) || len(out) != 2 {
		t.Errorf("bad packet: %v, %d samples; want ErrCorrupt and dst unchanged", err, len(out))
	}
}
