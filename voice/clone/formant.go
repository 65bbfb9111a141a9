package clone

import (
	"math"
	"math/cmplx"
	"slices"
)

// Formants come from linear prediction, as Praat measures them: the signal
// resampled to twice a formant ceiling, pre-emphasised, an order-12 LPC
// polynomial per 25 ms voiced frame (autocorrelation method,
// Levinson–Durbin), and the angles of its roots with narrow bandwidths
// taken as formant frequencies, lowest first.
const (
	formantRate      = 11000 // Hz: a 5.5 kHz ceiling, which suits women's and men's voices alike
	lpcOrder         = 12    // two poles per formant up to the ceiling (five) and two for the tilt
	formantMinHz     = 90
	formantMaxBW     = 500 // Hz: wider poles shape the spectral tilt, not a formant
	formantWindowSec = 0.025
)

// lpc returns the prediction polynomial 1 + a1 z⁻¹ + … + ap z⁻ᵖ of x by the
// autocorrelation method, or nil when x is silent or the recursion fails.
func lpc(x []float64, order int) []float64 {
	r := make([]float64, order+1)
	for lag := range r {
		var s float64
		for i := lag; i < len(x); i++ {
			s += x[i] * x[i-lag]
		}
		r[lag] = s
	}
	if r[0] <= 0 {
		return nil
	}
	r[0] *= 1 + 1e-9 // a touch of white noise keeps the recursion stable
	a := make([]float64, order+1)
	a[0] = 1
	tmp := make([]float64, order+1)
	e := r[0]
	for i := 1; i <= order; i++ {
		acc := r[i]
		for j := 1; j < i; j++ {
			acc += a[j] * r[i-j]
		}
		k := -acc / e
		if math.Abs(k) >= 1 {
			return nil
		}
		copy(tmp, a)
		for j := 1; j < i; j++ {
			a[j] = tmp[j] + k*tmp[i-j]
		}
		a[i] = k
		e *= 1 - k*k
	}
	return a
}

// polyRoots finds the roots of the monic polynomial z^p + c[1] z^(p-1) + … +
// c[p] by the Durand–Kerner (Weierstrass) iteration.
func polyRoots(c []float64) []complex128 {
	p := len(c) - 1
	z := make([]complex128, p)
	seed := complex(0.4, 0.9)
	z[0] = 1
	for i := range z {
		if i > 0 {
			z[i] = z[i-1] * seed
		}
	}
	eval := func(x complex128) complex128 {
		v := complex(1, 0)
		for _, ci := range c[1:] {
			v = v*x + complex(ci, 0)
		}
		return v
	}
	for range 500 {
		var moved float64
		for i := range z {
			den := complex(1, 0)
			for j := range z {
				if j != i {
					den *= z[i] - z[j]
				}
			}
			if den == 0 {
				den = 1e-12
			}
			step := eval(z[i]) / den
			z[i] -= step
			moved = max(moved, cmplx.Abs(step))
		}
		if moved < 1e-12 {
			break
		}
	}
	return z
}

// frameFormants returns the first three formant frequencies of one frame,
// and false when it has fewer than three.
func frameFormants(frame []float64, rate int) ([3]float64, bool) {
	a := lpc(frame, lpcOrder)
	if a == nil {
		return [3]float64{}, false
	}
	var freqs []float64
	for _, z := range polyRoots(a) {
		if imag(z) <= 0 {
			continue // each conjugate pair once
		}
		hz := cmplx.Phase(z) * float64(rate) / (2 * math.Pi)
		bw := -math.Log(cmplx.Abs(z)) * float64(rate) / math.Pi
		if hz > formantMinHz && hz < float64(rate)/2-formantMinHz && bw > 0 && bw < formantMaxBW {
			freqs = append(freqs, hz)
		}
	}
	if len(freqs) < 3 {
		return [3]float64{}, false
	}
	slices.Sort(freqs)
	return [3]float64{freqs[0], freqs[1], freqs[2]}, true
}

// formants returns the median F1–F3 of x (at formantRate) over the frames
// centred at the given times (seconds), or zeros when fewer than three
// frames yield formants.
func formants(x []float64, times []float64) [3]float64 {
	w := int(formantWindowSec * formantRate)
	win := hamming(w)
	pre := math.Exp(-2 * math.Pi * 50 / formantRate)
	frame := make([]float64, w)
	var f1, f2, f3 []float64
	for _, t := range times {
		start := int(t*formantRate) - w/2
		if start < 1 || start+w > len(x) {
			continue
		}
		for i := range frame {
			frame[i] = (x[start+i] - pre*x[start+i-1]) * win[i]
		}
		if f, ok := frameFormants(frame, formantRate); ok {
			f1, f2, f3 = append(f1, f[0]), append(f2, f[1]), append(f3, f[2])
		}
	}
	if len(f1) < 3 {
		return [3]float64{}
	}
	return [3]float64{median(f1), median(f2), median(f3)}
}

// median is the median of v (which it sorts), or 0 for none.
func median(v []float64) float64 {
	return percentile(v, 0.5)
}

// percentile is the p-quantile (0–1) of v by linear interpolation between
// order statistics; it sorts v. It is 0 for none.
func percentile(v []float64, p float64) float64 {
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	pos := p * float64(len(v)-1)
	i := int(pos)
	if i >= len(v)-1 {
		return v[len(v)-1]
	}
	frac := pos - float64(i)
	return v[i]*(1-frac) + v[i+1]*frac
}
