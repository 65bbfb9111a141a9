package main

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/timbre-ai/timbre/voice/audio"
	"github.com/timbre-ai/timbre/voice/clone"
	"github.com/timbre-ai/timbre/voice/tts"
)

func TestNormaliseWords(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		want []string
	}{
		{"Hello, World!", []string{"hello", "world"}},
		{"It's nine o'clock.", []string{"it's", "nine", "o'clock"}},
		{"the globe one m. the", []string{"the", "globe", "one", "m", "the"}},
		{"well-known 'quoted' words", []string{"well", "known", "quoted", "words"}},
		{"rock ’n’ roll don’t", []string{"rock", "n", "roll", "don't"}},
		{"  \n ", []string{}},
	}
	for _, c := range cases {
		if diff := cmp.Diff(c.want, normaliseWords(c.in)); diff != "" {
			t.Errorf("normaliseWords(%q) (-want +got):\n%s", c.in, diff)
		}
	}
}

func TestCountWordErrors(t *testing.T) {
	t.Parallel()
	const ref = "Please read the letter before you sign it."
	cases := []struct {
		name, hyp string
		edits     int
	}{
		{"exact", "please read the letter before you sign it", 0},
		{"case and punctuation", "PLEASE, read the letter; before you sign it!", 0},
		{"one substitution", "please read the letter before you sign that", 1},
		{"one deletion", "please read the letter you sign it", 1},
		{"one insertion", "please read the long letter before you sign it", 1},
		{"nothing heard", "", 8},
		{"split word", "please re ad the letter before you sign it", 2},
		{"every word wrong and two more", "a b c d e f g h i j", 10},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got := countWordErrors(ref, c.hyp)
			if got.words != 8 || got.edits != c.edits {
				t.Errorf("got %d edits in %d words, want %d in 8", got.edits, got.words, c.edits)
			}
		})
	}
}

func TestEditDistanceIsSymmetric(t *testing.T) {
	t.Parallel()
	a := strings.Fields("the cat sat on the mat")
	b := strings.Fields("a cat sat upon a mat today")
	if d1, d2 := editDistance(a, b), editDistance(b, a); d1 != d2 || d1 != 4 {
		t.Errorf("distances %d and %d, want 4 both ways", d1, d2)
	}
	if d := editDistance(nil, b); d != len(b) {
		t.Errorf("from nothing: %d, want %d", d, len(b))
	}
}

func TestWordErrorsRate(t *testing.T) {
	t.Parallel()
	w := wordErrors{edits: 3, words: 10}.add(wordErrors{edits: 1, words: 30})
	if w.rate() != 10 {
		t.Errorf("pooled rate %.2f%%, want 10%% (4 of 40)", w.rate())
	}
	if (wordErrors{}).rate() != 0 {
		t.Error("no words should be a rate of 0")
	}
}

func TestMedian(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
	}
	for _, c := range cases {
		in := slices.Clone(c.in)
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %g, want %g", c.in, got, c.want)
		}
		if !slices.Equal(in, c.in) {
			t.Errorf("median reordered its input: %v", c.in)
		}
	}
}

func TestSelectSpeakers(t *testing.T) {
	t.Parallel()
	all, err := selectSpeakers([]string{"all"})
	if err != nil || len(all) != len(knownSpeakers()) || len(all) < 5 {
		t.Fatalf("all: %d speakers, %v; want every one of %d (at least 5)", len(all), err, len(knownSpeakers()))
	}
	got, err := selectSpeakers([]string{"kal", "espeak-us", "kal"})
	if err != nil {
		t.Fatal(err)
	}
	if names := speakerNames(got); !slices.Equal(names, []string{"kal", "espeak-us"}) {
		t.Errorf("got %v, want [kal espeak-us] in the order given, once each", names)
	}
	if _, err := selectSpeakers([]string{"kal", "nobody"}); err == nil || !strings.Contains(err.Error(), "espeak-us") {
		t.Errorf("an unknown name: %v, want an error listing the known speakers", err)
	}
	if _, err := selectSpeakers(nil); err == nil {
		t.Error("no names: want an error")
	}
}

func TestSpeakerTools(t *testing.T) {
	t.Parallel()
	cases := []struct {
		s    speaker
		want []tool
	}{
		{speaker{engine: engineEspeak, voice: "en-us"}, []tool{toolEspeak}},
		{speaker{engine: engineFestival, voice: "kal_diphone", cents: 500}, []tool{toolText2wave, toolKal, toolSox}},
		{speaker{engine: enginePiper, voice: "jenny"}, nil},
		{speaker{engine: enginePiper, voice: "alan", cents: 400}, []tool{toolSox}},
	}
	for _, c := range cases {
		if diff := cmp.Diff(c.want, c.s.tools()); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.s.describe(), diff)
		}
	}
	if d := (speaker{engine: engineEspeak, voice: "en-us", espeakPitch: 25, cents: -300}).describe(); d != "espeak-ng -v en-us -p 25 | sox pitch -300" {
		t.Errorf("describe: %q", d)
	}
}

