package rtc

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"

	"github.com/timbre-ai/timbre/voice/audio"
	"github.com/timbre-ai/timbre/voice/codec"
)

const (
	// OutboundRate is the rate the player encodes at: Opus's native rate,
	// and the RTP clock of the track.
	OutboundRate = 48000
	// FrameDuration is the duration of one Opus frame and of the pacing
	// interval.
	FrameDuration = 20 * time.Millisecond
	// frameSamples is one frame at OutboundRate.
	frameSamples = OutboundRate / 50
	// MaxBuffered is the most audio a player queues; Enqueue beyond it
	// returns ErrPlayerFull.
	MaxBuffered = 5 * time.Minute
	// maxLag is how far behind schedule the pacer may fall (the machine
	// stalled) and still catch up by sending the late frames back to
	// back, as a browser does after its audio thread stalled; further
	// behind, it skips the slots missed.
	maxLag = 500 * time.Millisecond
	// eventBuffer bounds the player's event channel.
	eventBuffer = 64
	// maxTags is how many tags Played remembers.
	maxTags = 256
	// maxSilenceSearch bounds how many zero frames the encoder encodes
	// after audio while looking for its repeating silence packet.
	maxSilenceSearch = 25
)

// EventKind is the kind of a PlayerEvent.
type EventKind int

// Player event kinds.
const (
	// TagStarted: the first sample of the tag's audio was sent, at At.
	TagStarted EventKind = iota + 1
	// Drained: the queue ran empty after audio; At is when the last
	// audio frame's 20 ms ended. It also follows a Clear that emptied a
	// queue.
	Drained
)

