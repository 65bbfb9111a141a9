package rtc

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	"github.com/timbre-ai/timbre/voice/audio"
)

// DataChannelLabel is the label of the data channel the browser creates
// before its offer. Channels with other labels are closed.
const DataChannelLabel = "events"

const (
	// maxPendingSends bounds the messages Send queues before the data
	// channel opens.
	maxPendingSends = 64
	// maxBufferedAmount bounds the bytes an open channel may hold unsent
	// (a browser that stopped reading) before Send refuses.
	maxBufferedAmount = 1 << 20
	// maxQueuedMessages bounds the browser's messages waiting for
	// Handlers.Message; beyond it they are dropped and counted.
	maxQueuedMessages = 256
)

// Handlers receive a call's events. Any may be nil.
//
// Audio is called from the call's decoder goroutine, which is fed by the
// RTP read loop through a bounded queue (1 s of packets): a handler slower
// than real time makes the read loop drop packets (PeerStats.FramesDropped),
// never stall. Open, Message and Closed are called one at a time, in that
// order, from the call's event goroutine; messages beyond 256 waiting are
// dropped (PeerStats.MessagesDropped). Closed is called once, last, after
// the final Audio call has returned. Handlers may call any Peer or Player
// method, Close included.
type Handlers struct {
	// Audio receives the browser's speech as mono 16 kHz frames of 20 ms
	// (320 samples), in order, one per 20 ms of the browser's timeline:
	// a lost packet is replaced by Opus packet loss concealment, a gap in
	// the stream of up to 1 s is filled the same way. The handler owns
	// the frame's samples.
	Audio func(f audio.Frame)
	// Message receives a data channel message from the browser (the
	// bytes of a text or binary message). The handler owns data.
	Message func(data []byte)
	// Open is called when the data channel opens: Send delivers from
	// now on, after what it queued before.
	Open func()
	// Closed is called once when the call ends, with a reason that is or
	// wraps ErrHangup (the browser closed the connection or the data
	// channel), ErrICEFailed (never connected, or disconnected past
	// Config.DisconnectTimeout), ErrClosed (Peer.Close) or ErrShutdown
	// (Transport.Close).
	Closed func(reason error)
}

// Peer is one voice call: a peer connection with a browser. Its methods
// are safe for concurrent use.
type Peer struct {
	t      *Transport
	pc     *webrtc.PeerConnection
	track  *webrtc.TrackLocalStaticRTP
	h      Handlers
	log    *slog.Logger
	player *Player

	closeOnce sync.Once
	closing   chan struct{} // closed when the call starts closing
	reason    error         // why, set before closing is closed
	done      chan struct{} // closed after Closed returned

	mu      sync.Mutex
	dc      *webrtc.DataChannel
	open    bool
	pending []string // Sends waiting for the channel to open
	in      *inbound // the decoder, from the first audio track

	ctlMu   sync.Mutex
	ctl     []ctlEvent
	ctlMsgs int
	ctlEnd  bool
	ctlWake chan struct{}

	// media counts the goroutines reading from pion (RTP, RTCP) and the
	// decoder; Closed waits for them.
	media sync.WaitGroup

	stats peerCounters
}

type peerCounters struct {
	packetsIn, bytesIn                         atomic.Int64
	framesIn, concealed, dropped, decodeErrors atomic.Int64
	late, padding                              atomic.Int64
	messagesIn, messagesOut, messagesDropped   atomic.Int64
}

// PeerStats counts a call's traffic so far.
type PeerStats struct {
	// PacketsIn and BytesIn count RTP packets received (bytes of their
	// payload and header, after SRTP).
	PacketsIn, BytesIn int64
	// PacketsOut and BytesOut count RTP packets the player sent.
	PacketsOut, BytesOut int64
	// FramesIn counts 20 ms frames given to Handlers.Audio, concealed
	// ones included.
	FramesIn int64
	// ConcealedFrames counts frames made by packet loss concealment, for
	// lost, dropped or undecodable packets.
	ConcealedFrames int64
	// FramesDropped counts packets (20 ms each from browsers) dropped
	// because the decoder goroutine, that is Handlers.Audio, lagged.
	FramesDropped int64
	// DecodeErrors counts packets the Opus decoder refused.
	DecodeErrors int64
	// LatePackets counts packets that arrived after their place in the
	// stream had been concealed, and duplicates.
	LatePackets int64
	// PaddingPackets counts RTP packets with no payload (Chrome's
	// bandwidth probes), skipped.
	PaddingPackets int64
	// MessagesIn, MessagesOut and MessagesDropped count data channel
	// messages received, sent, and received but dropped because
	// Handlers.Message lagged.
	MessagesIn, MessagesOut, MessagesDropped int64
}

type ctlKind int

const (
	ctlOpen ctlKind = iota
	ctlMessage
	ctlClosed
)

type ctlEvent struct {
	kind ctlKind
	data []byte
}

