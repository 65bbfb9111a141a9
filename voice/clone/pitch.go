package clone

import "math"

// The pitch tracker is YIN (de Cheveigné & Kawahara, 2002): the cumulative
// mean normalised difference function d′ of each frame, its first dip below
// a threshold taken as the period, refined by parabolic interpolation. The
// difference function comes from a cross-correlation computed with one FFT
// and one inverse FFT per frame, so a 30 s clip takes milliseconds.
const (
	// MinF0 and MaxF0 bound the fundamental frequencies the tracker finds, in
	// Hz: below the lowest male speaking voice, above the highest speaking
	// voice of a child.
	MinF0 = 60
	MaxF0 = 500

	yinThreshold = 0.15 // the first dip of d′ below it is the period
	// yinVoiced is the largest d′ at the chosen period for a voiced frame:
	// above it the frame is taken as aperiodic (noise, fricatives, silence).
	yinVoiced = 0.3
	// yinGate is the lowest mean square (−50 dBFS) a voiced frame may have.
	yinGate = 1e-5
)

// pitchFrame is one frame of a pitch track.
type pitchFrame struct {
	f0    float64 // Hz; 0 when unvoiced
	aper  float64 // d′ at the chosen period: 0 periodic … 1 noise
	power float64 // mean square over the window
}

// yin estimates the pitch of one frame at a time. It keeps scratch buffers,
// so one yin serves one goroutine.
type yin struct {
	rate           int
	w              int // integration window, samples
	minLag, maxLag int
	plan           *fft
	buf            []complex128
	d              []float64
}

// newYIN returns a YIN estimator at rate Hz with an integration window of
// window seconds. Its frames are span() samples long.
func newYIN(rate int, window float64) *yin {
	y := &yin{
		rate:   rate,
		w:      int(window * float64(rate)),
		maxLag: int(math.Ceil(float64(rate) / MinF0)),
		minLag: int(math.Floor(float64(rate) / MaxF0)),
	}
	y.plan = newFFT(nextPow2(y.w + y.maxLag))
	y.buf = make([]complex128, y.plan.n)
	y.d = make([]float64, y.maxLag+2)
	return y
}

// span is the length of the frames estimate takes.
func (y *yin) span() int { return y.w + y.maxLag }

// estimate returns the pitch of seg, span() samples: the window is its
// first w samples, compared with itself delayed by up to maxLag.
func (y *yin) estimate(seg []float64) pitchFrame {
	n, w := y.plan.n, y.w
	seg = seg[:y.span()]
	// a = seg[:w] in the real part, b = seg in the imaginary part: one FFT
	// gives both spectra.
	for i := range y.buf {
		var a, b float64
		if i < w {
			a = seg[i]
		}
		if i < len(seg) {
			b = seg[i]
		}
		y.buf[i] = complex(a, b)
	}
	y.plan.transform(y.buf, false)
	// With Z = FFT(a + ib): A_k = (Z_k + Z*_{n-k})/2, B_k = (Z_k − Z*_{n-k})/2i;
	// the cross-correlation r(τ) = Σ a_j b_{j+τ} is IFFT(A*·B).
	for k := 0; k <= n/2; k++ {
		zk, zm := y.buf[k], y.buf[(n-k)%n]
		a := (zk + conj(zm)) / 2
		b := (zk - conj(zm)) / complex(0, 2)
		v := conj(a) * b
		y.buf[k] = v
		if k != 0 && k != n/2 {
			y.buf[n-k] = conj(v)
		}
	}
	y.plan.transform(y.buf, true)

	var e0 float64
	for _, v := range seg[:w] {
		e0 += v * v
	}
	f := pitchFrame{power: e0 / float64(w), aper: 1}
	if e0 == 0 {
		return f
	}
	d := y.d
	et := e0 // Σ seg[τ : τ+w]², slid along
	var cum float64
	d[0] = 1
	for t := 1; t <= y.maxLag; t++ {
		et += seg[t+w-1]*seg[t+w-1] - seg[t-1]*seg[t-1]
		diff := max(e0+et-2*real(y.buf[t]), 0)
		cum += diff
		if cum > 0 {
			d[t] = diff * float64(t) / cum
		} else {
			d[t] = 1
		}
	}
	best := -1
	for t := y.minLag; t <= y.maxLag; t++ {
		if d[t] < yinThreshold {
			for t+1 <= y.maxLag && d[t+1] < d[t] {
				t++
			}
			best = t
			break
		}
	}
	if best < 0 {
		best = y.minLag
		for t := y.minLag + 1; t <= y.maxLag; t++ {
			if d[t] < d[best] {
				best = t
			}
		}
	}
	f.aper = d[best]
	if f.aper < yinVoiced && f.power >= yinGate {
		period := float64(best)
		if best > y.minLag && best < y.maxLag {
			period += parabolicOffset(d[best-1], d[best], d[best+1])
		}
		if hz := float64(y.rate) / period; hz >= MinF0 && hz <= MaxF0 {
			f.f0 = hz
		}
	}
	return f
}

// trackPitch runs YIN (25 ms window) over x at rate Hz with frames every
// hop samples, the window of the first centred on sample 0; x is taken as
// silent outside its bounds.
func trackPitch(x []float64, rate, hop int) []pitchFrame {
	y := newYIN(rate, 0.025)
	seg := make([]float64, y.span())
	var frames []pitchFrame
	for centre := 0; centre < len(x); centre += hop {
		s := centre - y.w/2
		for i := range seg {
			if j := s + i; j >= 0 && j < len(x) {
				seg[i] = x[j]
			} else {
				seg[i] = 0
			}
		}
		frames = append(frames, y.estimate(seg))
	}
	return frames
}

// parabolicOffset is where, relative to the middle point, the parabola
// through three equally spaced values has its extremum: within ±0.5.
func parabolicOffset(a, b, c float64) float64 {
	den := a - 2*b + c
	if den == 0 {
		return 0
	}
	return max(-0.5, min(0.5, 0.5*(a-c)/den))
}

func conj(z complex128) complex128 { return complex(real(z), -imag(z)) }