func (k EventKind) String() string {
	switch k {
	case TagStarted:
		return "tag_started"
	case Drained:
		return "drained"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// PlayerEvent is something that happened to the outbound audio.
type PlayerEvent struct {
	Kind EventKind
	// Tag is the tag of TagStarted; 0 for Drained.
	Tag int
	// At is when it happened, on the sending schedule: a tag that starts
	// inside a frame starts at the frame's send time plus its offset.
	At time.Time
}

// PlayerStats counts a player's frames so far.
type PlayerStats struct {
	// Frames counts RTP packets sent (one 20 ms frame each); Bytes their
	// payload bytes.
	Frames, Bytes int64
	// Audio counts frames carrying queued audio; Silence the others
	// (nothing queued, or paused).
	Audio, Silence int64
	// EncodedSilence counts silence frames that went through the encoder
	// (after audio, until it settles); the rest repeat a cached packet.
	EncodedSilence int64
	// Late counts frames sent more than FrameDuration after their slot
	// on the schedule; MaxLate is the largest lateness seen.
	Late    int64
	MaxLate time.Duration
	// Skipped counts slots skipped after the pacer fell more than 500 ms
	// behind (a stalled machine): the RTP timestamps jump over them, as
	// over lost packets, and the queued audio plays on after the gap.
	Skipped int64
	// EventsDropped counts events lost because Events was not read.
	EventsDropped int64
	// WriteErrors counts packets pion failed to send.
	WriteErrors int64
}

// rtpWriter is where the player's packets go: the call's outbound track.
type rtpWriter interface {
	WriteRTP(p *rtp.Packet) error
}

// Player plays the agent's voice on a call's outbound track. Enqueued
// audio is resampled to 48 kHz as it arrives; a pacer goroutine encodes
// one 20 ms Opus frame and sends it every 20 ms on an absolute schedule
// (frame k at start + k·20 ms: no drift, and no bursts unless the machine
// stalled the pacer, which then catches up), from the moment the
// connection is up until it closes. Audio enqueued back to back plays
// without gaps. When there is no audio to send (nothing queued, or paused)
// the pacer sends silence, so the browser's jitter buffer and the RTP
// clock run on: the encoder encodes zeros after audio until its output
// repeats itself (4 to 25 frames), and that packet is then repeated
// without encoding, so an idle call costs no encoding.
//
// Its methods are safe for concurrent use.
type Player struct {
	out rtpWriter
	log *slog.Logger

	// enqMu serialises Enqueue and guards the resampling stream.
	enqMu   sync.Mutex
	rs      *audio.Resampler
	rsRate  int
	st      stream
	mono    []float32 // downmix scratch
	scratch []float32 // resampler output scratch

	mu     sync.Mutex
	q      []float32 // queued audio at 48 kHz, from qHead
	qHead  int
	segs   []segment // tags of q[qHead:], in order
	gen    uint64    // incremented by Clear
	paused bool
	closed bool
	tags   map[int]*tagState
	order  []int // tags by first appearance, to forget the oldest

	held atomic.Int64 // 48 kHz samples the resampler holds for lookahead

	events chan PlayerEvent

	// Pacer goroutine state.
	enc       *codec.OpusEncoder
	pcm       []float32
	zeros     []float32
	pkt       []byte
	silence   []byte // the repeated silence packet, once found
	lastZero  []byte
	zeroRun   int
	seq       uint16
	ts0       uint32
	rtpPkt    rtp.Packet
	audioSent bool // audio was sent since the last Drained

	startOnce sync.Once
	stopOnce  sync.Once
	started   atomic.Bool
	stop      chan struct{}
	done      chan struct{}

	stats struct {
		frames, bytes, audio, silence, encodedSilence atomic.Int64
		late, maxLate, skipped, eventsDropped         atomic.Int64
		writeErrors                                   atomic.Int64
	}
}

// stream is the resampling of a run of contiguous audio: samples in, at
// the stream's rate, and out, at 48 kHz, and where each tag ends in the
// output.
type stream struct {
	gen     uint64
	in, out int64
	marks   []mark
}

type mark struct {
	tag int
	end int64 // output samples of the stream up to the end of tag's audio
}

type segment struct {
	tag int
	n   int
}

type tagState struct {
	enqueued time.Duration // sum of the enqueued frames' durations
	sent     int64         // 48 kHz samples sent
	queued   int64         // 48 kHz samples in the queue
	held     bool          // the resampler may still hold some of it
	cut      bool          // Clear dropped some of it
}

func newPlayer(out rtpWriter, log *slog.Logger) *Player {
	return &Player{out: out, log: log, tags: make(map[int]*tagState), events: make(chan PlayerEvent, eventBuffer),
		stop: make(chan struct{}), done: make(chan struct{})}
}

// Enqueue queues mono audio (stereo is downmixed) at any rate, tagged with
// tag, after what is queued. Consecutive frames at the same rate are one
// resampling stream, so frames and sentences join without a click; a
// change of rate, a Clear or the queue running dry starts a new one.
// Resampling runs in the caller's goroutine; the frame's samples are not
// retained. Enqueue audio ahead of playback: audio that arrives after the
// queue ran dry follows a gap of silence.
//
// Errors: ErrBadAudio for an invalid frame, ErrPlayerFull beyond
// MaxBuffered, ErrClosed after the call ended.
func (p *Player) Enqueue(f audio.Frame, tag int) error {
	if err := f.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrBadAudio, err)
	}
	if f.Len() == 0 {
		return nil
	}
	p.enqMu.Lock()
	defer p.enqMu.Unlock()

	p.mu.Lock()
	switch {
	case p.closed:
		p.mu.Unlock()
		return ErrClosed
	case p.bufferedLocked() >= MaxBuffered:
		p.mu.Unlock()
		return fmt.Errorf("%w: %v queued", ErrPlayerFull, MaxBuffered)
	}
	gen := p.gen
	ts := p.tagLocked(tag)
	ts.enqueued += f.Duration()
	ts.held = true
	p.mu.Unlock()

	mono := f.Samples
	if f.Channels > 1 {
		p.mono = audio.AppendMono(p.mono[:0], f.Samples, f.Channels)
		mono = p.mono
	}
	if p.rs != nil && p.rsRate != f.SampleRate && p.st.gen == gen {
		p.flushLocked()
	}
	if p.rs == nil || p.rsRate != f.SampleRate {
		rs, err := audio.NewResampler(f.SampleRate, OutboundRate, 1, audio.QualityDefault)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrBadAudio, err)
		}
		p.rs, p.rsRate, p.st = rs, f.SampleRate, stream{gen: gen}
	}
	if p.st.gen != gen {
		// Cleared since the stream began: start afresh.
		p.rs.Reset()
		p.st = stream{gen: gen}
	}
	p.st.in += int64(f.Len())
	end := int64(audio.ResampledLen(int(p.st.in), p.rsRate, OutboundRate))
	if n := len(p.st.marks); n > 0 && p.st.marks[n-1].tag == tag {
		p.st.marks[n-1].end = end
	} else {
		p.st.marks = append(p.st.marks, mark{tag: tag, end: end})
	}
	out, err := p.rs.Process(p.scratch[:0], mono)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadAudio, err)
	}
	p.appendStream(out)
	if cap(out) <= OutboundRate { // keep up to 1 s of scratch between calls
		p.scratch = out[:0]
	}
	return nil
}

