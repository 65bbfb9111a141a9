package clone

import (
	"fmt"
	"math"
	"time"

	"github.com/timbre-ai/timbre/voice/audio"
)

// The converter works on a short-time Fourier transform: Hann frames of
// about 40 ms (a power of two: 1024 samples at 22.05 kHz) every quarter
// frame, each frame taken apart into a harmonic part and the rest, changed,
// and overlap-added.
//
// Pitch. In a voiced frame (YIN on the frame, refined by a least-squares
// fit to its first harmonics) the harmonics below maxVoicedHz are made
// anew at multiples of the target F0: output harmonic m, at F = m·f0′, is
// the input's spectral peak nearest F (a region as wide as the narrower
// harmonic spacing around it) moved by a whole number of bins to F, its
// phase advanced frame to frame at F and the phases within the region kept
// relative to the peak (phase locking, after Laroche & Dolson). Because
// every output harmonic comes from the input harmonic nearest in frequency,
// a shift down keeps the whole band (a frequency-scaling pitch shifter
// would empty the top of it) and each moved region travels at most half a
// harmonic spacing, so the envelope correction below stays small.
// Unvoiced frames (fricatives, pauses) and the band above maxVoicedHz pass
// through unshifted: noise has no pitch, and shifting it would only blur it.
// The target F0 of a frame is the target median times the frame's F0 over
// the input's running median (its voiced frames so far; the first half
// second of voicing blended with the base profile's median), to the power of the
// spread ratio. Shifting from the input's own median rather than from the
// base profile's lands on the target median even when the base voice reads
// this text higher or lower than it read the profile text (±0.5 st is
// usual), and keeps the spread scaling from amplifying that offset.
//
// Timbre. Every bin is scaled by the frame's own cepstral envelope warped
// along frequency by the formant ratio α, over the envelope where the bin
// came from — |Y(f)| = |X(k)| · E(f/α) / E(k) — and by a fixed equaliser G(f)
// that takes the base voice's long-term harmonic envelope, so warped, to
// the target's: G(f) = T(f) / B(f/α), normalised to keep the level,
// smoothed across neighbouring mel bands and limited to ±15 dB. G is
// measured on voiced speech, so unvoiced frames get half of it (within
// ±6 dB). The warp is dropped (α = 1) when it would move the formants
// against a pitch shift of a semitone or more (a lower voice with higher
// formants): such a voice is outside what ASR and listeners expect, and
// costs intelligibility far more than it buys in similarity; the equaliser
// alone gets about as close to such a target's spectrum. Harmonics made
// from fewer or more input harmonics are scaled by √(f0′/f0), which keeps
// the power per hertz, and so the loudness.
//
// Streaming. Frames sit at fixed positions of the stream, every hop samples
// from −(size−hop), and a sample is emitted once the last frame that covers
// it is done, so the output depends only on the input, never on how it was
// cut into Process calls, and is time-aligned with it. The price is
// latency: one frame (46 ms at 22.05 kHz). TD-PSOLA would keep more of the
// voice's natural phase on large shifts, but needs pitch marks placed
// consistently across chunk boundaries, and a separate formant stage; the
// phase-locked STFT does pitch, formants and equalisation in one pass.
const (
	frameSeconds = 0.037 // shortest frame: a power of two at least this long
	maxVoicedHz  = 5000  // harmonics above are left where they are
	// Limits on what a conversion may ask, so that a bad profile cannot
	// produce a monster.
	maxShiftSemitones = 15
	minWarp, maxWarp  = 0.8, 1.25
	minSpread         = 0.5
	maxSpread         = 2.0
	maxEQdB           = 15
	eqSmoothing       = 1 // passes of a [¼ ½ ¼] filter across the mel bands
	opposingShift     = 1 // semitones; see limitWarp
	maxEQUnvoicedDB   = 6
	maxEnvRatioDB     = 24 // per-bin envelope correction
	// converterYIN is the YIN window in the converter: short enough that a
	// frame holds it and its longest lag.
	converterYIN = 0.02
	// centrePrior is the weight, in seconds of voiced frames, of the base
	// profile's median in the running median of the input's pitch.
	centrePrior = 0.5
)

