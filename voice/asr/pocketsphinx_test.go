package asr

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestPocketsphinxRecognisesSpeech(t *testing.T) {
	p := openPS(t, 2)
	if p.Name() != "pocketsphinx/en-us" {
		t.Errorf("Name = %q", p.Name())
	}
	var sumWER float64
	for _, s := range sentences {
		in := speech(t, s.voice, s.text)
		start := time.Now()
		res, err := p.Transcribe(context.Background(), in, piperRate)
		if err != nil {
			t.Fatalf("%q: %v", s.text, err)
		}
		recall, missing := contentRecall(s.text, res.Text)
		w := wer(s.text, res.Text)
		sumWER += w
		t.Logf("%s: %q → %q: WER %.2f, content words found %.0f%% (missing %v), RTF %.2f",
			s.voice, s.text, res.Text, w, 100*recall, missing, time.Since(start).Seconds()/res.Audio.Seconds())
		if recall < 0.5 {
			t.Errorf("%q → %q: %.0f%% of the content words found, want at least 50%%", s.text, res.Text, 100*recall)
		}
		if want := duration(len(in), piperRate); res.Audio != want {
			t.Errorf("Audio = %s, want %s", res.Audio, want)
		}
		if res.Text != strings.TrimSpace(res.Text) {
			t.Errorf("text %q is not trimmed", res.Text)
		}
	}
	t.Logf("mean WER %.2f over %d sentences", sumWER/float64(len(sentences)), len(sentences))
}

// The recognizer takes any rate from 8 to 48 kHz and resamples it itself.
// The en-us model is wideband: narrowband audio (8 kHz telephone audio has
// nothing above 4 kHz) is taken but recognised poorly, so only rates of
// 16 kHz and more are held to the accuracy bar.
func TestPocketsphinxResamplesInput(t *testing.T) {
	p := openPS(t, 2)
	s := sentences[2]
	narrow := resampled(t, speech(t, s.voice, s.text), MinRate)
	res, err := p.Transcribe(context.Background(), narrow, MinRate)
	if err != nil {
		t.Fatalf("%d Hz: %v", MinRate, err)
	}
	t.Logf("%d Hz (narrowband): %q: WER %.2f", MinRate, res.Text, wer(s.text, res.Text))
	for _, rate := range []int{modelRate, 44100, MaxRate} {
		in := resampled(t, speech(t, s.voice, s.text), rate)
		res, err := p.Transcribe(context.Background(), in, rate)
		if err != nil {
			t.Fatalf("%d Hz: %v", rate, err)
		}
		recall, _ := contentRecall(s.text, res.Text)
		t.Logf("%d Hz: %q: WER %.2f", rate, res.Text, wer(s.text, res.Text))
		if recall < 0.5 {
			t.Errorf("%d Hz: %q → %q: %.0f%% of the content words found, want at least 50%%", rate, s.text, res.Text, 100*recall)
		}
		if d := res.Audio - duration(len(in), rate); d != 0 {
			t.Errorf("%d Hz: Audio off by %s", rate, d)
		}
	}
}

