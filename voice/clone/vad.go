package clone

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	sherpa "github.com/k2-fsa/sherpa-onnx-go-linux"

	"github.com/timbre-ai/timbre/voice/audio"
)

// Silero VAD settings. v5 reads 512-sample windows (32 ms) at 16 kHz.
const (
	vadRate          = 16000
	vadWindow        = 512
	vadThreshold     = 0.5  // speech probability above which a window is speech
	vadMinSilence    = 0.25 // seconds of non-speech that end a segment
	vadMinSpeech     = 0.1  // seconds: shorter segments are dropped (0.25 loses a short first word)
	vadMaxSpeech     = 20   // seconds: longer segments are split
	vadBufferSeconds = 60
)

// VADModelPath is where scripts/setup-vad puts the Silero VAD model under a
// data directory ($TIMBRE_DATA_DIR).
func VADModelPath(dataDir string) string {
	return filepath.Join(dataDir, "models", "silero_vad.onnx")
}

// Segment is a stretch of speech, in samples at the rate Speech was given:
// [Start, End).
type Segment struct {
	Start, End int
}

// Duration is how long s lasts at rate Hz.
func (s Segment) Duration(rate int) time.Duration {
	return audio.Format{SampleRate: rate, Channels: 1}.Duration(s.End - s.Start)
}

// VAD finds speech in audio with the Silero VAD model (v5) on sherpa-onnx.
// It holds one detector and runs one clip at a time: Speech is safe for
// concurrent use and serialises callers (a 30 s clip takes tens of
// milliseconds).
type VAD struct {
	mu  sync.Mutex
	det *sherpa.VoiceActivityDetector // nil once closed
}

// OpenVAD loads the Silero VAD model at modelPath (see VADModelPath) with
// threads ONNX Runtime threads (at least 1). A missing or unloadable model
// is an error wrapping ErrNoModel.
func OpenVAD(modelPath string, threads int) (*VAD, error) {
	if _, err := os.Stat(modelPath); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s does not exist", ErrNoModel, modelPath)
		}
		return nil, fmt.Errorf("%w: %w", ErrNoModel, err)
	}
	cfg := sherpa.VadModelConfig{
		SileroVad: sherpa.SileroVadModelConfig{
			Model:              modelPath,
			Threshold:          vadThreshold,
			MinSilenceDuration: vadMinSilence,
			MinSpeechDuration:  vadMinSpeech,
			WindowSize:         vadWindow,
			MaxSpeechDuration:  vadMaxSpeech,
		},
		SampleRate: vadRate,
		NumThreads: max(threads, 1),
		Provider:   "cpu",
	}
	det := sherpa.NewVoiceActivityDetector(&cfg, vadBufferSeconds)
	if det == nil {
		return nil, fmt.Errorf("%w: sherpa-onnx could not load %s as a Silero VAD model", ErrNoModel, modelPath)
	}
	return &VAD{det: det}, nil
}

// Speech returns the speech segments of samples, mono audio at rate Hz, in
// order and not overlapping. The audio is resampled to 16 kHz for the model
// and the segments mapped back to rate. An invalid rate is an error
// wrapping audio.ErrFormat.
func (v *VAD) Speech(samples []float32, rate int) ([]Segment, error) {
	if err := (audio.Format{SampleRate: rate, Channels: 1}).Validate(); err != nil {
		return nil, fmt.Errorf("clone: VAD: %w", err)
	}
	x := samples
	if rate != vadRate {
		r, err := audio.Resample(audio.Frame{Format: audio.Format{SampleRate: rate, Channels: 1}, Samples: samples}, vadRate, audio.QualityFast)
		if err != nil {
			return nil, fmt.Errorf("clone: VAD: %w", err)
		}
		x = r.Samples
	}
	segs, err := v.speech16k(x)
	if err != nil {
		return nil, err
	}
	if rate == vadRate {
		return segs, nil
	}
	for i, s := range segs {
		segs[i] = Segment{
			Start: int(int64(s.Start) * int64(rate) / vadRate),
			End:   min(int((int64(s.End)*int64(rate)+vadRate-1)/vadRate), len(samples)),
		}
	}
	return segs, nil
}

// speech16k runs the detector over x at 16 kHz.
func (v *VAD) speech16k(x []float32) ([]Segment, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.det == nil {
		return nil, ErrClosed
	}
	v.det.Reset()
	var segs []Segment
	collect := func() {
		for !v.det.IsEmpty() {
			s := v.det.Front()
			v.det.Pop()
			seg := Segment{Start: max(s.Start, 0), End: min(s.Start+len(s.Samples), len(x))}
			if seg.End > seg.Start {
				segs = append(segs, seg)
			}
		}
	}
	// One window per call: sherpa-onnx decides where a segment starts and
	// ends only at the end of a call, so larger calls blur the boundaries
	// (by up to the call's length).
	for i := 0; i < len(x); i += vadWindow {
		v.det.AcceptWaveform(x[i:min(i+vadWindow, len(x))])
		collect()
	}
	v.det.Flush()
	collect()
	v.det.Reset()
	return mergeSegments(segs, 0), nil
}

// mergeSegments joins segments, in order, that overlap or lie within gap
// samples of each other, in place.
func mergeSegments(segs []Segment, gap int) []Segment {
	out := segs[:0]
	for _, s := range segs {
		if n := len(out); n > 0 && s.Start <= out[n-1].End+gap {
			out[n-1].End = max(out[n-1].End, s.End)
			continue
		}
		out = append(out, s)
	}
	return out
}

// Close frees the model. Speech after Close returns ErrClosed; Close is
// idempotent.
func (v *VAD) Close() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.det != nil {
		sherpa.DeleteVoiceActivityDetector(v.det)
		v.det = nil
	}
	return nil
}
