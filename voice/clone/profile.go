package clone

import (
	"fmt"
	"math"
	"slices"

	"github.com/timbre-ai/timbre/voice/audio"
)

// ProfileVersion is the layout of Profile and of its Vector. A change to
// either (features, scales, bands) raises it; profiles of another version
// must be measured again from their clips before they are compared or
// converted to.
const ProfileVersion = 1

// Profile is what makes a voice sound like itself, measured from speech:
// its pitch, its formants and its long-term spectral envelope. It is what
// the platform stores for a cloned voice (as JSON, with Vector in pgvector)
// and what a Converter converts between. Frequencies are in Hz, levels in
// dB.
type Profile struct {
	Version int `json:"version"`
	// Speech is the duration analysed, in seconds.
	Speech float64 `json:"speech_s"`

	// F0Median, F0Mean, F0P10 and F0P90 describe the fundamental frequency
	// over voiced frames (YIN, MinF0–MaxF0 Hz).
	F0Median float64 `json:"f0_median_hz"`
	F0Mean   float64 `json:"f0_mean_hz"`
	F0P10    float64 `json:"f0_p10_hz"`
	F0P90    float64 `json:"f0_p90_hz"`
	// F0Std is the standard deviation of F0 in semitones: how much the
	// voice's melody moves.
	F0Std float64 `json:"f0_std_st"`
	// VoicedFraction is the share of frames with signal that are voiced.
	VoicedFraction float64 `json:"voiced_fraction"`

	// Formants are the median F1, F2 and F3 over voiced frames (LPC); zero
	// when too few frames gave three formants.
	Formants [3]float64 `json:"formants_hz"`

	// Envelope is the long-term average harmonic envelope of voiced frames:
	// the level of each harmonic (the spectral peak nearest each multiple of
	// the frame's F0, 64 ms Hann frames) interpolated linearly along
	// frequency to the centres of MelBands mel bands from 60 Hz to 7.8 kHz,
	// in dB, averaged in dB. Measured on harmonics rather than on a smoothed
	// spectrum, it does not depend on how dense the harmonics are, so voices
	// of different pitch compare fairly. Its absolute level follows the
	// clip's level; comparisons remove the mean.
	Envelope []float64 `json:"envelope_db"`
	// EnvelopeHz is the centre frequency of each Envelope band.
	EnvelopeHz []float64 `json:"envelope_hz"`

	// MFCC is the mean of c0–c12 over voiced frames (25 ms Hamming frames
	// every 10 ms, pre-emphasis 0.97, 40 mel bands 60–7800 Hz, natural log,
	// orthonormal DCT-II), at AnalysisRate.
	MFCC []float64 `json:"mfcc"`
}

// Analysis framing at AnalysisRate.
const (
	analysisHop  = AnalysisRate / 100 // 10 ms
	mfccWindow   = AnalysisRate / 40  // 25 ms
	analysisFFT  = 512
	preEmphasis  = 0.97
	minVoicedFrm = 20 // 200 ms of voicing: fewer and the statistics mean nothing
)

// NewProfile measures the profile of samples, mono speech at rate Hz, as it
// is: no trimming, no level change, no checks beyond needing some voiced
// speech (ErrNoVoice otherwise). Analyze trims, checks and normalises an
// upload first; NewProfile suits audio already known to be speech, such as
// a built-in voice's or a converter's output.
func NewProfile(samples []float32, rate int) (Profile, error) {
	x, err := toAnalysisRate(samples, rate)
	if err != nil {
		return Profile{}, err
	}
	return profileOf(x, nil)
}

// toAnalysisRate resamples mono samples at rate to AnalysisRate, as float64.
func toAnalysisRate(samples []float32, rate int) ([]float64, error) {
	f := audio.Frame{Format: audio.Format{SampleRate: rate, Channels: 1}, Samples: samples}
	r, err := audio.Resample(f, AnalysisRate, audio.QualityDefault)
	if err != nil {
		return nil, fmt.Errorf("clone: %w", err)
	}
	x := make([]float64, len(r.Samples))
	for i, v := range r.Samples {
		x[i] = float64(v)
	}
	return x, nil
}

// profileOf measures x at AnalysisRate. track is x's pitch track when the
// caller already has it.
func profileOf(x []float64, track []pitchFrame) (Profile, error) {
	if track == nil {
		track = trackPitch(x, AnalysisRate, analysisHop)
	}
	p := Profile{Version: ProfileVersion, Speech: float64(len(x)) / AnalysisRate}

	var f0s, semis []float64
	active := 0
	var times []float64
	for i, f := range track {
		if f.power >= yinGate {
			active++
		}
		if f.f0 > 0 {
			f0s = append(f0s, f.f0)
			semis = append(semis, semitones(f.f0))
			times = append(times, float64(i*analysisHop)/AnalysisRate)
		}
	}
	if len(f0s) < minVoicedFrm {
		return Profile{}, fmt.Errorf("%w: %d voiced frames (%.2f s), at least %d needed", ErrNoVoice, len(f0s), float64(len(f0s))/100, minVoicedFrm)
	}
	p.VoicedFraction = float64(len(f0s)) / float64(max(active, 1))
	var sum float64
	for _, f := range f0s {
		sum += f
	}
	p.F0Mean = sum / float64(len(f0s))
	var ms, vs float64
	for _, s := range semis {
		ms += s
	}
	ms /= float64(len(semis))
	for _, s := range semis {
		vs += (s - ms) * (s - ms)
	}
	p.F0Std = math.Sqrt(vs / float64(len(semis)))
	sorted := slices.Clone(f0s) // percentile sorts; f0s stays in step with times
	p.F0P10 = percentile(sorted, 0.1)
	p.F0P90 = percentile(sorted, 0.9)
	p.F0Median = percentile(sorted, 0.5)

	p.Envelope, p.EnvelopeHz, p.MFCC = spectralProfile(x, times, f0s)
	p.Formants = formantsAt(x, times)
	return p, nil
}

