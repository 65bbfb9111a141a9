package clone

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/timbre-ai/timbre/voice/audio"
	"github.com/timbre-ai/timbre/voice/tts/ttstest"
)

// Texts the tests speak. Piper's synthesis is stochastic (noise_scale), so
// no test depends on exact samples.
const (
	textFox    = "The quick brown fox jumps over the lazy dog. We walked along the river until the sun went down behind the hills."
	textShells = "She sells sea shells by the sea shore, and the shells she sells are surely sea shells. Nobody knows why."
	textRain   = "When the sunlight strikes raindrops in the air, they act as a prism and form a rainbow."
)

// piperRate is the rate of the Piper voices.
const piperRate = ttstest.Rate

var (
	vadOnce sync.Once
	testVAD *VAD
	vadErr  error
)

// speech is voice saying text at piperRate, synthesised once per test
// binary.
func speech(t testing.TB, voice, text string) []float32 { return ttstest.Say(t, voice, text) }

// sentences is speech as the TTS delivers it: a chunk per sentence.
func sentences(t testing.TB, voice, text string) [][]float32 {
	return ttstest.Sentences(t, voice, text)
}

// dataDir is $TIMBRE_DATA_DIR, or the repository's .data.
func dataDir() string {
	if dir := os.Getenv("TIMBRE_DATA_DIR"); dir != "" {
		return dir
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", ".data")
}

// vad is the shared detector (it serialises its callers). It fails the
// test, saying how to get the model, when the model is missing.
func vad(t testing.TB) *VAD {
	t.Helper()
	vadOnce.Do(func() { testVAD, vadErr = OpenVAD(VADModelPath(dataDir()), 1) })
	if vadErr != nil {
		t.Fatalf("the Silero VAD model is not in place: run scripts/setup-vad (or `make setup`): %v", vadErr)
	}
	return testVAD
}

// profile measures samples at piperRate, failing the test on error.
func profile(t testing.TB, samples []float32) Profile {
	t.Helper()
	p, err := NewProfile(samples, piperRate)
	if err != nil {
		t.Fatalf("NewProfile: %v", err)
	}
	return p
}

// noise is n samples of Gaussian white noise of the given RMS.
func noise(seed uint64, n int, rms float64) []float32 {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(r.NormFloat64() * rms)
	}
	return out
}

// withNoise is s plus white noise at snr dB below s's RMS.
func withNoise(s []float32, snr float64, seed uint64) []float32 {
	out := noise(seed, len(s), audio.RMS(s)/math.Pow(10, snr/20))
	for i, v := range s {
		out[i] += v
	}
	return out
}

// padded is s with silence of d before and after, at piperRate.
func padded(s []float32, d time.Duration) []float32 {
	n := audio.Format{SampleRate: piperRate, Channels: 1}.Frames(d)
	out := make([]float32, 0, len(s)+2*n)
	out = append(out, make([]float32, n)...)
	out = append(out, s...)
	return append(out, make([]float32, n)...)
}

// scaledVoice is s played factor times faster, as a tape sped up: pitch
// and formants all multiplied by factor. It is how the tests make a
// "different speaker" out of one voice.
func scaledVoice(t testing.TB, s []float32, factor float64) []float32 {
	t.Helper()
	out, err := audio.Resample(audio.Frame{Format: audio.Format{SampleRate: piperRate, Channels: 1}, Samples: s},
		int(math.Round(piperRate/factor)), audio.QualityDefault)
	if err != nil {
		t.Fatal(err)
	}
	return out.Samples
}

// loadWAV decodes a fixture.
func loadWAV(t testing.TB, name string) audio.Frame {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fr, err := audio.DecodeWAV(f, audio.WAVLimits{MaxDuration: time.Minute})
	if err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
	return fr
}

// convert runs samples through a new converter in one piece.
func convert(t testing.TB, from, to Profile, samples []float32) []float32 {
	t.Helper()
	c, err := NewConverter(from, to, piperRate)
	if err != nil {
		t.Fatal(err)
	}
	return c.Flush(c.Process(nil, samples))
}

// syntheticProfile is a valid profile of a voice at f0 Hz with a plain
// falling envelope: for tests of validation and search, not of sound.
func syntheticProfile(f0 float64) Profile {
	p := Profile{
		Version: ProfileVersion, Speech: 5,
		F0Median: f0, F0Mean: f0, F0P10: f0 * 0.85, F0P90: f0 * 1.2, F0Std: 2, VoicedFraction: 0.6,
		Formants: [3]float64{500, 1500, 2500},
		MFCC:     make([]float64, MFCCs),
	}
	bank := newMelBank(analysisFFT, AnalysisRate, MelBands)
	for m, f := range bank.centres {
		p.EnvelopeHz = append(p.EnvelopeHz, f)
		p.Envelope = append(p.Envelope, -float64(m))
	}
	return p
}
