package audio

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func ones(n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = 1
	}
	return x
}

func TestFades(t *testing.T) {
	t.Parallel()
	in := ones(2 * 100) // stereo
	FadeIn(in, 2, 10)
	out := ones(2 * 100)
	FadeOut(out, 2, 10)
	for k := range 10 {
		for c := range 2 {
			if in[2*k+c] != in[2*k] {
				t.Fatalf("fade-in differs between channels at frame %d", k)
			}
		}
		if k > 0 && in[2*k] <= in[2*(k-1)] {
			t.Errorf("fade-in not rising at frame %d: %v after %v", k, in[2*k], in[2*(k-1)])
		}
		// Fade-out is fade-in backwards.
		if !approx(out[len(out)-2-2*k], in[2*k]) {
			t.Errorf("fade-out frame %d from the end is %v, fade-in frame %d is %v", k, out[len(out)-2-2*k], k, in[2*k])
		}
	}
	if in[0] > 0.05 || in[18] < 0.95 {
		t.Errorf("fade-in runs %v → %v, want near 0 → near 1", in[0], in[18])
	}
	if diff := cmp.Diff(ones(2*90), in[20:]); diff != "" {
		t.Errorf("fade-in touched samples after the fade:\n%s", diff)
	}
	if diff := cmp.Diff(ones(2*90), out[:180]); diff != "" {
		t.Errorf("fade-out touched samples before the fade:\n%s", diff)
	}
	short := ones(3)
	FadeIn(short, 1, 100) // longer than the slice: fades all of it
	if short[0] >= short[1] || short[1] >= short[2] || short[2] >= 1 {
		t.Errorf("fade over a short slice: %v", short)
	}
}

func TestAppendCrossfade(t *testing.T) {
	t.Parallel()
	t.Run("same signal joins seamlessly", func(t *testing.T) {
		t.Parallel()
		// A chunked stream whose chunks overlap by 64 frames rejoins to the
		// original: equal-gain weights sum to one.
		x := tone(440, 0.5, 16000, 1000)
		a, b := x[:600], x[600-64:]
		got := AppendCrossfade(nil, a, b, 1, 64)
		if diff := cmp.Diff(x, got, cmp.Comparer(approx)); diff != "" {
			t.Errorf("crossfade of overlapping chunks (-original +joined):\n%s", diff)
		}
	})
	t.Run("step becomes a ramp", func(t *testing.T) {
		t.Parallel()
		a, b := ones(50), make([]float32, 50) // 1 then 0: a hard step, a click
		got := AppendCrossfade([]float32{9}, a, b, 1, 20)
		if len(got) != 1+50+50-20 || got[0] != 9 {
			t.Fatalf("length %d (want %d) or dst prefix lost", len(got), 81)
		}
		got = got[1:]
		maxStep := 0.0
		for i := 1; i < len(got); i++ {
			maxStep = max(maxStep, math.Abs(float64(got[i]-got[i-1])))
		}
		// A raised cosine over 20 frames falls by at most π/40 per frame.
		if maxStep > math.Pi/40+1e-6 {
			t.Errorf("largest sample-to-sample step %.4f, want at most %.4f", maxStep, math.Pi/40)
		}
	})
	t.Run("overlap clamped to the shorter side", func(t *testing.T) {
		t.Parallel()
		got := AppendCrossfade(nil, ones(2*5), ones(2*30), 2, 100)
		if len(got) != 2*30 {
			t.Errorf("length %d, want 60 (the 5-frame side overlapped entirely)", len(got))
		}
		if got := AppendCrossfade(nil, ones(4), nil, 1, 10); len(got) != 4 {
			t.Errorf("crossfade with nothing: %d samples, want 4", len(got))
		}
	})
}

func TestAppendCrossfadeAllocs(t *testing.T) {
	a, b := ones(960), ones(960)
	dst := make([]float32, 0, 2000)
	if n := testing.AllocsPerRun(20, func() { dst = AppendCrossfade(dst[:0], a, b, 1, 240) }); n != 0 {
		t.Errorf("AppendCrossfade into a buffer with room allocates %.1f times", n)
	}
}
