// Package rtc owns the WebRTC transport of real-time voice chat: it answers
// a browser's offer (one audio track, Opus, and an "events" data channel),
// decodes the browser's speech to 16 kHz mono frames, plays the agent's
// voice on the outbound track paced in real time, and carries JSON events
// both ways on the data channel.
//
// One Transport holds one webrtc.API built from an explicit MediaEngine
// (Opus only), SettingEngine (loopback candidates, no mDNS, port range,
// public IPs, ICE timeouts, pion's logs routed to slog) and
// InterceptorRegistry (NACK and RTCP reports). Transport.Accept makes one
// Peer per call.
//
// Audio stays off pion's goroutines: the RTP read loop only parses and
// queues packets (bounded, dropping when the consumer lags); a decoder
// goroutine orders them, conceals losses and calls Handlers.Audio. The
// Player encodes and sends one 20 ms Opus frame every 20 ms on an absolute
// schedule, one goroutine per player.
//
// rtc imports pion, voice/audio and voice/codec; it knows nothing of
// sessions, turns or the data channel's message types (voice/talk owns
// those). Package rtctest is a pion client that behaves like the browser,
// for tests, benchmarks and the e2e suite.
package rtc