// Converter changes a voice toward a target Profile, as a stream. It is not
// safe for concurrent use; one stream uses one Converter.
type Converter struct {
	rate, n, hop int
	plan         *fft
	smoother     *envelopeSmoother
	pitch        *yin
	centre       *pitchCentre
	win          []float64
	olaGain      float64 // 1 / Σ w² over the frames that overlap a sample

	remap      bool    // shift pitch at all
	baseF0     float64 // Hz
	targetF0   float64
	spread     float64   // exponent on f0/baseF0
	alpha      float64   // formant warp
	logGain    []float64 // equaliser for voiced frames, natural-log amplitude per bin
	logGainUnv []float64 // the milder one for unvoiced frames
	mvfBin     int
	binHz      float64
	f0Lo, f0Hi float64 // the frame F0s believed: within 2.5× of baseF0

	// Stream state.
	in        []float64 // input from position inPos; frames start at inPos
	inPos     int64
	acc       []float64 // overlap-add accumulator from position inPos
	consumed  int64     // input samples so far
	emitted   int64     // output samples so far
	harmPhase []float64 // output phase of harmonic m (index m) in the last frame
	harmHz    []float64 // its frequency; 0 when it was silent
	voicedRun bool      // the last frame was voiced and remapped

	// Scratch.
	spec, out    []complex128
	mag, logp    []float64
	env, envWarp []float64
	yinSeg       []float64
}

// NewConverter returns a Converter of mono audio at rate Hz from the voice
// of profile from (the base voice whose audio will be fed) toward the voice
// of profile to. Both profiles must be valid (Profile.Validate); the error
// wraps ErrProfile, or audio.ErrFormat for a bad rate.
//
// The pitch moves from the input's running median (seeded with
// from.F0Median) to to.F0Median (at most 15 semitones) and its spread
// scales by to.F0Std / from.F0Std (0.5–2); formants move by the geometric
// mean of the F1–F3 ratios (0.8–1.25), or not at all when that is against
// the direction of the pitch shift; the equaliser is limited to ±15 dB.
// The output keeps about the input's level and is not limited: samples
// beyond ±1 are the caller's to clip or not.
func NewConverter(from, to Profile, rate int) (*Converter, error) {
	if err := (audio.Format{SampleRate: rate, Channels: 1}).Validate(); err != nil {
		return nil, fmt.Errorf("clone: converter: %w", err)
	}
	if rate < 8000 {
		return nil, fmt.Errorf("clone: converter: %d Hz is below 8000: %w", rate, audio.ErrFormat)
	}
	for _, p := range []Profile{from, to} {
		if err := p.Validate(); err != nil {
			return nil, fmt.Errorf("clone: converter: %w", err)
		}
	}
	n := nextPow2(int(math.Ceil(frameSeconds * float64(rate))))
	c := &Converter{
		rate: rate, n: n, hop: n / 4,
		plan: newFFT(n),
		win:  hann(n),
	}
	c.smoother = newEnvelopeSmoother(c.plan, rate)
	c.pitch = newYIN(rate, converterYIN)
	c.centre = newPitchCentre()
	c.olaGain = 1 / sumSquaresAtHop(c.win, c.hop)
	c.binHz = float64(rate) / float64(n)
	c.mvfBin = min(int(maxVoicedHz/c.binHz), n/2)

	shift := clampAbs(semitones(to.F0Median)-semitones(from.F0Median), maxShiftSemitones)
	c.baseF0 = from.F0Median
	c.targetF0 = from.F0Median * math.Pow(2, shift/12)
	c.spread = 1
	if from.F0Std > 0 && to.F0Std > 0 {
		c.spread = max(minSpread, min(maxSpread, to.F0Std/from.F0Std))
	}
	c.remap = math.Abs(shift) > 0.05 || math.Abs(c.spread-1) > 0.02
	c.f0Lo, c.f0Hi = max(MinF0, from.F0Median/2.5), min(MaxF0, from.F0Median*2.5)
	c.alpha = limitWarp(warpFactor(from, to), shift)
	c.logGain = equaliser(from, to, c.alpha, n, rate)
	// The profiles describe voiced speech only. Fricatives have most of
	// their energy where voiced spectra have little, and the full
	// equaliser there (up to +15 dB) would make them hiss; unvoiced frames
	// get half of it, within ±6 dB.
	c.logGainUnv = make([]float64, len(c.logGain))
	limit := maxEQUnvoicedDB / 20 * math.Ln10
	for k, g := range c.logGain {
		c.logGainUnv[k] = clampAbs(g/2, limit)
	}

	bins := n/2 + 1
	c.spec = make([]complex128, n)
	c.out = make([]complex128, n)
	c.mag = make([]float64, bins)
	c.logp = make([]float64, bins)
	c.env = make([]float64, bins)
	c.envWarp = make([]float64, bins)
	c.yinSeg = make([]float64, c.pitch.span())
	c.reset()
	return c, nil
}

