// Package rtctest is a WebRTC client for tests, benchmarks and the e2e
// suite that behaves like the browser of the voice session protocol: one
// sendrecv audio transceiver carrying a microphone that never stops (Opus,
// 20 ms frames, silence when there is nothing to say), and one ordered
// data channel labelled "events", both set up before the offer; the offer
// is sent at once, without waiting for ICE gathering. It records the audio
// it receives (decoded, with the arrival time of every packet) and the data
// channel's messages.
//
// rtctest imports pion, voice/audio, voice/codec and voice/rtc (for the
// channel's label); nothing in the platform imports it outside tests.
package rtctest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	"github.com/timbre-ai/timbre/voice/audio"
	"github.com/timbre-ai/timbre/voice/codec"
	"github.com/timbre-ai/timbre/voice/rtc"
)

// Option configures Dial.
type Option func(*options)

type options struct {
	rate       int
	decode     bool
	candidates bool
	log        *slog.Logger
}

// WithReceiveRate decodes the received audio at rate: 48000 (the default)
// or 16000.
func WithReceiveRate(rate int) Option { return func(o *options) { o.rate = rate } }

// WithoutDecoding records arrivals without decoding the received audio
// (Received stays empty, Arrival.RMS is NaN): the client's cost in a
// benchmark of the server is then SRTP and parsing only.
func WithoutDecoding() Option { return func(o *options) { o.decode = false } }

// WithCandidates waits for ICE gathering before signalling, so that the
// offer carries the client's candidates (a browser may or may not).
func WithCandidates() Option { return func(o *options) { o.candidates = true } }

// WithLogger receives the client's pion logs (default: discarded).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// Message is a data channel message the client received.
type Message struct {
	// Type is the message's "type" field, "" when it has none.
	Type string
	// Data is the message as received.
	Data json.RawMessage
	// At is when it arrived.
	At time.Time
}

// Arrival is one received RTP packet.
type Arrival struct {
	At        time.Time
	Seq       uint16
	Timestamp uint32
	// Bytes is the payload size.
	Bytes int
	// RMS is the level of the packet's decoded audio (NaN without
	// decoding, or for a packet that arrived out of order).
	RMS float64
}

// Stats counts the client's traffic.
type Stats struct {
	PacketsReceived, BytesReceived int64
	// Concealed counts 20 ms frames of loss concealment in Received.
	Concealed int64
	// OutOfOrder counts packets that arrived after a later one (dropped).
	OutOfOrder int64
	// PacketsSent counts microphone packets sent.
	PacketsSent int64
}

// Client is a browser-like WebRTC peer. Its methods are safe for
// concurrent use.
type Client struct {
	opts  options
	pc    *webrtc.PeerConnection
	dc    *webrtc.DataChannel
	mic   *mic
	stop  chan struct{}
	wg    sync.WaitGroup
	once  sync.Once
	gone  sync.Once
	ended chan struct{} // the connection closed or failed

	mu       sync.Mutex
	received []float32
	arrivals []Arrival
	messages []Message
	changed  chan struct{} // closed and replaced when a message arrives
	stats    Stats
}

// Dial connects to a server: it creates the audio transceiver and the
// "events" data channel, makes the offer, passes its SDP to signal, applies
// the answer signal returns, and waits until the connection is up and the
// data channel open, or ctx ends.
func Dial(ctx context.Context, signal func(offer string) (answer string, err error), opt ...Option) (*Client, error) {
	o := options{rate: 48000, decode: true}
	for _, f := range opt {
		f(&o)
	}
	if o.rate != 48000 && o.rate != 16000 {
		return nil, fmt.Errorf("rtctest: receive rate %d Hz (48000 or 16000)", o.rate)
	}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	api, err := newAPI(o.log)
	if err != nil {
		return nil, err
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, fmt.Errorf("rtctest: %w", err)
	}
	c := &Client{opts: o, pc: pc, stop: make(chan struct{}), ended: make(chan struct{}), changed: make(chan struct{})}
	if err := c.setup(ctx, signal); err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

func newAPI(log *slog.Logger) (*webrtc.API, error) {
	media := &webrtc.MediaEngine{}
	if err := media.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"},
		PayloadType:        111,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("rtctest: %w", err)
	}
	reg := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(media, reg); err != nil {
		return nil, fmt.Errorf("rtctest: %w", err)
	}
	var se webrtc.SettingEngine
	se.LoggerFactory = logFactory{log}
	// Loopback candidates: the server is on this machine.
	se.SetIncludeLoopbackCandidate(true)
	// No mDNS: no multicast sockets in tests; the server learns our
	// address from our connectivity checks.
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	return webrtc.NewAPI(webrtc.WithMediaEngine(media), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se)), nil
}

