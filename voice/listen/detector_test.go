package listen

import (
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/timbre-ai/timbre/voice/audio"
)

// Bounds the tests hold the detector to on clean speech. The sound starts
// and ends where it crosses −40 dBFS, which counts a breathy onset or a
// final release the model may not call speech.
const (
	// SpeechStart decided after the sound starts: their mean within the
	// 150 ms aimed at (barge-in must stop the agent within 200 ms), each
	// within 10 windows: a soft, breathy start (Piper varies from run to
	// run) can take a few windows more, seen up to 262 ms.
	maxOnset   = 320 * time.Millisecond
	maxMean    = 120 * time.Millisecond
	onsetSlack = 100 * time.Millisecond // SpeechStart's At either side of the sound's start
	// SpeechEnd's At before the sound ends: no earlier than the trailing
	// silence its Audio keeps, so the Audio holds all of the sound.
	endEarly      = TrailingSilence
	endLate       = 300 * time.Millisecond // SpeechEnd's At after the sound ends
	chunk20ms     = SampleRate / 50
	leadSilence   = time.Second
	trailSilence  = 1500 * time.Millisecond
	speakerVoices = 2
)

var voices = [speakerVoices]string{"jenny", "alan"}

// placed is an utterance put into a stream: where it is audible there, in
// samples.
type placed struct{ start, end int }

// place appends u to st and returns where it is audible.
func (st *stream) place(u []float32) placed {
	at := st.add(u)
	s, e := audibleSpan(u)
	return placed{at + s, at + e}
}

// turnStart is where a turn's audio begins for a SpeechStart at at.
func turnStart(at time.Duration, cfg Config) int {
	return max(n(at)-n(cfg.withDefaults().PreRoll), 0)
}

// checkEnd checks a SpeechEnd against the speech p it should end and the
// stream x it came from: its time, its delay, and its audio, which must be
// x from the turn's pre-roll to TrailingSilence after At.
func checkEnd(t *testing.T, x []float32, start, end Event, p placed, cfg Config) {
	t.Helper()
	cfg = cfg.withDefaults()
	if end.Kind != SpeechEnd || end.Forced {
		t.Fatalf("%v, want an unforced SpeechEnd", end)
	}
	if d := end.At - dur(p.end); d < -endEarly || d > endLate {
		t.Errorf("speech ends at %v, the sound at %v (%+v)", end.At, dur(p.end), d)
	}
	if d := end.Decided - end.At; d < cfg.Silence || d >= cfg.Silence+Window {
		t.Errorf("end decided %v after it, want Silence (%v) rounded up to a window", d, cfg.Silence)
	}
	from, to := turnStart(start.At, cfg), n(end.At+TrailingSilence)
	if !slices.Equal(end.Audio, x[from:to]) {
		t.Errorf("SpeechEnd audio is %v, want the %v of stream from %v to %v", dur(len(end.Audio)), dur(to-from), dur(from), dur(to))
	}
}

// checkStart checks a SpeechStart against the speech p it should find.
func checkStart(t *testing.T, start Event, p placed) (onset time.Duration) {
	t.Helper()
	if start.Kind != SpeechStart {
		t.Fatalf("%v, want SpeechStart", start)
	}
	onset = start.Decided - dur(p.start)
	if onset < 0 || onset > maxOnset {
		t.Errorf("onset decided %v after the sound starts (%v), want 0–%v", onset, dur(p.start), maxOnset)
	}
	if d := start.At - dur(p.start); d < -onsetSlack || d > onsetSlack {
		t.Errorf("speech starts at %v, the sound at %v", start.At, dur(p.start))
	}
	return onset
}

