package rtc

import (
	"fmt"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/timbre-ai/timbre/voice/audio"
	"github.com/timbre-ai/timbre/voice/codec"
)

const (
	// InboundRate is the sample rate of the frames given to
	// Handlers.Audio: what voice activity detection and speech
	// recognition take.
	InboundRate = 16000
	// inboundFrame is 20 ms at InboundRate.
	inboundFrame = InboundRate / 50
	// rtpPerInbound converts 16 kHz samples to the RTP clock (48 kHz).
	rtpPerInbound = 48000 / InboundRate
	// inboundQueue is the packets the read loop may queue ahead of the
	// decoder: 1 s of 20 ms packets.
	inboundQueue = 50
	// reorderDepth is how many later packets wait for a missing one
	// before it is declared lost: 3 packets, 60 ms of added delay, only
	// while a packet is missing.
	reorderDepth = 3
	// maxConcealGap is the longest timestamp gap filled with concealment
	// (1 s at 48 kHz); a longer gap is a restart or a clock jump and
	// is not filled.
	maxConcealGap = 48000
	// resyncSeq is a sequence jump past which the stream is taken to have
	// restarted rather than lost packets.
	resyncSeq = 1000
)

// rtpPacket is what the read loop hands the decoder.
type rtpPacket struct {
	ssrc    uint32
	seq     uint16
	ts      uint32
	payload []byte // nil for a padding-only packet
}

// inbound decodes one call's audio off the read loop: it puts packets in
// order, conceals losses and calls the Audio handler with 20 ms frames.
type inbound struct {
	q       chan rtpPacket
	handler func(audio.Frame)
	stats   *peerCounters
	closing <-chan struct{}
	dec     *codec.OpusDecoder

	// Decoder goroutine state.
	started bool
	ssrc    uint32
	nextSeq uint16
	haveTS  bool
	nextTS  uint32 // RTP timestamp at which the next packet's audio starts
	pending map[uint16]rtpPacket
	pcm     []float32 // decoded samples not yet handed out as a frame
}

func newInbound(handler func(audio.Frame), stats *peerCounters, closing <-chan struct{}) (*inbound, error) {
	// Chrome offers opus/48000/2 but sends mono; a mono decoder downmixes
	// the stereo packets other browsers may send. Opus decodes at 16 kHz
	// natively, so there is no resampling.
	dec, err := codec.NewOpusDecoder(InboundRate, 1)
	if err != nil {
		return nil, fmt.Errorf("rtc: %w", err)
	}
	return &inbound{q: make(chan rtpPacket, inboundQueue), handler: handler, stats: stats, closing: closing, dec: dec,
		pending: make(map[uint16]rtpPacket, reorderDepth)}, nil
}

// read is the RTP read loop of one track: it parses packets and queues
// them for the decoder without ever blocking on it.
func (in *inbound) read(track *webrtc.TrackRemote) {
	buf := make([]byte, 1500)
	var pkt rtp.Packet
	for {
		n, _, err := track.Read(buf)
		if err != nil {
			return // the connection closed
		}
		if err := pkt.Unmarshal(buf[:n]); err != nil {
			in.stats.decodeErrors.Add(1)
			continue
		}
		in.stats.packetsIn.Add(1)
		in.stats.bytesIn.Add(int64(n))
		item := rtpPacket{ssrc: pkt.SSRC, seq: pkt.SequenceNumber, ts: pkt.Timestamp}
		if len(pkt.Payload) == 0 {
			// Chrome sends padding-only packets (bandwidth probes); they
			// take sequence numbers but carry no audio.
			in.stats.padding.Add(1)
		} else {
			item.payload = append([]byte(nil), pkt.Payload...)
		}
		select {
		case in.q <- item:
		default:
			in.stats.dropped.Add(1)
		}
	}
}

// run is the decoder goroutine.
func (in *inbound) run() {
	for {
		select {
		case pkt := <-in.q:
			in.accept(pkt)
		case <-in.closing:
			return
		}
	}
}

// accept puts pkt in sequence order: it decodes it now if it is the next
// one, holds it while up to reorderDepth packets wait for a missing one,
// and drops it if its place has passed.
func (in *inbound) accept(pkt rtpPacket) {
	if !in.started || pkt.ssrc != in.ssrc {
		in.restart(pkt)
	}
	switch d := int16(pkt.seq - in.nextSeq); {
	case d == 0:
		in.play(pkt)
		in.nextSeq++
		in.drain()
	case d < -resyncSeq || d > resyncSeq:
		in.restart(pkt)
		in.play(pkt)
		in.nextSeq++
	case d < 0:
		in.stats.late.Add(1)
	default:
		if _, dup := in.pending[pkt.seq]; dup {
			in.stats.late.Add(1)
			return
		}
		in.pending[pkt.seq] = pkt
		if len(in.pending) >= reorderDepth {
			// Give up on the missing packets: resume at the earliest
			// held one; play conceals the timestamp gap.
			first := pkt.seq
			for seq := range in.pending {
				if int16(seq-first) < 0 {
					first = seq
				}
			}
			in.nextSeq = first
			in.drain()
		}
	}
}

// restart starts a new stream at pkt (a new SSRC or a sequence jump).
func (in *inbound) restart(pkt rtpPacket) {
	in.started, in.ssrc, in.nextSeq, in.haveTS = true, pkt.ssrc, pkt.seq, false
	clear(in.pending)
}

// drain plays the held packets that are now next in sequence.
func (in *inbound) drain() {
	for len(in.pending) > 0 {
		pkt, ok := in.pending[in.nextSeq]
		if !ok {
			return
		}
		delete(in.pending, in.nextSeq)
		in.play(pkt)
		in.nextSeq++
	}
}

// play decodes pkt, after concealing the audio missing before it.
func (in *inbound) play(pkt rtpPacket) {
	if pkt.payload == nil {
		return
	}
	if in.haveTS {
		// Loss shows as a timestamp gap: sequence numbers also count
		// padding packets, timestamps count audio.
		if gap := int32(pkt.ts - in.nextTS); gap > 0 && gap <= maxConcealGap {
			for range (gap + 480) / 960 {
				in.conceal()
			}
		}
	}
	n := len(in.pcm)
	pcm, err := in.dec.Decode(in.pcm, pkt.payload)
	if err != nil {
		in.stats.decodeErrors.Add(1)
		in.conceal()
		in.nextTS, in.haveTS = pkt.ts+960, true
		in.emit()
		return
	}
	in.pcm = pcm
	in.nextTS, in.haveTS = pkt.ts+uint32((len(pcm)-n)*rtpPerInbound), true
	in.emit()
}

// conceal appends 20 ms of packet loss concealment.
func (in *inbound) conceal() {
	pcm, err := in.dec.Decode(in.pcm, nil)
	if err != nil {
		// Concealment has nothing to fail on; silence if it does.
		pcm = append(in.pcm, make([]float32, inboundFrame)...)
	}
	in.pcm = pcm
	in.stats.concealed.Add(1)
	in.emit()
}

// emit hands out every whole 20 ms frame decoded so far.
func (in *inbound) emit() {
	for len(in.pcm) >= inboundFrame {
		frame := make([]float32, inboundFrame)
		copy(frame, in.pcm)
		in.pcm = in.pcm[:copy(in.pcm, in.pcm[inboundFrame:])]
		in.stats.framesIn.Add(1)
		if in.handler != nil {
			in.handler(audio.Frame{Format: audio.Format{SampleRate: InboundRate, Channels: 1}, Samples: frame})
		}
	}
}