func newPeer(t *Transport, pc *webrtc.PeerConnection, track *webrtc.TrackLocalStaticRTP, h Handlers) *Peer {
	p := &Peer{t: t, pc: pc, track: track, h: h, log: t.log,
		closing: make(chan struct{}), done: make(chan struct{}), ctlWake: make(chan struct{}, 1)}
	p.player = newPlayer(track, t.log)
	pc.OnTrack(p.onTrack)
	pc.OnDataChannel(p.onDataChannel)
	pc.OnICEConnectionStateChange(func(s webrtc.ICEConnectionState) {
		p.log.Debug("ICE connection state", "state", s.String())
		if s == webrtc.ICEConnectionStateFailed {
			go p.shutdown(fmt.Errorf("ICE failed (no path to the browser, or silent for %v after disconnecting): %w",
				t.cfg.DisconnectTimeout, ErrICEFailed))
		}
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		p.log.Debug("peer connection state", "state", s.String())
		switch s {
		case webrtc.PeerConnectionStateConnected:
			// The RTP clock starts when packets can flow.
			p.player.start()
		case webrtc.PeerConnectionStateFailed:
			go p.shutdown(fmt.Errorf("connection failed (ICE or DTLS): %w", ErrICEFailed))
		case webrtc.PeerConnectionStateClosed:
			// Reached without Close when the browser sends a DTLS
			// close_notify: pion then closes the connection itself.
			go p.shutdown(fmt.Errorf("the browser closed the connection: %w", ErrHangup))
		}
	})
	return p
}

// begin starts the event goroutine once Accept succeeded.
func (p *Peer) begin() { go p.runEvents() }

// abort tears down a peer whose Accept failed: no handler is called.
func (p *Peer) abort() {
	p.ctlMu.Lock()
	p.ctlEnd = true
	p.ctlMu.Unlock()
	_ = p.shutdown(ErrClosed)
}

// Player is the call's outbound audio.
func (p *Peer) Player() *Player { return p.player }

// Done is closed when the call has ended and Handlers.Closed has returned.
func (p *Peer) Done() <-chan struct{} { return p.done }

// Close hangs up: the outbound audio stops, the connection closes (the
// browser sees its connection close), and Handlers.Closed is called with
// ErrClosed unless the call had already ended. It does not wait for the
// handlers (see Done). It is idempotent; only the first call can return
// an error, pion's failing to close.
func (p *Peer) Close() error {
	p.drainSends(closeFlushTimeout)
	if err := p.shutdown(ErrClosed); err != nil {
		return fmt.Errorf("rtc: close peer: %w", err)
	}
	return nil
}

// closeFlushTimeout bounds how long Close waits for the data channel's
// last messages (a "bye") to be acknowledged before tearing it down.
const closeFlushTimeout = time.Second

