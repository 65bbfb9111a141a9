package rtc

import "errors"

// Errors of this package. Offer errors wrap the detail (which section,
// what pion's parser said); callers test for the kind with errors.Is. The
// reason given to Handlers.Closed is, or wraps, one of ErrHangup,
// ErrICEFailed, ErrClosed and ErrShutdown.
var (
	// ErrBadOffer is an offer that is not an SDP offer this package
	// answers: it does not parse (the error wraps pion's), it is empty or
	// too large, it has more than one audio section, no data channel, or
	// an audio section that does not let the agent speak (sendonly,
	// inactive).
	ErrBadOffer = errors.New("rtc: bad SDP offer")
	// ErrNoAudio is an offer without an audio section (a video-only or
	// data-only offer), or with its audio section rejected (port 0).
	ErrNoAudio = errors.New("rtc: the offer has no audio")
	// ErrNoOpus is an offer whose audio section does not offer Opus at
	// 48 kHz.
	ErrNoOpus = errors.New("rtc: the offer's audio has no Opus")

	// ErrHangup is the browser ending the call: it closed the peer
	// connection (DTLS close_notify) or the "events" data channel.
	ErrHangup = errors.New("rtc: the remote peer hung up")
	// ErrICEFailed is a connection that never came up, or that went
	// silent for longer than Config.DisconnectTimeout after ICE reported
	// it disconnected, or whose DTLS handshake failed.
	ErrICEFailed = errors.New("rtc: connection failed")
	// ErrClosed is Peer.Close having been called; Send and Enqueue return
	// it after the peer closed for any reason.
	ErrClosed = errors.New("rtc: peer closed")
	// ErrShutdown is Transport.Close having been called: Accept refuses
	// new calls and every open peer closes with this reason.
	ErrShutdown = errors.New("rtc: transport shut down")

	// ErrSendQueueFull is Send with too much waiting: 64 messages before
	// the data channel opens, or 1 MiB unsent on an open channel (a
	// browser that stopped reading).
	ErrSendQueueFull = errors.New("rtc: data channel send queue full")
	// ErrPlayerFull is Enqueue beyond MaxBuffered of queued audio.
	ErrPlayerFull = errors.New("rtc: player queue full")
	// ErrBadAudio is Enqueue with a frame whose format is invalid (see
	// audio.Frame.Validate).
	ErrBadAudio = errors.New("rtc: invalid audio frame")
)
