package clone

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/timbre-ai/timbre/voice/audio"
)

// TestAnalyzeAcceptsCleanSpeech runs real speech of several kinds through
// the default checks: Piper voices, espeak-ng (a formant synthesiser, from
// 16 kHz fixtures), speech padded with silence, recorded quietly, or with
// noise 30 dB down, and speech at 48 kHz.
func TestAnalyzeAcceptsCleanSpeech(t *testing.T) {
	t.Parallel()
	jenny := speech(t, "jenny", textFox)
	alan := speech(t, "alan", textFox)
	quiet := make([]float32, len(jenny))
	for i, v := range jenny {
		quiet[i] = v * 0.0316 // 30 dB down: about −55 dBFS
	}
	at48, err := audio.Resample(audio.Frame{Format: audio.Format{SampleRate: piperRate, Channels: 1}, Samples: alan}, 48000, audio.QualityDefault)
	if err != nil {
		t.Fatal(err)
	}
	gb, f3 := loadWAV(t, "espeak-en-gb.wav"), loadWAV(t, "espeak-en-us-f3.wav")
	cases := []struct {
		name       string
		samples    []float32
		rate       int
		f0lo, f0hi float64 // where its median F0 must lie
	}{
		{"jenny", jenny, piperRate, 150, 210},
		{"alan", alan, piperRate, 80, 120},
		{"jenny padded with 3 s of silence", padded(jenny, 3*time.Second), piperRate, 150, 210},
		{"jenny 30 dB down", quiet, piperRate, 150, 210},
		{"alan 40 dB down", scaled(alan, 0.01), piperRate, 80, 120},
		{"jenny with noise 30 dB down", withNoise(jenny, 30, 1), piperRate, 150, 210},
		{"alan at 48 kHz", at48.Samples, 48000, 80, 120},
		{"espeak-ng en-gb", gb.Samples, gb.SampleRate, 80, 160},
		{"espeak-ng en-us+f3", f3.Samples, f3.SampleRate, 170, 260},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			clip, err := Analyze(c.samples, c.rate, vad(t), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			format := audio.Format{SampleRate: c.rate, Channels: 1}
			t.Logf("speech %v of %v, SNR %.0f dB, gain %+.1f dB, F0 %.0f Hz (±%.1f st), voiced %.0f%%, formants %.0f Hz",
				clip.Speech.Round(time.Millisecond), clip.Input.Round(time.Millisecond), clip.SNR, clip.Gain,
				clip.Profile.F0Median, clip.Profile.F0Std, 100*clip.Profile.VoicedFraction, clip.Profile.Formants)
			if clip.Rate != c.rate || clip.Input != format.Duration(len(c.samples)) {
				t.Errorf("clip rate %d, input %v; want %d, %v", clip.Rate, clip.Input, c.rate, format.Duration(len(c.samples)))
			}
			if clip.Speech < 3*time.Second || clip.Speech > clip.Input {
				t.Errorf("speech %v of %v", clip.Speech, clip.Input)
			}
			// Trimmed: no more than the speech and its padding.
			if got := format.Duration(len(clip.Samples)); got > clip.Speech+time.Second || got < clip.Speech/2 {
				t.Errorf("trimmed clip is %v for %v of speech", got, clip.Speech)
			}
			level := audio.DBFS(audio.GatedRMS(audio.Frame{Format: format, Samples: clip.Samples}))
			peak := audio.DBFS(audio.Peak(clip.Samples))
			if peak > -0.99 || (math.Abs(level+20) > 0.5 && peak < -1.01) {
				t.Errorf("normalised to %.1f dBFS, peak %.1f dBFS: want −20 dBFS or a −1 dBFS peak", level, peak)
			}
			if err := clip.Profile.Validate(); err != nil {
				t.Fatal(err)
			}
			if f := clip.Profile.F0Median; f < c.f0lo || f > c.f0hi {
				t.Errorf("F0 median %.1f Hz, want %g–%g", f, c.f0lo, c.f0hi)
			}
		})
	}
}

// TestAnalyzeRejects feeds recordings that must not be cloned from, each
// with the code it must get.
func TestAnalyzeRejects(t *testing.T) {
	t.Parallel()
	jenny := speech(t, "jenny", textFox)
	second := audio.Format{SampleRate: piperRate, Channels: 1}.Frames(time.Second)
	clipped := make([]float32, len(jenny))
	for i, v := range jenny {
		clipped[i] = max(-1, min(1, 10*v))
	}
	// Clipped, then turned down: the flat tops give it away all the same.
	clippedQuiet := make([]float32, len(jenny))
	for i, v := range clipped {
		clippedQuiet[i] = v * 0.3
	}
	long := make([]float32, 0, 35*second)
	for len(long) < 31*second {
		long = append(long, jenny...)
	}
	cases := []struct {
		name    string
		samples []float32
		code    string
		says    string // in the message
	}{
		{"white noise", noise(1, 6*second, 0.1), RejectNotSpeech, "No speech"},
		{"silence", make([]float32, 6*second), RejectNotSpeech, "No speech"},
		{"tones (music)", tones(8), RejectNotSpeech, ""},
		{"a 1 s clip", jenny[:second], RejectTooShort, "1.0 s"},
		{"2 s of speech in 8 s", padded(jenny[:2*second], 3*time.Second), RejectTooShort, "of speech was found"},
		{"clipped ×10", clipped, RejectClipping, "clipping"},
		{"clipped ×10 then ×0.3", clippedQuiet, RejectClipping, "clipping"},
		{"speech in noise at 0 dB SNR", withNoise(jenny, 0, 2), RejectTooNoisy, "noise"},
		{"speech in noise at 5 dB SNR", withNoise(jenny, 5, 3), RejectTooNoisy, "noise"},
		{"alan in noise at 0 dB SNR", withNoise(speech(t, "alan", textFox), 0, 6), RejectTooNoisy, "noise"},
		{"quiet speech in noise at 0 dB SNR", scaled(withNoise(jenny, 0, 7), 0.01), RejectTooNoisy, "noise"},
		{"31 s", long, RejectTooLong, "30.0 s"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := Analyze(c.samples, piperRate, vad(t), Limits{})
			var rej *RejectError
			if !errors.As(err, &rej) {
				t.Fatalf("error %v, want a *RejectError %s", err, c.code)
			}
			t.Logf("%s: %s", rej.Code, rej.Message)
			if rej.Code != c.code {
				t.Errorf("code %s, want %s (%s)", rej.Code, c.code, rej.Message)
			}
			if !strings.Contains(rej.Message, c.says) {
				t.Errorf("message %q does not mention %q", rej.Message, c.says)
			}
		})
	}
}