// sumSquaresAtHop is Σ_k w[i + k·hop]² for i = 0, which for a periodic Hann
// window at a quarter-frame hop is the same for every i (1.5).
func sumSquaresAtHop(w []float64, hop int) float64 {
	var s float64
	for i := 0; i < len(w); i += hop {
		s += w[i] * w[i]
	}
	return s
}

// warpFactor is the formant ratio to/from: the geometric mean of the F1,
// F2 and F3 ratios (F2 and F3 weighted double: F1 moves with the vowel more
// than with the speaker), clamped; 1 when either profile lacks formants.
func warpFactor(from, to Profile) float64 {
	weights := [3]float64{1, 2, 2}
	var sum, wsum float64
	for i, w := range weights {
		if from.Formants[i] <= 0 || to.Formants[i] <= 0 {
			return 1
		}
		sum += w * math.Log(to.Formants[i]/from.Formants[i])
		wsum += w
	}
	return max(minWarp, min(maxWarp, math.Exp(sum/wsum)))
}

// limitWarp drops the formant warp alpha when it moves the formants
// against a pitch shift of at least opposingShift semitones: a voice made
// lower with higher formants (or higher with lower ones) is one no speaker
// has, and ASR stops understanding it, while the equaliser alone comes as
// close to such a target's spectrum.
func limitWarp(alpha, shift float64) float64 {
	if math.Abs(shift) >= opposingShift && math.Log(alpha)*shift < 0 {
		return 1
	}
	return alpha
}

// equaliser returns, per bin of an n-point spectrum at rate, the natural-log
// amplitude gain that takes from's long-term envelope, warped by alpha, to
// to's: G(f) = T(f) − B(f/α) in dB on the mel bands, less its power-weighted
// mean (so the level stays), smoothed across neighbouring bands, clamped,
// and interpolated to the bins along mel; held flat beyond the outer bands
// and faded to 0 dB from the top band to Nyquist.
func equaliser(from, to Profile, alpha float64, n, rate int) []float64 {
	bands := len(to.Envelope)
	g := make([]float64, bands)
	var pt, pb float64
	for m, f := range to.EnvelopeHz {
		b := interpAt(from.EnvelopeHz, from.Envelope, f/alpha)
		g[m] = to.Envelope[m] - b
		pt += math.Pow(10, to.Envelope[m]/10)
		pb += math.Pow(10, b/10)
	}
	level := 10 * math.Log10(pt/pb)
	smooth := make([]float64, bands)
	for range eqSmoothing {
		for m := range g {
			l, r := g[max(m-1, 0)], g[min(m+1, bands-1)]
			smooth[m] = 0.25*l + 0.5*g[m] + 0.25*r
		}
		g, smooth = smooth, g
	}
	for m := range g {
		smooth[m] = clampAbs(g[m]-level, maxEQdB)
	}
	gain := make([]float64, n/2+1)
	top := to.EnvelopeHz[bands-1]
	nyquist := float64(rate) / 2
	mels := make([]float64, bands)
	for m, f := range to.EnvelopeHz {
		mels[m] = hzToMel(f)
	}
	for k := range gain {
		f := float64(k) * float64(rate) / float64(n)
		db := interpAt(mels, smooth, hzToMel(f))
		if f > top && nyquist > top {
			db *= max(0, 1-(f-top)/(nyquist-top))
		}
		gain[k] = db / 20 * math.Ln10
	}
	return gain
}

