package audio

import (
	"math"
	"slices"
)

// Fades use a raised-cosine (half Hann) curve: its slope is zero at both
// ends, so neither the start nor the end of a fade is itself a corner that
// clicks. A crossfade's two gains sum to 1 at every instant (equal gain),
// which keeps the level constant when the two sides are the same signal, as
// they are when a stream is cut into chunks and rejoined. Between unrelated
// signals the middle dips by up to 6 dB, which over a few milliseconds is
// inaudible.

// fadeGain is the fade-in gain at frame k of an n-frame fade, rising from
// near 0 to near 1 and symmetric: fadeGain(k) + fadeGain(n-1-k) = 1.
func fadeGain(k, n int) float32 {
	return float32(0.5 - 0.5*math.Cos(math.Pi*(float64(k)+0.5)/float64(n)))
}

// FadeIn ramps the first frames frames of interleaved samples up from
// silence, in place. frames beyond the length fades the whole slice. It
// panics if channels < 1 or samples is not a whole number of frames.
func FadeIn(samples []float32, channels, frames int) {
	checkFrames("FadeIn", len(samples), channels)
	n := min(frames, len(samples)/channels)
	for k := range n {
		g := fadeGain(k, n)
		for c := range channels {
			samples[k*channels+c] *= g
		}
	}
}

// FadeOut ramps the last frames frames of interleaved samples down to
// silence, in place. frames beyond the length fades the whole slice. It
// panics if channels < 1 or samples is not a whole number of frames.
func FadeOut(samples []float32, channels, frames int) {
	checkFrames("FadeOut", len(samples), channels)
	total := len(samples) / channels
	n := min(frames, total)
	for k := range n {
		g := fadeGain(n-1-k, n)
		for c := range channels {
			samples[(total-n+k)*channels+c] *= g
		}
	}
}

// AppendCrossfade appends a joined to b to dst, the last frames frames of a
// overlapping the first frames frames of b under an equal-gain raised-cosine
// crossfade, and returns the extended slice. The join is frames shorter than
// a and b end to end. frames is reduced to the shorter of a and b. a and b
// are not modified. It panics if channels < 1 or a or b is not a whole
// number of frames.
func AppendCrossfade(dst, a, b []float32, channels, frames int) []float32 {
	checkFrames("AppendCrossfade", len(a), channels)
	checkFrames("AppendCrossfade", len(b), channels)
	n := max(0, min(frames, len(a)/channels, len(b)/channels))
	overlap := n * channels
	head := len(a) - overlap
	dst = slices.Grow(dst, head+len(b))
	dst = append(dst, a[:head]...)
	for k := range n {
		in := fadeGain(k, n)
		out := 1 - in
		for c := range channels {
			i := k*channels + c
			dst = append(dst, a[head+i]*out+b[i]*in)
		}
	}
	return append(dst, b[overlap:]...)
}
