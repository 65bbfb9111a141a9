package clone

import (
	"errors"
	"github.com/timbre-ai/timbre/voice/audio"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// TestConverterMovesTowardTarget converts Piper voices toward other voices
// and checks that the result is closer to the target than the unconverted
// base, in pitch and in MFCC. Targets: alan (a man; jenny is a woman), and
// jenny played 1.19× faster and 0.84× slower (everything scaled: pitch and
// formants), each measured from a reference clip of different text than
// the converted sentence, as a real upload would be. Run with -v for the
// figures.
func TestConverterMovesTowardTarget(t *testing.T) {
	t.Parallel()
	jenny := speech(t, "jenny", textFox)
	alan := speech(t, "alan", textFox)
	jennyRef := speech(t, "jenny", textShells)
	alanRef := speech(t, "alan", textShells)
	espeak := loadWAV(t, "espeak-en-us-f3.wav") // 16 kHz: profiles compare across rates
	espeakProfile, err := NewProfile(espeak.Samples, espeak.SampleRate)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		base   []float32
		target Profile // of the target speaker's reference clip
	}{
		{"jenny→alan", jenny, profile(t, alanRef)},
		{"alan→jenny", alan, profile(t, jennyRef)},
		{"jenny→jenny×1.19", jenny, profile(t, scaledVoice(t, jennyRef, 1.19))},
		{"jenny→jenny×0.84", jenny, profile(t, scaledVoice(t, jennyRef, 0.84))},
		{"alan→jenny×1.19", alan, profile(t, scaledVoice(t, jennyRef, 1.19))},
		{"jenny→espeak f3", jenny, espeakProfile},
		{"alan→espeak f3", alan, espeakProfile},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			base, target := profile(t, c.base), c.target
			out := convert(t, base, target, c.base)
			got := profile(t, out)
			f0Before, f0After := F0MedianDistance(base, target), F0MedianDistance(got, target)
			mfccBefore, mfccAfter := MFCCDistance(base, target), MFCCDistance(got, target)
			t.Logf("%-18s F0 %5.1f → %5.1f Hz (target %5.1f): %5.2f → %4.2f st;  MFCC %5.2f → %4.2f (%.0f%% less)",
				c.name, base.F0Median, got.F0Median, target.F0Median, f0Before, f0After, mfccBefore, mfccAfter, 100*(1-mfccAfter/mfccBefore))
			if f0After >= f0Before || mfccAfter >= mfccBefore {
				t.Errorf("converted is no closer to the target: F0 %.2f → %.2f st, MFCC %.2f → %.2f", f0Before, f0After, mfccBefore, mfccAfter)
			}
			if f0After > f0Before/2 || mfccAfter > mfccBefore/2 {
				t.Errorf("distances not halved: F0 %.2f → %.2f st, MFCC %.2f → %.2f", f0Before, f0After, mfccBefore, mfccAfter)
			}
		})
	}
}

// logMel is the log mel spectrogram of s at piperRate: 40 bands, 1024-point
// Hann frames every 256 samples, each band less its mean over time, so that
// a fixed equaliser does not count.
func logMel(s []float32) [][]float64 {
	const n, hop = 1024, 256
	plan := newFFT(n)
	bank := newMelBank(n, piperRate, MelBands)
	win := hann(n)
	buf := make([]complex128, n)
	power := make([]float64, n/2+1)
	var frames [][]float64
	for start := 0; start+n <= len(s); start += hop {
		for i := range buf {
			buf[i] = complex(float64(s[start+i])*win[i], 0)
		}
		plan.transform(buf, false)
		for k := range power {
			power[k] = real(buf[k])*real(buf[k]) + imag(buf[k])*imag(buf[k])
		}
		bands := make([]float64, MelBands)
		bank.apply(power, bands)
		for m, v := range bands {
			bands[m] = math.Log(v + 1e-9)
		}
		frames = append(frames, bands)
	}
	for m := range MelBands {
		var mean float64
		for _, f := range frames {
			mean += f[m]
		}
		mean /= float64(len(frames))
		for _, f := range frames {
			f[m] -= mean
		}
	}
	return frames
}

// spectroCorrelation is the correlation of the log mel spectrograms of a
// and b over their common frames: how much of a's time-frequency pattern
// (what is said) b keeps.
func spectroCorrelation(a, b []float32) float64 {
	fa, fb := logMel(a), logMel(b)
	n := min(len(fa), len(fb))
	var sab, saa, sbb float64
	for i := range n {
		for m := range MelBands {
			sab += fa[i][m] * fb[i][m]
			saa += fa[i][m] * fa[i][m]
			sbb += fb[i][m] * fb[i][m]
		}
	}
	return sab / math.Sqrt(saa*sbb)
}