// interpAt interpolates ys (at increasing xs) linearly at x, holding the end
// values beyond the ends.
func interpAt(xs, ys []float64, x float64) float64 {
	if x <= xs[0] {
		return ys[0]
	}
	last := len(xs) - 1
	if x >= xs[last] {
		return ys[last]
	}
	lo, hi := 0, last
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if xs[mid] <= x {
			lo = mid
		} else {
			hi = mid
		}
	}
	t := (x - xs[lo]) / (xs[hi] - xs[lo])
	return ys[lo]*(1-t) + ys[hi]*t
}

func clampAbs(v, limit float64) float64 { return max(-limit, min(limit, v)) }

// Latency is the converter's algorithmic delay in a live stream: how much
// input beyond a sample must arrive before that sample comes out (one
// frame). The output itself is not delayed: Flush emits the rest, and the
// whole output lines up with the input sample for sample.
func (c *Converter) Latency() time.Duration {
	return audio.Format{SampleRate: c.rate, Channels: 1}.Duration(c.n)
}

// Warp is the formant ratio the converter applies (above 1 moves formants
// up).
func (c *Converter) Warp() float64 { return c.alpha }

// PitchShift is the median pitch shift the profiles ask for, in semitones:
// to's median over from's. The converter shifts from the input's own running
// median, so on a text the base voice reads higher or lower than its
// profile's the shift applied differs by as much.
func (c *Converter) PitchShift() float64 {
	return semitones(c.targetF0) - semitones(c.baseF0)
}

// reset starts a new stream: silence before it.
func (c *Converter) reset() {
	pre := c.n - c.hop
	c.in = append(c.in[:0], make([]float64, pre)...)
	c.inPos = -int64(pre)
	c.acc = append(c.acc[:0], make([]float64, c.n)...)
	c.consumed, c.emitted = 0, 0
	c.centre.reset(c.baseF0, centrePrior*float64(c.rate)/float64(c.hop))
	c.harmPhase = c.harmPhase[:0]
	c.harmHz = c.harmHz[:0]
	c.voicedRun = false
}

// Process converts src, the next samples of the stream, and appends the
// output it completes to dst: the samples up to about one frame before the
// end of the input so far. Over a stream, Process and Flush together append
// exactly as many samples as were fed, the same whatever the chunking.
func (c *Converter) Process(dst, src []float32) []float32 {
	for _, v := range src {
		x := float64(v)
		if math.IsNaN(x) || math.IsInf(x, 0) {
			x = 0 // one bad sample must not poison the stream's state
		}
		c.in = append(c.in, x)
	}
	c.consumed += int64(len(src))
	for len(c.in) >= c.n {
		dst = c.frame(dst, c.consumed)
	}
	return dst
}

// Flush converts what remains of the stream, as though silence followed,
// appends it to dst, and resets the Converter for a new stream.
func (c *Converter) Flush(dst []float32) []float32 {
	for c.emitted < c.consumed {
		if len(c.in) < c.n {
			c.in = append(c.in, make([]float64, c.n-len(c.in))...)
		}
		dst = c.frame(dst, c.consumed)
	}
	c.reset()
	return dst
}