// TestOneTurn speaks one sentence between stretches of silence, for each
// voice and text, and checks the turn's start, end and audio. It logs the
// latencies: go test -v -run TestOneTurn ./voice/listen/.
func TestOneTurn(t *testing.T) {
	t.Parallel()
	var (
		mu            sync.Mutex
		onsets, tails []time.Duration
	)
	t.Cleanup(func() {
		if len(onsets) > 0 {
			t.Logf("onset (SpeechStart decided after the sound starts): mean %v, max %v over %d utterances", mean(onsets), slices.Max(onsets), len(onsets))
			t.Logf("end (SpeechEnd's At after the sound ends): mean %v, min %v, max %v; decided Silence (500 ms, 16 windows = 512 ms) later", mean(tails), slices.Min(tails), slices.Max(tails))
			if m := mean(onsets); m > maxMean {
				t.Errorf("mean onset %v, want at most %v", m, maxMean)
			}
		}
	})
	for _, voice := range voices {
		for _, text := range []string{textHello, textWeather, textStory, textOkay} {
			t.Run(voice+"/"+text, func(t *testing.T) {
				t.Parallel()
				var st stream
				st.add(silence(leadSilence))
				p := st.place(utterance(t, voice, text))
				st.add(silence(trailSilence))
				d := newDetector(t, Config{})
				events, _ := run(d, st.samples, chunk20ms)
				if got, want := kinds(events), []EventKind{SpeechStart, SpeechEnd}; !slices.Equal(got, want) {
					t.Fatalf("events %v, want %v", events, want)
				}
				onset := checkStart(t, events[0], p)
				checkEnd(t, st.samples, events[0], events[1], p, Config{})
				tail := events[1].At - dur(p.end)
				t.Logf("sound %v–%v; start at %v decided %v (onset %v); end at %v (%+v) decided %v",
					dur(p.start), dur(p.end), events[0].At, events[0].Decided, onset, events[1].At, tail, events[1].Decided)
				mu.Lock()
				onsets, tails = append(onsets, onset), append(tails, tail)
				mu.Unlock()
				if d.Speaking() {
					t.Error("still speaking after the turn ended")
				}
			})
		}
	}
}

func mean(ds []time.Duration) time.Duration {
	var s time.Duration
	for _, d := range ds {
		s += d
	}
	return s / time.Duration(len(ds))
}

// TestTurnsAndPauses puts two sentences a second apart (two turns) and
// 200 ms apart (one turn: a pause shorter than Silence).
func TestTurnsAndPauses(t *testing.T) {
	t.Parallel()
	first, second := utterance(t, "jenny", textHello), utterance(t, "alan", textWeather)

	t.Run("two turns", func(t *testing.T) {
		t.Parallel()
		var st stream
		st.add(silence(leadSilence))
		p1 := st.place(first)
		st.add(silence(time.Second))
		p2 := st.place(second)
		st.add(silence(trailSilence))
		events, _ := run(newDetector(t, Config{}), st.samples, chunk20ms)
		if got, want := kinds(events), []EventKind{SpeechStart, SpeechEnd, SpeechStart, SpeechEnd}; !slices.Equal(got, want) {
			t.Fatalf("events %v, want %v", events, want)
		}
		checkStart(t, events[0], p1)
		checkEnd(t, st.samples, events[0], events[1], p1, Config{})
		checkStart(t, events[2], p2)
		checkEnd(t, st.samples, events[2], events[3], p2, Config{})
	})

	t.Run("pause within a turn", func(t *testing.T) {
		t.Parallel()
		var st stream
		st.add(silence(leadSilence))
		p1 := st.place(first)
		st.add(silence(200 * time.Millisecond))
		p2 := st.place(second)
		st.add(silence(trailSilence))
		t.Logf("the sound pauses for %v", dur(p2.start-p1.end))
		events, _ := run(newDetector(t, Config{}), st.samples, chunk20ms)
		if got, want := kinds(events), []EventKind{SpeechStart, SpeechEnd}; !slices.Equal(got, want) {
			t.Fatalf("events %v, want %v", events, want)
		}
		checkStart(t, events[0], p1)
		checkEnd(t, st.samples, events[0], events[1], placed{p1.start, p2.end}, Config{})
	})
}

