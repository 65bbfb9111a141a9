package clone

import "math"

// VectorDims is the length of Profile.Vector.
const VectorDims = 64

// Reference values the vector's features are centred on: a voice with
// these would sit at the origin. They are round figures for adult speech,
// not fitted to any data set; they only need to sit between typical voices
// so that the vector's direction tells voices apart.
const (
	refF0               = 150             // Hz, between typical men (~110) and women (~200)
	refF0Std            = 2.0             // semitones
	refF0Range          = 6.0             // semitones from p10 to p90
	refVoiced           = 0.6             // voiced fraction
	refTiltPerBnd       = -0.8            // dB per mel band: speech falls ~30 dB from 60 Hz to 7.8 kHz
	refF1, refF2, refF3 = 500, 1500, 2600 // Hz
)

// Vector is p as VectorDims numbers for nearest-neighbour search by cosine
// distance (pgvector's <=>): similar voices point in similar directions.
// Every feature is centred on a typical adult voice and scaled by how much
// voices vary in it, and blocks are weighted so that pitch and spectral
// envelope count about equally; the whole is L2-normalised. The layout
// (ProfileVersion 1):
//
//	0      F0 median: semitones from 150 Hz / 4, weight 2
//	1      F0 spread: (F0Std − 2 st) / 1.5
//	2      F0 range: (semitones from p10 to p90 − 6) / 3, weight 0.5
//	3      voiced fraction: (v − 0.6) / 0.15, weight 0.25
//	4–6    F1–F3: ln(F / 500, 1500, 2600 Hz) / 0.1, weight 0.5 (0 when unknown)
//	7–46   envelope: the 40 mel bands in dB, less their mean and a typical
//	       tilt of −0.8 dB per band, / 6 dB, weight 2/√40
//	47–58  MFCC c1–c12 / 5, weight 1.5/√12
//	59–63  zero, reserved
//
// The vector of an invalid profile (Profile.Validate) is all zeros.
func (p Profile) Vector() []float32 {
	v := make([]float64, VectorDims)
	if p.Validate() != nil {
		return make([]float32, VectorDims)
	}
	v[0] = 2 * (semitones(p.F0Median) - semitones(refF0)) / 4
	v[1] = (p.F0Std - refF0Std) / 1.5
	if p.F0P10 > 0 && p.F0P90 > 0 {
		v[2] = 0.5 * (semitones(p.F0P90) - semitones(p.F0P10) - refF0Range) / 3
	}
	v[3] = 0.25 * (p.VoicedFraction - refVoiced) / 0.15
	for i, ref := range [3]float64{refF1, refF2, refF3} {
		if f := p.Formants[i]; f > 0 {
			v[4+i] = 0.5 * math.Log(f/ref) / 0.1
		}
	}
	env := relativeEnvelope(p.Envelope)
	w := 2 / math.Sqrt(MelBands)
	for m, e := range env {
		v[7+m] = w * e / 6
	}
	w = 1.5 / math.Sqrt(MFCCs-1)
	for i := 1; i < MFCCs; i++ {
		v[47+i-1] = w * p.MFCC[i] / 5
	}
	var norm float64
	for _, x := range v {
		norm += x * x
	}
	out := make([]float32, VectorDims)
	if norm == 0 {
		return out
	}
	norm = math.Sqrt(norm)
	for i, x := range v {
		out[i] = float32(x / norm)
	}
	return out
}

// relativeEnvelope is env less its mean and the typical tilt.
func relativeEnvelope(env []float64) []float64 {
	out := make([]float64, len(env))
	mid := float64(len(env)-1) / 2
	var mean float64
	for _, e := range env {
		mean += e
	}
	mean /= float64(len(env))
	for m, e := range env {
		out[m] = e - mean - refTiltPerBnd*(float64(m)-mid)
	}
	return out
}

// envelopeDistance is the RMS difference in dB between the envelopes of a
// and b, each less its mean.
func envelopeDistance(a, b Profile) float64 {
	if len(a.Envelope) != len(b.Envelope) || len(a.Envelope) == 0 {
		return math.Inf(1)
	}
	ra, rb := relativeEnvelope(a.Envelope), relativeEnvelope(b.Envelope)
	var s float64
	for i := range ra {
		d := ra[i] - rb[i]
		s += d * d
	}
	return math.Sqrt(s / float64(len(ra)))
}

// nearestPitchBand is how close, in semitones, a base voice's F0 must be to
// the closest base's for Nearest to weigh its envelope too.
const nearestPitchBand = 2.0

// Nearest returns the index of the base voice to convert from to reach
// profile: among the bases whose F0 median is within 2 semitones of the
// closest, the one whose envelope is closest (RMS dB, levels removed). It
// is −1 when bases is empty; invalid bases are skipped.
func Nearest(profile Profile, bases []Profile) int {
	bestPitch := math.Inf(1)
	for _, b := range bases {
		if b.Validate() == nil {
			bestPitch = min(bestPitch, F0MedianDistance(profile, b))
		}
	}
	best, bestEnv := -1, math.Inf(1)
	for i, b := range bases {
		if b.Validate() != nil || F0MedianDistance(profile, b) > bestPitch+nearestPitchBand {
			continue
		}
		if d := envelopeDistance(profile, b); best < 0 || d < bestEnv {
			best, bestEnv = i, d
		}
	}
	return best
}