// TestConverterKeepsWhatIsSaid checks intelligibility by proxy: the
// converted speech keeps the input's time-frequency pattern (the log mel
// spectrogram, each band's mean removed, correlates with the input's far
// more than another sentence's does), and stays aligned with the input.
func TestConverterKeepsWhatIsSaid(t *testing.T) {
	t.Parallel()
	jenny := speech(t, "jenny", textFox)
	alan := speech(t, "alan", textShells)
	other := speech(t, "jenny", textShells)
	pj, pa := profile(t, jenny), profile(t, alan)
	out := convert(t, pj, pa, jenny)
	if len(out) != len(jenny) {
		t.Fatalf("output has %d samples, input %d", len(out), len(jenny))
	}
	kept := spectroCorrelation(jenny, out)
	unrelated := spectroCorrelation(jenny, other)
	t.Logf("log-mel correlation with the input: converted %.2f, another sentence %.2f", kept, unrelated)
	if kept < 0.6 || kept < unrelated+0.4 {
		t.Errorf("converted speech correlates %.2f with the input (another sentence: %.2f): what is said is not kept", kept, unrelated)
	}
	// Shifted by 50 ms, the match must get worse: the output is aligned.
	shift := piperRate / 20
	if late := spectroCorrelation(jenny[:len(jenny)-shift], out[shift:]); late >= kept {
		t.Errorf("output correlates better 50 ms late (%.2f ≥ %.2f): not time-aligned", late, kept)
	}
}

// chunked converts samples fed in pieces of the given sizes (cycled) with
// one converter, and returns the output and the input positions where the
// pieces met.
func chunked(t testing.TB, c *Converter, samples []float32, sizes []int) ([]float32, []int) {
	t.Helper()
	var out []float32
	var bounds []int
	for i, pos := 0, 0; pos < len(samples); i++ {
		n := min(sizes[i%len(sizes)], len(samples)-pos)
		out = c.Process(out, samples[pos:pos+n])
		pos += n
		if pos < len(samples) {
			bounds = append(bounds, pos)
		}
	}
	return c.Flush(out), bounds
}

// clickScore is the largest step of s at the given positions (between
// s[b-1] and s[b]) relative to the RMS of the steps in the 64 samples
// around it: about 1–3 in smooth audio, far more at a click.
func clickScore(s []float32, bounds []int) float64 {
	var worst float64
	for _, b := range bounds {
		if b < 33 || b+32 > len(s) {
			continue
		}
		var sum float64
		n := 0
		for i := b - 32; i < b+32; i++ {
			if i != b {
				d := float64(s[i] - s[i-1])
				sum += d * d
				n++
			}
		}
		local := math.Sqrt(sum / float64(n))
		step := math.Abs(float64(s[b] - s[b-1]))
		if local > 0 {
			worst = max(worst, step/local)
		} else if step > 0 {
			worst = math.Inf(1)
		}
	}
	return worst
}

// TestConverterChunkingDoesNotMatter feeds the same speech whole, in tiny
// pieces, in random pieces and sentence by sentence as the TTS delivers
// it: the output must be the same sample for sample, as long as the input,
// and without a step at any boundary larger than the steps inside.
func TestConverterChunkingDoesNotMatter(t *testing.T) {
	t.Parallel()
	jenny := speech(t, "jenny", textFox)
	pj, pa := profile(t, jenny), profile(t, speech(t, "alan", textShells))
	whole := convert(t, pj, pa, jenny)

	rng := rand.New(rand.NewPCG(7, 7))
	random := make([]int, 200)
	for i := range random {
		random[i] = 1 + rng.IntN(3000)
	}
	var bySentence []int
	for _, s := range sentences(t, "jenny", textFox) {
		bySentence = append(bySentence, len(s))
	}
	cases := []struct {
		name  string
		sizes []int
	}{
		{"1 sample", []int{1}},
		{"7 samples", []int{7}},
		{"20 ms", []int{441}},
		{"one hop and one", []int{257, 255}},
		{"random 1–3000", random},
		{"TTS sentences", bySentence},
	}
	c, err := NewConverter(pj, pa, piperRate)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// One converter for every case: Flush must leave it ready for
			// the next stream.
			out, bounds := chunked(t, c, jenny, tc.sizes)
			if len(out) != len(whole) {
				t.Fatalf("%d samples out, %d when whole", len(out), len(whole))
			}
			var worst float64
			for i := range out {
				worst = max(worst, math.Abs(float64(out[i]-whole[i])))
			}
			if worst > 1e-6 {
				t.Errorf("output differs from the whole-signal output by up to %g", worst)
			}
			// Where boundaries fall every few samples they also fall on the
			// speech's own sharp onsets: the whole-signal output at the
			// same places is the measure there.
			score, natural := clickScore(out, bounds), clickScore(whole, bounds)
			if score > max(maxClickScore, natural+0.01) {
				t.Errorf("a step at a chunk boundary is %.1f times the steps around it (whole-signal output there: %.1f)", score, natural)
			}
		})
	}
}