func (c *Client) setup(ctx context.Context, signal func(string) (string, error)) error {
	track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2},
		"mic", "rtctest")
	if err != nil {
		return fmt.Errorf("rtctest: %w", err)
	}
	sender, err := c.pc.AddTrack(track)
	if err != nil {
		return fmt.Errorf("rtctest: add track: %w", err)
	}
	c.drainRTCP(sender.Read)
	ordered := true
	if c.dc, err = c.pc.CreateDataChannel(rtc.DataChannelLabel, &webrtc.DataChannelInit{Ordered: &ordered}); err != nil {
		return fmt.Errorf("rtctest: data channel: %w", err)
	}
	open := make(chan struct{})
	c.dc.OnOpen(func() { close(open) })
	c.dc.OnMessage(c.onMessage)
	connected := make(chan struct{})
	var connOnce sync.Once
	c.pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		switch s {
		case webrtc.PeerConnectionStateConnected:
			connOnce.Do(func() { close(connected) })
		case webrtc.PeerConnectionStateClosed, webrtc.PeerConnectionStateFailed:
			c.markEnded()
		}
	})
	c.pc.OnTrack(func(tr *webrtc.TrackRemote, rx *webrtc.RTPReceiver) {
		c.drainRTCP(rx.Read)
		c.wg.Go(func() { c.receive(tr) })
	})

	offer, err := c.pc.CreateOffer(nil)
	if err != nil {
		return fmt.Errorf("rtctest: create offer: %w", err)
	}
	gathered := webrtc.GatheringCompletePromise(c.pc)
	if err := c.pc.SetLocalDescription(offer); err != nil {
		return fmt.Errorf("rtctest: set offer: %w", err)
	}
	if c.opts.candidates {
		select {
		case <-gathered:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	answer, err := signal(c.pc.LocalDescription().SDP)
	if err != nil {
		return fmt.Errorf("rtctest: signal: %w", err)
	}
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		return fmt.Errorf("rtctest: set answer: %w", err)
	}
	for _, ch := range []chan struct{}{connected, open} {
		select {
		case <-ch:
		case <-c.ended:
			return errors.New("rtctest: the connection closed before it was up")
		case <-ctx.Done():
			return fmt.Errorf("rtctest: connecting: %w", context.Cause(ctx))
		}
	}
	c.mic, err = newMic(track)
	if err != nil {
		return err
	}
	c.wg.Go(func() { c.mic.run(c.stop, time.Now()) })
	return nil
}

func (c *Client) markEnded() {
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.ended:
	default:
		close(c.ended)
	}
}

// Closed is closed when the connection has closed (the server hung up,
// or Close) or failed.
func (c *Client) Closed() <-chan struct{} { return c.ended }

func (c *Client) drainRTCP(read func([]byte) (int, interceptor.Attributes, error)) {
	c.wg.Go(func() {
		buf := make([]byte, 1500)
		for {
			if _, _, err := read(buf); err != nil {
				return
			}
		}
	})
}

func (c *Client) onMessage(m webrtc.DataChannelMessage) {
	var head struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(m.Data, &head)
	c.mu.Lock()
	c.messages = append(c.messages, Message{Type: head.Type, Data: append(json.RawMessage(nil), m.Data...), At: time.Now()})
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
}

