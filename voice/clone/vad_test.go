package clone

import (
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/timbre-ai/timbre/voice/audio"
)

// TestVADFindsTheSpeech pads a sentence with silence and expects the
// segments to start and end near the speech, in samples of the rate given.
func TestVADFindsTheSpeech(t *testing.T) {
	t.Parallel()
	jenny := speech(t, "jenny", textFox)
	const pad = 1500 * time.Millisecond
	in := padded(jenny, pad)
	format := audio.Format{SampleRate: piperRate, Channels: 1}
	segs, err := vad(t).Speech(in, piperRate)
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) == 0 {
		t.Fatal("no speech found")
	}
	// Where the sentence is audible: the first and last 10 ms above
	// −40 dBFS (Piper leaves a varying stretch of quiet at either end).
	// Silero sometimes misses a short first word ("The", 0.25 s, then a
	// pause), hence the slack after the onset.
	on, off := audibleSpan(in, format.Frames(10*time.Millisecond), 0.01)
	if first := segs[0].Start; first < on-format.Frames(300*time.Millisecond) || first > on+format.Frames(450*time.Millisecond) {
		t.Errorf("speech starts at %v, the sound at %v", format.Duration(first), format.Duration(on))
	}
	if last := segs[len(segs)-1].End; last < off-format.Frames(100*time.Millisecond) || last > off+format.Frames(500*time.Millisecond) {
		t.Errorf("speech ends at %v, the sound at %v", format.Duration(last), format.Duration(off))
	}
	var total int
	for i, s := range segs {
		if s.End <= s.Start || (i > 0 && s.Start < segs[i-1].End) {
			t.Fatalf("segments %v are not ordered and disjoint", segs)
		}
		total += s.End - s.Start
	}
	if total < len(jenny)*7/10 {
		t.Errorf("%v of speech found in a %v sentence", format.Duration(total), format.Duration(len(jenny)))
	}
}

func TestVADFindsNoSpeechInSilenceOrNoise(t *testing.T) {
	t.Parallel()
	for name, in := range map[string][]float32{
		"silence": make([]float32, 4*piperRate),
		"noise":   noise(3, 4*piperRate, 0.1),
	} {
		segs, err := vad(t).Speech(in, piperRate)
		if err != nil {
			t.Fatal(err)
		}
		var total time.Duration
		for _, s := range segs {
			total += s.Duration(piperRate)
		}
		if total > 300*time.Millisecond {
			t.Errorf("%s: %v of speech found: %v", name, total, segs)
		}
	}
}

// TestVADIsSafeForConcurrentUse runs one detector from several goroutines:
// each must get what it gets alone.
func TestVADIsSafeForConcurrentUse(t *testing.T) {
	t.Parallel()
	v := vad(t)
	clips := [][]float32{padded(speech(t, "jenny", textFox), time.Second), padded(speech(t, "alan", textFox), 500*time.Millisecond)}
	want := make([][]Segment, len(clips))
	for i, c := range clips {
		var err error
		if want[i], err = v.Speech(c, piperRate); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	got := make([][]Segment, 8)
	errs := make([]error, 8)
	for i := range got {
		wg.Go(func() { got[i], errs[i] = v.Speech(clips[i%2], piperRate) })
	}
	wg.Wait()
	for i := range got {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if diff := cmp.Diff(want[i%2], got[i]); diff != "" {
			t.Errorf("goroutine %d (-alone +concurrent):\n%s", i, diff)
		}
	}
}

func TestVADErrors(t *testing.T) {
	t.Parallel()
	if _, err := OpenVAD(filepath.Join(t.TempDir(), "missing.onnx"), 1); !errors.Is(err, ErrNoModel) {
		t.Errorf("missing model: %v, want ErrNoModel", err)
	}
	if _, err := vad(t).Speech(make([]float32, 100), 10); !errors.Is(err, audio.ErrFormat) {
		t.Errorf("10 Hz: %v, want audio.ErrFormat", err)
	}
	segs, err := vad(t).Speech(nil, 16000)
	if err != nil || len(segs) != 0 {
		t.Errorf("no samples: %v, %v; want none, nil", segs, err)
	}

	v, err := OpenVAD(VADModelPath(dataDir()), 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	if err := v.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := v.Speech(make([]float32, 16000), 16000); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}
}

// audibleSpan is where s is louder than rms, in frames of n samples: the
// start of the first such frame and the end of the last.
func audibleSpan(s []float32, n int, rms float64) (start, end int) {
	start = -1
	for i := 0; i+n <= len(s); i += n {
		if audio.RMS(s[i:i+n]) > rms {
			if start < 0 {
				start = i
			}
			end = i + n
		}
	}
	return start, end
}