func TestAnalyzeLimits(t *testing.T) {
	t.Parallel()
	jenny := speech(t, "jenny", textFox)
	// The same clip passes or fails as the limits say.
	if _, err := Analyze(jenny, piperRate, vad(t), Limits{MinSpeech: 20 * time.Second, MaxInput: 60 * time.Second}); !isReject(err, RejectTooShort) {
		t.Errorf("20 s minimum: %v, want too_short", err)
	}
	if _, err := Analyze(jenny, piperRate, vad(t), Limits{MaxInput: 2 * time.Second, MinSpeech: time.Second}); !isReject(err, RejectTooLong) {
		t.Errorf("2 s maximum: %v, want too_long", err)
	}
	if _, err := Analyze(withNoise(jenny, 20, 4), piperRate, vad(t), Limits{MinSNR: 30}); !isReject(err, RejectTooNoisy) {
		t.Errorf("30 dB minimum SNR at 20 dB: %v, want too_noisy", err)
	}
	if _, err := Analyze(withNoise(jenny, 5, 5), piperRate, vad(t), Limits{MinSNR: -10}); err != nil {
		t.Errorf("−10 dB minimum SNR at 5 dB: %v, want it accepted", err)
	}
}

func isReject(err error, code string) bool {
	var rej *RejectError
	return errors.As(err, &rej) && rej.Code == code
}

func TestAnalyzeErrors(t *testing.T) {
	t.Parallel()
	bad := make([]float32, 5*piperRate)
	bad[100] = float32(math.NaN())
	if _, err := Analyze(bad, piperRate, vad(t), Limits{}); !errors.Is(err, ErrInput) {
		t.Errorf("NaN sample: %v, want ErrInput", err)
	}
	if _, err := Analyze(make([]float32, 5000), 10, vad(t), Limits{}); !errors.Is(err, audio.ErrFormat) {
		t.Errorf("10 Hz: %v, want audio.ErrFormat", err)
	}
	if _, err := Analyze(make([]float32, 5*piperRate), piperRate, nil, Limits{}); err == nil {
		t.Error("nil VAD: no error")
	}
}

func TestAnalyzeDoesNotModifyInput(t *testing.T) {
	t.Parallel()
	jenny := speech(t, "jenny", textFox)
	in := padded(jenny, time.Second)
	before := append([]float32(nil), in...)
	if _, err := Analyze(in, piperRate, vad(t), Limits{}); err != nil {
		t.Fatal(err)
	}
	for i := range in {
		if in[i] != before[i] {
			t.Fatalf("sample %d changed", i)
		}
	}
}

// tones is seconds of plucked harmonic notes with a chord beneath: music,
// crudely.
func tones(seconds int) []float32 {
	notes := []float64{261.6, 329.6, 392, 523.3, 440, 349.2, 293.7, 246.9}
	s := make([]float32, seconds*piperRate)
	for i := range s {
		f := notes[(i/piperRate)%len(notes)]
		t := float64(i%piperRate) / piperRate
		var v float64
		for h := 1.0; h <= 6; h++ {
			v += math.Sin(2*math.Pi*f*h*t) / h
			v += 0.5 * math.Sin(2*math.Pi*f/1.5*h*t) / h
		}
		s[i] = float32(0.1 * v * math.Exp(-2*t))
	}
	return s
}

// BenchmarkAnalyze analyses a 25 s recording (jenny, four times over, with
// pauses) and reports the seconds of CPU per second of recording.
func BenchmarkAnalyze(b *testing.B) {
	jenny := padded(speech(b, "jenny", textFox), 250*time.Millisecond)
	var rec []float32
	for len(rec) < 25*piperRate {
		rec = append(rec, jenny...)
	}
	rec = rec[:25*piperRate]
	v := vad(b)
	start := time.Now()
	for b.Loop() {
		if _, err := Analyze(rec, piperRate, v, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(time.Since(start).Seconds()/(25*float64(b.N)), "RTF")
}

// scaled is s times g.
func scaled(s []float32, g float32) []float32 {
	out := make([]float32, len(s))
	for i, v := range s {
		out[i] = v * g
	}
	return out
}
