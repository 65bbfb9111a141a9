package audio

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Quality picks the resampler's low-pass filter: how deep its stopband is
// and how wide its transition band. Higher quality costs more taps, so more
// CPU and a little more latency.
type Quality int

// Qualities. The transition band ends at the lower of the two Nyquist
// frequencies, so nothing above the output's Nyquist frequency leaks through
// at more than the stopband level; the passband (flat to within 0.01 dB)
// ends where the transition band begins.
const (
	// QualityDefault aims at 100 dB stopband attenuation, passband to 90% of
	// the lower Nyquist frequency (7.2 kHz when 16 kHz is involved).
	QualityDefault Quality = iota
	// QualityFast aims at 70 dB, passband to 80% of the lower Nyquist
	// frequency, with about a third of the default's taps.
	QualityFast
	// QualityHigh aims at 120 dB, passband to 95% of the lower Nyquist
	// frequency, with about two and a half times the default's taps.
	QualityHigh
)

// filterSpec is what a Quality asks of the Kaiser-window design.
type filterSpec struct {
	attenDB    float64 // stopband attenuation aimed at
	transition float64 // transition band width, as a fraction of the lower Nyquist frequency
}

func (q Quality) spec() (filterSpec, error) {
	switch q {
	case QualityDefault:
		return filterSpec{attenDB: 100, transition: 0.10}, nil
	case QualityFast:
		return filterSpec{attenDB: 70, transition: 0.20}, nil
	case QualityHigh:
		return filterSpec{attenDB: 120, transition: 0.05}, nil
	}
	return filterSpec{}, fmt.Errorf("resample: unknown quality %d: %w", q, ErrFormat)
}

const (
	// resampleBlock is how many input frames Process takes in at a time, so
	// its history buffer stays small however large the caller's chunk.
	resampleBlock = 4096
	// maxExactCoeffs bounds the filter table of an exact polyphase bank (one
	// row per output phase). A ratio whose bank would be larger (say 44100 →
	// 48001, with 48001 phases) uses interpPhases rows and interpolates
	// between neighbouring rows instead.
	maxExactCoeffs = 1 << 18
	// interpPhases is the row count of an interpolated table. Linear
	// interpolation between rows this close errs by about -110 dB.
	interpPhases = 512
)

// Resampler converts a stream of interleaved float32 audio from one sample
// rate to another. It is a polyphase windowed-sinc (Kaiser) filter for the
// exact rational ratio out/in: output sample n is the band-limited
// interpolation of the input at time n·in/out input samples.
//
// The filter is symmetric around the output instant (zero phase), so the
// output is time-aligned with the input: a click at t seconds in the input
// peaks at t seconds in the output, and the first output sample is at input
// time 0. The price is lookahead: an output sample is produced once the
// input Latency beyond it has arrived, and Flush supplies the silence after
// the end so that the last samples come out.
//
// Each output sample is a fixed function of the input samples and its
// position, computed the same way whatever the chunking, so the output is
// bit-identical however the input is split into Process calls, and chunk
// boundaries leave no trace. The input before the stream starts is taken as
// silence. The total output of a stream of n input frames is exactly
// ResampledLen(n, inRate, outRate) frames.
//
// A Resampler is not safe for concurrent use; one stream uses one Resampler.
type Resampler struct {
	inRate, outRate int
	channels        int
	identity        bool // equal rates: copy, no filtering

	up, down int // output and input steps of the reduced ratio out/in = up/down
	taps     int // filter taps per output sample (a multiple of 4)
	behind   int // taps before the input sample at or just before the output instant
	exact    bool
	rows     int       // table rows: up when exact, else interpPhases+1
	table    []float32 // rows×taps coefficients, row-major

	hist  [][]float32 // per-channel input history; hist[c][0] is input frame start
	start int64
	pos   int64 // input frame at or just before the next output instant
	phase int   // the next output instant is pos + phase/up
}

