package clone

import "math"

// F0MedianDistance is how far apart the median pitches of a and b are, in
// semitones (absolute).
func F0MedianDistance(a, b Profile) float64 {
	if a.F0Median <= 0 || b.F0Median <= 0 {
		return math.Inf(1)
	}
	return math.Abs(semitones(a.F0Median) - semitones(b.F0Median))
}

// MFCCDistance is the Euclidean distance between the mean MFCCs of a and b
// over c1–c12: c0, the overall level, is left out, so that the loudness of
// the recordings does not count.
func MFCCDistance(a, b Profile) float64 {
	if len(a.MFCC) != MFCCs || len(b.MFCC) != MFCCs {
		return math.Inf(1)
	}
	var s float64
	for i := 1; i < MFCCs; i++ {
		d := a.MFCC[i] - b.MFCC[i]
		s += d * d
	}
	return math.Sqrt(s)
}
