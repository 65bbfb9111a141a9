package audio

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
)

// Sample conversions. A float sample x maps to the 16-bit integer nearest
// x·32768 (halves round away from zero), clamped to [-32768, 32767]; an integer
// v maps back to v/32768. The scale is a power of two, so every int16 survives
// int16 → float32 → int16 unchanged, and +1.0 lands one step short of
// 32768 on 32767, which is not counted as clipping. No dither is added:
// speech at voice levels is far above the 16-bit noise floor.

// AppendInt16 appends src converted to 16-bit integers to dst and returns the
// extended slice and the number of samples that clipped: samples outside
// [-1, 1], and NaNs, which become 0.
func AppendInt16(dst []int16, src []float32) ([]int16, int) {
	dst = slices.Grow(dst, len(src))
	clipped := 0
	for _, x := range src {
		v, clip := toInt16(x)
		if clip {
			clipped++
		}
		dst = append(dst, v)
	}
	return dst, clipped
}

// AppendPCM16 appends src as 16-bit little-endian PCM bytes (the WAV and
// most wire formats' layout) to dst, and returns the extended slice and the
// number of samples that clipped, as AppendInt16 counts them.
func AppendPCM16(dst []byte, src []float32) ([]byte, int) {
	dst = slices.Grow(dst, 2*len(src))
	clipped := 0
	for _, x := range src {
		v, clip := toInt16(x)
		if clip {
			clipped++
		}
		dst = binary.LittleEndian.AppendUint16(dst, uint16(v))
	}
	return dst, clipped
}

// AppendFloatFromInt16 appends src converted to float32 (v/32768) to dst.
func AppendFloatFromInt16(dst []float32, src []int16) []float32 {
	dst = slices.Grow(dst, len(src))
	for _, v := range src {
		dst = append(dst, float32(v)/32768)
	}
	return dst
}

// AppendFloatFromPCM16 appends 16-bit little-endian PCM bytes converted to
// float32 to dst. An odd number of bytes is not whole samples: dst comes back
// unchanged with an error wrapping ErrFormat.
func AppendFloatFromPCM16(dst []float32, src []byte) ([]float32, error) {
	if len(src)%2 != 0 {
		return dst, fmt.Errorf("pcm16: %d bytes is not a whole number of samples: %w", len(src), ErrFormat)
	}
	dst = slices.Grow(dst, len(src)/2)
	for i := 0; i+1 < len(src); i += 2 {
		dst = append(dst, float32(int16(binary.LittleEndian.Uint16(src[i:])))/32768)
	}
	return dst, nil
}

// toInt16 converts one sample and reports whether it clipped.
func toInt16(x float32) (int16, bool) {
	if x != x { // NaN: silence is the only safe value.
		return 0, true
	}
	v := x * 32768 // exact: a power-of-two scale loses no precision
	switch {
	case v >= 32767:
		return 32767, x > 1
	case v <= -32768:
		return -32768, x < -1
	}
	return int16(math.Round(float64(v))), false
}

// AppendMono appends the mono downmix of interleaved src, the mean of each
// frame's channels, to dst. The mean cannot clip, and a stereo pair that is
// one signal twice (Chrome's usual "stereo") comes out unchanged. It panics
// if channels < 1 or src is not a whole number of frames.
func AppendMono(dst, src []float32, channels int) []float32 {
	checkFrames("AppendMono", len(src), channels)
	frames := len(src) / channels
	dst = slices.Grow(dst, frames)
	switch channels {
	case 1:
		return append(dst, src...)
	case 2:
		for i := 0; i+1 < len(src); i += 2 {
			dst = append(dst, (src[i]+src[i+1])*0.5)
		}
		return dst
	}
	scale := 1 / float32(channels)
	for i := 0; i < len(src); i += channels {
		var sum float32
		for _, x := range src[i : i+channels] {
			sum += x
		}
		dst = append(dst, sum*scale)
	}
	return dst
}

// AppendUpmix appends mono copied into each of channels interleaved
// channels to dst: the same signal at the same level in every channel. It
// panics if channels < 1.
func AppendUpmix(dst, mono []float32, channels int) []float32 {
	checkFrames("AppendUpmix", 0, channels)
	dst = slices.Grow(dst, len(mono)*channels)
	if channels == 1 {
		return append(dst, mono...)
	}
	for _, x := range mono {
		for range channels {
			dst = append(dst, x)
		}
	}
	return dst
}

// checkFrames panics on a programming error: a channel count below one or a
// slice that is not whole frames. Data from outside the process is validated
// with errors before it reaches these functions.
func checkFrames(fn string, samples, channels int) {
	if channels < 1 {
		panic(fmt.Sprintf("audio: %s: %d channels", fn, channels))
	}
	if samples%channels != 0 {
		panic(fmt.Sprintf("audio: %s: %d samples is not a whole number of %d-channel frames", fn, samples, channels))
	}
}
