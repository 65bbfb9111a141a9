package asr

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/timbre-ai/timbre/voice/audio"
	"github.com/timbre-ai/timbre/voice/tts/ttstest"
)

// piperRate is the rate of the Piper voices.
const piperRate = ttstest.Rate

// Sentences of common words, which pocketsphinx's general language model
// knows well. Piper's synthesis is stochastic, so no test depends on exact
// samples.
var sentences = []struct{ voice, text string }{
	{"jenny", "The weather is nice today, and I would like to go for a walk in the park."},
	{"alan", "Please tell me a story about a little dog who lives on a farm."},
	{"jenny", "What time is it now? I need to know before we leave the house."},
	{"alan", "I have two children and they both go to school every morning."},
}

// speech is voice saying text at piperRate, with a quarter second of
// pause after each sentence, as a speaker makes.
func speech(t testing.TB, voice, text string) []float32 {
	t.Helper()
	var out []float32
	for _, s := range ttstest.Sentences(t, voice, text) {
		out = append(out, s...)
		out = append(out, make([]float32, piperRate/4)...)
	}
	return out
}

// resampled is samples at piperRate converted to rate.
func resampled(t testing.TB, samples []float32, rate int) []float32 {
	t.Helper()
	f, err := audio.Resample(audio.Frame{Format: audio.Format{SampleRate: piperRate, Channels: 1}, Samples: samples}, rate, audio.QualityDefault)
	if err != nil {
		t.Fatal(err)
	}
	return f.Samples
}

// words is text lowercased and split into words, punctuation dropped.
func words(text string) []string {
	return strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\''
	})
}

// stopWords are left out when counting the content words recognised.
var stopWords = map[string]bool{
	"a": true, "an": true, "the": true, "and": true, "i": true, "is": true, "it": true, "to": true,
	"in": true, "on": true, "of": true, "for": true, "we": true, "who": true, "me": true, "they": true,
	"would": true, "be": true, "at": true, "my": true,
}

// contentRecall is the fraction of ref's content words found in hyp.
func contentRecall(ref, hyp string) (float64, []string) {
	have := map[string]bool{}
	for _, w := range words(hyp) {
		have[w] = true
	}
	var found, total int
	var missing []string
	for _, w := range words(ref) {
		if stopWords[w] {
			continue
		}
		total++
		if have[w] {
			found++
		} else {
			missing = append(missing, w)
		}
	}
	return float64(found) / float64(max(total, 1)), missing
}

// wer is the word error rate of hyp against ref: word edits over ref's
// length.
func wer(ref, hyp string) float64 {
	r, h := words(ref), words(hyp)
	prev := make([]int, len(h)+1)
	cur := make([]int, len(h)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(r); i++ {
		cur[0] = i
		for j := 1; j <= len(h); j++ {
			sub := prev[j-1]
			if r[i-1] != h[j-1] {
				sub++
			}
			cur[j] = min(sub, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return float64(prev[len(h)]) / float64(max(len(r), 1))
}

// rss is the process's resident set size in bytes, from /proc.
func rss(t testing.TB) int64 {
	t.Helper()
	raw, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skipf("no /proc/self/statm: %v", err)
	}
	var size, resident int64
	if _, err := fmt.Sscan(string(raw), &size, &resident); err != nil {
		t.Fatal(err)
	}
	return resident * int64(os.Getpagesize())
}

// openPS opens a pocketsphinx recognizer with n decoders, closed when the
// test ends.
func openPS(t testing.TB, n int) *pocketsphinx {
	t.Helper()
	r, err := Open(Config{Decoders: n}, nil)
	if err != nil {
		t.Fatalf("open pocketsphinx (run `make setup` for pocketsphinx-en-us and libpocketsphinx-dev): %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r.(*pocketsphinx)
}

func since(start time.Time) time.Duration { return time.Since(start).Round(time.Millisecond) }

// noise is n samples of Gaussian white noise of the given RMS.
func noise(n int, rms float64) []float32 {
	r := rand.New(rand.NewPCG(1, 2))
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(r.NormFloat64() * rms)
	}
	return out
}