// drainSends waits until the browser acknowledged every message sent on
// the data channel (SCTP releases a message's bytes on its SACK), or for
// timeout. Without it, a message sent just before Close is lost with the
// association.
func (p *Peer) drainSends(timeout time.Duration) {
	p.mu.Lock()
	dc, open := p.dc, p.open && !p.isClosing()
	p.mu.Unlock()
	if !open || dc == nil {
		return
	}
	deadline := time.Now().Add(timeout)
	for dc.BufferedAmount() > 0 && time.Now().Before(deadline) {
		select {
		case <-p.closing:
			return
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// shutdown ends the call once, for reason.
func (p *Peer) shutdown(reason error) error {
	var err error
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.reason = reason
		close(p.closing)
		p.mu.Unlock()
		p.log.Debug("call closing", "reason", reason)
		p.player.close()
		err = p.pc.Close()
		p.t.forget(p)
		p.pushEvent(ctlEvent{kind: ctlClosed})
	})
	return err
}

func (p *Peer) isClosing() bool {
	select {
	case <-p.closing:
		return true
	default:
		return false
	}
}

// Send marshals v to JSON and sends it as a text message on the data
// channel. Before the channel opens, messages are queued (up to 64) and
// sent in order when it opens. It returns ErrClosed after the call ended,
// ErrSendQueueFull when too much is waiting, and marshalling errors.
func (p *Peer) Send(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("rtc: send: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.isClosing():
		return ErrClosed
	case !p.open:
		if len(p.pending) >= maxPendingSends {
			return fmt.Errorf("%w: %d messages wait for the data channel to open", ErrSendQueueFull, len(p.pending))
		}
		p.pending = append(p.pending, string(b))
		return nil
	case p.dc.BufferedAmount() > maxBufferedAmount:
		return fmt.Errorf("%w: %d bytes unsent (the browser is not reading)", ErrSendQueueFull, p.dc.BufferedAmount())
	}
	if err := p.dc.SendText(string(b)); err != nil {
		return fmt.Errorf("rtc: send: %w", err)
	}
	p.stats.messagesOut.Add(1)
	return nil
}

// Stats returns the call's counters so far.
func (p *Peer) Stats() PeerStats {
	ps := p.player.Stats()
	s := &p.stats
	return PeerStats{
		PacketsIn: s.packetsIn.Load(), BytesIn: s.bytesIn.Load(),
		PacketsOut: ps.Frames, BytesOut: ps.Bytes,
		FramesIn: s.framesIn.Load(), ConcealedFrames: s.concealed.Load(), FramesDropped: s.dropped.Load(),
		DecodeErrors: s.decodeErrors.Load(), LatePackets: s.late.Load(), PaddingPackets: s.padding.Load(),
		MessagesIn: s.messagesIn.Load(), MessagesOut: s.messagesOut.Load(), MessagesDropped: s.messagesDropped.Load(),
	}
}

func (p *Peer) onDataChannel(dc *webrtc.DataChannel) {
	p.mu.Lock()
	if dc.Label() != DataChannelLabel || p.dc != nil || p.isClosing() {
		p.mu.Unlock()
		p.log.Warn("closing an unexpected data channel", "label", dc.Label())
		_ = dc.Close()
		return
	}
	p.dc = dc
	p.mu.Unlock()
	dc.OnOpen(p.markOpen)
	dc.OnMessage(func(m webrtc.DataChannelMessage) {
		// pion may run the open handler on its own goroutine after the
		// first message: open first, so that Open precedes Message.
		p.markOpen()
		p.stats.messagesIn.Add(1)
		p.pushEvent(ctlEvent{kind: ctlMessage, data: m.Data})
	})
	dc.OnClose(func() {
		go p.shutdown(fmt.Errorf("the browser closed the %q data channel: %w", DataChannelLabel, ErrHangup))
	})
}

// markOpen flushes the queued sends and reports Open, once.
func (p *Peer) markOpen() {
	p.mu.Lock()
	if p.open || p.isClosing() {
		p.mu.Unlock()
		return
	}
	p.open = true
	var err error
	for i, m := range p.pending {
		if err = p.dc.SendText(m); err != nil {
			err = fmt.Errorf("message %d of %d queued before open: %w", i+1, len(p.pending), err)
			break
		}
		p.stats.messagesOut.Add(1)
	}
	p.pending = nil
	p.mu.Unlock()
	if err != nil {
		p.log.Warn("data channel send failed", "error", err)
	}
	p.pushEvent(ctlEvent{kind: ctlOpen})
}

// pushEvent queues ev for the event goroutine; messages beyond
// maxQueuedMessages are dropped, nothing is queued after ctlClosed.
func (p *Peer) pushEvent(ev ctlEvent) {
	p.ctlMu.Lock()
	switch {
	case p.ctlEnd:
		p.ctlMu.Unlock()
		return
	case ev.kind == ctlMessage && p.ctlMsgs >= maxQueuedMessages:
		p.ctlMu.Unlock()
		p.stats.messagesDropped.Add(1)
		return
	case ev.kind == ctlMessage:
		p.ctlMsgs++
	case ev.kind == ctlClosed:
		p.ctlEnd = true
	}
	p.ctl = append(p.ctl, ev)
	p.ctlMu.Unlock()
	select {
	case p.ctlWake <- struct{}{}:
	default:
	}
}

// runEvents calls Open, Message and Closed in order.
func (p *Peer) runEvents() {
	defer close(p.done)
	for range p.ctlWake {
		for {
			p.ctlMu.Lock()
			if len(p.ctl) == 0 {
				p.ctlMu.Unlock()
				break
			}
			ev := p.ctl[0]
			p.ctl[0] = ctlEvent{}
			p.ctl = p.ctl[1:]
			if ev.kind == ctlMessage {
				p.ctlMsgs--
			}
			p.ctlMu.Unlock()
			switch ev.kind {
			case ctlOpen:
				if p.h.Open != nil {
					p.h.Open()
				}
			case ctlMessage:
				if p.h.Message != nil {
					p.h.Message(ev.data)
				}
			case ctlClosed:
				p.media.Wait()
				p.log.Info("call closed", "reason", p.reason)
				if p.h.Closed != nil {
					p.h.Closed(p.reason)
				}
				return
			}
		}
	}
}

// onTrack starts reading the browser's audio.
func (p *Peer) onTrack(track *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) {
	if track.Kind() != webrtc.RTPCodecTypeAudio || !strings.EqualFold(track.Codec().MimeType, webrtc.MimeTypeOpus) {
		p.log.Warn("ignoring an unexpected track", "kind", track.Kind().String(), "codec", track.Codec().MimeType)
		return
	}
	p.mu.Lock()
	if p.isClosing() {
		p.mu.Unlock()
		return
	}
	if p.in == nil {
		in, err := newInbound(p.h.Audio, &p.stats, p.closing)
		if err != nil {
			p.mu.Unlock()
			p.log.Error("cannot decode the browser's audio", "error", err)
			return
		}
		p.in = in
		p.media.Go(in.run)
	}
	in := p.in
	p.media.Go(func() { in.read(track) })
	p.mu.Unlock()
	p.goRTCP(receiver.Read)
}

// goRTCP drains an RTCP reader until the connection closes: pion's
// interceptors only see RTCP that something reads.
func (p *Peer) goRTCP(read func([]byte) (int, interceptor.Attributes, error)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.isClosing() {
		return
	}
	p.media.Go(func() {
		buf := make([]byte, 1500)
		for {
			if _, _, err := read(buf); err != nil {
				if !errors.Is(err, io.EOF) {
					p.log.Debug("RTCP read ended", "error", err)
				}
				return
			}
		}
	})
}
