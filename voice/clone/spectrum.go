package clone

import "math"

// Spectral features are measured at AnalysisRate, whatever the rate of the
// audio, so that profiles of an upload at 48 kHz and of a Piper voice at
// 22.05 kHz are comparable band for band.
const (
	// AnalysisRate is the rate, in Hz, at which profiles are measured.
	AnalysisRate = 16000
	// MelBands is the number of mel bands of Profile.Envelope.
	MelBands = 40
	// MFCCs is the number of coefficients of Profile.MFCC, c0 to c12.
	MFCCs = 13

	melMinHz = 60
	melMaxHz = 7800

	// The converter's per-frame spectral envelope is the real cepstrum of
	// the frame's log power spectrum liftered to quefrencies below
	// envelopeQuefrency (flat up to envelopeFlat, a half-cosine taper
	// beyond): below the pitch period of any speaking voice up to about
	// 400 Hz, so the harmonics are smoothed away and the formants stay.
	envelopeQuefrency = 0.0024 // seconds
	envelopeFlat      = 0.0016
)

// hzToMel and melToHz are the HTK mel scale.
func hzToMel(f float64) float64 { return 2595 * math.Log10(1+f/700) }
func melToHz(m float64) float64 { return 700 * (math.Pow(10, m/2595) - 1) }

// melBank is a bank of triangular filters on the bins of an n-point
// spectrum at some rate, evenly spaced in mel from melMinHz to melMaxHz.
type melBank struct {
	centres []float64   // Hz
	first   []int       // first bin of each filter
	weights [][]float64 // weights from first on
}

func newMelBank(n, rate, bands int) *melBank {
	edges := make([]float64, bands+2) // Hz
	lo, hi := hzToMel(melMinHz), hzToMel(min(melMaxHz, float64(rate)/2))
	for i := range edges {
		edges[i] = melToHz(lo + (hi-lo)*float64(i)/float64(bands+1))
	}
	binHz := float64(rate) / float64(n)
	b := &melBank{centres: edges[1 : bands+1], first: make([]int, bands), weights: make([][]float64, bands)}
	for m := range bands {
		left, centre, right := edges[m], edges[m+1], edges[m+2]
		first := int(math.Ceil(left / binHz))
		var w []float64
		for k := first; float64(k)*binHz < right && k <= n/2; k++ {
			f := float64(k) * binHz
			if f <= centre {
				w = append(w, (f-left)/(centre-left))
			} else {
				w = append(w, (right-f)/(right-centre))
			}
		}
		if len(w) == 0 { // a band narrower than a bin: take the nearest bin
			first = min(int(math.Round(centre/binHz)), n/2)
			w = []float64{1}
		}
		b.first[m], b.weights[m] = first, w
	}
	return b
}

// apply writes each band's weighted mean of power (n/2+1 bins) to out.
func (b *melBank) apply(power, out []float64) {
	for m, w := range b.weights {
		var s, sw float64
		for i, wi := range w {
			s += wi * power[b.first[m]+i]
			sw += wi
		}
		out[m] = s / sw
	}
}

// envelopeSmoother turns a frame's log power spectrum into its cepstrally
// smoothed envelope.
type envelopeSmoother struct {
	n      int
	plan   *fft
	lifter []float64 // by quefrency, 0 … n/2
	buf    []complex128
}

func newEnvelopeSmoother(plan *fft, rate int) *envelopeSmoother {
	n := plan.n
	e := &envelopeSmoother{n: n, plan: plan, lifter: make([]float64, n/2+1), buf: make([]complex128, n)}
	cut := envelopeQuefrency * float64(rate)
	flat := envelopeFlat * float64(rate)
	for q := range e.lifter {
		switch fq := float64(q); {
		case fq <= flat:
			e.lifter[q] = 1
		case fq < cut:
			e.lifter[q] = 0.5 + 0.5*math.Cos(math.Pi*(fq-flat)/(cut-flat))
		}
	}
	return e
}