// NewResampler returns a Resampler from inRate to outRate Hz for audio with
// channels interleaved channels. Rates must lie within
// MinSampleRate–MaxSampleRate and channels within 1–MaxChannels; the error
// wraps ErrFormat otherwise. Equal rates give a Resampler that copies.
func NewResampler(inRate, outRate, channels int, q Quality) (*Resampler, error) {
	for _, f := range []Format{{inRate, channels}, {outRate, channels}} {
		if err := f.Validate(); err != nil {
			return nil, fmt.Errorf("resample %d → %d Hz: %w", inRate, outRate, err)
		}
	}
	spec, err := q.spec()
	if err != nil {
		return nil, err
	}
	r := &Resampler{inRate: inRate, outRate: outRate, channels: channels}
	if inRate == outRate {
		r.identity = true
		return r, nil
	}
	g := gcd(inRate, outRate)
	r.up, r.down = outRate/g, inRate/g

	// The design is in units of input samples: the kernel is the impulse
	// response of a low-pass filter on the input's time axis, sampled at the
	// up distinct offsets at which output instants fall between inputs.
	nyquist := float64(min(inRate, outRate)) / 2
	cutoff := nyquist * (1 - spec.transition/2) / float64(inRate) // cycles per input sample, middle of the transition band
	width := nyquist * spec.transition / float64(inRate)
	beta := kaiserBeta(spec.attenDB)
	// Kaiser's estimate of the filter length for this attenuation and
	// transition width, here as the kernel's half-width in input samples.
	half := (spec.attenDB - 7.95) / (2.285 * 2 * math.Pi * width) / 2
	// Whole input samples on each side of the output instant, for any
	// offset in [0, 1), rounded up to a multiple of 4 for the dot product.
	r.taps = (2*int(math.Ceil(half)) + 2 + 3) &^ 3
	r.behind = r.taps/2 - 1

	r.exact = r.up*r.taps <= maxExactCoeffs
	if r.exact {
		r.rows = r.up
	} else {
		r.rows = interpPhases + 1 // the last row is offset 1.0, the far end of interpolation
	}
	r.table = make([]float32, r.rows*r.taps)
	row := make([]float64, r.taps)
	i0beta := besselI0(beta)
	for p := range r.rows {
		offset := float64(p) / float64(r.rows)
		if !r.exact {
			offset = float64(p) / interpPhases
		}
		var sum float64
		for m := range row {
			tau := offset + float64(r.behind-m) // input-sample distance from the output instant to tap m
			v := 0.0
			if math.Abs(tau) < half {
				u := tau / half
				v = 2 * cutoff * sinc(2*cutoff*tau) * besselI0(beta*math.Sqrt(1-u*u)) / i0beta
			}
			row[m] = v
			sum += v
		}
		// Unit gain at DC in every row: otherwise the small differences
		// between rows' sums would modulate the signal at the rate the
		// rows cycle, a faint tone under everything.
		for m, v := range row {
			r.table[p*r.taps+m] = float32(v / sum)
		}
	}
	r.hist = make([][]float32, channels)
	for c := range r.hist {
		r.hist[c] = make([]float32, 0, r.taps+resampleBlock)
	}
	r.Reset()
	return r, nil
}

// Reset forgets the stream so far: the next Process call starts a new
// stream, preceded by silence.
func (r *Resampler) Reset() {
	if r.identity {
		return
	}
	for c := range r.hist {
		r.hist[c] = r.hist[c][:r.behind]
		clear(r.hist[c])
	}
	r.start = -int64(r.behind)
	r.pos, r.phase = 0, 0
}

// Latency is how much input beyond an output instant the Resampler needs
// before it can produce that output sample: the lookahead of its filter. It
// is the delay the Resampler adds in a live pipeline; it adds no offset to
// the audio itself.
func (r *Resampler) Latency() time.Duration {
	if r.identity {
		return 0
	}
	return Format{SampleRate: r.inRate, Channels: r.channels}.Duration(r.taps / 2)
}

// Process resamples src, interleaved input continuing the stream, and
// appends the output it completes to dst. It appends at most
// ResampledLen(frames, inRate, outRate)+1 frames for frames input frames,
// and does not allocate when dst has room for them. src that is not a whole number of frames is an error
// wrapping ErrFormat, and nothing of it is used.
func (r *Resampler) Process(dst, src []float32) ([]float32, error) {
	if len(src)%r.channels != 0 {
		return dst, fmt.Errorf("resample: %d samples is not a whole number of %d-channel frames: %w", len(src), r.channels, ErrFormat)
	}
	if r.identity {
		return append(dst, src...), nil
	}
	dst = slices.Grow(dst, r.outputBound(len(src)/r.channels))
	for len(src) > 0 {
		n := min(len(src), resampleBlock*r.channels)
		r.push(src[:n])
		src = src[n:]
		dst = r.drain(dst)
	}
	return dst, nil
}

// Flush ends the stream: it appends the output still held back for
// lookahead to dst, as though silence followed the input, and resets the
// Resampler for a new stream.
func (r *Resampler) Flush(dst []float32) []float32 {
	if r.identity {
		return dst
	}
	for c, h := range r.hist {
		n := len(h)
		h = slices.Grow(h, r.taps/2)[:n+r.taps/2]
		clear(h[n:])
		r.hist[c] = h
	}
	dst = r.drain(dst)
	r.Reset()
	return dst
}

// outputBound is how many samples Process appends for frames more input
// frames: the output instants that the new input completes.
func (r *Resampler) outputBound(frames int) int {
	end := r.start + int64(len(r.hist[0])) + int64(frames)
	span := end - int64(r.taps/2) - r.pos // input frames beyond pos whose lookahead is complete
	if span <= 0 {
		return 0
	}
	n := (span*int64(r.up) - int64(r.phase) + int64(r.down) - 1) / int64(r.down)
	return int(n) * r.channels
}