func TestPocketsphinxStream(t *testing.T) {
	p := openPS(t, 1)
	s := sentences[0]
	in := speech(t, s.voice, s.text)
	if d := duration(len(in), piperRate); d < 3*time.Second {
		t.Fatalf("the sentence lasts %s, the test wants a multi-second one", d)
	}
	st, err := p.NewStream(context.Background(), piperRate)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if got := st.Partial(); got != "" {
		t.Errorf("Partial before any audio = %q", got)
	}
	const chunk = piperRate / 50 // 20 ms, as WebRTC delivers it
	var partials []string
	for i := 0; i < len(in); i += chunk {
		if err := st.Write(in[i:min(i+chunk, len(in))]); err != nil {
			t.Fatal(err)
		}
		if p := st.Partial(); p != "" && (len(partials) == 0 || partials[len(partials)-1] != p) {
			partials = append(partials, p)
		}
	}
	t.Logf("%d distinct partials, e.g. %q", len(partials), partials[:min(3, len(partials))])
	if len(partials) < 2 {
		t.Errorf("%d distinct non-empty partials over %s of speech, want them to grow as it arrives", len(partials), duration(len(in), piperRate))
	}
	final, err := st.Finish()
	if err != nil {
		t.Fatal(err)
	}
	whole, err := p.Transcribe(context.Background(), in, piperRate)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("stream: %q, Transcribe: %q", final.Text, whole.Text)
	if final.Text != whole.Text {
		t.Errorf("the stream's final text %q differs from Transcribe's %q", final.Text, whole.Text)
	}
	if final.Audio != duration(len(in), piperRate) {
		t.Errorf("Audio = %s, want %s", final.Audio, duration(len(in), piperRate))
	}
	if got := st.Partial(); got != final.Text {
		t.Errorf("Partial after Finish = %q, want the final text %q", got, final.Text)
	}
	if err := st.Write(in[:chunk]); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Finish: %v, want ErrClosed", err)
	}
	if _, err := st.Finish(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Finish: %v, want ErrClosed", err)
	}
	if err := st.Close(); err != nil {
		t.Errorf("Close after Finish: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestPocketsphinxSilenceIsEmpty(t *testing.T) {
	p := openPS(t, 1)
	for name, in := range map[string][]float32{
		"digital silence": make([]float32, 2*modelRate),
		"-60 dBFS noise":  noise(2*modelRate, 0.001),
		"no samples":      nil,
	} {
		res, err := p.Transcribe(context.Background(), in, modelRate)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if res.Text != "" {
			t.Errorf("%s: %q, want nothing recognised", name, res.Text)
		}
		st, err := p.NewStream(context.Background(), modelRate)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Write(in); err != nil {
			t.Fatal(err)
		}
		res, err = st.Finish()
		if err != nil || res.Text != "" {
			t.Errorf("%s, streamed: %q, %v; want nothing recognised", name, res.Text, err)
		}
	}
}

// More callers than decoders: they queue for a decoder and all succeed,
// and the pool never holds more decoders than configured.
func TestPocketsphinxConcurrentCallers(t *testing.T) {
	const decoders, callers = 2, 6
	p := openPS(t, decoders)
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for i := range callers {
		s := sentences[i%len(sentences)]
		in := speech(t, s.voice, s.text)
		wg.Go(func() {
			res, err := p.Transcribe(context.Background(), in, piperRate)
			if err != nil {
				errs <- err
				return
			}
			if recall, _ := contentRecall(s.text, res.Text); recall < 0.5 {
				errs <- fmt.Errorf("caller %d: %q → %q", i, s.text, res.Text)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := len(p.slots); n != decoders {
		t.Errorf("%d decoders back in the pool, want %d", n, decoders)
	}
	for range decoders {
		if d := <-p.slots; d == nil {
			t.Errorf("a decoder was never loaded: the callers did not share the pool")
		} else {
			p.release(d)
		}
	}
}

func TestPocketsphinxWaitFollowsContext(t *testing.T) {
	p := openPS(t, 1)
	in := speech(t, sentences[2].voice, sentences[2].text)
	busy, err := p.NewStream(context.Background(), piperRate)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.NewStream(context.Background(), piperRate); !errors.Is(err, ErrBusy) {
		t.Errorf("NewStream with the only decoder busy: %v, want ErrBusy", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := p.Transcribe(ctx, in, piperRate); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Transcribe waiting past its deadline: %v, want context.DeadlineExceeded", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := p.Transcribe(ctx, in, piperRate)
		done <- err
	}()
	time.Sleep(20 * time.Millisecond) // let it start waiting; the result does not depend on it
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Transcribe cancelled while waiting: %v, want context.Canceled", err)
	}

	// Once the stream gives the decoder back, a waiting caller gets it.
	go func() {
		_, err := p.Transcribe(context.Background(), in, piperRate)
		done <- err
	}()
	if err := busy.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Errorf("Transcribe after the stream closed: %v", err)
	}
}

// A Stream whose ctx ends stops decoding; closing it frees the decoder.
func TestPocketsphinxStreamContext(t *testing.T) {
	p := openPS(t, 1)
	ctx, cancel := context.WithCancel(context.Background())
	st, err := p.NewStream(ctx, modelRate)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Write(make([]float32, 1600)); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := st.Write(make([]float32, 1600)); !errors.Is(err, context.Canceled) {
		t.Errorf("Write after ctx ended: %v, want context.Canceled", err)
	}
	if _, err := st.Finish(); !errors.Is(err, context.Canceled) {
		t.Errorf("Finish after ctx ended: %v, want context.Canceled", err)
	}
	st.Close()
	if _, err := p.NewStream(context.Background(), modelRate); err != nil {
		t.Errorf("NewStream after the cancelled stream: %v", err)
	}
}

// An abandoned utterance leaves nothing behind in the decoder.
func TestPocketsphinxAbandonedStream(t *testing.T) {
	p := openPS(t, 1)
	a, b := sentences[0], sentences[3]
	st, err := p.NewStream(context.Background(), piperRate)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Write(speech(t, a.voice, a.text)); err != nil {
		t.Fatal(err)
	}
	if st.Partial() == "" {
		t.Error("no partial after a whole sentence")
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err = p.NewStream(context.Background(), piperRate)
	if err != nil {
		t.Fatalf("NewStream after Close: %v", err)
	}
	defer st.Close()
	if err := st.Write(speech(t, b.voice, b.text)); err != nil {
		t.Fatal(err)
	}
	res, err := st.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if recall, _ := contentRecall(b.text, res.Text); recall < 0.5 {
		t.Errorf("%q → %q", b.text, res.Text)
	}
	if recall, _ := contentRecall(a.text, res.Text); recall > 0.3 {
		t.Errorf("%q: the abandoned utterance %q leaked into it", res.Text, a.text)
	}
}

func TestPocketsphinxBadAudio(t *testing.T) {
	p := openPS(t, 1)
	ok := make([]float32, 1600)
	nan := append(make([]float32, 100), float32(math.NaN()))
	inf := append(make([]float32, 100), float32(math.Inf(-1)))
	long := make([]float32, MinRate*int(MaxAudio/time.Second)+1)
	for _, c := range []struct {
		name    string
		samples []float32
		rate    int
	}{
		{"rate 0", ok, 0},
		{"rate below 8 kHz", ok, MinRate - 1},
		{"rate above 48 kHz", ok, MaxRate + 1},
		{"NaN", nan, modelRate},
		{"infinity", inf, modelRate},
		{"longer than MaxAudio", long, MinRate},
	} {
		if _, err := p.Transcribe(context.Background(), c.samples, c.rate); !errors.Is(err, ErrBadAudio) {
			t.Errorf("Transcribe, %s: %v, want ErrBadAudio", c.name, err)
		}
	}
	if _, err := p.NewStream(context.Background(), 96000); !errors.Is(err, ErrBadAudio) {
		t.Errorf("NewStream at 96 kHz: %v, want ErrBadAudio", err)
	}
	st, err := p.NewStream(context.Background(), modelRate)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	err = st.Write(nan)
	if !errors.Is(err, ErrBadAudio) || !strings.Contains(err.Error(), "sample 100") {
		t.Errorf("Write with a NaN: %v, want ErrBadAudio naming sample 100", err)
	}
	if err := st.Write(ok); err != nil {
		t.Errorf("Write after a rejected chunk: %v", err)
	}
	if _, err := st.Finish(); err != nil {
		t.Errorf("Finish: %v", err)
	}
}

func TestPocketsphinxClose(t *testing.T) {
	p := openPS(t, 2)
	s := sentences[2]
	in := speech(t, s.voice, s.text)
	st, err := p.NewStream(context.Background(), piperRate)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := p.Transcribe(context.Background(), in, piperRate); !errors.Is(err, ErrClosed) {
		t.Errorf("Transcribe after Close: %v, want ErrClosed", err)
	}
	if _, err := p.NewStream(context.Background(), piperRate); !errors.Is(err, ErrClosed) {
		t.Errorf("NewStream after Close: %v, want ErrClosed", err)
	}
	// The stream open before Close finishes its utterance.
	if err := st.Write(in); err != nil {
		t.Fatal(err)
	}
	res, err := st.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if recall, _ := contentRecall(s.text, res.Text); recall < 0.5 {
		t.Errorf("%q → %q", s.text, res.Text)
	}
	if n := len(p.slots); n != 0 {
		t.Errorf("%d decoders left in a closed pool", n)
	}
}

func TestPocketsphinxModelErrors(t *testing.T) {
	files := []string{"en-us.lm.bin", "cmudict-en-us.dict", "en-us/mdef", "en-us/means", "en-us/variances",
		"en-us/transition_matrices", "en-us/feat.params", "en-us/noisedict", "en-us/sendump"}
	// model is a copy of Debian's model (as links) with one file replaced
	// by junk, or missing when junk is nil.
	model := func(t *testing.T, broken string, junk []byte) string {
		dir := t.TempDir()
		if err := os.Mkdir(filepath.Join(dir, "en-us"), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			var err error
			switch {
			case f != broken:
				err = os.Symlink(filepath.Join(DefaultPocketsphinxDir, f), filepath.Join(dir, f))
			case junk != nil:
				err = os.WriteFile(filepath.Join(dir, f), junk, 0o644)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	junk := []byte("<html>404 Not Found</html>\n")
	for _, c := range []struct {
		name, broken string
		junk         []byte
		want         string // in the message
	}{
		{"no language model", "en-us.lm.bin", nil, "en-us.lm.bin"},
		{"no dictionary", "cmudict-en-us.dict", nil, "cmudict-en-us.dict"},
		{"no acoustic model", "en-us/mdef", nil, "en-us/mdef"},
		{"no mixture weights", "en-us/sendump", nil, "mixture_weights"},
		{"junk language model", "en-us.lm.bin", junk, "en-us.lm.bin"},
		{"junk means", "en-us/means", junk, "en-us/means"},
		{"junk mdef", "en-us/mdef", junk, "en-us/mdef"},
		{"junk feat.params", "en-us/feat.params", []byte("-feat 1s_12c_12d_3p_12dd\n"), "Failed to read acoustic model"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := model(t, c.broken, c.junk)
			r, err := Open(Config{ModelDir: dir}, nil)
			if err == nil {
				r.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, ErrNoModel) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Open: %v; want ErrNoModel naming %s", err, c.want)
			}
		})
	}
	t.Run("intact", func(t *testing.T) {
		r, err := Open(Config{ModelDir: model(t, "", nil)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		r.Close()
	})
	t.Run("no folder", func(t *testing.T) {
		_, err := Open(Config{ModelDir: filepath.Join(t.TempDir(), "nothing")}, nil)
		if !errors.Is(err, ErrNoModel) || !strings.Contains(err.Error(), "make setup") {
			t.Errorf("Open: %v; want ErrNoModel saying how to install the model", err)
		}
	})
}

// BenchmarkPocketsphinx reports the real-time factor of Transcribe (one
// decoder, a 4-second sentence at 16 kHz) as RTF: CPU seconds per second
// of audio on one core.
func BenchmarkPocketsphinx(b *testing.B) {
	p := openPS(b, 1)
	s := sentences[0]
	in := resampled(b, speech(b, s.voice, s.text), modelRate)
	audioDur := duration(len(in), modelRate)
	b.ResetTimer()
	for b.Loop() {
		if _, err := p.Transcribe(context.Background(), in, modelRate); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)/audioDur.Seconds(), "RTF")
	b.ReportMetric(audioDur.Seconds(), "audio-s")
}

// BenchmarkPocketsphinxStream streams the sentence in 20 ms chunks at
// 48 kHz (as WebRTC delivers it) and reports how long Finish takes after
// the last chunk (finish-ms): the delay the user waits for the final text
// once the end of the turn is detected.
func BenchmarkPocketsphinxStream(b *testing.B) {
	p := openPS(b, 1)
	s := sentences[0]
	in := resampled(b, speech(b, s.voice, s.text), 48000)
	var finish time.Duration
	for b.Loop() {
		st, err := p.NewStream(context.Background(), 48000)
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < len(in); i += 960 {
			if err := st.Write(in[i:min(i+960, len(in))]); err != nil {
				b.Fatal(err)
			}
			st.Partial()
		}
		start := time.Now()
		if _, err := st.Finish(); err != nil {
			b.Fatal(err)
		}
		finish += time.Since(start)
		st.Close()
	}
	audioDur := duration(len(in), 48000)
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)/audioDur.Seconds(), "RTF")
	b.ReportMetric(float64(finish.Milliseconds())/float64(b.N), "finish-ms")
}

// BenchmarkPocketsphinxLoad reports how long a decoder takes to load and
// how much resident memory each adds (the decoders loaded stay loaded
// until the end, so that freed memory is not counted twice).
func BenchmarkPocketsphinxLoad(b *testing.B) {
	p := openPS(b, 1)
	var loaded []*psDecoder
	defer func() {
		for _, d := range loaded {
			d.free()
		}
	}()
	before := rss(b)
	for b.Loop() {
		d, err := p.load()
		if err != nil {
			b.Fatal(err)
		}
		loaded = append(loaded, d)
	}
	b.ReportMetric(float64(rss(b)-before)/float64(b.N)/(1<<20), "MB-rss/decoder")
}

// Partial may be polled from one goroutine while another writes.
func TestPocketsphinxPartialWhileWriting(t *testing.T) {
	p := openPS(t, 1)
	s := sentences[3]
	in := speech(t, s.voice, s.text)
	st, err := p.NewStream(context.Background(), piperRate)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	stop := make(chan struct{})
	seen := make(chan bool)
	go func() {
		got := false
		for {
			select {
			case <-stop:
				seen <- got
				return
			default:
				got = got || st.Partial() != ""
			}
		}
	}()
	for i := 0; i < len(in); i += 1000 {
		if err := st.Write(in[i:min(i+1000, len(in))]); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	if !<-seen {
		t.Error("the polling goroutine never saw a partial")
	}
	res, err := st.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if recall, _ := contentRecall(s.text, res.Text); recall < 0.5 {
		t.Errorf("%q → %q", s.text, res.Text)
	}
}
