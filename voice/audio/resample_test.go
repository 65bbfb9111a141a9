package audio

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// ratios are the conversions Timbre's voice pipeline makes (Piper's 22.05 kHz
// to telephony, ASR and WebRTC rates, browser rates to ASR), plus two
// awkward ones: 44100 → 48001 has 48001 phases and exercises the
// interpolated filter table, 8000 → 44100 a large odd ratio.
var ratios = []struct{ in, out int }{
	{22050, 16000},
	{22050, 24000},
	{22050, 48000},
	{48000, 16000},
	{44100, 16000},
	{16000, 48000},
	{24000, 48000},
	{44100, 48001},
	{8000, 44100},
}

var qualities = []struct {
	name string
	q    Quality
	// noiseDB is the most the residual of a passband tone (everything in
	// the output but the tone: aliases, images, rounding) may reach,
	// relative to the tone.
	noiseDB float64
	// stopDB is the most a tone above the output's Nyquist frequency may
	// reach after resampling, relative to its input level: the quality's
	// design attenuation less a few dB. Every quality must reach -60 dB.
	stopDB float64
	// passband is where the quality's passband ends, as a fraction of the
	// lower Nyquist frequency.
	passband float64
}{
	{"default", QualityDefault, -100, -95, 0.90},
	{"fast", QualityFast, -70, -65, 0.80},
	{"high", QualityHigh, -110, -115, 0.95},
}

// tone is amp·sin(2πft) at rate for frames frames.
func tone(freq, amp float64, rate, frames int) []float32 {
	x := make([]float32, frames)
	for i := range x {
		x[i] = float32(amp * math.Sin(2*math.Pi*freq*float64(i)/float64(rate)))
	}
	return x
}

// fitTone measures a sinusoid of known frequency in y: a least-squares fit
// of a·cos + b·sin at freq, which is a DFT bin at exactly freq without the
// leakage of a bin between FFT frequencies. It returns the amplitude and the
// RMS of what the fit leaves (everything at other frequencies).
func fitTone(y []float32, freq float64, rate int) (amp, residual float64) {
	var cc, cs, ss, yc, ys float64
	w := 2 * math.Pi * freq / float64(rate)
	for i, v := range y {
		c, s := math.Cos(w*float64(i)), math.Sin(w*float64(i))
		cc += c * c
		cs += c * s
		ss += s * s
		yc += float64(v) * c
		ys += float64(v) * s
	}
	det := cc*ss - cs*cs
	a := (yc*ss - ys*cs) / det
	b := (ys*cc - yc*cs) / det
	var r float64
	for i, v := range y {
		e := float64(v) - a*math.Cos(w*float64(i)) - b*math.Sin(w*float64(i))
		r += e * e
	}
	return math.Hypot(a, b), math.Sqrt(r / float64(len(y)))
}

// middle drops the first and last margin of y: what the filter computes from
// the steady tone alone, away from the step at its start and end.
func middle(y []float32, rate int, margin time.Duration) []float32 {
	m := Format{SampleRate: rate, Channels: 1}.Frames(margin)
	return y[m : len(y)-m]
}

func resampleAll(t testing.TB, x []float32, in, out, channels int, q Quality) []float32 {
	t.Helper()
	r, err := NewResampler(in, out, channels, q)
	if err != nil {
		t.Fatalf("NewResampler(%d, %d, %d, %d): %v", in, out, channels, q, err)
	}
	y, err := r.Process(nil, x)
	if err != nil {
		t.Fatalf("Process: %v", err)
	}
	return r.Flush(y)
}

