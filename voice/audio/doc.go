// Package audio owns Timbre's audio primitives: the typed PCM Frame that moves
// between voice stages, sample-format and channel conversions, a streaming
// band-limited resampler, a WAV encoder (file or HTTP stream) and a strict WAV
// decoder for uploaded clips, and level tools (RMS, peak, gated loudness
// normalisation, clipping detection, fades and crossfades).
//
// Samples are float32, interleaved, nominally in [-1, 1]. Functions that
// produce samples append to a slice the caller supplies, so a stage can keep
// its buffers between frames and run without allocating per frame.
//
// audio imports only the standard library. Every voice package (tts, cloning,
// VAD, ASR, WebRTC sessions) may import it; it imports none of them.
package audio
