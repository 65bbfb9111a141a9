package main

import "github.com/timbre-ai/timbre/voice/clone"

// part is a piece of the conversion, run alone (-parts) to tell which piece
// costs intelligibility or misses a distance: the converter toward a target
// that differs from the base only in pitch, only in timbre, or only in
// spectral balance.
type part struct {
	name   string
	target clone.Profile
	// f0Dist and mfccDist are the output's distances to the real
	// reference, one per run and text; asr pools its word errors.
	f0Dist, mfccDist []float64
	asr              wordErrors
}

// newParts returns the pitch-only, timbre-only and equaliser-only
// conversions from base toward ref.
func newParts(base, ref clone.Profile) []*part {
	return []*part{
		{name: "pitch only", target: pitchOnly(base, ref)},
		{name: "timbre only", target: timbreOnly(base, ref)},
		{name: "equaliser only", target: equaliserOnly(base, ref)},
	}
}

// pitchOnly is base with ref's pitch statistics: the converter then moves
// the pitch and its spread, and leaves formants (warp 1) and the spectral
// balance (equaliser 0 dB) alone.
func pitchOnly(base, ref clone.Profile) clone.Profile {
	p := base
	p.F0Median, p.F0Mean, p.F0P10, p.F0P90, p.F0Std = ref.F0Median, ref.F0Mean, ref.F0P10, ref.F0P90, ref.F0Std
	return p
}

// timbreOnly is ref with base's pitch statistics: the converter then warps
// the formants and equalises, and leaves the pitch where it is.
func timbreOnly(base, ref clone.Profile) clone.Profile {
	p := ref
	p.F0Median, p.F0Mean, p.F0P10, p.F0P90, p.F0Std = base.F0Median, base.F0Mean, base.F0P10, base.F0P90, base.F0Std
	return p
}

// equaliserOnly is timbreOnly without the formant warp (base's formants:
// warp 1): the converter only equalises base's long-term envelope to ref's.
func equaliserOnly(base, ref clone.Profile) clone.Profile {
	p := timbreOnly(base, ref)
	p.Formants = base.Formants
	return p
}
