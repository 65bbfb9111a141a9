package clone

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// harmonicTone is dur seconds at AnalysisRate of a tone at f0(t) Hz with
// harmonics falling 6 dB per octave: a voice's source without its filter.
func harmonicTone(dur float64, f0 func(t float64) float64) []float64 {
	n := int(dur * AnalysisRate)
	x := make([]float64, n)
	var phase float64
	for i := range x {
		f := f0(float64(i) / AnalysisRate)
		phase += 2 * math.Pi * f / AnalysisRate
		for h := 1; float64(h)*f < AnalysisRate/2; h++ {
			x[i] += 0.1 * math.Sin(float64(h)*phase) / float64(h)
		}
	}
	return x
}

func TestTrackPitch(t *testing.T) {
	t.Parallel()
	for _, f0 := range []float64{65, 95, 180, 310, 480} {
		x := harmonicTone(1, func(float64) float64 { return f0 })
		var got []float64
		for _, f := range trackPitch(x, AnalysisRate, analysisHop)[5:95] { // away from the edges
			if f.f0 == 0 {
				t.Fatalf("%g Hz: an unvoiced frame (d′ %.2f)", f0, f.aper)
			}
			got = append(got, f.f0)
		}
		if m := median(got); math.Abs(m-f0)/f0 > 0.005 {
			t.Errorf("%g Hz tone: median %.2f Hz", f0, m)
		}
	}
	// A glide from 100 to 200 Hz is followed frame by frame.
	glide := func(t float64) float64 { return 100 * math.Pow(2, t) }
	for i, f := range trackPitch(harmonicTone(1, glide), AnalysisRate, analysisHop) {
		if i < 3 || i > 97 {
			continue
		}
		want := glide(float64(i*analysisHop) / AnalysisRate)
		if math.Abs(f.f0-want)/want > 0.02 {
			t.Errorf("glide frame %d: %.1f Hz, want %.1f", i, f.f0, want)
		}
	}
	// Noise and silence are unvoiced.
	n := noise(9, AnalysisRate, 0.1)
	x := make([]float64, len(n)+AnalysisRate)
	for i, v := range n {
		x[i] = float64(v)
	}
	voiced := 0
	for _, f := range trackPitch(x, AnalysisRate, analysisHop) {
		if f.f0 > 0 {
			voiced++
		}
	}
	if voiced > 2 {
		t.Errorf("%d voiced frames in 1 s of noise and 1 s of silence", voiced)
	}
}

// TestFormants filters a 120 Hz pulse train through three resonators, as a
// vowel is made, and expects the resonances back.
func TestFormants(t *testing.T) {
	t.Parallel()
	want := [3]float64{730, 1090, 2440} // /a/ of an adult man
	bw := [3]float64{60, 90, 120}
	n := 2 * AnalysisRate
	x := make([]float64, n)
	for i := 0; i < n; i += AnalysisRate / 120 {
		x[i] = 1
	}
	for k, f := range want {
		r := math.Exp(-math.Pi * bw[k] / AnalysisRate)
		a1, a2 := 2*r*math.Cos(2*math.Pi*f/AnalysisRate), -r*r
		var y1, y2 float64
		for i, v := range x {
			y := v + a1*y1 + a2*y2
			x[i], y2, y1 = y, y1, y
		}
	}
	peak := 0.0
	for _, v := range x {
		peak = max(peak, math.Abs(v))
	}
	var times []float64
	for i := range x {
		x[i] *= 0.5 / peak
		if i%analysisHop == 0 && i > AnalysisRate/10 && i < n-AnalysisRate/10 {
			times = append(times, float64(i)/AnalysisRate)
		}
	}
	got := formantsAt(x, times)
	t.Logf("formants %.0f Hz, want %.0f", got, want)
	for k := range want {
		if math.Abs(got[k]-want[k])/want[k] > 0.06 {
			t.Errorf("F%d = %.0f Hz, want %.0f (all: %.0f)", k+1, got[k], want[k], got)
		}
	}
}