// maxClickScore is the most clickScore allowed at chunk boundaries.
const maxClickScore = 4

// TestClickScoreFindsClicks is the control for the boundary check above: a
// converter restarted at every chunk (as a careless caller would do) leaves
// steps at the boundaries that clickScore must see, where the streaming
// converter, at the same places, leaves none.
func TestClickScoreFindsClicks(t *testing.T) {
	t.Parallel()
	jenny := speech(t, "jenny", textFox)
	pj, pa := profile(t, jenny), profile(t, speech(t, "alan", textShells))
	var restarted []float32
	var bounds []int
	const size = 2205 // 100 ms
	for pos := 0; pos < len(jenny); pos += size {
		if pos > 0 {
			bounds = append(bounds, pos)
		}
		restarted = append(restarted, convert(t, pj, pa, jenny[pos:min(pos+size, len(jenny))])...)
	}
	streamed := convert(t, pj, pa, jenny)
	atRestart, atStream := clickScore(restarted, bounds), clickScore(streamed, bounds)
	t.Logf("click score at 100 ms boundaries: restarted %.1f, streamed %.1f", atRestart, atStream)
	if atRestart <= maxClickScore || atStream > maxClickScore {
		t.Errorf("click score restarted %.1f, streamed %.1f: the check (limit %d) cannot tell them apart", atRestart, atStream, maxClickScore)
	}
}

// TestConverterSameVoiceIsTransparent converts a voice to its own profile:
// nothing to change, so the output must be the input, sample for sample,
// which checks the framing, the overlap-add and the alignment.
func TestConverterSameVoiceIsTransparent(t *testing.T) {
	t.Parallel()
	jenny := speech(t, "jenny", textFox)
	pj := profile(t, jenny)
	out := convert(t, pj, pj, jenny)
	if len(out) != len(jenny) {
		t.Fatalf("%d samples out, %d in", len(out), len(jenny))
	}
	var worst float64
	for i := range out {
		worst = max(worst, math.Abs(float64(out[i]-jenny[i])))
	}
	if worst > 1e-5 {
		t.Errorf("output differs from the input by up to %g", worst)
	}
}

// TestConverterLatency checks that output follows input within one frame,
// and that the frame is under 100 ms at the usual rates.
func TestConverterLatency(t *testing.T) {
	t.Parallel()
	jenny := speech(t, "jenny", textFox)
	pj, pa := profile(t, jenny), profile(t, speech(t, "alan", textShells))
	for _, rate := range []int{8000, 16000, 22050, 24000, 44100, 48000} {
		c, err := NewConverter(pj, pa, rate)
		if err != nil {
			t.Fatalf("%d Hz: %v", rate, err)
		}
		if l := c.Latency(); l <= 0 || l >= 100*time.Millisecond {
			t.Errorf("%d Hz: latency %v, want under 100 ms", rate, l)
		}
	}
	c, err := NewConverter(pj, pa, piperRate)
	if err != nil {
		t.Fatal(err)
	}
	lag := audio.Format{SampleRate: piperRate, Channels: 1}.Frames(c.Latency())
	var out []float32
	fed := 0
	for fed+500 <= len(jenny) {
		out = c.Process(out, jenny[fed:fed+500])
		fed += 500
		if len(out) < fed-lag || len(out) > fed {
			t.Fatalf("after %d samples in, %d out: want %d–%d", fed, len(out), fed-lag, fed)
		}
	}
}

// TestConverterAtOtherRates converts at 16 and 48 kHz: the pitch must land
// on the target's all the same.
func TestConverterAtOtherRates(t *testing.T) {
	t.Parallel()
	jenny := speech(t, "jenny", textFox)
	pj, pa := profile(t, jenny), profile(t, speech(t, "alan", textShells))
	for _, rate := range []int{16000, 48000} {
		in, err := audio.Resample(audio.Frame{Format: audio.Format{SampleRate: piperRate, Channels: 1}, Samples: jenny}, rate, audio.QualityDefault)
		if err != nil {
			t.Fatal(err)
		}
		c, err := NewConverter(pj, pa, rate)
		if err != nil {
			t.Fatal(err)
		}
		out := c.Flush(c.Process(nil, in.Samples))
		got, err := NewProfile(out, rate)
		if err != nil {
			t.Fatalf("%d Hz: %v", rate, err)
		}
		if d := F0MedianDistance(got, pa); d > 0.5 {
			t.Errorf("%d Hz: converted F0 %.1f Hz, target %.1f Hz (%.2f st off)", rate, got.F0Median, pa.F0Median, d)
		}
	}
}

