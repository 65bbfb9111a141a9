package rtc_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/timbre-ai/timbre/voice/audio"
	"github.com/timbre-ai/timbre/voice/rtc"
	"github.com/timbre-ai/timbre/voice/rtc/rtctest"
)

// playerEvents collects a player's events until the test ends.
type playerEvents struct {
	rec *recorder
	evs []rtc.PlayerEvent
}

func collectEvents(t *testing.T, p *rtc.Player) *playerEvents {
	pe := &playerEvents{rec: newRecorder()}
	done := make(chan struct{})
	stopped := make(chan struct{})
	t.Cleanup(func() { close(done); <-stopped })
	go func() {
		defer close(stopped)
		for {
			select {
			case ev := <-p.Events():
				pe.rec.note(func() { pe.evs = append(pe.evs, ev) })
			case <-done:
				return
			}
		}
	}()
	return pe
}

// wait waits for an event of kind (and tag, for TagStarted) after the
// first from events, and returns its index.
func (pe *playerEvents) wait(t *testing.T, from int, kind rtc.EventKind, tag int) (int, rtc.PlayerEvent) {
	t.Helper()
	var at int
	var got rtc.PlayerEvent
	pe.rec.wait(t, kind.String(), func() bool {
		for i := from; i < len(pe.evs); i++ {
			if ev := pe.evs[i]; ev.Kind == kind && (kind != rtc.TagStarted || ev.Tag == tag) {
				at, got = i, ev
				return true
			}
		}
		return false
	})
	return at, got
}

func (pe *playerEvents) list() []rtc.PlayerEvent {
	pe.rec.mu.Lock()
	defer pe.rec.mu.Unlock()
	return append([]rtc.PlayerEvent(nil), pe.evs...)
}

// waitReceived waits until the client has decoded d of audio after the
// tone it received last ended: the tail of what the player sent.
func waitReceivedSilence(t *testing.T, c *rtctest.Client, d time.Duration) audio.Frame {
	t.Helper()
	var f audio.Frame
	waitFor(t, "silence after the audio", func() bool {
		f = c.Received()
		_, end, ok := toneSpan(f.Samples, f.SampleRate, 0.05)
		return ok && f.Len()-end >= f.Format.Frames(d)
	})
	return f
}

// notStalled skips what remains of a test if the player had to skip
// slots (the machine stalled it for over 500 ms): the audio received then
// has gaps by design.
func notStalled(t *testing.T, p *rtc.Player) {
	t.Helper()
	if st := p.Stats(); st.Skipped > 0 {
		t.Skipf("the machine stalled the pacer (%d slots skipped, max lateness %v)", st.Skipped, st.MaxLate)
	}
}