// formantsAt resamples x to formantRate and measures formants at times.
func formantsAt(x []float64, times []float64) [3]float64 {
	f32 := make([]float32, len(x))
	for i, v := range x {
		f32[i] = float32(v)
	}
	r, err := audio.Resample(audio.Frame{Format: audio.Format{SampleRate: AnalysisRate, Channels: 1}, Samples: f32}, formantRate, audio.QualityFast)
	if err != nil { // both rates are constants within range
		panic(err)
	}
	y := make([]float64, len(r.Samples))
	for i, v := range r.Samples {
		y[i] = float64(v)
	}
	return formants(y, times)
}

// Harmonic envelope framing: a longer window than the MFCC's, so that the
// harmonics of a 60 Hz voice are resolved.
const envelopeFFT = 1024

// spectralProfile returns the mean harmonic envelope (dB per mel band), the
// band centres and the mean MFCC of x over the voiced frames centred at
// times, whose F0s are f0s.
func spectralProfile(x, times, f0s []float64) (env, centres, mfcc []float64) {
	bank := newMelBank(analysisFFT, AnalysisRate, MelBands)
	plan := newFFT(analysisFFT)
	hammW := hamming(mfccWindow)
	buf := make([]complex128, analysisFFT)
	power := make([]float64, analysisFFT/2+1)
	bands := make([]float64, MelBands)
	coef := make([]float64, MFCCs)
	env = make([]float64, MelBands)
	mfcc = make([]float64, MFCCs)
	he := newHarmonicEnvelope(AnalysisRate, envelopeFFT, bank.centres)
	at := func(i int) float64 {
		if i < 0 || i >= len(x) {
			return 0
		}
		return x[i]
	}
	frame := make([]float64, envelopeFFT)
	for fi, t := range times {
		c := int(math.Round(t * AnalysisRate))

		for i := range frame {
			frame[i] = at(c - envelopeFFT/2 + i)
		}
		he.measure(frame, f0s[fi], bands)
		for m, v := range bands {
			env[m] += v
		}

		// MFCC: the usual recipe.
		for i := range buf {
			v := 0.0
			if i < mfccWindow {
				j := c - mfccWindow/2 + i
				v = (at(j) - preEmphasis*at(j-1)) * hammW[i]
			}
			buf[i] = complex(v, 0)
		}
		plan.transform(buf, false)
		for k := range power {
			power[k] = real(buf[k])*real(buf[k]) + imag(buf[k])*imag(buf[k])
		}
		bank.apply(power, bands)
		for m, v := range bands {
			bands[m] = math.Log(v + 1e-10)
		}
		dct2(bands, coef)
		for i, v := range coef {
			mfcc[i] += v
		}
	}
	n := float64(max(len(times), 1))
	for m := range env {
		env[m] /= n
	}
	for i := range mfcc {
		mfcc[i] /= n
	}
	return env, append([]float64(nil), bank.centres...), mfcc
}

// semitones is f Hz as a MIDI note number, 12·log2(f/440) + 69: semitones
// on the scale where A4 (440 Hz) is 69.
func semitones(f float64) float64 { return 12*math.Log2(f/440) + 69 }

// Validate reports whether p is a profile of this version with the fields a
// Converter and Vector need, wrapping ErrProfile when not.
func (p Profile) Validate() error {
	switch {
	case p.Version != ProfileVersion:
		return fmt.Errorf("%w: version %d, this build measures version %d", ErrProfile, p.Version, ProfileVersion)
	case !(p.F0Median >= MinF0 && p.F0Median <= MaxF0):
		return fmt.Errorf("%w: F0 median %g Hz outside %d–%d", ErrProfile, p.F0Median, MinF0, MaxF0)
	case len(p.Envelope) != MelBands || len(p.EnvelopeHz) != MelBands:
		return fmt.Errorf("%w: envelope has %d bands, want %d", ErrProfile, len(p.Envelope), MelBands)
	case len(p.MFCC) != MFCCs:
		return fmt.Errorf("%w: %d MFCCs, want %d", ErrProfile, len(p.MFCC), MFCCs)
	}
	for _, v := range append(append([]float64{p.F0Mean, p.F0Std, p.F0P10, p.F0P90, p.Formants[0], p.Formants[1], p.Formants[2]}, p.Envelope...), p.MFCC...) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%w: a value is not finite", ErrProfile)
		}
	}
	return nil
}