// frame converts the frame at inPos, overlap-adds it, emits the samples no
// later frame touches (those before end, the input so far), and moves on by
// a hop.
func (c *Converter) frame(dst []float32, end int64) []float32 {
	n, hop := c.n, c.hop
	c.convert(c.in[:n])
	for i := range n {
		c.acc[i] += real(c.out[i])
	}
	for i := range hop {
		pos := c.inPos + int64(i)
		if pos >= c.emitted && pos < end {
			dst = append(dst, float32(c.acc[i]))
			c.emitted++
		}
	}
	copy(c.acc, c.acc[hop:])
	clear(c.acc[n-hop:])
	c.in = c.in[:copy(c.in, c.in[hop:])]
	c.inPos += int64(hop)
	return dst
}

// convert transforms one frame of input x (n samples) into c.out (real
// parts: the windowed output frame, scaled for overlap-add).
func (c *Converter) convert(x []float64) {
	n := c.n
	half := n / 2
	// Zero-phase windowing: the frame's centre at index 0, so a bin's phase
	// is the phase of its component at the centre of the frame.
	for i := range n {
		j := (i + half) % n
		c.spec[i] = complex(x[j]*c.win[j], 0)
	}
	c.plan.transform(c.spec, false)
	logPower(c.spec, c.logp)
	for k := range c.mag {
		c.mag[k] = math.Sqrt(math.Exp(c.logp[k]))
	}
	c.smoother.smooth(c.logp, c.env)
	for k := range c.envWarp {
		src := float64(k) / c.alpha
		i := int(src)
		if i >= half {
			c.envWarp[k] = c.env[half]
			continue
		}
		t := src - float64(i)
		c.envWarp[k] = c.env[i]*(1-t) + c.env[i+1]*t
	}

	clear(c.out)
	copy(c.yinSeg, x[(n-len(c.yinSeg))/2:])
	p := c.pitch.estimate(c.yinSeg)
	voiced := p.f0 >= c.f0Lo && p.f0 <= c.f0Hi
	first, eq := 0, c.logGainUnv // bins from first up pass through
	if voiced {
		eq = c.logGain
	}
	if voiced && c.remap {
		first = c.mvfBin
		c.harmonics(c.refineF0(p.f0))
	}
	c.voicedRun = voiced && c.remap
	for k := first; k <= half; k++ {
		c.out[k] += c.spec[k] * complex(c.binGain(k, k, eq), 0)
	}

	// Hermitian symmetry, then back to time, window and scale.
	c.out[0] = complex(real(c.out[0]), 0)
	c.out[half] = complex(real(c.out[half]), 0)
	for k := 1; k < half; k++ {
		c.out[n-k] = conj(c.out[k])
	}
	c.plan.transform(c.out, true)
	// Undo the zero-phase rotation into c.spec, then window.
	for i := range n {
		j := (i + half) % n
		c.spec[j] = c.out[i]
	}
	for i := range n {
		c.out[i] = complex(real(c.spec[i])*c.win[i]*c.olaGain, 0)
	}
}

// binGain is the amplitude factor for moving bin k to bin j: the warped
// envelope at j over the envelope at k (limited), times the equaliser eq
// at j.
func (c *Converter) binGain(j, k int, eq []float64) float64 {
	r := clampAbs((c.envWarp[j]-c.env[k])/2, maxEnvRatioDB/20*math.Ln10)
	return math.Exp(r + eq[j])
}