// TestPlayerContinuity enqueues a 2 s tone at Piper's 22050 Hz in seven
// uneven chunks, each its own tag (as sentences are), and checks what the
// client decodes: one unbroken tone of the right length, pitch and level,
// with no step between samples beyond what a sine of that pitch and the
// codec's error allow, and the player's tag accounting.
func TestPlayerContinuity(t *testing.T) {
	t.Parallel()
	tr := newTransport(t, rtc.Config{})
	peer, c := dial(t, tr, rtc.Handlers{}, nil)
	player := peer.Player()
	events := collectEvents(t, player)

	const rate, freq, amp = 22050, 440.0, 0.5
	x := tone(rate, freq, amp, 2*time.Second)
	cuts := []int{0, 1234, 9000, 9001, 17000, 30333, 39999, len(x)}
	// Paused while the chunks go in, so that the queue cannot run dry
	// between two Enqueue calls however slow the machine (-race).
	player.Pause()
	var want []time.Duration
	for i := range len(cuts) - 1 {
		f := audio.Frame{Format: audio.Format{SampleRate: rate, Channels: 1}, Samples: x[cuts[i]:cuts[i+1]]}
		want = append(want, f.Duration())
		if err := player.Enqueue(f, i+1); err != nil {
			t.Fatal(err)
		}
	}
	if got := player.Buffered(); got < 2*time.Second-time.Millisecond || got > 2*time.Second+time.Millisecond {
		t.Errorf("Buffered() = %v, want 2 s", got)
	}
	player.Resume()
	_, drained := events.wait(t, 0, rtc.Drained, 0)
	notStalled(t, player)
	if b := player.Buffered(); b != 0 {
		t.Errorf("Buffered() = %v after Drained", b)
	}
	var last time.Time
	for tag := 1; tag <= len(want); tag++ {
		if got := player.Played(tag); got != want[tag-1] {
			t.Errorf("Played(%d) = %v, want %v", tag, got, want[tag-1])
		}
		_, ev := events.wait(t, 0, rtc.TagStarted, tag)
		if !ev.At.After(last) || ev.At.After(drained.At) {
			t.Errorf("tag %d started at %v, after the previous at %v, before Drained at %v", tag, ev.At, last, drained.At)
		}
		last = ev.At
	}
	if got := drained.At.Sub(events.list()[0].At); got < 2*time.Second || got > 2*time.Second+rtc.FrameDuration {
		t.Errorf("first tag to Drained: %v, want 2 s to the end of its frame", got)
	}

	f := waitReceivedSilence(t, c, 100*time.Millisecond)
	start, end, ok := toneSpan(f.Samples, f.SampleRate, amp/4)
	if !ok {
		t.Fatal("no tone received")
	}
	got := f.Format.Duration(end - start)
	if d := got - 2*time.Second; d < -10*time.Millisecond || d > 10*time.Millisecond {
		t.Errorf("received tone lasts %v, want 2s", got)
	}
	mid := f.Samples[start+480 : end-480] // leave out 10 ms at each end
	if got := zeroCrossFreq(mid, f.SampleRate); math.Abs(got-freq) > 0.5 {
		t.Errorf("received tone at %.2f Hz, want %v", got, freq)
	}
	wantRMS := amp / math.Sqrt2
	if rms := audio.RMS(mid); math.Abs(audio.DBFS(rms/wantRMS)) > 1 {
		t.Errorf("received RMS %.4f, want %.4f ±1 dB", rms, wantRMS)
	}
	if n := dropouts(mid, f.SampleRate, wantRMS); n > 0 {
		t.Errorf("%d dropouts of 5 ms in the received tone", n)
	}
	// A sine's largest step is 2π·f·amp/rate (0.029 here); a gap or a
	// misjoined chunk steps by up to 2·amp.
	limit := 2 * 2 * math.Pi * freq * amp / float64(f.SampleRate)
	step, at := maxStep(mid)
	if step > limit {
		t.Errorf("step of %.3f between samples at %v into the tone, limit %.3f", step, f.Format.Duration(at+480), limit)
	}
	t.Logf("largest step %.4f (limit %.4f)", step, limit)
	// Silence after the audio is encoded until the encoder settles, at
	// most 25 frames (before the audio, as many again), then repeated.
	waitFor(t, "60 frames of silence", func() bool { return player.Stats().Silence >= 60 })
	st := player.Stats()
	if st.Audio != 100 {
		t.Errorf("sent %d audio frames, want 100 (2 s)", st.Audio)
	}
	if st.Frames != st.Audio+st.Silence || st.EncodedSilence > 50 {
		t.Errorf("stats %+v: want frames = audio + silence, at most 50 silence frames encoded", st)
	}
	t.Logf("received %v of tone; player stats %+v", got, st)
}

