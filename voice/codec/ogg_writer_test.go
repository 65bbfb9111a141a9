package codec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/timbre-ai/timbre/voice/audio"
)

// TestOggOpusRoundTrip encodes a 440 Hz tone with OggOpusWriter at
// several input rates and decodes it with Decode: the length is the input's
// to the sample (at the encoding rate), the tone comes back at 440 Hz,
// aligned with the input (pre-skip right) and at the same level.
func TestOggOpusRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		rate  int
		flush bool
	}{
		{8000, false}, {16000, true}, {22050, true}, {24000, false}, {44100, false}, {48000, true},
	}
	for _, tt := range tests {
		t.Run(audio.Format{SampleRate: tt.rate, Channels: 1}.String(), func(t *testing.T) {
			t.Parallel()
			n := tt.rate * 103 / 100 // 1.03 s: not whole frames
			in := sine(n, tt.rate, 440, 0.5)
			var buf bytes.Buffer
			w, err := NewOggOpusWriter(&buf, tt.rate, OggOpusOptions{})
			if err != nil {
				t.Fatal(err)
			}
			chunk := tt.rate / 100 * 7 // 70 ms, not a multiple of 20
			for i := 0; i < n; i += chunk {
				if err := w.Write(in[i:min(i+chunk, n)]); err != nil {
					t.Fatal(err)
				}
				if tt.flush {
					if err := w.Flush(); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}

			d, err := Decode(buf.Bytes(), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if d.Audio.SampleRate != OpusRate || d.Audio.Channels != 1 || d.SourceRate != tt.rate {
				t.Errorf("decoded %v from source %d Hz, want 48000 Hz mono from %d Hz", d.Audio.Format, d.SourceRate, tt.rate)
			}
			encRate := nativeOpusRate(tt.rate)
			want := audio.ResampledLen(n, tt.rate, encRate) * (OpusRate / encRate)
			if got := d.Audio.Len(); got != want {
				t.Errorf("decoded %d samples, want %d", got, want)
			}
			inDur := audio.Format{SampleRate: tt.rate, Channels: 1}.Duration(n)
			if diff := d.Audio.Duration() - inDur; diff.Abs() > 20*time.Millisecond {
				t.Errorf("decoded duration differs from the input's by %v", diff)
			}
			out := d.Audio.Samples
			if f := zeroCrossFreq(middle(out), OpusRate); math.Abs(f-440) > 1 {
				t.Errorf("tone at %.2f Hz, want 440", f)
			}
			if lag, corr := bestLag(out, OpusRate, 440, 40); abs(lag) > 8 || corr < 0.99 {
				t.Errorf("output best matches the input at lag %d (corr %.4f), want |lag| ≤ 8", lag, corr)
			}
			if db := audio.DBFS(audio.RMS(middle(out)) / (0.5 / math.Sqrt2)); math.Abs(db) > 0.5 {
				t.Errorf("level off by %.2f dB", db)
			}
		})
	}
}

// TestOggOpusWriterStream checks the stream's structure: the header pages,
// checksums, sequence numbers, granule positions, the EOS page, and that
// Flush makes what was written so far playable.
func TestOggOpusWriterStream(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	const serial = 0x5eed
	w, err := NewOggOpusWriter(&buf, 24000, OggOpusOptions{Serial: serial, Bitrate: 24000})
	if err != nil {
		t.Fatal(err)
	}
	headers := buf.Len()
	in := sine(24000*3, 24000, 300, 0.4) // 3 s

	// 100 ms: five frames encoded, no page yet; Flush writes one.
	if err := w.Write(in[:2400]); err != nil {
		t.Fatal(err)
	}
	if buf.Len() != headers {
		t.Errorf("%d bytes written before Flush, want only the %d of the headers", buf.Len(), headers)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil { // nothing new: no empty page
		t.Fatal(err)
	}
	flushed := bytes.Clone(buf.Bytes())
	d, err := Decode(flushed, Limits{})
	if err != nil {
		t.Fatalf("decode the flushed prefix: %v", err)
	}
	if want := 5*960 - w.PreSkip(); d.Audio.Len() != want {
		t.Errorf("flushed prefix decodes to %d samples, want %d", d.Audio.Len(), want)
	}

	if err := w.Write(in[2400:]); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	pages := splitOggPages(t, data)

	le := binary.LittleEndian
	head := pages[0]
	if head.flags != oggFlagBOS || head.granule != 0 || len(head.lacing) != 1 || string(head.body[:8]) != "OpusHead" {
		t.Fatalf("first page: flags %#x granule %d, %d packets, %q", head.flags, head.granule, len(head.lacing), head.body)
	}
	h := head.body
	if h[8] != 1 || h[9] != 1 || int(le.Uint16(h[10:])) != w.PreSkip() || le.Uint32(h[12:]) != 24000 || le.Uint16(h[16:]) != 0 || h[18] != 0 || len(h) != 19 {
		t.Errorf("OpusHead % x: want version 1, 1 channel, pre-skip %d, 24000 Hz, gain 0, family 0", h, w.PreSkip())
	}
	if w.PreSkip() != 312 {
		t.Errorf("pre-skip %d, want 312 (6.5 ms lookahead)", w.PreSkip())
	}
	tags := pages[1].body
	if pages[1].flags != 0 || pages[1].granule != 0 || string(tags[:8]) != "OpusTags" || string(tags[12:12+le.Uint32(tags[8:])]) != "timbre" {
		t.Errorf("second page %q, want OpusTags with vendor timbre", tags)
	}
	var last int64
	for i, p := range pages {
		if p.serial != serial || p.sequence != uint32(i) {
			t.Errorf("page %d: serial %#x sequence %d", i, p.serial, p.sequence)
		}
		if i >= 2 && (p.granule < last || len(p.lacing) == 0 || len(p.lacing) > pagePackets) {
			t.Errorf("page %d: granule %d after %d, %d lacing values", i, p.granule, last, len(p.lacing))
		}
		last = p.granule
		if eos := p.flags&oggFlagEOS != 0; eos != (i == len(pages)-1) {
			t.Errorf("page %d of %d: EOS %v", i, len(pages), eos)
		}
	}
	if want := int64(w.PreSkip()) + 3*OpusRate; last != want {
		t.Errorf("final granule %d, want %d (pre-skip + 3 s)", last, want)
	}
	if pages[2].granule != 5*960 {
		t.Errorf("flushed page granule %d, want %d", pages[2].granule, 5*960)
	}
}

// TestOggOpusWriterBigPackets checks that pages split on the 255-segment
// limit when packets are large.
func TestOggOpusWriterBigPackets(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	w, err := NewOggOpusWriter(&buf, OpusRate, OggOpusOptions{Bitrate: 510000})
	if err != nil {
		t.Fatal(err)
	}
	// Noise makes the encoder spend its bitrate.
	noise := make([]float32, OpusRate)
	x := uint32(1)
	for i := range noise {
		x = x*1664525 + 1013904223
		noise[i] = float32(int32(x)) / math.MaxInt32 * 0.5
	}
	if err := w.Write(noise); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	pages := splitOggPages(t, buf.Bytes())
	first := pages[2]
	packets := 0
	for _, v := range first.lacing {
		if v < 255 {
			packets++
		}
	}
	if packets >= pagePackets || len(first.lacing) < 200 {
		t.Errorf("first audio page: %d packets in %d lacing values; want it cut short by the 255-value limit", packets, len(first.lacing))
	}
	d, err := Decode(buf.Bytes(), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Audio.Len() != OpusRate {
		t.Errorf("%d samples, want %d", d.Audio.Len(), OpusRate)
	}
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.n == 0 {
		return 0, errors.New("connection reset")
	}
	f.n--
	return len(p), nil
}

// TestOggOpusWriterErrors checks argument errors, ErrClosed and the sticky
// write error.
func TestOggOpusWriterErrors(t *testing.T) {
	t.Parallel()
	if _, err := NewOggOpusWriter(&bytes.Buffer{}, 100, OggOpusOptions{}); err == nil {
		t.Error("rate 100 Hz accepted")
	}
	if _, err := NewOggOpusWriter(&bytes.Buffer{}, 16000, OggOpusOptions{Bitrate: 1000}); err == nil {
		t.Error("bitrate 1000 accepted")
	}
	if _, err := NewOggOpusWriter(&failWriter{}, 16000, OggOpusOptions{}); err == nil {
		t.Error("failed header write not reported")
	}

	var a, b bytes.Buffer
	wa, _ := NewOggOpusWriter(&a, 16000, OggOpusOptions{})
	wb, _ := NewOggOpusWriter(&b, 16000, OggOpusOptions{})
	if wa.serial == wb.serial {
		t.Errorf("two random serial numbers are both %#x", wa.serial)
	}
	if err := wa.Close(); err != nil {
		t.Fatal(err)
	}
	if err := wa.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := wa.Write([]float32{0}); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close: %v", err)
	}
	if err := wa.Flush(); !errors.Is(err, ErrClosed) {
		t.Errorf("Flush after Close: %v", err)
	}
	// An empty stream decodes to nothing.
	if _, err := Decode(a.Bytes(), Limits{}); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty stream: %v, want ErrEmpty", err)
	}

	fw := &failWriter{n: 1}
	w, err := NewOggOpusWriter(fw, 16000, OggOpusOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(make([]float32, 1600)); err != nil {
		t.Fatal(err)
	}
	err1 := w.Flush()
	err2 := w.Write(make([]float32, 320))
	err3 := w.Close()
	if err1 == nil || err2 != err1 || err3 != err1 {
		t.Errorf("errors %v, %v, %v: want the write error, sticky", err1, err2, err3)
	}
}