func TestResamplePassbandTone(t *testing.T) {
	t.Parallel()
	for _, rt := range ratios {
		for _, ql := range qualities {
			t.Run(fmt.Sprintf("%dto%d/%s", rt.in, rt.out, ql.name), func(t *testing.T) {
				t.Parallel()
				nyquist := float64(min(rt.in, rt.out)) / 2
				for _, freq := range []float64{440, 1000, 0.7 * nyquist, ql.passband * nyquist} {
					const amp = 0.5
					x := tone(freq, amp, rt.in, rt.in/2)
					y := middle(resampleAll(t, x, rt.in, rt.out, 1, ql.q), rt.out, 50*time.Millisecond)
					got, residual := fitTone(y, freq, rt.out)
					gainDB := DBFS(got / amp)
					noiseDB := DBFS(residual / (got / math.Sqrt2))
					t.Logf("%7.1f Hz: gain %+.5f dB, residual %.1f dB", freq, gainDB, noiseDB)
					// The brief asks for 0.1 dB; the design gives 0.01 dB.
					if math.Abs(gainDB) > 0.01 {
						t.Errorf("%.1f Hz: gain %+.4f dB, want within ±0.01 dB", freq, gainDB)
					}
					if noiseDB > ql.noiseDB {
						t.Errorf("%.1f Hz: residual %.1f dB relative to the tone, want at most %.0f dB", freq, noiseDB, ql.noiseDB)
					}
				}
			})
		}
	}
}

func TestResampleStopband(t *testing.T) {
	t.Parallel()
	for _, rt := range ratios {
		if rt.out > rt.in {
			continue // no tone lies above the output's Nyquist frequency; images are in the passband test's residual
		}
		for _, ql := range qualities {
			t.Run(fmt.Sprintf("%dto%d/%s", rt.in, rt.out, ql.name), func(t *testing.T) {
				t.Parallel()
				outNyq, inNyq := float64(rt.out)/2, float64(rt.in)/2
				// A sweep from just above the output's Nyquist frequency,
				// where the transition band ends and the filter is at its
				// weakest, to just below the input's.
				const steps = 24
				worst, worstFreq := math.Inf(-1), 0.0
				for k := range steps + 1 {
					freq := outNyq + 1 + (inNyq*0.99-outNyq-1)*float64(k)/steps
					const amp = 0.5
					x := tone(freq, amp, rt.in, rt.in/4)
					y := middle(resampleAll(t, x, rt.in, rt.out, 1, ql.q), rt.out, 40*time.Millisecond)
					att := DBFS(RMS(y) / (amp / math.Sqrt2))
					if att > worst {
						worst, worstFreq = att, freq
					}
					if att > min(-60, ql.stopDB) {
						t.Errorf("%.0f Hz tone: %.1f dB after resampling, want at most %.0f dB", freq, att, min(-60, ql.stopDB))
					}
				}
				t.Logf("stopband attenuation %.1f dB (worst tone %.0f Hz)", -worst, worstFreq)
			})
		}
	}
}

// TestResampleChunking feeds the same noise in random chunk sizes, including
// empty and one-frame chunks, and wants the one-shot output bit for bit.
func TestResampleChunking(t *testing.T) {
	t.Parallel()
	for _, rt := range ratios {
		for _, channels := range []int{1, 2} {
			t.Run(fmt.Sprintf("%dto%d/%dch", rt.in, rt.out, channels), func(t *testing.T) {
				t.Parallel()
				rng := rand.New(rand.NewPCG(uint64(rt.in), uint64(rt.out)))
				x := make([]float32, (rt.in/3)*channels)
				for i := range x {
					x[i] = float32(rng.Float64()*2 - 1)
				}
				want := resampleAll(t, x, rt.in, rt.out, channels, QualityDefault)

				r, err := NewResampler(rt.in, rt.out, channels, QualityDefault)
				if err != nil {
					t.Fatal(err)
				}
				var got []float32
				for rest := x; len(rest) > 0; {
					var n int
					switch rng.IntN(4) {
					case 0:
						n = rng.IntN(2) // empty or one frame
					case 1:
						n = rng.IntN(64)
					default:
						n = rng.IntN(6000)
					}
					n = min(n*channels, len(rest))
					if got, err = r.Process(got, rest[:n]); err != nil {
						t.Fatal(err)
					}
					rest = rest[n:]
				}
				got = r.Flush(got)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("chunked output differs from one-shot (-one-shot +chunked):\n%s", diff)
				}
			})
		}
	}
}