// loudest is the loudest stretch of u lasting d.
func loudest(u []float32, d time.Duration) []float32 {
	m := n(d)
	best, at := -1.0, 0
	for i := 0; i+m <= len(u); i += m / 4 {
		if r := audio.RMS(u[i : i+m]); r > best {
			best, at = r, i
		}
	}
	return u[at : at+m]
}

// TestBlips checks that clicks and bursts do not become turns, and that a
// burst of speech shorter than MinSpeech starts and is then discarded.
func TestBlips(t *testing.T) {
	t.Parallel()
	impulses := silence(60 * time.Millisecond)
	for i := 0; i < len(impulses); i += n(10 * time.Millisecond) {
		impulses[i], impulses[i+1] = 0.9, -0.9
	}
	for name, blip := range map[string][]float32{
		"60 ms of clicks":      impulses,
		"60 ms of loud noise":  noise(3, 60*time.Millisecond, 0.3),
		"60 ms of speech":      loudest(utterance(t, "jenny", textWeather), 60*time.Millisecond),
		"120 ms of speech":     loudest(utterance(t, "alan", textStory), 120*time.Millisecond),
		"120 ms of speech (2)": loudest(utterance(t, "jenny", textStory), 120*time.Millisecond),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var st stream
			st.add(silence(leadSilence))
			at := st.add(blip)
			st.add(silence(trailSilence))
			d := newDetector(t, Config{})
			events, _ := run(d, st.samples, chunk20ms)
			t.Logf("events %v", events)
			switch got := kinds(events); {
			case len(got) == 0:
			case slices.Equal(got, []EventKind{SpeechStart, SpeechDiscarded}):
				if events[1].At != events[0].At || events[1].Audio != nil {
					t.Errorf("%v does not retract %v", events[1], events[0])
				}
				if d := events[0].At - dur(at); d < -onsetSlack || d > onsetSlack {
					t.Errorf("blip at %v, start at %v", dur(at), events[0].At)
				}
			default:
				t.Errorf("events %v, want none or a start and a discard", events)
			}
			if d.Speaking() {
				t.Error("still speaking")
			}
		})
	}
	// The discard path must be taken at least once: speech this short
	// does start (as it should, for barge-in) but is not a turn.
	var st stream
	st.add(silence(leadSilence))
	st.add(loudest(utterance(t, "alan", textWeather), 100*time.Millisecond))
	st.add(silence(trailSilence))
	events, _ := run(newDetector(t, Config{}), st.samples, chunk20ms)
	if got, want := kinds(events), []EventKind{SpeechStart, SpeechDiscarded}; !slices.Equal(got, want) {
		t.Errorf("100 ms of speech: events %v, want %v", events, want)
	}
}

// TestNoise checks that steady white noise is not speech and that speech
// in noise still is.
func TestNoise(t *testing.T) {
	t.Parallel()
	for _, rms := range []float64{0.01, 0.03, 0.1} { // −40, −30, −20 dBFS
		events, _ := run(newDetector(t, Config{}), noise(uint64(rms*1000), 10*time.Second, rms), chunk20ms)
		t.Logf("10 s of white noise at %.0f dBFS: %v", audio.DBFS(rms), events)
		for _, e := range events {
			if e.Kind == SpeechEnd {
				t.Errorf("white noise at %.0f dBFS made a turn: %v", audio.DBFS(rms), events)
				break
			}
		}
	}
	u := utterance(t, "alan", textStory)
	var st stream
	st.add(silence(leadSilence))
	p := st.place(u)
	st.add(silence(trailSilence))
	const snr = 10 // dB
	nz := noise(11, dur(len(st.samples)), audio.RMS(u)/math.Pow(10, snr/20.0))
	for i := range st.samples {
		st.samples[i] += nz[i]
	}
	events, _ := run(newDetector(t, Config{}), st.samples, chunk20ms)
	if got, want := kinds(events), []EventKind{SpeechStart, SpeechEnd}; !slices.Equal(got, want) {
		t.Fatalf("speech in noise at %d dB SNR: events %v, want %v", snr, events, want)
	}
	t.Logf("speech %v–%v in noise at %d dB SNR: %v", dur(p.start), dur(p.end), snr, events)
	checkStart(t, events[0], p)
}