// refineF0 fits f0 to the frame's harmonics below 1.5 kHz: the peaks nearest
// each multiple of the YIN estimate, located by parabolic interpolation of
// the log magnitude, in a least-squares fit weighted by amplitude.
func (c *Converter) refineF0(f0 float64) float64 {
	var num, den float64
	for h := 1; float64(h)*f0 < 1500; h++ {
		k, pos, ok := c.peakNear(float64(h)*f0, f0/2)
		if !ok {
			continue
		}
		a := c.mag[k]
		num += a * float64(h) * pos
		den += a * float64(h*h)
	}
	if den == 0 {
		return f0
	}
	if r := num / den; math.Abs(r-f0) < 0.1*f0 {
		return r
	}
	return f0
}

// peakNear finds the largest local maximum of the magnitude within ±radius
// Hz of hz: its bin and its interpolated frequency in Hz.
func (c *Converter) peakNear(hz, radius float64) (int, float64, bool) {
	lo := max(1, int(math.Ceil((hz-radius)/c.binHz)))
	hi := min(c.n/2-1, int(math.Floor((hz+radius)/c.binHz)))
	best := -1
	for k := lo; k <= hi; k++ {
		if c.mag[k] >= c.mag[k-1] && c.mag[k] >= c.mag[k+1] && (best < 0 || c.mag[k] > c.mag[best]) {
			best = k
		}
	}
	if best < 0 {
		return 0, 0, false
	}
	off := parabolicOffset(c.logp[best-1], c.logp[best], c.logp[best+1])
	return best, (float64(best) + off) * c.binHz, true
}

// harmonics makes the output's harmonics below the maximum voiced frequency
// at multiples of the target F0 for input F0 f0.
func (c *Converter) harmonics(f0 float64) {
	// f1 = targetF0 · (f0/centre)^spread, the melody's excursions around
	// the input's own running median scaled but kept within an octave of
	// the target median.
	c.centre.add(f0)
	centre := c.centre.median()
	excursion := clampAbs(c.spread*math.Log2(f0/centre), 1)
	move := clampAbs(math.Log2(c.targetF0/centre), maxShiftSemitones/12.0)
	f1 := centre * math.Exp2(move+excursion)
	width := min(f0, f1) / 2
	// Making f0/f1 harmonics out of each input harmonic multiplies the
	// power per hertz by f0/f1; this keeps it, and so the loudness.
	density := complex(math.Sqrt(f1/f0), 0)
	maxHz := float64(c.mvfBin) * c.binHz
	count := int(maxHz / f1)
	for len(c.harmPhase) <= count {
		c.harmPhase = append(c.harmPhase, 0)
		c.harmHz = append(c.harmHz, 0)
	}
	step := 2 * math.Pi * float64(c.hop) / float64(c.rate)
	for m := 1; m <= count; m++ {
		F := float64(m) * f1
		h := max(1, math.Round(F/f0))
		k, pos, ok := c.peakNear(h*f0, f0/2)
		if !ok {
			c.harmHz[m] = 0
			continue
		}
		srcPhase := cmplxPhase(c.spec[k])
		var phase float64
		if c.voicedRun && c.harmHz[m] > 0 {
			phase = c.harmPhase[m] + step*(c.harmHz[m]+F)/2
		} else {
			phase = srcPhase // a new harmonic starts where its source is
		}
		phase = math.Remainder(phase, 2*math.Pi)
		c.harmPhase[m], c.harmHz[m] = phase, F
		rot := phase - srcPhase
		shift := int(math.Round((F - pos) / c.binHz))
		s, co := math.Sincos(rot)
		r := complex(co, s) * density
		lo := max(1, int(math.Ceil((F-width)/c.binHz)))
		hi := min(c.mvfBin-1, int(math.Ceil((F+width)/c.binHz))-1)
		for j := lo; j <= hi; j++ {
			src := j - shift
			if src < 0 || src > c.n/2 {
				continue
			}
			c.out[j] += c.spec[src] * r * complex(c.binGain(j, src, c.logGain), 0)
		}
	}
	for m := count + 1; m < len(c.harmHz); m++ {
		c.harmHz[m] = 0
	}
}

func cmplxPhase(z complex128) float64 { return math.Atan2(imag(z), real(z)) }