// flushLocked ends the current resampling stream, queueing what the
// resampler held back. p.enqMu is held.
func (p *Player) flushLocked() {
	if p.rs != nil && p.held.Load() > 0 {
		p.appendStream(p.rs.Flush(nil))
	}
	if p.rs != nil {
		p.rs.Reset()
	}
	p.mu.Lock()
	for _, m := range p.st.marks {
		if ts := p.tags[m.tag]; ts != nil {
			ts.held = false
		}
	}
	p.mu.Unlock()
	p.st = stream{gen: p.st.gen}
	p.held.Store(0)
}

// appendStream queues out, the stream's next output, splitting it by tag.
// Output of a stream that a Clear made stale is dropped. p.enqMu is held.
func (p *Player) appendStream(out []float32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gen == p.st.gen && !p.closed {
		for len(out) > 0 && len(p.st.marks) > 0 {
			m := p.st.marks[0]
			n := min(int64(len(out)), m.end-p.st.out)
			p.pushLocked(m.tag, out[:n])
			out = out[n:]
			p.st.out += n
			if p.st.out < m.end {
				break
			}
			p.st.marks = p.st.marks[1:]
			if ts := p.tags[m.tag]; ts != nil && !p.st.hasTag(m.tag) {
				ts.held = false
			}
		}
	}
	held := int64(0)
	if n := len(p.st.marks); n > 0 && p.gen == p.st.gen {
		held = p.st.marks[n-1].end - p.st.out
	}
	p.held.Store(held)
}

func (s *stream) hasTag(tag int) bool {
	for _, m := range s.marks {
		if m.tag == tag {
			return true
		}
	}
	return false
}

// pushLocked appends tag's samples to the queue. p.mu is held.
func (p *Player) pushLocked(tag int, samples []float32) {
	if len(samples) == 0 {
		return
	}
	if p.qHead > 0 && p.qHead >= len(p.q)/2 {
		p.q = p.q[:copy(p.q, p.q[p.qHead:])]
		p.qHead = 0
	}
	p.q = append(p.q, samples...)
	if n := len(p.segs); n > 0 && p.segs[n-1].tag == tag {
		p.segs[n-1].n += len(samples)
	} else {
		p.segs = append(p.segs, segment{tag: tag, n: len(samples)})
	}
	p.tagLocked(tag).queued += int64(len(samples))
}

// tagLocked returns tag's state, remembering at most maxTags tags.
func (p *Player) tagLocked(tag int) *tagState {
	if ts := p.tags[tag]; ts != nil {
		return ts
	}
	if len(p.order) >= maxTags {
		for _, old := range p.order[:len(p.order)-maxTags+1] {
			delete(p.tags, old)
		}
		p.order = append(p.order[:0], p.order[len(p.order)-maxTags+1:]...)
	}
	ts := &tagState{}
	p.tags[tag] = ts
	p.order = append(p.order, tag)
	return ts
}