// TestProfilesTellVoicesApart checks the profile of real voices: plausible
// figures, and a Vector under which two clips of one voice (different
// text) are closer than clips of different voices.
func TestProfilesTellVoicesApart(t *testing.T) {
	t.Parallel()
	jenny1, jenny2 := profile(t, speech(t, "jenny", textFox)), profile(t, speech(t, "jenny", textShells))
	alan1, alan2 := profile(t, speech(t, "alan", textFox)), profile(t, speech(t, "alan", textShells))
	jennyUp := profile(t, scaledVoice(t, speech(t, "jenny", textShells), 1.19))
	for name, p := range map[string]Profile{"jenny": jenny1, "alan": alan1} {
		if err := p.Validate(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !(p.F0P10 < p.F0Median && p.F0Median < p.F0P90) || p.F0Std <= 0 || p.VoicedFraction < 0.3 || p.VoicedFraction > 1 {
			t.Errorf("%s: implausible pitch figures %+v", name, p)
		}
		if !(p.Formants[0] > 200 && p.Formants[0] < p.Formants[1] && p.Formants[1] < p.Formants[2] && p.Formants[2] < 4000) {
			t.Errorf("%s: formants %.0f", name, p.Formants)
		}
	}
	// A woman's voice sits higher than a man's: pitch and formants.
	if jenny1.F0Median < 1.5*alan1.F0Median || jenny1.Formants[1] <= alan1.Formants[1] {
		t.Errorf("jenny F0 %.0f Hz F2 %.0f Hz, alan F0 %.0f Hz F2 %.0f Hz", jenny1.F0Median, jenny1.Formants[1], alan1.F0Median, alan1.Formants[1])
	}

	cos := func(a, b Profile) float64 {
		va, vb := a.Vector(), b.Vector()
		var s float64
		for i := range va {
			s += float64(va[i]) * float64(vb[i])
		}
		return 1 - s // cosine distance, as pgvector's <=>
	}
	t.Logf("cosine distance: jenny–jenny %.3f, alan–alan %.3f, jenny–alan %.3f, jenny–jenny×1.19 %.3f, alan–jenny×1.19 %.3f",
		cos(jenny1, jenny2), cos(alan1, alan2), cos(jenny1, alan1), cos(jenny1, jennyUp), cos(alan1, jennyUp))
	if same, other := max(cos(jenny1, jenny2), cos(alan1, alan2)), min(cos(jenny1, alan1), cos(jenny2, alan2), cos(jenny1, alan2)); same >= other {
		t.Errorf("same voice %.3f apart, different voices %.3f", same, other)
	}
	if cos(jenny1, jennyUp) <= cos(jenny1, jenny2) || cos(jenny1, jennyUp) >= cos(jenny1, alan1) {
		t.Errorf("jenny×1.19 should lie between: %.3f from jenny (jenny's own clips %.3f, alan %.3f)", cos(jenny1, jennyUp), cos(jenny1, jenny2), cos(jenny1, alan1))
	}
	v := jenny1.Vector()
	var norm float64
	for i, x := range v {
		norm += float64(x) * float64(x)
		if i >= 59 && x != 0 {
			t.Errorf("reserved element %d is %g", i, x)
		}
	}
	if len(v) != VectorDims || math.Abs(norm-1) > 1e-5 {
		t.Errorf("vector of %d with norm² %g", len(v), norm)
	}
	for i, x := range (Profile{}).Vector() {
		if x != 0 {
			t.Fatalf("invalid profile's vector has %g at %d", x, i)
		}
	}
}

func TestProfileJSON(t *testing.T) {
	t.Parallel()
	p := profile(t, speech(t, "alan", textFox))
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"version":1`, `"f0_median_hz"`, `"formants_hz"`, `"envelope_db"`, `"mfcc"`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("JSON lacks %s: %s", key, b)
		}
	}
	var back Profile
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p, back); diff != "" {
		t.Errorf("round trip (-before +after):\n%s", diff)
	}
}

func TestProfileValidate(t *testing.T) {
	t.Parallel()
	if err := syntheticProfile(120).Validate(); err != nil {
		t.Fatalf("valid profile: %v", err)
	}
	cases := map[string]func(p *Profile){
		"version 2":      func(p *Profile) { p.Version = 2 },
		"F0 30 Hz":       func(p *Profile) { p.F0Median = 30 },
		"F0 NaN":         func(p *Profile) { p.F0Median = math.NaN() },
		"no envelope":    func(p *Profile) { p.Envelope = nil },
		"12 MFCCs":       func(p *Profile) { p.MFCC = p.MFCC[:12] },
		"infinite F2":    func(p *Profile) { p.Formants[1] = math.Inf(1) },
		"no band centre": func(p *Profile) { p.EnvelopeHz = p.EnvelopeHz[1:] },
	}
	for name, spoil := range cases {
		p := syntheticProfile(120)
		spoil(&p)
		if err := p.Validate(); !errors.Is(err, ErrProfile) {
			t.Errorf("%s: %v, want ErrProfile", name, err)
		}
	}
}

func TestNewProfileNeedsVoice(t *testing.T) {
	t.Parallel()
	if _, err := NewProfile(noise(4, 3*piperRate, 0.1), piperRate); !errors.Is(err, ErrNoVoice) {
		t.Errorf("noise: %v, want ErrNoVoice", err)
	}
	if _, err := NewProfile(make([]float32, 100), 3); err == nil {
		t.Error("3 Hz: no error")
	}
}

func TestNearest(t *testing.T) {
	t.Parallel()
	jenny, alan := profile(t, speech(t, "jenny", textFox)), profile(t, speech(t, "alan", textFox))
	bases := []Profile{jenny, alan}
	gb, f3 := loadWAV(t, "espeak-en-gb.wav"), loadWAV(t, "espeak-en-us-f3.wav")
	gbProfile, err := NewProfile(gb.Samples, gb.SampleRate)
	if err != nil {
		t.Fatal(err)
	}
	f3Profile, err := NewProfile(f3.Samples, f3.SampleRate)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		target Profile
		want   int
	}{
		{"alan, other text", profile(t, speech(t, "alan", textShells)), 1},
		{"jenny, other text", profile(t, speech(t, "jenny", textShells)), 0},
		{"jenny×1.19", profile(t, scaledVoice(t, speech(t, "jenny", textShells), 1.19)), 0},
		{"espeak-ng en-gb (a man)", gbProfile, 1},
		{"espeak-ng en-us+f3 (a woman)", f3Profile, 0},
	}
	for _, c := range cases {
		if got := Nearest(c.target, bases); got != c.want {
			t.Errorf("%s (F0 %.0f Hz): base %d, want %d", c.name, c.target.F0Median, got, c.want)
		}
	}

	// Within 2 semitones, the envelope decides.
	target := syntheticProfile(150)
	near := syntheticProfile(150 * math.Pow(2, 1.5/12)) // 1.5 st off, same envelope
	exact := syntheticProfile(150)                      // same pitch, other envelope
	for m := range exact.Envelope {
		exact.Envelope[m] += 10 * math.Sin(float64(m))
	}
	far := syntheticProfile(150 * math.Pow(2, 3.0/12)) // 3 st off, same envelope
	if got := Nearest(target, []Profile{exact, near}); got != 1 {
		t.Errorf("within the pitch band: base %d, want 1 (same envelope)", got)
	}
	if got := Nearest(target, []Profile{exact, far}); got != 0 {
		t.Errorf("outside the pitch band: base %d, want 0 (same pitch)", got)
	}
	if got := Nearest(target, nil); got != -1 {
		t.Errorf("no bases: %d, want -1", got)
	}
	if got := Nearest(target, []Profile{{}, near}); got != 1 {
		t.Errorf("an invalid base: %d, want 1", got)
	}
}

func TestDistances(t *testing.T) {
	t.Parallel()
	a, b := syntheticProfile(100), syntheticProfile(200)
	if d := F0MedianDistance(a, b); math.Abs(d-12) > 1e-9 {
		t.Errorf("100 Hz to 200 Hz: %g st, want 12", d)
	}
	b.MFCC[0] = 50 // level: not counted
	b.MFCC[1], b.MFCC[12] = 3, 4
	if d := MFCCDistance(a, b); math.Abs(d-5) > 1e-9 {
		t.Errorf("MFCC distance %g, want 5", d)
	}
	if d := MFCCDistance(a, Profile{}); !math.IsInf(d, 1) {
		t.Errorf("against an empty profile: %g, want +Inf", d)
	}
}