// smooth writes the smoothed version of logPower (n/2+1 bins, natural log)
// to out, which may be logPower itself.
func (e *envelopeSmoother) smooth(logPower, out []float64) {
	n := e.n
	for k := 0; k <= n/2; k++ {
		e.buf[k] = complex(logPower[k], 0)
		if k > 0 && k < n/2 {
			e.buf[n-k] = complex(logPower[k], 0)
		}
	}
	e.plan.transform(e.buf, true)
	for q := range e.buf {
		e.buf[q] = complex(real(e.buf[q])*e.lifter[min(q, n-q)], 0)
	}
	e.plan.transform(e.buf, false)
	for k := 0; k <= n/2; k++ {
		out[k] = real(e.buf[k])
	}
}

// logPower writes the natural log of the power of spec's first len(out)
// bins to out. A floor 100 dB below the strongest bin (and at least
// −200 dB) keeps the log of digital silence finite.
func logPower(spec []complex128, out []float64) {
	var peak float64
	for k := range out {
		peak = max(peak, real(spec[k])*real(spec[k])+imag(spec[k])*imag(spec[k]))
	}
	floor := max(peak*1e-10, 1e-20)
	for k := range out {
		p := real(spec[k])*real(spec[k]) + imag(spec[k])*imag(spec[k])
		out[k] = math.Log(p + floor)
	}
}

// dct2 writes the first len(out) coefficients of the orthonormal DCT-II of
// x to out.
func dct2(x, out []float64) {
	m := float64(len(x))
	for i := range out {
		var s float64
		for j, v := range x {
			s += v * math.Cos(math.Pi*float64(i)*(float64(j)+0.5)/m)
		}
		scale := math.Sqrt(2 / m)
		if i == 0 {
			scale = math.Sqrt(1 / m)
		}
		out[i] = s * scale
	}
}

// harmonicEnvelope measures the levels of a voiced frame's harmonics and
// interpolates them at a set of frequencies.
type harmonicEnvelope struct {
	rate    int
	plan    *fft
	win     []float64
	buf     []complex128
	db      []float64 // per bin
	at      []float64 // Hz to report
	hz, lvl []float64 // harmonics found
}

func newHarmonicEnvelope(rate, n int, at []float64) *harmonicEnvelope {
	return &harmonicEnvelope{
		rate: rate, plan: newFFT(n), win: hann(n),
		buf: make([]complex128, n), db: make([]float64, n/2+1), at: at,
	}
}

// measure writes to out the level in dB of frame's harmonic envelope at each
// frequency of h.at, for F0 f0. Each harmonic's level is the largest
// spectral peak within half an F0 of its multiple, refined by parabolic
// interpolation; between harmonics the level is interpolated linearly,
// beyond the first and last held.
func (h *harmonicEnvelope) measure(frame []float64, f0 float64, out []float64) {
	n := h.plan.n
	for i := range h.buf {
		h.buf[i] = complex(frame[i]*h.win[i], 0)
	}
	h.plan.transform(h.buf, false)
	logPower(h.buf, h.db)
	for k, v := range h.db {
		h.db[k] = v * (10 / math.Ln10)
	}
	binHz := float64(h.rate) / float64(n)
	h.hz, h.lvl = h.hz[:0], h.lvl[:0]
	top := h.at[len(h.at)-1] + f0
	for m := 1; float64(m)*f0 < min(top, float64(h.rate)/2-f0); m++ {
		lo := max(1, int(math.Ceil((float64(m)-0.5)*f0/binHz)))
		hi := min(n/2-1, int(math.Floor((float64(m)+0.5)*f0/binHz)))
		best := -1
		for k := lo; k <= hi; k++ {
			if best < 0 || h.db[k] > h.db[best] {
				best = k
			}
		}
		if best < 0 {
			continue
		}
		a, b, c := h.db[best-1], h.db[best], h.db[best+1]
		off := parabolicOffset(a, b, c)
		h.hz = append(h.hz, (float64(best)+off)*binHz)
		h.lvl = append(h.lvl, b-0.25*(a-c)*off)
	}
	if len(h.hz) == 0 {
		clear(out)
		return
	}
	for i, f := range h.at {
		out[i] = interpAt(h.hz, h.lvl, f)
	}
}
