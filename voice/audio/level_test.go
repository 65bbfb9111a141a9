package audio

import (
	"errors"
	"math"
	"testing"
)

func TestLevels(t *testing.T) {
	t.Parallel()
	sine := tone(1000, 1, 48000, 48000)
	square := make([]float32, 480)
	for i := range square {
		square[i] = float32(1 - 2*(i/24%2))
	}
	tests := []struct {
		name          string
		samples       []float32
		rmsDB, peakDB float64
	}{
		{"full-scale square", square, 0, 0},
		{"full-scale sine", sine, -3.0103, 0},
		{"half-scale sine", tone(1000, 0.5, 48000, 48000), -9.0309, -6.0206},
		{"negative peak", []float32{0.1, -0.5, 0.2}, DBFS(math.Sqrt((0.01 + 0.25 + 0.04) / 3)), -6.0206},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := DBFS(RMS(tt.samples)); math.Abs(got-tt.rmsDB) > 0.001 {
				t.Errorf("RMS = %.4f dBFS, want %.4f", got, tt.rmsDB)
			}
			if got := DBFS(Peak(tt.samples)); math.Abs(got-tt.peakDB) > 0.001 {
				t.Errorf("Peak = %.4f dBFS, want %.4f", got, tt.peakDB)
			}
		})
	}
	if RMS(nil) != 0 || Peak(nil) != 0 || !math.IsInf(DBFS(0), -1) {
		t.Error("silence does not read 0 linear, -Inf dBFS")
	}
}

func TestClipFraction(t *testing.T) {
	t.Parallel()
	x := []float32{0, 0.5, 1, -1, ClipThreshold16, -ClipThreshold16, 0.9999, 0.3, 2, 0}
	if got := ClipFraction(x, ClipThreshold16); got != 0.5 {
		t.Errorf("ClipFraction(16-bit) = %v, want 0.5", got)
	}
	if got := ClipFraction(x, 1); got != 0.3 {
		t.Errorf("ClipFraction(1) = %v, want 0.3", got)
	}
	if got := ClipFraction(nil, 1); got != 0 {
		t.Errorf("ClipFraction(nil) = %v", got)
	}
	// A decoded clipped recording: a sine driven 6 dB past full scale and
	// stored as 16-bit PCM sits at the rails wherever |sin| ≥ 1/2, two
	// thirds of the time.
	hot := tone(200, 2, 16000, 16000)
	pcm, _ := AppendInt16(nil, hot)
	back := AppendFloatFromInt16(nil, pcm)
	if got := ClipFraction(back, ClipThreshold16); math.Abs(got-2.0/3) > 0.01 {
		t.Errorf("ClipFraction of a sine clipped 6 dB = %.3f, want about 2/3", got)
	}
}

// speechLike is bursts of tone at amp separated by near-silence, like
// speech with pauses: 300 ms on, 200 ms of -60 dBFS noise.
func speechLike(rate int, amp float64) []float32 {
	var x []float32
	for range 4 {
		x = append(x, tone(220, amp, rate, rate*3/10)...)
		quiet := tone(50, 0.001, rate, rate/5)
		x = append(x, quiet...)
	}
	return x
}

func TestGatedRMS(t *testing.T) {
	t.Parallel()
	x := speechLike(16000, 0.1)
	f := Frame{Format{16000, 1}, x}
	// The gate leaves the pauses out: the level is the tone's.
	if got, want := DBFS(GatedRMS(f)), DBFS(0.1/math.Sqrt2); math.Abs(got-want) > 0.2 {
		t.Errorf("GatedRMS = %.2f dBFS, want %.2f (the bursts alone)", got, want)
	}
	if ungated := DBFS(RMS(x)); ungated > DBFS(0.1/math.Sqrt2)-1.5 {
		t.Errorf("plain RMS %.2f dBFS should be well below the bursts' level", ungated)
	}
	if got := GatedRMS(Frame{Format{16000, 1}, make([]float32, 16000)}); got != 0 {
		t.Errorf("GatedRMS(silence) = %v", got)
	}
	if got := GatedRMS(Frame{Format{16000, 0}, x}); got != 0 {
		t.Errorf("GatedRMS(invalid frame) = %v", got)
	}
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	voice := VoiceNormalization()
	tests := []struct {
		name    string
		samples []float32
		n       Normalization
		gainDB  float64
		rmsDB   float64 // GatedRMS after, dBFS; NaN: whatever the gain gives
	}{
		{
			name:    "quiet speech raised to target",
			samples: speechLike(16000, 0.02),
			n:       voice,
			gainDB:  -20 - DBFS(0.02/math.Sqrt2),
			rmsDB:   -20,
		},
		{
			name:    "loud speech lowered to target",
			samples: speechLike(16000, 0.9),
			n:       voice,
			gainDB:  -20 - DBFS(0.9/math.Sqrt2),
			rmsDB:   -20,
		},
		{
			name: "peak ceiling stops the gain short",
			// A spike at 0.5 in quiet speech: reaching -20 dBFS RMS would
			// drive it far past -1 dBFS, so the gain stops at the ceiling.
			samples: func() []float32 { x := speechLike(16000, 0.02); x[100] = 0.5; return x }(),
			n:       voice,
			gainDB:  -1 - DBFS(0.5),
			rmsDB:   math.NaN(),
		},
		{
			name:    "near silence gets at most MaxGain",
			samples: tone(220, 0.001, 16000, 16000), // -63 dBFS: 43 dB short of the target
			n:       voice,
			gainDB:  30,
			rmsDB:   DBFS(0.001/math.Sqrt2) + 30,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := Frame{Format{16000, 1}, tt.samples}
			before := DBFS(GatedRMS(f))
			gain, err := Normalize(f, tt.n)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(gain-tt.gainDB) > 0.2 {
				t.Errorf("gain %.2f dB, want %.2f", gain, tt.gainDB)
			}
			after := DBFS(GatedRMS(f))
			if math.Abs(after-before-gain) > 0.01 {
				t.Errorf("level went from %.2f to %.2f dBFS under %.2f dB of gain", before, after, gain)
			}
			if !math.IsNaN(tt.rmsDB) && math.Abs(after-tt.rmsDB) > 0.2 {
				t.Errorf("level after %.2f dBFS, want %.2f", after, tt.rmsDB)
			}
			if peak := DBFS(Peak(f.Samples)); peak > tt.n.PeakCeiling+1e-4 {
				t.Errorf("peak after %.2f dBFS, above the %.0f dBFS ceiling", peak, tt.n.PeakCeiling)
			}
		})
	}
	silence := Frame{Format{16000, 1}, make([]float32, 1000)}
	if gain, err := Normalize(silence, voice); gain != 0 || err != nil || Peak(silence.Samples) != 0 {
		t.Errorf("Normalize(silence) = %v, %v", gain, err)
	}
	if _, err := Normalize(Frame{Format{16000, 2}, make([]float32, 3)}, voice); !errors.Is(err, ErrFormat) {
		t.Errorf("Normalize(partial frame) = %v, want ErrFormat", err)
	}
}

func TestApplyGain(t *testing.T) {
	t.Parallel()
	x := []float32{0.5, -0.25}
	ApplyGain(x, -6.0206)
	if !approx(x[0], 0.25) || !approx(x[1], -0.125) {
		t.Errorf("-6 dB of gain gave %v", x)
	}
}
