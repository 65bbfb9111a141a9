package codec

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// opusHead is the identification header of an Opus stream (RFC 7845 §5.1):
// the first packet of an Ogg-Opus stream and the CodecPrivate of a
// Matroska A_OPUS track.
type opusHead struct {
	channels  int
	preSkip   int // samples at 48 kHz to drop from the start of the decoded stream
	inputRate int // the rate the encoder was fed; 0 when unspecified
	gain      int // output gain, Q7.8 dB
	family    int // channel mapping family
}

const (
	opusHeadMagic = "OpusHead"
	opusTagsMagic = "OpusTags"
	opusHeadLen   = 19
	// vendor is what OggOpusWriter writes as OpusTags' vendor string.
	vendor = "timbre"
)

// parseOpusHead reads an OpusHead packet. A header that is not one, or is
// too short, wraps ErrCorrupt; a version or channel mapping this package
// does not decode (only family 0, mono or stereo) wraps ErrUnsupportedCodec.
func parseOpusHead(p []byte) (opusHead, error) {
	if len(p) < opusHeadLen || !bytes.HasPrefix(p, []byte(opusHeadMagic)) {
		return opusHead{}, fmt.Errorf("Opus identification header missing or shorter than %d bytes: %w", opusHeadLen, ErrCorrupt)
	}
	le := binary.LittleEndian
	h := opusHead{
		channels:  int(p[9]),
		preSkip:   int(le.Uint16(p[10:])),
		inputRate: int(le.Uint32(p[12:])),
		gain:      int(int16(le.Uint16(p[16:]))),
		family:    int(p[18]),
	}
	// The upper four bits are the major version; a change there is an
	// incompatible format (RFC 7845 §5.1).
	if version := p[8]; version>>4 != 0 {
		return opusHead{}, fmt.Errorf("Opus header version %d: %w", version, ErrUnsupportedCodec)
	}
	if h.channels == 0 {
		return opusHead{}, fmt.Errorf("Opus header declares 0 channels: %w", ErrCorrupt)
	}
	if h.family != 0 {
		return opusHead{}, fmt.Errorf("multichannel Opus (%d channels, channel mapping family %d; only mono and stereo are decoded): %w", h.channels, h.family, ErrUnsupportedCodec)
	}
	if h.channels > 2 {
		return opusHead{}, fmt.Errorf("Opus header declares %d channels with mapping family 0, which allows only 1 or 2: %w", h.channels, ErrCorrupt)
	}
	return h, nil
}

// appendOpusHead appends an OpusHead packet for a stream with channel
// mapping family 0 to dst.
func appendOpusHead(dst []byte, channels, preSkip, inputRate int) []byte {
	le := binary.LittleEndian
	dst = append(dst, opusHeadMagic...)
	dst = append(dst, 1, byte(channels)) // version 1
	dst = le.AppendUint16(dst, uint16(preSkip))
	dst = le.AppendUint32(dst, uint32(inputRate))
	dst = le.AppendUint16(dst, 0) // output gain
	return append(dst, 0)         // mapping family 0: mono or stereo, no table
}

// appendOpusTags appends an OpusTags packet with vendor and no user
// comments to dst.
func appendOpusTags(dst []byte) []byte {
	le := binary.LittleEndian
	dst = append(dst, opusTagsMagic...)
	dst = le.AppendUint32(dst, uint32(len(vendor)))
	dst = append(dst, vendor...)
	return le.AppendUint32(dst, 0)
}
