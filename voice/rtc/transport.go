package rtc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/webrtc/v4"
)

// opusCodec is what browsers offer and what the outbound track sends.
// RFC 7587 makes every Opus rtpmap say /48000/2, whatever the packets
// carry; the decoder downmixes stereo packets and the player sends mono.
var opusCodec = webrtc.RTPCodecCapability{
	MimeType:    webrtc.MimeTypeOpus,
	ClockRate:   48000,
	Channels:    2,
	SDPFmtpLine: "minptime=10;useinbandfec=1",
}

// Transport answers browsers' offers for voice calls. It holds the one
// webrtc.API of the process's voice calls and the calls it has open. It is
// safe for concurrent use.
type Transport struct {
	cfg Config
	log *slog.Logger
	api *webrtc.API

	mu     sync.Mutex
	peers  map[*Peer]struct{}
	closed bool
}

// NewTransport builds the WebRTC stack for voice calls from cfg. It opens
// no socket: each call gathers its own candidates. Errors name the bad
// Config field.
func NewTransport(cfg Config) (*Transport, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	logs := slogFactory{log: cfg.Logger}

	media := &webrtc.MediaEngine{}
	if err := media.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: opusCodec, PayloadType: 111}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("rtc: register Opus: %w", err)
	}

	// NACK and RTCP sender/receiver reports, as pion's defaults register
	// them, minus what audio does not use (TWCC, simulcast, stats). NACK
	// only acts where the browser negotiated it; RTCP reports feed the
	// browser's getStats (jitter, loss, round-trip time).
	interceptors := &interceptor.Registry{}
	if err := webrtc.ConfigureNackWithOptions(media, interceptors,
		[]nack.GeneratorOption{nack.WithGeneratorLoggerFactory(logs)}, nack.WithResponderLoggerFactory(logs)); err != nil {
		return nil, fmt.Errorf("rtc: NACK interceptors: %w", err)
	}
	if err := webrtc.ConfigureRTCPReportsWithOptions(interceptors,
		[]report.ReceiverOption{report.WithReceiverLoggerFactory(logs)}, report.WithSenderLoggerFactory(logs)); err != nil {
		return nil, fmt.Errorf("rtc: RTCP report interceptors: %w", err)
	}

	settings := webrtc.SettingEngine{LoggerFactory: logs}
	// Without loopback candidates a browser on the same machine (and the
	// tests) can only connect through a LAN address, which may not exist.
	settings.SetIncludeLoopbackCandidate(true)
	// mDNS is off: our candidates are real addresses, and resolving the
	// browser's .local names would need multicast; its connectivity checks
	// reach us anyway and become peer-reflexive candidates.
	settings.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	settings.SetICETimeouts(iceDisconnected, cfg.DisconnectTimeout, iceKeepalive)
	if cfg.UDPPortMin != 0 {
		if err := settings.SetEphemeralUDPPortRange(cfg.UDPPortMin, cfg.UDPPortMax); err != nil {
			return nil, fmt.Errorf("rtc: UDP port range %d–%d: %w", cfg.UDPPortMin, cfg.UDPPortMax, err)
		}
	}
	if len(cfg.NAT1To1IPs) > 0 {
		// Append rather than replace, so that loopback and LAN clients
		// still find the server at its own addresses.
		if err := settings.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External: cfg.NAT1To1IPs, AsCandidateType: webrtc.ICECandidateTypeHost, Mode: webrtc.ICEAddressRewriteAppend,
		}); err != nil {
			return nil, fmt.Errorf("rtc: public IPs %v: %w", cfg.NAT1To1IPs, err)
		}
	}

	api := webrtc.NewAPI(webrtc.WithMediaEngine(media), webrtc.WithSettingEngine(settings), webrtc.WithInterceptorRegistry(interceptors))
	return &Transport{cfg: cfg, log: cfg.Logger, api: api, peers: make(map[*Peer]struct{})}, nil
}

// Accept answers a browser's offer (the SDP of its localDescription; it
// need not have waited for ICE gathering) and returns the new call and
// the answer's SDP, which carries the server's candidates: Accept waits
// for ICE gathering to complete, or Config.GatherTimeout, or ctx.
//
// The offer must hold one audio section offering Opus and a data channel
// section; otherwise the error wraps ErrBadOffer (including pion's parse
// error), ErrNoAudio or ErrNoOpus and nothing was opened. After Transport
// Close it returns ErrShutdown. ctx bounds Accept only, not the call.
//
// The handlers are called as Handlers describes, from the moment Accept
// returns; none is called when Accept fails.
func (t *Transport) Accept(ctx context.Context, offerSDP string, h Handlers) (*Peer, string, error) {
	if err := checkOffer(offerSDP); err != nil {
		return nil, "", err
	}
	pc, err := t.api.NewPeerConnection(webrtc.Configuration{ICEServers: t.cfg.ICEServers})
	if err != nil {
		return nil, "", fmt.Errorf("rtc: new peer connection: %w", err)
	}
	track, err := webrtc.NewTrackLocalStaticRTP(opusCodec, "audio", "timbre")
	if err != nil {
		_ = pc.Close()
		return nil, "", fmt.Errorf("rtc: outbound track: %w", err)
	}
	p := newPeer(t, pc, track, h)
	// Registered before negotiating, so that a Close meanwhile closes it.
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		p.abort()
		return nil, "", ErrShutdown
	}
	t.peers[p] = struct{}{}
	t.mu.Unlock()
	answer, err := t.negotiate(ctx, p, offerSDP)
	if err != nil {
		p.abort()
		if t.isClosed() {
			return nil, "", ErrShutdown
		}
		return nil, "", err
	}
	p.begin()
	return p, answer, nil
}

// negotiate answers offer on p's connection.
func (t *Transport) negotiate(ctx context.Context, p *Peer, offer string) (string, error) {
	pc := p.pc
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", fmt.Errorf("%w: %w", ErrBadOffer, err)
	}
	// The offer's audio transceiver takes the track: AddTrack reuses a
	// remote transceiver of the same kind that has no sender yet, and
	// the answer says sendrecv.
	sender, err := pc.AddTrack(p.track)
	if err != nil {
		return "", fmt.Errorf("rtc: add outbound track: %w", err)
	}
	p.goRTCP(sender.Read)
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", fmt.Errorf("%w: cannot answer: %w", ErrBadOffer, err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return "", fmt.Errorf("rtc: set answer: %w", err)
	}
	timer := time.NewTimer(t.cfg.GatherTimeout)
	defer timer.Stop()
	select {
	case <-gathered:
	case <-timer.C:
		t.log.Debug("ICE gathering still running; answering with the candidates found so far", "timeout", t.cfg.GatherTimeout)
	case <-ctx.Done():
		return "", fmt.Errorf("rtc: gathering candidates: %w", context.Cause(ctx))
	}
	return pc.LocalDescription().SDP, nil
}

// Close refuses new calls and closes every open one with ErrShutdown. It
// does not wait for their Closed handlers (see Peer.Done).
func (t *Transport) Close() error {
	t.mu.Lock()
	t.closed = true
	peers := make([]*Peer, 0, len(t.peers))
	for p := range t.peers {
		peers = append(peers, p)
	}
	t.mu.Unlock()
	var errs []error
	for _, p := range peers {
		errs = append(errs, p.shutdown(ErrShutdown))
	}
	return errors.Join(errs...)
}

// Peers is the number of calls open.
func (t *Transport) Peers() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.peers)
}

func (t *Transport) isClosed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closed
}

func (t *Transport) forget(p *Peer) {
	t.mu.Lock()
	delete(t.peers, p)
	t.mu.Unlock()
}
