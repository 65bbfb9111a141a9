package codec

import (
	"io"
	"strconv"
	"testing"
	"time"
)

// Benchmarks report the cost of one 20 ms frame ("ns/frame"); tests never
// assert on them.

func BenchmarkOpusEncode20ms(b *testing.B) {
	for _, rate := range []int{16000, 24000, 48000} {
		b.Run(strconv.Itoa(rate), func(b *testing.B) {
			enc, err := NewOpusEncoder(rate, 1)
			if err != nil {
				b.Fatal(err)
			}
			pcm := sine(rate, rate, 440, 0.5)
			frame := enc.FrameLen()
			packet := make([]byte, 0, maxEncodedFrame)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if packet, err = enc.Encode(packet[:0], pcm[i:i+frame]); err != nil {
					b.Fatal(err)
				}
				i = (i + frame) % (len(pcm) - frame)
			}
		})
	}
}

func BenchmarkOpusDecode20ms(b *testing.B) {
	for _, channels := range []int{1, 2} {
		b.Run(strconv.Itoa(channels)+"ch", func(b *testing.B) {
			pcm := sine(OpusRate*channels, OpusRate, 440, 0.5)
			packets := opusPackets(b, pcm, OpusRate, channels, 0)
			dec, err := NewOpusDecoder(OpusRate, channels)
			if err != nil {
				b.Fatal(err)
			}
			out := make([]float32, 0, maxPacketSamples*channels)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if out, err = dec.Decode(out[:0], packets[i%len(packets)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkOggOpusWriter encodes Piper's 22050 Hz output: resampling to
// 24 kHz, encoding and paging, per 20 ms of audio.
func BenchmarkOggOpusWriter(b *testing.B) {
	const rate = 22050
	pcm := sine(rate, rate, 440, 0.5)
	w, err := NewOggOpusWriter(io.Discard, rate, OggOpusOptions{})
	if err != nil {
		b.Fatal(err)
	}
	chunk := rate / 50
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := w.Write(pcm[i : i+chunk]); err != nil {
			b.Fatal(err)
		}
		i = (i + chunk) % (len(pcm) - chunk)
	}
}

// BenchmarkDecode decodes whole fixtures and reports the cost per 20 ms
// of audio decoded, demuxing included.
func BenchmarkDecode(b *testing.B) {
	for _, name := range []string{"chrome_mediarecorder.webm", "opusenc_mono16k.opus"} {
		b.Run(name, func(b *testing.B) {
			data := readFixture(b, name)
			d, err := Decode(data, Limits{})
			if err != nil {
				b.Fatal(err)
			}
			frames := float64(d.Audio.Duration()) / float64(20*time.Millisecond)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Decode(data, Limits{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/frames, "ns/frame")
		})
	}
}
