package audio

import (
	"fmt"
	"math"
)

// Levels here are in dBFS relative to a full-scale square wave: a signal
// whose RMS is 1 reads 0 dBFS, so a full-scale sine reads −3.01 dBFS RMS and
// 0 dBFS peak. (AES17 instead calls a full-scale sine 0 dBFS; the figures
// differ by 3.01 dB for RMS and not at all for peak.)

// ClipThreshold16 is the magnitude at or above which a sample that came from
// (or goes to) 16-bit PCM sits at full scale: 32767/32768.
const ClipThreshold16 = float32(32767.0 / 32768.0)

// RMS is the root mean square of samples, over all channels; 0 for none.
func RMS(samples []float32) float64 {
	if len(samples) == 0 {
		return 0
	}
	var sum float64
	for _, x := range samples {
		sum += float64(x) * float64(x)
	}
	return math.Sqrt(sum / float64(len(samples)))
}

// Peak is the largest magnitude among samples; 0 for none.
func Peak(samples []float32) float64 {
	var p float32
	for _, x := range samples {
		p = max(p, x, -x)
	}
	return float64(p)
}

// DBFS is linear level v in decibels: 20·log10(v). Silence is −Inf.
func DBFS(v float64) float64 {
	return 20 * math.Log10(v)
}

// ClipFraction is the fraction of samples whose magnitude is at or above
// threshold: the share of a clip sitting at full scale. Use
// ClipThreshold16 for audio that came from 16-bit PCM, 127.0/128 for 8-bit,
// 1 for float. A recording whose fraction exceeds about 0.001 was clipped
// on the way in and makes a poor cloning reference.
func ClipFraction(samples []float32, threshold float32) float64 {
	if len(samples) == 0 {
		return 0
	}
	n := 0
	for _, x := range samples {
		if x >= threshold || x <= -threshold {
			n++
		}
	}
	return float64(n) / float64(len(samples))
}

// Gating of GatedRMS.
const (
	gateBlockMS     = 50   // block length
	gateAbsoluteMS  = 1e-7 // mean square of −70 dBFS: blocks below are silence
	gateRelativeMul = 0.01 // −20 dB: blocks further below the rest are pauses
)

// GatedRMS is the level of f's active signal: the RMS over 50 ms blocks,
// leaving out blocks below −70 dBFS (silence) and then blocks more than
// 20 dB below the mean of the rest (pauses, breaths, room tone). It follows
// the gating of EBU R128 / ITU-R BS.1770 but is not that loudness: there is
// no K-weighting and the blocks are shorter and do not overlap, which suits
// speech. It is 0 for silence and for an invalid Frame.
func GatedRMS(f Frame) float64 {
	if f.Validate() != nil || len(f.Samples) == 0 {
		return 0
	}
	block := max(1, f.SampleRate*gateBlockMS/1000) * f.Channels
	sum, n := gatedSum(f.Samples, block, gateAbsoluteMS)
	if n == 0 {
		return 0
	}
	sum, n = gatedSum(f.Samples, block, max(gateAbsoluteMS, sum/float64(n)*gateRelativeMul))
	if n == 0 {
		return 0
	}
	return math.Sqrt(sum / float64(n))
}

// gatedSum is the sum of squares and the count of samples in blocks of
// block samples whose mean square is at least gate.
func gatedSum(samples []float32, block int, gate float64) (float64, int) {
	var total float64
	n := 0
	for len(samples) > 0 {
		b := samples[:min(block, len(samples))]
		samples = samples[len(b):]
		var s float64
		for _, x := range b {
			s += float64(x) * float64(x)
		}
		if s/float64(len(b)) >= gate {
			total += s
			n += len(b)
		}
	}
	return total, n
}

// Normalization says how Normalize sets a clip's level.
type Normalization struct {
	// TargetRMS is the gated RMS level aimed at, in dBFS.
	TargetRMS float64
	// PeakCeiling is the highest the peak may reach, in dBFS; when reaching
	// TargetRMS would put the peak above it, the gain stops short.
	PeakCeiling float64
	// MaxGain is the most gain applied, in dB, so that a near-silent clip
	// (noise, a muted mic) is not raised to speech level.
	MaxGain float64
}

// VoiceNormalization is a level for speech handed to TTS or cloning: −20 dBFS
// gated RMS, peaks at most −1 dBFS, at most 30 dB of gain.
func VoiceNormalization() Normalization {
	return Normalization{TargetRMS: -20, PeakCeiling: -1, MaxGain: 30}
}

// Normalize scales f's samples in place by one gain, chosen to bring its
// GatedRMS to n.TargetRMS, lowered if needed so that the peak stays at or
// below n.PeakCeiling, and capped at n.MaxGain, and returns that gain in dB.
// It is a plain gain, not a compressor or limiter: a clip with a high
// peak-to-RMS ratio ends up quieter than the target rather than distorted.
// Silence is left alone (gain 0). An invalid Frame is an error wrapping
// ErrFormat.
func Normalize(f Frame, n Normalization) (float64, error) {
	if err := f.Validate(); err != nil {
		return 0, fmt.Errorf("normalize: %w", err)
	}
	level := GatedRMS(f)
	peak := Peak(f.Samples)
	if level == 0 || peak == 0 {
		return 0, nil
	}
	gain := min(n.TargetRMS-DBFS(level), n.PeakCeiling-DBFS(peak), n.MaxGain)
	ApplyGain(f.Samples, gain)
	return gain, nil
}

// ApplyGain multiplies samples in place by db decibels of gain. It does not
// clip; converting to integers later does.
func ApplyGain(samples []float32, db float64) {
	g := float32(math.Pow(10, db/20))
	for i := range samples {
		samples[i] *= g
	}
}