// receive reads, records and decodes the server's audio, in order,
// concealing lost packets.
func (c *Client) receive(tr *webrtc.TrackRemote) {
	var dec *codec.OpusDecoder
	if c.opts.decode {
		var err error
		if dec, err = codec.NewOpusDecoder(c.opts.rate, 1); err != nil {
			return
		}
	}
	var (
		started bool
		nextSeq uint16
		nextTS  uint32
		pcm     []float32
	)
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		a := Arrival{At: time.Now(), Seq: pkt.SequenceNumber, Timestamp: pkt.Timestamp, Bytes: len(pkt.Payload), RMS: math.NaN()}
		c.mu.Lock()
		c.stats.PacketsReceived++
		c.stats.BytesReceived += int64(pkt.MarshalSize())
		c.mu.Unlock()
		if len(pkt.Payload) == 0 {
			continue
		}
		if started && int16(pkt.SequenceNumber-nextSeq) < 0 {
			c.mu.Lock()
			c.stats.OutOfOrder++
			c.arrivals = append(c.arrivals, a)
			c.mu.Unlock()
			continue
		}
		concealed := 0
		pcm = pcm[:0]
		if dec != nil {
			if gap := int32(pkt.Timestamp - nextTS); started && gap > 0 && gap <= 48000 {
				for range (gap + 480) / 960 {
					pcm, _ = dec.Decode(pcm, nil)
					concealed++
				}
			}
			n := len(pcm)
			if out, err := dec.Decode(pcm, pkt.Payload); err == nil {
				pcm = out
				a.RMS = audio.RMS(pcm[n:])
			} else {
				pcm, _ = dec.Decode(pcm, nil)
				concealed++
			}
		}
		started, nextSeq, nextTS = true, pkt.SequenceNumber+1, pkt.Timestamp+960
		c.mu.Lock()
		c.received = append(c.received, pcm...)
		c.arrivals = append(c.arrivals, a)
		c.stats.Concealed += int64(concealed)
		c.mu.Unlock()
	}
}

// Received returns the audio received so far, decoded to mono at the
// receive rate, lost packets concealed.
func (c *Client) Received() audio.Frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	return audio.Frame{Format: audio.Format{SampleRate: c.opts.rate, Channels: 1}, Samples: append([]float32(nil), c.received...)}
}

// Arrivals returns every RTP packet received so far, in arrival order.
func (c *Client) Arrivals() []Arrival {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Arrival(nil), c.arrivals...)
}

// Messages returns the data channel messages received so far.
func (c *Client) Messages() []Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Message(nil), c.messages...)
}

// WaitMessage waits for the first message at index after or later (in
// Messages order) for which match is true (nil matches any), and returns
// it with its index: pass index+1 to wait for the next one.
func (c *Client) WaitMessage(ctx context.Context, after int, match func(Message) bool) (Message, int, error) {
	for {
		c.mu.Lock()
		for i := max(after, 0); i < len(c.messages); i++ {
			if m := c.messages[i]; match == nil || match(m) {
				c.mu.Unlock()
				return m, i, nil
			}
		}
		changed := c.changed
		c.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return Message{}, 0, fmt.Errorf("rtctest: waiting for a message: %w", context.Cause(ctx))
		}
	}
}

// Send sends v as JSON in a text message.
func (c *Client) Send(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("rtctest: %w", err)
	}
	if err := c.dc.SendText(string(b)); err != nil {
		return fmt.Errorf("rtctest: send: %w", err)
	}
	return nil
}

// Speak queues mono samples at rate to be sent as the microphone's audio,
// paced in real time after what is queued. It returns at once.
func (c *Client) Speak(samples []float32, rate int) error {
	f, err := audio.Resample(audio.Frame{Format: audio.Format{SampleRate: rate, Channels: 1}, Samples: samples}, 48000, audio.QualityDefault)
	if err != nil {
		return fmt.Errorf("rtctest: speak: %w", err)
	}
	c.mic.queue(f.Samples)
	return nil
}

// WaitSpoken waits until everything Speak queued has been sent.
func (c *Client) WaitSpoken(ctx context.Context) error {
	select {
	case <-c.mic.idle():
		return nil
	case <-ctx.Done():
		return fmt.Errorf("rtctest: waiting for speech to be sent: %w", context.Cause(ctx))
	}
}

// Stats returns the client's counters so far.
func (c *Client) Stats() Stats {
	c.mu.Lock()
	s := c.stats
	c.mu.Unlock()
	if c.mic != nil {
		s.PacketsSent = c.mic.sent.Load()
	}
	return s
}

// Close hangs up like a browser's RTCPeerConnection.close(): the server
// gets a DTLS close_notify. It waits for the client's goroutines.
func (c *Client) Close() error {
	var err error
	c.once.Do(func() {
		close(c.stop)
		err = c.pc.Close()
		c.markEnded()
		c.wg.Wait()
	})
	return err
}

// Abandon makes the client vanish without a goodbye, like a browser whose
// network went away: its ICE transport stops, so nothing more reaches the
// server, which must notice by itself. Close it afterwards to free it.
func (c *Client) Abandon() error {
	c.gone.Do(func() { close(c.mic.mute) })
	if err := c.pc.SCTP().Transport().ICETransport().Stop(); err != nil {
		return fmt.Errorf("rtctest: abandon: %w", err)
	}
	return nil
}