// push appends interleaved src to the per-channel history.
func (r *Resampler) push(src []float32) {
	if r.channels == 1 {
		r.hist[0] = append(r.hist[0], src...)
		return
	}
	for c := range r.hist {
		h := r.hist[c]
		for i := c; i < len(src); i += r.channels {
			h = append(h, src[i])
		}
		r.hist[c] = h
	}
}

// drain appends every output sample whose taps are all in the history, then
// drops history no later output needs.
func (r *Resampler) drain(dst []float32) []float32 {
	end := r.start + int64(len(r.hist[0]))
	ahead := int64(r.taps / 2)
	taps := r.taps
	for r.pos+ahead < end {
		off := int(r.pos - int64(r.behind) - r.start)
		if r.exact {
			coef := r.table[r.phase*taps : r.phase*taps+taps]
			for _, h := range r.hist {
				dst = append(dst, dot(h[off:off+taps], coef))
			}
		} else {
			// Where the instant falls between table rows, exactly: the
			// offset phase/up in units of 1/interpPhases.
			u := int64(r.phase) * interpPhases
			row := int(u / int64(r.up))
			frac := float32(u%int64(r.up)) / float32(r.up)
			c0 := r.table[row*taps : row*taps+taps]
			c1 := r.table[(row+1)*taps : (row+1)*taps+taps]
			for _, h := range r.hist {
				a := dot(h[off:off+taps], c0)
				b := dot(h[off:off+taps], c1)
				dst = append(dst, a+frac*(b-a))
			}
		}
		r.phase += r.down
		r.pos += int64(r.phase / r.up)
		r.phase %= r.up
	}
	drop := int(min(r.pos-int64(r.behind)-r.start, int64(len(r.hist[0]))))
	if drop > 0 {
		for c, h := range r.hist {
			r.hist[c] = h[:copy(h, h[drop:])]
		}
		r.start += int64(drop)
	}
	return dst
}

// dot is the inner product of x and h, which have the same length, a
// multiple of 4. Four accumulators let the additions overlap.
func dot(x, h []float32) float32 {
	h = h[:len(x)]
	var s0, s1, s2, s3 float32
	for k := 0; k+3 < len(x); k += 4 {
		s0 += x[k] * h[k]
		s1 += x[k+1] * h[k+1]
		s2 += x[k+2] * h[k+2]
		s3 += x[k+3] * h[k+3]
	}
	return (s0 + s1) + (s2 + s3)
}

// ResampledLen is the number of frames a stream of frames input frames at
// inRate becomes at outRate: ceil(frames·outRate/inRate), the output
// instants that fall within the input.
func ResampledLen(frames, inRate, outRate int) int {
	if frames <= 0 || inRate <= 0 || outRate <= 0 {
		return 0
	}
	g := gcd(inRate, outRate)
	up, down := int64(outRate/g), int64(inRate/g)
	return int((int64(frames)*up + down - 1) / down)
}

// Resample converts the whole of f to outRate with a fresh Resampler. For a
// stream, use a Resampler: Resample on each chunk would restart the filter
// and click at every boundary.
func Resample(f Frame, outRate int, q Quality) (Frame, error) {
	if err := f.Validate(); err != nil {
		return Frame{}, fmt.Errorf("resample: %w", err)
	}
	r, err := NewResampler(f.SampleRate, outRate, f.Channels, q)
	if err != nil {
		return Frame{}, err
	}
	out := make([]float32, 0, ResampledLen(f.Len(), f.SampleRate, outRate)*f.Channels)
	out, err = r.Process(out, f.Samples)
	if err != nil {
		return Frame{}, err
	}
	out = r.Flush(out)
	return Frame{Format: Format{SampleRate: outRate, Channels: f.Channels}, Samples: out}, nil
}

// kaiserBeta is Kaiser's window parameter for a stopband attenuation of
// attenDB decibels.
func kaiserBeta(attenDB float64) float64 {
	switch {
	case attenDB > 50:
		return 0.1102 * (attenDB - 8.7)
	case attenDB >= 21:
		return 0.5842*math.Pow(attenDB-21, 0.4) + 0.07886*(attenDB-21)
	}
	return 0
}

// besselI0 is the modified Bessel function of the first kind, order 0, by its
// power series, which converges quickly for the arguments a Kaiser window
// uses (up to about 15).
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	q := x * x / 4
	for k := 1; k < 500; k++ {
		term *= q / float64(k*k)
		sum += term
		if term < sum*1e-17 {
			break
		}
	}
	return sum
}

// sinc is sin(πx)/(πx).
func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	return math.Sin(math.Pi*x) / (math.Pi * x)
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
