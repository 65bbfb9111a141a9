// Package codec owns Timbre's compressed audio containers: it decodes the
// recordings users upload (voice cloning clips, as browsers record them) and
// encodes the Ogg-Opus stream that /v1/audio/speech sends with
// response_format=opus.
//
// Decode sniffs its input by magic bytes, never by a file name or declared
// type, and accepts WAV (through audio.DecodeWAV), Ogg-Opus (RFC 7845) and
// WebM or Matroska with one Opus track (what Chrome's and Firefox's
// MediaRecorder produce). It is strict and bounded, because an upload is
// untrusted: every size read from the file is checked against the data and
// against Limits before anything is allocated, and a recording longer than
// the limit is refused before its audio is decoded.
//
// OggOpusWriter encodes mono float32 audio to Ogg-Opus as it arrives, with
// Flush for streaming HTTP clients. OpusEncoder and OpusDecoder are thin
// frame-at-a-time wrappers for the realtime (WebRTC) path.
//
// The Opus codec itself is github.com/thesyncim/gopus (pure Go). codec
// imports audio and the standard library besides; voice stages may import
// codec, and codec imports none of them.
package codec