func TestNewConverterRejects(t *testing.T) {
	t.Parallel()
	good := syntheticProfile(200)
	cases := []struct {
		name     string
		from, to Profile
		rate     int
		want     error
	}{
		{"old version", Profile{Version: 0}, good, 22050, ErrProfile},
		{"no pitch", good, func() Profile { p := syntheticProfile(200); p.F0Median = 0; return p }(), 22050, ErrProfile},
		{"short envelope", good, func() Profile { p := syntheticProfile(200); p.Envelope = p.Envelope[:3]; return p }(), 22050, ErrProfile},
		{"NaN", good, func() Profile { p := syntheticProfile(200); p.MFCC[3] = math.NaN(); return p }(), 22050, ErrProfile},
		{"rate", good, good, 4000, audio.ErrFormat},
		{"absurd rate", good, good, 0, audio.ErrFormat},
	}
	for _, c := range cases {
		if _, err := NewConverter(c.from, c.to, c.rate); !errors.Is(err, c.want) {
			t.Errorf("%s: error %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := NewConverter(good, good, 22050); err != nil {
		t.Errorf("valid profiles: %v", err)
	}
}

// BenchmarkConverter converts 6 s of jenny toward alan and reports the
// real-time factor on one core (seconds of CPU per second of audio).
func BenchmarkConverter(b *testing.B) {
	jenny := speech(b, "jenny", textFox)
	pj, pa := profile(b, jenny), profile(b, speech(b, "alan", textShells))
	c, err := NewConverter(pj, pa, piperRate)
	if err != nil {
		b.Fatal(err)
	}
	out := make([]float32, 0, len(jenny))
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		out = c.Flush(c.Process(out[:0], jenny))
	}
	audioSec := float64(len(jenny)) / piperRate * float64(b.N)
	b.ReportMetric(time.Since(start).Seconds()/audioSec, "RTF")
}

// TestConverterFollowsTheInputsPitch converts speech whose base profile
// puts its median a semitone off (as when the voice read its profile text
// higher or lower than this one): the converter shifts from the input's own
// running median, so the output still lands on the target median.
func TestConverterFollowsTheInputsPitch(t *testing.T) {
	t.Parallel()
	jenny := speech(t, "jenny", textFox+" "+textRain)
	actual := profile(t, jenny)
	for _, off := range []float64{-1, 1} {
		base := actual
		base.F0Median *= math.Exp2(off / 12)
		target := actual
		target.F0Median *= math.Exp2(2.0 / 12)
		got := profile(t, convert(t, base, target, jenny))
		d := F0MedianDistance(got, target)
		t.Logf("profile %+.0f st off: output median %.1f Hz, target %.1f Hz (%.2f st)", off, got.F0Median, target.F0Median, d)
		if d > 0.25 {
			t.Errorf("profile %+.0f st off: output median %.1f Hz is %.2f st from the target %.1f Hz", off, got.F0Median, d, target.F0Median)
		}
	}
}

func TestLimitWarp(t *testing.T) {
	t.Parallel()
	cases := []struct {
		alpha, shift, want float64
	}{
		{1.15, -5.7, 1},    // lower voice, higher formants: dropped
		{0.9, 3, 1},        // higher voice, lower formants: dropped
		{0.96, -5.7, 0.96}, // both down: kept
		{1.2, 3.4, 1.2},    // both up: kept
		{1.08, -0.5, 1.08}, // shift too small to matter: kept
	}
	for _, c := range cases {
		if got := limitWarp(c.alpha, c.shift); got != c.want {
			t.Errorf("limitWarp(%v, %v) = %v, want %v", c.alpha, c.shift, got, c.want)
		}
	}
}

func TestPitchCentre(t *testing.T) {
	t.Parallel()
	p := newPitchCentre()
	p.reset(100, 10)
	if got := p.median(); math.Abs(semitones(got)-semitones(100)) > 0.05 {
		t.Fatalf("seeded median %.2f Hz, want 100", got)
	}
	for range 30 {
		p.add(120)
	}
	for range 5 {
		p.add(300)
	}
	if got := p.median(); math.Abs(semitones(got)-semitones(120)) > 0.05 {
		t.Errorf("median %.2f Hz after 30 frames at 120 Hz over a prior of 10 at 100, want 120", got)
	}
}