// TestPlayerStreaming enqueues a tone the way speech synthesis streams
// it: chunks of 60 to 250 ms, each added when less than 100 ms is left
// to play, with a rate change (22050 → 24000 Hz) between two sentences.
// The client must receive it unbroken.
func TestPlayerStreaming(t *testing.T) {
	t.Parallel()
	tr := newTransport(t, rtc.Config{})
	peer, c := dial(t, tr, rtc.Handlers{}, nil)
	player := peer.Player()
	events := collectEvents(t, player)

	const freq, amp = 300.0, 0.4
	total := time.Duration(0)
	player.Pause() // until two chunks are in: a lead of 310 ms
	chunks := []time.Duration{60, 250, 90, 170, 120, 250, 60, 200}
	phase := 0.0
	for i, ms := range chunks {
		rate := 22050
		if i >= 4 {
			rate = 24000
		}
		d := ms * time.Millisecond
		n := audio.Format{SampleRate: rate, Channels: 1}.Frames(d)
		x := make([]float32, n)
		for j := range x {
			x[j] = float32(amp * math.Sin(phase+2*math.Pi*freq*float64(j)/float64(rate)))
		}
		phase += 2 * math.Pi * freq * float64(n) / float64(rate)
		if i == 2 {
			player.Resume()
		}
		waitFor(t, "the queue to run low", func() bool { return player.Buffered() < 200*time.Millisecond })
		if err := player.Enqueue(audio.Frame{Format: audio.Format{SampleRate: rate, Channels: 1}, Samples: x}, i/2); err != nil {
			t.Fatal(err)
		}
		total += audio.Format{SampleRate: rate, Channels: 1}.Duration(n)
	}
	events.wait(t, 0, rtc.Drained, 0)
	notStalled(t, player)
	for _, ev := range events.list()[:len(events.list())-1] {
		if ev.Kind == rtc.Drained {
			// Only a machine too slow to resample 250 ms in 200 ms.
			t.Skipf("the queue ran dry before the last chunk (machine too slow): %v", events.list())
		}
	}
	f := waitReceivedSilence(t, c, 100*time.Millisecond)
	start, end, ok := toneSpan(f.Samples, f.SampleRate, amp/4)
	if !ok {
		t.Fatal("no tone received")
	}
	if got := f.Format.Duration(end - start); got-total < -10*time.Millisecond || got-total > 10*time.Millisecond {
		t.Errorf("received tone lasts %v, want %v", got, total)
	}
	mid := f.Samples[start+480 : end-480]
	wantRMS := amp / math.Sqrt2
	if n := dropouts(mid, f.SampleRate, wantRMS); n > 0 {
		t.Errorf("%d dropouts of 5 ms in the received tone", n)
	}
	// The rate change restarts resampling, which fades nothing in or
	// out: a sine resampled from silence starts within the filter's
	// transition, so allow a little more than a pure sine's step.
	limit := 3 * 2 * math.Pi * freq * amp / float64(f.SampleRate)
	if step, at := maxStep(mid); step > limit {
		t.Errorf("step of %.3f between samples at %v into the tone, limit %.3f", step, f.Format.Duration(at+480), limit)
	}
	for tag := range 4 {
		if player.Played(tag) == 0 {
			t.Errorf("Played(%d) = 0", tag)
		}
	}
}