// TestMaxTurn speaks for longer than MaxTurn: the turn is cut by force and
// a new one starts at the cut.
func TestMaxTurn(t *testing.T) {
	t.Parallel()
	cfg := Config{MaxTurn: time.Second}
	var st stream
	st.add(silence(leadSilence))
	p := st.place(utterance(t, "alan", textStory))
	st.add(silence(trailSilence))
	if dur(p.end-p.start) < 2*cfg.MaxTurn {
		t.Fatalf("the sentence lasts %v; the test needs more than %v", dur(p.end-p.start), 2*cfg.MaxTurn)
	}
	events, _ := run(newDetector(t, cfg), st.samples, chunk20ms)
	t.Logf("events %v", events)
	if len(events) < 4 || events[0].Kind != SpeechStart {
		t.Fatalf("events %v, want a start, forced ends and restarts", events)
	}
	checkStart(t, events[0], p)
	forced := 0
	for i := 0; i+1 < len(events); i += 2 {
		start, end := events[i], events[i+1]
		if start.Kind != SpeechStart || end.Kind == SpeechStart {
			t.Fatalf("events %v do not alternate start/end", events)
		}
		if i > 0 && start.At < events[i-1].Decided {
			t.Errorf("%v starts before the cut at %v", start, events[i-1].Decided)
		}
		if !end.Forced {
			continue
		}
		forced++
		if d := end.Decided - start.At; d < cfg.MaxTurn || d >= cfg.MaxTurn+Window {
			t.Errorf("%v cut %v after its start, want MaxTurn (%v) rounded up to a window", end, d, cfg.MaxTurn)
		}
		if end.At != end.Decided {
			t.Errorf("%v: a cut's At is where it was cut", end)
		}
		if from := turnStart(start.At, cfg); !slices.Equal(end.Audio, st.samples[from:n(end.At)]) {
			t.Errorf("%v: audio is not the stream from %v to the cut", end, dur(from))
		}
		// The speech goes on: the next turn starts right at the cut.
		if next := events[i+2]; next.Kind != SpeechStart || next.At != end.At || next.Decided != end.At+Window {
			t.Errorf("after the cut %v, %v; want a start at the cut decided a window later", end, next)
		}
	}
	if forced < 2 {
		t.Errorf("%d forced ends in %v of speech with MaxTurn %v", forced, dur(p.end-p.start), cfg.MaxTurn)
	}
	last := events[len(events)-1]
	if last.Kind != SpeechEnd || last.Forced {
		t.Fatalf("the last event %v, want the turn's natural end", last)
	}
	checkEnd(t, st.samples, events[len(events)-2], last, p, cfg)
}