func TestResampleLength(t *testing.T) {
	t.Parallel()
	for _, rt := range ratios {
		for _, n := range []int{0, 1, 2, 7, 147, 1000, rt.in, rt.in + 1} {
			t.Run(fmt.Sprintf("%dto%d/%d", rt.in, rt.out, n), func(t *testing.T) {
				t.Parallel()
				y := resampleAll(t, make([]float32, n), rt.in, rt.out, 1, QualityFast)
				want := math.Ceil(float64(n) * float64(rt.out) / float64(rt.in))
				if float64(len(y)) != want || len(y) != ResampledLen(n, rt.in, rt.out) {
					t.Errorf("%d frames became %d, want %.0f (ResampledLen %d)", n, len(y), want, ResampledLen(n, rt.in, rt.out))
				}
			})
		}
	}
}

// TestResampleAlignment puts a click at input frame p and wants its peak at
// the output sample nearest the same instant: the filter's delay is
// compensated, not merely documented.
func TestResampleAlignment(t *testing.T) {
	t.Parallel()
	for _, rt := range ratios {
		t.Run(fmt.Sprintf("%dto%d", rt.in, rt.out), func(t *testing.T) {
			t.Parallel()
			g := gcd(rt.in, rt.out)
			// in/gcd is the first input frame after 0 that falls exactly on
			// an output instant.
			exact := rt.in / g
			for _, p := range []int{0, 1, 333, exact, rt.in/2 + 17} {
				x := make([]float32, max(rt.in, exact+1000))
				x[p] = 1
				y := resampleAll(t, x, rt.in, rt.out, 1, QualityDefault)
				peak := 0
				for i, v := range y {
					if math.Abs(float64(v)) > math.Abs(float64(y[peak])) {
						peak = i
					}
				}
				at := float64(p) * float64(rt.out) / float64(rt.in)
				if math.Abs(float64(peak)-at) > 0.5+1e-9 {
					t.Errorf("click at input %d (output time %.2f) peaks at output %d", p, at, peak)
				}
			}
		})
	}
}

// TestResampleDC wants a constant through unchanged: every filter phase has
// unit gain at DC, so no phase-dependent ripple appears.
func TestResampleDC(t *testing.T) {
	t.Parallel()
	for _, rt := range ratios {
		t.Run(fmt.Sprintf("%dto%d", rt.in, rt.out), func(t *testing.T) {
			t.Parallel()
			x := make([]float32, rt.in/2)
			for i := range x {
				x[i] = 0.25
			}
			y := middle(resampleAll(t, x, rt.in, rt.out, 1, QualityDefault), rt.out, 50*time.Millisecond)
			for i, v := range y {
				if math.Abs(float64(v)-0.25) > 1e-6 {
					t.Fatalf("sample %d of the steady part is %v, want 0.25", i, v)
				}
			}
		})
	}
}

// TestResampleStereo wants each channel of a stereo stream exactly as it
// would come out on its own.
func TestResampleStereo(t *testing.T) {
	t.Parallel()
	left := tone(440, 0.5, 22050, 5000)
	right := tone(3000, 0.3, 22050, 5000)
	stereo := make([]float32, 0, 2*len(left))
	for i := range left {
		stereo = append(stereo, left[i], right[i])
	}
	y := resampleAll(t, stereo, 22050, 48000, 2, QualityDefault)
	var gotL, gotR []float32
	for i := 0; i < len(y); i += 2 {
		gotL = append(gotL, y[i])
		gotR = append(gotR, y[i+1])
	}
	if diff := cmp.Diff(resampleAll(t, left, 22050, 48000, 1, QualityDefault), gotL); diff != "" {
		t.Errorf("left channel (-mono +stereo):\n%s", diff)
	}
	if diff := cmp.Diff(resampleAll(t, right, 22050, 48000, 1, QualityDefault), gotR); diff != "" {
		t.Errorf("right channel (-mono +stereo):\n%s", diff)
	}
}

