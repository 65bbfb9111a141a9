package audio

import (
	"fmt"
	"time"
)

// Limits on a Format. Rates outside these are not audio any voice stage
// handles; the WAV decoder accepts a narrower range (8000–192000 Hz).
const (
	// MinSampleRate is the lowest sample rate a Format may have.
	MinSampleRate = 1000
	// MaxSampleRate is the highest sample rate a Format may have.
	MaxSampleRate = 768000
	// MaxChannels is the most channels a Format may have.
	MaxChannels = 8
)

// Format is the shape of PCM audio: samples per second per channel, and the
// number of interleaved channels.
type Format struct {
	SampleRate int
	Channels   int
}

// Validate reports whether f is within MinSampleRate–MaxSampleRate and
// 1–MaxChannels, wrapping ErrFormat when it is not.
func (f Format) Validate() error {
	if f.SampleRate < MinSampleRate || f.SampleRate > MaxSampleRate {
		return fmt.Errorf("sample rate %d Hz outside %d–%d: %w", f.SampleRate, MinSampleRate, MaxSampleRate, ErrFormat)
	}
	if f.Channels < 1 || f.Channels > MaxChannels {
		return fmt.Errorf("%d channels outside 1–%d: %w", f.Channels, MaxChannels, ErrFormat)
	}
	return nil
}

// Duration is how long frames sample frames (one sample per channel each)
// last at f's rate, rounded down to the nanosecond. It is 0 for an invalid
// rate.
func (f Format) Duration(frames int) time.Duration {
	if f.SampleRate <= 0 {
		return 0
	}
	rate := int64(f.SampleRate)
	n := int64(frames)
	// Whole seconds first so that hours of audio do not overflow n*1e9.
	return time.Duration(n/rate)*time.Second + time.Duration(n%rate)*time.Second/time.Duration(rate)
}

// Frames is the number of whole sample frames that fit in d at f's rate.
func (f Format) Frames(d time.Duration) int {
	if f.SampleRate <= 0 || d <= 0 {
		return 0
	}
	rate := int64(f.SampleRate)
	return int(int64(d/time.Second)*rate + int64(d%time.Second)*rate/int64(time.Second))
}

// String describes f, e.g. "16000 Hz mono" or "48000 Hz 2ch".
func (f Format) String() string {
	switch f.Channels {
	case 1:
		return fmt.Sprintf("%d Hz mono", f.SampleRate)
	case 2:
		return fmt.Sprintf("%d Hz stereo", f.SampleRate)
	}
	return fmt.Sprintf("%d Hz %dch", f.SampleRate, f.Channels)
}

// Frame is a run of PCM audio with its format: the unit voice stages pass to
// each other (a 20 ms WebRTC frame, a sentence of TTS, an uploaded clip).
// Samples are float32, interleaved (L R L R … for stereo), nominally in
// [-1, 1]; values beyond are kept until a conversion clips them.
type Frame struct {
	Format
	Samples []float32
}

// Len is the number of sample frames in f: len(Samples) / Channels.
func (f Frame) Len() int {
	if f.Channels <= 0 {
		return 0
	}
	return len(f.Samples) / f.Channels
}

// Duration is how long f lasts.
func (f Frame) Duration() time.Duration {
	return f.Format.Duration(f.Len())
}

// Validate reports whether f's Format is valid and its samples are a whole
// number of frames, wrapping ErrFormat when not.
func (f Frame) Validate() error {
	if err := f.Format.Validate(); err != nil {
		return err
	}
	if len(f.Samples)%f.Channels != 0 {
		return fmt.Errorf("%d samples is not a whole number of %d-channel frames: %w", len(f.Samples), f.Channels, ErrFormat)
	}
	return nil
}
