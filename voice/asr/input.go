package asr

import (
	"fmt"
	"math"
	"time"

	"github.com/timbre-ai/timbre/voice/audio"
)

// modelRate is the sample rate every provider's model takes (and the rate
// of the WAV sent to an openai server).
const modelRate = 16000

// checkRate reports whether rate is one a Recognizer takes.
func checkRate(rate int) error {
	if rate < MinRate || rate > MaxRate {
		return fmt.Errorf("asr: sample rate %d Hz: must be %d–%d: %w", rate, MinRate, MaxRate, ErrBadAudio)
	}
	return nil
}

// checkSamples reports the first NaN or infinite sample; offset is the
// index of samples[0] in the utterance, for the message.
func checkSamples(samples []float32, offset int) error {
	for i, x := range samples {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("asr: sample %d is %v: %w", offset+i, x, ErrBadAudio)
		}
	}
	return nil
}

// checkLength reports audio longer than MaxAudio: n samples at rate.
func checkLength(n, rate int) error {
	if d := duration(n, rate); d > MaxAudio {
		return fmt.Errorf("asr: %s of audio: at most %s in one utterance: %w", d.Round(time.Millisecond), MaxAudio, ErrBadAudio)
	}
	return nil
}

// duration is how long n mono samples at rate last.
func duration(n, rate int) time.Duration {
	return audio.Format{SampleRate: rate, Channels: 1}.Duration(n)
}

// prepare validates a whole utterance and returns it at modelRate.
func prepare(samples []float32, rate int) ([]float32, error) {
	if err := checkRate(rate); err != nil {
		return nil, err
	}
	if err := checkLength(len(samples), rate); err != nil {
		return nil, err
	}
	if err := checkSamples(samples, 0); err != nil {
		return nil, err
	}
	if rate == modelRate {
		return samples, nil
	}
	f, err := audio.Resample(audio.Frame{Format: audio.Format{SampleRate: rate, Channels: 1}, Samples: samples}, modelRate, audio.QualityDefault)
	if err != nil {
		return nil, fmt.Errorf("asr: resample %d → %d Hz: %w", rate, modelRate, err)
	}
	return f.Samples, nil
}