// TestResampleReuse wants a Resampler after Flush to behave as a new one.
func TestResampleReuse(t *testing.T) {
	t.Parallel()
	a := tone(440, 0.5, 44100, 3000)
	b := tone(1000, 0.5, 44100, 5000)
	r, err := NewResampler(44100, 16000, 1, QualityDefault)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Process(nil, a); err != nil {
		t.Fatal(err)
	}
	_ = r.Flush(nil)
	got, err := r.Process(nil, b)
	if err != nil {
		t.Fatal(err)
	}
	got = r.Flush(got)
	if diff := cmp.Diff(resampleAll(t, b, 44100, 16000, 1, QualityDefault), got); diff != "" {
		t.Errorf("second stream (-fresh +reused):\n%s", diff)
	}
}

func TestResampleIdentity(t *testing.T) {
	t.Parallel()
	x := tone(440, 0.5, 16000, 321)
	r, err := NewResampler(16000, 16000, 1, QualityDefault)
	if err != nil {
		t.Fatal(err)
	}
	y, err := r.Process(nil, x)
	if err != nil {
		t.Fatal(err)
	}
	y = r.Flush(y)
	if diff := cmp.Diff(x, y); diff != "" {
		t.Errorf("equal rates changed the audio (-in +out):\n%s", diff)
	}
	if r.Latency() != 0 {
		t.Errorf("Latency = %v, want 0", r.Latency())
	}
}

func TestResampleLatency(t *testing.T) {
	t.Parallel()
	r, err := NewResampler(22050, 48000, 1, QualityDefault)
	if err != nil {
		t.Fatal(err)
	}
	// Output is held back until the lookahead has arrived: one output
	// instant's worth past the latency releases it.
	ahead := r.taps / 2
	if want := (Format{SampleRate: 22050, Channels: 1}).Duration(ahead); r.Latency() != want {
		t.Errorf("Latency = %v, want %v (%d frames)", r.Latency(), want, ahead)
	}
	y, err := r.Process(nil, make([]float32, ahead))
	if err != nil {
		t.Fatal(err)
	}
	if len(y) != 0 {
		t.Errorf("%d frames of input (the latency) released %d samples, want 0", ahead, len(y))
	}
	if y, _ = r.Process(y, make([]float32, 1)); len(y) == 0 {
		t.Errorf("one frame past the latency released nothing")
	}
	if l := r.Latency(); l <= 0 || l > 10*time.Millisecond {
		t.Errorf("Latency = %v, want a few milliseconds", l)
	}
}

func TestResampleErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name              string
		in, out, channels int
		q                 Quality
	}{
		{"zero rate", 0, 16000, 1, QualityDefault},
		{"rate too high", 22050, 1_000_000, 1, QualityDefault},
		{"no channels", 22050, 16000, 0, QualityDefault},
		{"too many channels", 22050, 16000, 9, QualityDefault},
		{"unknown quality", 22050, 16000, 1, Quality(7)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := NewResampler(tt.in, tt.out, tt.channels, tt.q); !errors.Is(err, ErrFormat) {
				t.Errorf("NewResampler error = %v, want ErrFormat", err)
			}
		})
	}
	t.Run("partial frame", func(t *testing.T) {
		t.Parallel()
		r, err := NewResampler(22050, 16000, 2, QualityDefault)
		if err != nil {
			t.Fatal(err)
		}
		dst, err := r.Process(nil, make([]float32, 3))
		if !errors.Is(err, ErrFormat) || len(dst) != 0 {
			t.Errorf("Process(3 samples, stereo) = %d samples, %v; want none and ErrFormat", len(dst), err)
		}
	})
}

