package rtc

import (
	"bytes"
	"time"

	"github.com/pion/rtp"
)

// run is the pacer: frame k goes out at start + k·FrameDuration, its RTP
// timestamp k·960 after the first. After a stall the frames missed go out
// back to back until the schedule is caught up, so the RTP clock never
// drifts from the wall clock; beyond maxLag behind, the slots missed are
// skipped instead, leaving a timestamp gap the browser conceals.
func (p *Player) run(start time.Time) {
	defer close(p.done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for k := int64(0); ; k++ {
		due := start.Add(time.Duration(k) * FrameDuration)
		if wait := time.Until(due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-p.stop:
				return
			case <-timer.C:
			}
		} else {
			select {
			case <-p.stop:
				return
			default:
			}
			if -wait > maxLag {
				skip := int64(-wait / FrameDuration)
				k += skip
				due = start.Add(time.Duration(k) * FrameDuration)
				p.stats.skipped.Add(skip)
			}
		}
		p.slot(k, due)
		late := time.Since(due)
		if late > FrameDuration {
			p.stats.late.Add(1)
		}
		if int64(late) > p.stats.maxLate.Load() {
			p.stats.maxLate.Store(int64(late)) // only this goroutine stores
		}
	}
}

// tagStart is a tag whose first sample is at offset in the frame.
type tagStart struct {
	tag    int
	offset int
}

// slot sends frame k, due at due: the next 20 ms of the queue, or silence.
func (p *Player) slot(k int64, due time.Time) {
	p.mu.Lock()
	short := !p.paused && len(p.q)-p.qHead < frameSamples
	p.mu.Unlock()
	if short && p.held.Load() > 0 && p.enqMu.TryLock() {
		// The queue ends inside this frame: what the resampler holds for
		// lookahead is the end of the stream, unless an Enqueue is under
		// way (then the lock is busy and the rest is coming).
		p.flushLocked()
		p.enqMu.Unlock()
	}

	var starts []tagStart
	p.mu.Lock()
	n := 0
	if !p.paused {
		n, starts = p.takeLocked()
	}
	empty := len(p.q) == p.qHead && p.held.Load() == 0
	p.mu.Unlock()

	var payload []byte
	if n > 0 {
		var err error
		if payload, err = p.enc.Encode(p.pkt[:0], p.pcm); err != nil {
			p.log.Error("encode outbound audio", "error", err)
			payload = nil
		}
		p.stats.audio.Add(1)
		p.audioSent = true
		p.silence, p.lastZero, p.zeroRun = nil, nil, 0
	}
	if payload == nil {
		payload = p.silencePacket()
		p.stats.silence.Add(1)
	}
	p.send(k, payload)

	for _, s := range starts {
		p.emit(PlayerEvent{Kind: TagStarted, Tag: s.tag, At: due.Add(time.Duration(s.offset) * time.Second / OutboundRate)})
	}
	if n == 0 && p.audioSent && empty {
		p.audioSent = false
		p.emit(PlayerEvent{Kind: Drained, At: due})
	}
}

// takeLocked moves the next frame of the queue into p.pcm, padding a last
// partial frame with zeros, and counts it to its tags. p.mu is held.
func (p *Player) takeLocked() (int, []tagStart) {
	n := min(frameSamples, len(p.q)-p.qHead)
	if n == 0 {
		return 0, nil
	}
	copy(p.pcm, p.q[p.qHead:p.qHead+n])
	clear(p.pcm[n:])
	p.qHead += n
	if p.qHead == len(p.q) {
		p.q, p.qHead = p.q[:0], 0
	}
	var starts []tagStart
	for off := 0; off < n; {
		s := &p.segs[0]
		k := min(s.n, n-off)
		if ts := p.tags[s.tag]; ts != nil {
			if ts.sent == 0 {
				starts = append(starts, tagStart{tag: s.tag, offset: off})
			}
			ts.sent += int64(k)
			ts.queued -= int64(k)
		}
		s.n -= k
		off += k
		if s.n == 0 {
			p.segs = p.segs[1:]
		}
	}
	return n, starts
}

// silencePacket returns the packet for a frame of silence. After audio,
// the encoder encodes zeros (which also lets out the end of the audio it
// holds for lookahead) until its packet repeats itself: the encoder has
// then settled, and repeating that packet is what encoding more zeros
// would send, at no cost. The decoder on the other side sees one
// continuous stream from one encoder, so speech after silence starts
// without a click.
func (p *Player) silencePacket() []byte {
	if p.silence != nil {
		return p.silence
	}
	pkt, err := p.enc.Encode(p.pkt[:0], p.zeros)
	if err != nil {
		p.log.Error("encode silence", "error", err)
		// The Opus packet of a 20 ms CELT frame with the silence flag.
		return []byte{0xf8, 0xff, 0xfe}
	}
	p.stats.encodedSilence.Add(1)
	p.zeroRun++
	if bytes.Equal(pkt, p.lastZero) || p.zeroRun >= maxSilenceSearch {
		p.silence = append([]byte(nil), pkt...)
	}
	p.lastZero = append(p.lastZero[:0], pkt...)
	return pkt
}

// send writes frame k's packet.
func (p *Player) send(k int64, payload []byte) {
	pkt := &p.rtpPkt // reused: WriteRTP copies what it keeps
	*pkt = rtp.Packet{
		Header: rtp.Header{
			Version: 2,
			// The first packet starts a talkspurt (RFC 3551 §4.1); the
			// stream never stops after it.
			Marker:         k == 0,
			SequenceNumber: p.seq,
			Timestamp:      p.ts0 + uint32(k)*frameSamples,
		},
		Payload: payload,
	}
	p.seq++
	if err := p.out.WriteRTP(pkt); err != nil {
		p.stats.writeErrors.Add(1)
		p.log.Debug("write RTP", "error", err)
		return
	}
	p.stats.frames.Add(1)
	p.stats.bytes.Add(int64(len(payload)))
}