// TestPlayerPauseResumeClear checks the controls barge-in uses: Pause
// holds the queue and sends silence, Resume plays on from there, Clear
// drops what is queued and leaves Played at what was sent.
func TestPlayerPauseResumeClear(t *testing.T) {
	t.Parallel()
	tr := newTransport(t, rtc.Config{})
	peer, c := dial(t, tr, rtc.Handlers{}, nil)
	player := peer.Player()
	events := collectEvents(t, player)
	const rate, freq, amp = 24000, 440.0, 0.5
	second := audio.Frame{Format: audio.Format{SampleRate: rate, Channels: 1}, Samples: tone(rate, freq, amp, time.Second)}

	// Pause in the middle of tag 1, then resume.
	if err := player.Enqueue(second, 1); err != nil {
		t.Fatal(err)
	}
	events.wait(t, 0, rtc.TagStarted, 1)
	waitFor(t, "300 ms played", func() bool { return player.Played(1) >= 300*time.Millisecond })
	silence := player.Stats().Silence
	player.Pause()
	if !player.Paused() {
		t.Error("Paused() = false after Pause")
	}
	// Pause takes effect at the next frame: once a frame of silence has
	// gone out, nothing more of the queue is sent, however long the pause.
	waitFor(t, "a frame of silence", func() bool { return player.Stats().Silence > silence })
	held := player.Played(1)
	buffered := player.Buffered()
	time.Sleep(300 * time.Millisecond)
	if got := player.Played(1); got != held {
		t.Errorf("Played(1) went from %v to %v while paused", held, got)
	}
	if got := player.Buffered(); got != buffered || got == 0 {
		t.Errorf("Buffered() went from %v to %v while paused; want it kept", buffered, got)
	}
	if held+buffered < time.Second-time.Millisecond || held+buffered > time.Second+time.Millisecond {
		t.Errorf("played %v + buffered %v, want 1 s", held, buffered)
	}
	if evs := events.list(); len(evs) != 1 {
		t.Errorf("events while paused: %v, want only TagStarted", evs)
	}
	player.Resume()
	pause := time.Duration(player.Stats().Silence-silence) * rtc.FrameDuration
	i, _ := events.wait(t, 0, rtc.Drained, 0)
	notStalled(t, player)
	if got := player.Played(1); got != time.Second {
		t.Errorf("Played(1) = %v after resuming to the end, want 1s", got)
	}

	// The client heard the tone with a gap of about the pause.
	f := waitReceivedSilence(t, c, 60*time.Millisecond)
	start, end, _ := toneSpan(f.Samples, f.SampleRate, amp/4)
	quiet := 0
	for _, v := range windowRMS(f.Samples[start:end], f.SampleRate/200) {
		if v < 0.01 {
			quiet++
		}
	}
	// The silence frames sent during the pause, give or take one as
	// Pause and Resume fall inside frames, and the codec's smear.
	if gap := time.Duration(quiet) * 5 * time.Millisecond; gap < pause-25*time.Millisecond || gap > pause+25*time.Millisecond {
		t.Errorf("the received tone has %v of silence in it, want the pause's %v", gap, pause)
	}
	if n := f.Format.Duration(end-start) - time.Duration(quiet)*5*time.Millisecond; n < time.Second-20*time.Millisecond || n > time.Second+20*time.Millisecond {
		t.Errorf("received %v of tone, want 1 s", n)
	}

	// Clear in the middle of tag 2: tag 3, queued after it, never plays.
	if err := player.Enqueue(second, 2); err != nil {
		t.Fatal(err)
	}
	if err := player.Enqueue(second, 3); err != nil {
		t.Fatal(err)
	}
	events.wait(t, i+1, rtc.TagStarted, 2)
	waitFor(t, "200 ms of tag 2", func() bool { return player.Played(2) >= 200*time.Millisecond })
	player.Clear()
	if b := player.Buffered(); b != 0 {
		t.Errorf("Buffered() = %v after Clear", b)
	}
	events.wait(t, i+1, rtc.Drained, 0)
	cut := player.Played(2)
	if cut < 200*time.Millisecond || cut >= time.Second {
		t.Errorf("Played(2) = %v after Clear, want what was sent", cut)
	}
	time.Sleep(100 * time.Millisecond)
	if got := player.Played(2); got != cut {
		t.Errorf("Played(2) went from %v to %v after Clear", cut, got)
	}
	if got := player.Played(3); got != 0 {
		t.Errorf("Played(3) = %v, want 0: it was cleared before it started", got)
	}
	for _, ev := range events.list() {
		if ev.Kind == rtc.TagStarted && ev.Tag == 3 {
			t.Error("tag 3 started after Clear")
		}
	}

	// The player plays on after Clear, with a fresh stream.
	if err := player.Enqueue(second, 4); err != nil {
		t.Fatal(err)
	}
	j, _ := events.wait(t, i+1, rtc.TagStarted, 4)
	events.wait(t, j, rtc.Drained, 0)
	if got := player.Played(4); got != time.Second {
		t.Errorf("Played(4) = %v, want 1s", got)
	}
}

// TestPlayerEnqueueErrors checks Enqueue's refusals.
func TestPlayerEnqueueErrors(t *testing.T) {
	t.Parallel()
	tr := newTransport(t, rtc.Config{})
	peer, _ := dial(t, tr, rtc.Handlers{}, nil)
	player := peer.Player()
	for _, f := range []audio.Frame{
		{Format: audio.Format{SampleRate: 0, Channels: 1}, Samples: make([]float32, 10)},
		{Format: audio.Format{SampleRate: 16000, Channels: 2}, Samples: make([]float32, 3)},
		{Format: audio.Format{SampleRate: 16000, Channels: 0}},
	} {
		if err := player.Enqueue(f, 1); !errors.Is(err, rtc.ErrBadAudio) {
			t.Errorf("Enqueue(%v, %d samples) = %v, want ErrBadAudio", f.Format, len(f.Samples), err)
		}
	}
	stereo := audio.Frame{Format: audio.Format{SampleRate: 48000, Channels: 2}, Samples: make([]float32, 960)}
	if err := player.Enqueue(stereo, 1); err != nil {
		t.Errorf("Enqueue(stereo) = %v, want it downmixed", err)
	}
	if err := peer.Close(); err != nil {
		t.Fatal(err)
	}
	if err := player.Enqueue(stereo, 1); !errors.Is(err, rtc.ErrClosed) {
		t.Errorf("Enqueue after Close = %v, want ErrClosed", err)
	}
}