// Pause makes the player send silence from the next frame on, keeping the
// queue.
func (p *Player) Pause() {
	p.mu.Lock()
	p.paused = true
	p.mu.Unlock()
}

// Resume undoes Pause: the queue plays on from where it paused.
func (p *Player) Resume() {
	p.mu.Lock()
	p.paused = false
	p.mu.Unlock()
}

// Paused reports whether the player is paused.
func (p *Player) Paused() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.paused
}

// Clear drops everything queued, including audio an Enqueue running now
// is adding (barge-in). It returns at once; the frame being sent, if any,
// is the last. Pause state is kept. Played of the tags cut stays what was
// sent.
func (p *Player) Clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.gen++
	for _, s := range p.segs {
		if ts := p.tags[s.tag]; ts != nil {
			ts.queued, ts.cut = 0, true
		}
	}
	for _, ts := range p.tags {
		if ts.held {
			ts.held, ts.cut = false, true
		}
	}
	p.q, p.qHead, p.segs = p.q[:0], 0, p.segs[:0]
	p.held.Store(0)
}

// Played is how much of tag's audio has been sent. Once all of it has
// been sent it is exactly the sum of the Durations of the frames enqueued
// with tag; before that, or when Clear cut it, the 48 kHz samples sent.
// An unknown tag, or one of more than 256 tags ago, is 0.
func (p *Player) Played(tag int) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	ts := p.tags[tag]
	if ts == nil {
		return 0
	}
	if !ts.cut && !ts.held && ts.queued == 0 && ts.sent > 0 {
		return ts.enqueued
	}
	return min(audio.Format{SampleRate: OutboundRate, Channels: 1}.Duration(int(ts.sent)), ts.enqueued)
}

// Buffered is how much audio is queued and not yet sent, paused or not.
func (p *Player) Buffered() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.bufferedLocked()
}

func (p *Player) bufferedLocked() time.Duration {
	return audio.Format{SampleRate: OutboundRate, Channels: 1}.Duration(len(p.q) - p.qHead + int(p.held.Load()))
}

// Events delivers TagStarted and Drained events. It is buffered (64) and
// never closed; events that find it full are dropped and counted.
func (p *Player) Events() <-chan PlayerEvent { return p.events }

// Stats returns the player's counters so far.
func (p *Player) Stats() PlayerStats {
	s := &p.stats
	return PlayerStats{
		Frames: s.frames.Load(), Bytes: s.bytes.Load(), Audio: s.audio.Load(), Silence: s.silence.Load(),
		EncodedSilence: s.encodedSilence.Load(), Late: s.late.Load(), MaxLate: time.Duration(s.maxLate.Load()),
		Skipped: s.skipped.Load(), EventsDropped: s.eventsDropped.Load(), WriteErrors: s.writeErrors.Load(),
	}
}

func (p *Player) emit(ev PlayerEvent) {
	select {
	case p.events <- ev:
	default:
		p.stats.eventsDropped.Add(1)
	}
}

// close stops the pacer and waits for it; Enqueue fails from now on.
func (p *Player) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.stopOnce.Do(func() { close(p.stop) })
	if p.started.Load() {
		<-p.done
	}
}

// start starts the pacer, once, unless the player is closed.
func (p *Player) start() {
	p.startOnce.Do(func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.closed {
			return
		}
		if err := p.prepare(); err != nil {
			p.log.Error("cannot encode the outbound audio", "error", err)
			return
		}
		p.started.Store(true)
		go p.run(time.Now())
	})
}

// prepare sets up the pacer's state.
func (p *Player) prepare() error {
	enc, err := codec.NewOpusEncoder(OutboundRate, 1)
	if err != nil {
		return err
	}
	p.enc = enc
	p.pcm = make([]float32, frameSamples)
	p.zeros = make([]float32, frameSamples)
	p.pkt = make([]byte, 0, 1500)
	// Random initial sequence number and timestamp (RFC 3550 §5.1).
	p.seq, p.ts0 = uint16(rand.Uint32()), rand.Uint32()
	return nil
}