// TestPushSizes pushes one stream (two turns and a blip) in pieces of
// different sizes: the events are the same, to the sample, and the audio a
// caller forwards (SpeechStart's Audio, then each later chunk up to the one
// that ended the turn) is the stream without a gap or a repeat.
func TestPushSizes(t *testing.T) {
	t.Parallel()
	var st stream
	st.add(silence(leadSilence))
	st.place(utterance(t, "jenny", textWeather))
	st.add(silence(time.Second))
	st.add(loudest(utterance(t, "alan", textWeather), 100*time.Millisecond))
	st.add(silence(time.Second))
	st.place(utterance(t, "alan", textOkay))
	st.add(silence(trailSilence))
	x := st.samples

	want, _ := run(newDetector(t, Config{}), x, chunk20ms)
	if len(want) < 4 {
		t.Fatalf("events %v, want at least two turns", want)
	}
	// Events without SpeechStart's Audio, which ends with its Push.
	strip := func(events []Event) []Event {
		out := slices.Clone(events)
		for i := range out {
			if out[i].Kind == SpeechStart {
				out[i].Audio = nil
			}
		}
		return out
	}
	for _, size := range []int{1, 317, chunk20ms, windowSamples, 10000, len(x)} {
		got, forwarded := run(newDetector(t, Config{}), x, size)
		if diff := cmp.Diff(strip(want), strip(got)); diff != "" {
			t.Errorf("pushes of %d samples: events differ (-20 ms pushes +these):\n%s", size, diff)
			continue
		}
		turn := 0
		for i, e := range got {
			if e.Kind == SpeechStart {
				from := turnStart(e.At, Config{})
				if !slices.Equal(e.Audio, x[from:from+len(e.Audio)]) {
					t.Errorf("pushes of %d: %v: Audio is not the stream from %v", size, e, dur(from))
				}
				f := forwarded[turn]
				turn++
				if !slices.Equal(f, x[from:min(from+len(f), len(x))]) {
					t.Errorf("pushes of %d: turn %d: what the caller forwards is not the stream from %v", size, turn, dur(from))
				}
				if end := got[i+1]; len(f) < len(end.Audio) {
					t.Errorf("pushes of %d: turn %d: forwarded %v, less than the turn's %v", size, turn, dur(len(f)), dur(len(end.Audio)))
				}
			}
		}
	}
}

// TestResetAndClose checks Speaking, Reset in the middle of a turn (the
// stream starts again as for a new detector), non-finite samples, and
// Close.
func TestResetAndClose(t *testing.T) {
	t.Parallel()
	var st stream
	st.add(silence(leadSilence))
	p := st.place(utterance(t, "jenny", textStory))
	st.add(silence(trailSilence))
	want, _ := run(newDetector(t, Config{}), st.samples, chunk20ms)

	d := newDetector(t, Config{})
	if d.Speaking() {
		t.Error("speaking before any audio")
	}
	mid := (p.start + p.end) / 2
	events, _ := run(d, st.samples[:mid], chunk20ms)
	if got := kinds(events); !slices.Equal(got, []EventKind{SpeechStart}) || !d.Speaking() {
		t.Fatalf("half a sentence: events %v, speaking %v; want a start and speaking", events, d.Speaking())
	}
	d.Reset()
	if d.Speaking() {
		t.Error("speaking after Reset")
	}
	got, _ := run(d, st.samples, chunk20ms)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after Reset, events differ from a new detector's (-new +reset):\n%s", diff)
	}

	// NaN and ±Inf are silence to the model and do not upset it.
	bad := silence(500 * time.Millisecond)
	for i := range bad {
		bad[i] = [3]float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))}[i%3]
	}
	d.Reset()
	if events := d.Push(bad); len(events) != 0 {
		t.Errorf("non-finite samples: %v", events)
	}
	var st2 stream
	st2.add(silence(leadSilence))
	p2 := st2.place(utterance(t, "jenny", textHello))
	st2.add(silence(trailSilence))
	events, _ = run(d, st2.samples, chunk20ms)
	if got := kinds(events); !slices.Equal(got, []EventKind{SpeechStart, SpeechEnd}) {
		t.Fatalf("after non-finite samples: events %v", events)
	}
	shift := dur(len(bad))
	checkStart(t, Event{Kind: SpeechStart, At: events[0].At - shift, Decided: events[0].Decided - shift}, p2)

	if len(d.Push(nil)) != 0 {
		t.Error("events from no samples")
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if events := d.Push(st.samples); events != nil || d.Speaking() {
		t.Errorf("after Close: %v, speaking %v", events, d.Speaking())
	}
	d.Reset()
}
