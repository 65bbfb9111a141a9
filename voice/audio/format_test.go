package audio

import (
	"errors"
	"testing"
	"time"
)

func TestFormatValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		f    Format
		want error
	}{
		{Format{SampleRate: 16000, Channels: 1}, nil},
		{Format{SampleRate: 48000, Channels: 2}, nil},
		{Format{SampleRate: MaxSampleRate, Channels: MaxChannels}, nil},
		{Format{SampleRate: 0, Channels: 1}, ErrFormat},
		{Format{SampleRate: MaxSampleRate + 1, Channels: 1}, ErrFormat},
		{Format{SampleRate: 16000, Channels: 0}, ErrFormat},
		{Format{SampleRate: 16000, Channels: MaxChannels + 1}, ErrFormat},
	}
	for _, tt := range tests {
		t.Run(tt.f.String(), func(t *testing.T) {
			t.Parallel()
			if err := tt.f.Validate(); !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("Validate() = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestFormatDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		rate, frames int
		want         time.Duration
	}{
		{16000, 320, 20 * time.Millisecond},
		{48000, 960, 20 * time.Millisecond},
		{22050, 22050, time.Second},
		{22050, 1, 45351 * time.Nanosecond}, // 45351.47 ns, rounded down
		{44100, 44100 * 3600 * 30, 30 * time.Hour},
		{0, 100, 0},
	}
	for _, tt := range tests {
		f := Format{SampleRate: tt.rate, Channels: 1}
		if got := f.Duration(tt.frames); got != tt.want {
			t.Errorf("%v.Duration(%d) = %v, want %v", f, tt.frames, got, tt.want)
		}
		if tt.rate > 0 && tt.want%time.Millisecond == 0 {
			if got := f.Frames(tt.want); got != tt.frames {
				t.Errorf("%v.Frames(%v) = %d, want %d", f, tt.want, got, tt.frames)
			}
		}
	}
}

func TestFrame(t *testing.T) {
	t.Parallel()
	f := Frame{Format: Format{SampleRate: 48000, Channels: 2}, Samples: make([]float32, 2*960)}
	if f.Len() != 960 || f.Duration() != 20*time.Millisecond {
		t.Errorf("stereo 20 ms frame: Len %d, Duration %v; want 960, 20ms", f.Len(), f.Duration())
	}
	if err := f.Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
	f.Samples = f.Samples[:3]
	if err := f.Validate(); !errors.Is(err, ErrFormat) {
		t.Errorf("Validate() of a partial frame = %v, want ErrFormat", err)
	}
	if (Frame{}).Len() != 0 || (Frame{}).Duration() != 0 {
		t.Error("zero Frame has a length")
	}
}

func TestFormatString(t *testing.T) {
	t.Parallel()
	for f, want := range map[Format]string{
		{16000, 1}: "16000 Hz mono",
		{48000, 2}: "48000 Hz stereo",
		{44100, 6}: "44100 Hz 6ch",
	} {
		if got := f.String(); got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
	}
}