func TestMissingTools(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // nothing on it
	present := tool(t.TempDir())
	missing := missingTools([]tool{toolSox, present, toolPocketsphinx, toolSox, tool("/nonexistent/model")})
	if diff := cmp.Diff([]tool{toolSox, toolPocketsphinx, tool("/nonexistent/model")}, missing); diff != "" {
		t.Errorf("missing (-want +got):\n%s", diff)
	}
	msg := missingError([]tool{toolText2wave, toolKal, toolASRModel}).Error()
	for _, want := range []string{"text2wave", "festival festvox-kallpc16k pocketsphinx-en-us", "bench/clone/setup"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q does not say %q", msg, want)
		}
	}
}

// TestReportVerdicts renders a report of made-up measurements and checks
// the reductions, the word error rate differences and the verdicts.
func TestReportVerdicts(t *testing.T) {
	t.Parallel()
	prof := func(f0 float64) clone.Profile { return clone.Profile{F0Median: f0} }
	res := &results{
		bases: []base{{voice: tts.Voice{ID: "alan"}, profile: prof(100)}},
		refs: []*reference{
			{speaker: speaker{name: "good", engine: engineEspeak, voice: "en-us"}, clip: clone.Clip{Profile: prof(120)},
				outputs: []output{
					{f0Base: 3, f0Clone: 1, mfccBase: 10, mfccClone: 4, cloneSamples: 100},
					{f0Base: 3, f0Clone: 2, mfccBase: 10, mfccClone: 5, cloneSamples: 100},
					{f0Base: 3, f0Clone: 1.4, mfccBase: 10, mfccClone: 9, cloneSamples: 100},
				},
				asrClone: wordErrors{edits: 15, words: 100},
				parts:    []*part{{name: "pitch only", f0Dist: []float64{0.7, 0.5}, mfccDist: []float64{9, 9.5}, asr: wordErrors{edits: 12, words: 100}}}},
			{speaker: speaker{name: "bad", engine: engineEspeak, voice: "en-us"}, clip: clone.Clip{Profile: prof(90)},
				outputs:  []output{{f0Base: 2, f0Clone: 1.2, mfccBase: 8, mfccClone: 3.2, cloneClipped: 1, cloneSamples: 100}},
				asrClone: wordErrors{edits: 25, words: 100}},
			{speaker: speaker{name: "refused", engine: engineEspeak, voice: "en-us"},
				rejected: &clone.RejectError{Code: clone.RejectTooNoisy, Message: "noisy"}},
		},
		asrBase: map[string]wordErrors{"alan": {edits: 10, words: 100}},
	}
	var b bytes.Buffer
	report(&b, res, options{runs: 3, texts: 1, asr: true, parts: true})
	// Columns are padded with spaces; compare words.
	var lines []string
	for l := range strings.Lines(b.String()) {
		lines = append(lines, strings.Join(strings.Fields(l), " "))
	}
	out := strings.Join(lines, "\n")
	for _, want := range []string{
		"53% met", // good: F0 1 − 1.4/3
		"50% met", // good: MFCC 1 − 5/10, exactly at the target
		"40% MISSED",
		"60% met",
		"+5.0 points met",
		"+15.0 points MISSED",
		"REJECTED",
		"good pitch only 0.60 st 9.25 12.0% (12/100) +2.0 points",
		"Targets met: F0 distance halved 1/2, MFCC distance halved 2/2, WER within 10 points 1/2; 1 reference(s) rejected.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

// TestTranscribe makes a festival recording and runs it through the ASR
// path the bench uses: decode, resample to 16 kHz, pocketsphinx, word
// errors. It needs the Debian packages bench/clone/setup installs.
func TestTranscribe(t *testing.T) {
	t.Parallel()
	if missing := missingTools([]tool{toolText2wave, toolKal, toolPocketsphinx, toolASRModel}); len(missing) > 0 {
		t.Fatalf("%v (`make test` installs them: scripts/setup)", missingError(missing))
	}
	dir := t.TempDir()
	const text = "Please read the letter before you sign it."
	file, err := makeReference(context.Background(), speaker{name: "kal", engine: engineFestival, voice: "kal_diphone"}, nil, text, dir)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := decodeFile(file)
	if err != nil {
		t.Fatal(err)
	}
	// At the Piper voices' rate, so that writeASRWAV resamples as it does
	// for the bench's outputs (kal is a 16 kHz voice).
	up, err := audio.Resample(audio.Frame{Format: audio.Format{SampleRate: rec.rate, Channels: 1}, Samples: rec.samples}, 22050, audio.QualityDefault)
	if err != nil {
		t.Fatal(err)
	}
	wav := filepath.Join(dir, "asr.wav")
	if err := writeASRWAV(wav, up.Samples, 22050); err != nil {
		t.Fatal(err)
	}
	hyp, err := transcribe(context.Background(), wav)
	if err != nil {
		t.Fatal(err)
	}
	if e := countWordErrors(text, hyp); e.rate() > 40 {
		t.Errorf("pocketsphinx heard %q: %.0f%% word errors, want at most 40%%", hyp, e.rate())
	}
}