func TestResampleFrame(t *testing.T) {
	t.Parallel()
	in := Frame{Format: Format{SampleRate: 22050, Channels: 1}, Samples: tone(440, 0.5, 22050, 22050)}
	out, err := Resample(in, 16000, QualityDefault)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Format{SampleRate: 16000, Channels: 1}, out.Format); diff != "" {
		t.Errorf("format (-want +got):\n%s", diff)
	}
	if out.Duration() != time.Second {
		t.Errorf("Duration = %v, want 1s", out.Duration())
	}
	if _, err := Resample(Frame{Format: Format{SampleRate: 22050, Channels: 2}, Samples: make([]float32, 3)}, 16000, QualityDefault); !errors.Is(err, ErrFormat) {
		t.Errorf("Resample of a partial frame: error %v, want ErrFormat", err)
	}
}

func TestResampleAllocs(t *testing.T) {
	r, err := NewResampler(22050, 48000, 1, QualityDefault)
	if err != nil {
		t.Fatal(err)
	}
	chunk := tone(440, 0.5, 22050, 441) // 20 ms
	dst := make([]float32, 0, 2048)
	allocs := testing.AllocsPerRun(100, func() {
		if dst, err = r.Process(dst[:0], chunk); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Process allocates %.1f times per 20 ms chunk, want 0", allocs)
	}
}

// BenchmarkResample22050to48000 resamples Piper's output rate to WebRTC's in
// 20 ms chunks and reports the real-time factor: seconds of CPU per second
// of audio.
func BenchmarkResample22050to48000(b *testing.B) {
	benchmarkResample(b, 22050, 48000, QualityDefault)
}

// BenchmarkResample compares ratios and qualities.
func BenchmarkResample(b *testing.B) {
	for _, rt := range ratios {
		for _, ql := range qualities {
			b.Run(fmt.Sprintf("%dto%d/%s", rt.in, rt.out, ql.name), func(b *testing.B) {
				benchmarkResample(b, rt.in, rt.out, ql.q)
			})
		}
	}
}

func benchmarkResample(b *testing.B, in, out int, q Quality) {
	r, err := NewResampler(in, out, 1, q)
	if err != nil {
		b.Fatal(err)
	}
	second := tone(440, 0.5, in, in)
	chunk := in / 50
	dst := make([]float32, 0, 2*out/50+16)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for i := 0; i+chunk <= len(second); i += chunk {
			if dst, err = r.Process(dst[:0], second[i:i+chunk]); err != nil {
				b.Fatal(err)
			}
		}
	}
	audio := float64(b.N) * float64(len(second)/chunk*chunk) / float64(in)
	b.ReportMetric(b.Elapsed().Seconds()/audio, "rtf")
	b.ReportMetric(audio/b.Elapsed().Seconds(), "x_realtime")
}

// TestResampleOutputBound checks the room Process documents it needs, and
// that it appends exactly what outputBound predicts.
func TestResampleOutputBound(t *testing.T) {
	t.Parallel()
	for _, rt := range ratios {
		t.Run(fmt.Sprintf("%dto%d", rt.in, rt.out), func(t *testing.T) {
			t.Parallel()
			r, err := NewResampler(rt.in, rt.out, 2, QualityDefault)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, uint64(rt.out)))
			var dst []float32
			for range 200 {
				n := rng.IntN(700)
				predicted := r.outputBound(n)
				before := len(dst)
				if dst, err = r.Process(dst, make([]float32, 2*n)); err != nil {
					t.Fatal(err)
				}
				got := len(dst) - before
				if got != predicted {
					t.Fatalf("%d frames appended %d samples, outputBound said %d", n, got, predicted)
				}
				if limit := 2 * (ResampledLen(n, rt.in, rt.out) + 1); got > limit {
					t.Fatalf("%d frames appended %d samples, documented at most %d", n, got, limit)
				}
			}
		})
	}
}

// BenchmarkNewResampler measures designing the filter table, paid once per
// stream (per WebRTC session, per TTS request).
func BenchmarkNewResampler(b *testing.B) {
	for _, rt := range []struct{ in, out int }{{22050, 48000}, {48000, 16000}, {44100, 48001}} {
		b.Run(fmt.Sprintf("%dto%d", rt.in, rt.out), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := NewResampler(rt.in, rt.out, 1, QualityDefault); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
