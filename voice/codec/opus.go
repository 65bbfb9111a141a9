package codec

import (
	"errors"
	"fmt"
	"slices"

	"github.com/thesyncim/gopus"
)

const (
	// OpusRate is the rate Opus decodes at here, and the unit of Ogg
	// granule positions and pre-skip.
	OpusRate = 48000
	// DefaultBitrate is the Opus bitrate, in bits per second, used when a
	// caller does not set one: clear wideband speech for one voice.
	DefaultBitrate = 32000

	// maxPacketSamples is the longest Opus packet, 120 ms at 48 kHz.
	maxPacketSamples = 5760
	// maxPacketBytes bounds one Opus packet: 48 frames of at most 1275
	// bytes each plus framing (RFC 6716 §3.2.5), rounded up.
	maxPacketBytes = 1 << 16
	// maxEncodedFrame is the room an encoded 20 ms frame may take: one
	// Opus frame is at most 1275 bytes after its TOC byte.
	maxEncodedFrame = 1500
)

// opusRates lists the sample rates an Opus encoder or decoder runs at
// natively, lowest first.
func opusRates() []int { return []int{8000, 12000, 16000, 24000, 48000} }

// nativeOpusRate is the lowest rate Opus runs at natively that is at least
// rate (48000 above that): the rate at which audio of rate Hz loses nothing
// to the encoder's bandwidth.
func nativeOpusRate(rate int) int {
	for _, r := range opusRates() {
		if r >= rate {
			return r
		}
	}
	return OpusRate
}

// packetSamples is the duration of Opus packet p in samples at 48 kHz,
// from its TOC byte and frame count (RFC 6716 §3.1–3.2), without decoding
// it. Errors wrap ErrCorrupt.
func packetSamples(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, fmt.Errorf("empty Opus packet: %w", ErrCorrupt)
	}
	toc := p[0]
	config := int(toc >> 3)
	var perFrame int // samples per frame at 48 kHz
	switch {
	case config < 12: // SILK: 10, 20, 40, 60 ms
		perFrame = [4]int{480, 960, 1920, 2880}[config&3]
	case config < 16: // Hybrid: 10, 20 ms
		perFrame = [2]int{480, 960}[config&1]
	default: // CELT: 2.5, 5, 10, 20 ms
		perFrame = [4]int{120, 240, 480, 960}[config&3]
	}
	frames := 1
	switch toc & 3 {
	case 1, 2:
		frames = 2
	case 3:
		if len(p) < 2 {
			return 0, fmt.Errorf("Opus packet of %d byte lacks its frame count: %w", len(p), ErrCorrupt)
		}
		frames = int(p[1] & 0x3f)
		if frames == 0 {
			return 0, fmt.Errorf("Opus packet declares 0 frames: %w", ErrCorrupt)
		}
	}
	if n := frames * perFrame; n <= maxPacketSamples {
		return n, nil
	}
	return 0, fmt.Errorf("Opus packet of %d frames lasts more than 120 ms: %w", frames, ErrCorrupt)
}

// OpusEncoder encodes fixed 20 ms frames of PCM into Opus packets, one
// packet a frame: the unit WebRTC sends and Ogg pages carry. It is a thin
// wrapper of a gopus encoder set up for speech (VoIP application). It is
// not safe for concurrent use.
type OpusEncoder struct {
	enc      *gopus.Encoder
	rate     int
	channels int
	frameLen int
	pcm      []float32 // EncodeInt16 conversion buffer
}

// NewOpusEncoder returns an encoder for interleaved audio of channels (1 or
// 2) channels at rate Hz, which must be 8000, 12000, 16000, 24000 or 48000,
// at DefaultBitrate.
func NewOpusEncoder(rate, channels int) (*OpusEncoder, error) {
	if !slices.Contains(opusRates(), rate) {
		return nil, fmt.Errorf("opus encoder: rate %d Hz is not one of %v", rate, opusRates())
	}
	if channels != 1 && channels != 2 {
		return nil, fmt.Errorf("opus encoder: %d channels (1 or 2 supported)", channels)
	}
	enc, err := gopus.NewEncoder(gopus.EncoderConfig{SampleRate: rate, Channels: channels, Application: gopus.ApplicationVoIP})
	if err != nil {
		return nil, fmt.Errorf("opus encoder: %w", err)
	}
	if err := enc.SetSignal(gopus.SignalVoice); err != nil {
		return nil, fmt.Errorf("opus encoder: signal: %w", err)
	}
	e := &OpusEncoder{enc: enc, rate: rate, channels: channels, frameLen: rate / 50}
	if err := e.SetBitrate(DefaultBitrate); err != nil {
		return nil, err
	}
	return e, nil
}

// SetBitrate sets the target bitrate in bits per second (6000–510000).
func (e *OpusEncoder) SetBitrate(bps int) error {
	if bps < 6000 || bps > 510000 {
		return fmt.Errorf("opus encoder: bitrate %d b/s outside 6000–510000", bps)
	}
	if err := e.enc.SetBitrate(bps); err != nil {
		return fmt.Errorf("opus encoder: bitrate %d: %w", bps, err)
	}
	return nil
}

// FrameLen is the number of samples per channel in one frame: 20 ms at the
// encoder's rate.
func (e *OpusEncoder) FrameLen() int { return e.frameLen }

// Lookahead is the encoder's delay in samples at its own rate: the decoded
// audio lags the input by this much, which is the pre-skip of an Ogg-Opus
// stream (scaled to 48 kHz).
func (e *OpusEncoder) Lookahead() int { return e.enc.Lookahead() }

// Encode encodes one frame, FrameLen()·channels interleaved samples, and
// appends the packet to dst. It does not allocate when dst has 1500 bytes
// of spare capacity.
func (e *OpusEncoder) Encode(dst []byte, pcm []float32) ([]byte, error) {
	if len(pcm) != e.frameLen*e.channels {
		return dst, fmt.Errorf("opus encoder: frame of %d samples, want %d (20 ms at %d Hz, %d ch)", len(pcm), e.frameLen*e.channels, e.rate, e.channels)
	}
	dst = slices.Grow(dst, maxEncodedFrame)
	n, err := e.enc.Encode(pcm, dst[len(dst):len(dst)+maxEncodedFrame])
	if err != nil {
		return dst, fmt.Errorf("opus encoder: %w", err)
	}
	return dst[:len(dst)+n], nil
}

// EncodeInt16 is Encode for 16-bit samples.
func (e *OpusEncoder) EncodeInt16(dst []byte, pcm []int16) ([]byte, error) {
	if len(pcm) != e.frameLen*e.channels {
		return dst, fmt.Errorf("opus encoder: frame of %d samples, want %d (20 ms at %d Hz, %d ch)", len(pcm), e.frameLen*e.channels, e.rate, e.channels)
	}
	e.pcm = e.pcm[:0]
	for _, v := range pcm {
		e.pcm = append(e.pcm, float32(v)/32768)
	}
	return e.Encode(dst, e.pcm)
}

// OpusDecoder decodes Opus packets to PCM at a fixed rate and channel
// count, whatever the packets were encoded with. It is a thin wrapper of a
// gopus decoder, and not safe for concurrent use.
type OpusDecoder struct {
	dec      *gopus.Decoder
	rate     int
	channels int
	pcm      []float32 // one packet's worth at most: 120 ms
	pcm16    []int16
}

// NewOpusDecoder returns a decoder producing interleaved audio of channels
// (1 or 2) channels at rate Hz, which must be 8000, 12000, 16000, 24000 or
// 48000.
func NewOpusDecoder(rate, channels int) (*OpusDecoder, error) {
	if !slices.Contains(opusRates(), rate) {
		return nil, fmt.Errorf("opus decoder: rate %d Hz is not one of %v", rate, opusRates())
	}
	if channels != 1 && channels != 2 {
		return nil, fmt.Errorf("opus decoder: %d channels (1 or 2 supported)", channels)
	}
	cfg := gopus.DefaultDecoderConfig(rate, channels)
	cfg.MaxPacketBytes = maxPacketBytes
	dec, err := gopus.NewDecoder(cfg)
	if err != nil {
		return nil, fmt.Errorf("opus decoder: %w", err)
	}
	perPacket := maxPacketSamples * rate / OpusRate * channels
	return &OpusDecoder{dec: dec, rate: rate, channels: channels, pcm: make([]float32, perPacket)}, nil
}

// setGain applies an OpusHead output gain (Q7.8 dB).
func (d *OpusDecoder) setGain(q8 int) error {
	if err := d.dec.SetGain(q8); err != nil {
		return fmt.Errorf("opus decoder: output gain %d: %w", q8, err)
	}
	return nil
}

// Decode decodes packet and appends its samples, interleaved, to dst. A nil
// or empty packet is a lost one: Decode appends 20 ms of concealment. A
// packet that does not decode is an error wrapping ErrCorrupt, and dst
// comes back unchanged.
func (d *OpusDecoder) Decode(dst []float32, packet []byte) ([]float32, error) {
	buf := d.pcm
	if len(packet) == 0 {
		buf = buf[:d.rate/50*d.channels]
	}
	n, err := d.dec.Decode(packet, buf)
	if err != nil {
		return dst, d.wrap(err)
	}
	return append(dst, buf[:n*d.channels]...), nil
}

// DecodeInt16 is Decode for 16-bit samples (clipped softly, as libopus's
// opus_decode does).
func (d *OpusDecoder) DecodeInt16(dst []int16, packet []byte) ([]int16, error) {
	if d.pcm16 == nil {
		d.pcm16 = make([]int16, len(d.pcm))
	}
	buf := d.pcm16
	if len(packet) == 0 {
		buf = buf[:d.rate/50*d.channels]
	}
	n, err := d.dec.DecodeInt16(packet, buf)
	if err != nil {
		return dst, d.wrap(err)
	}
	return append(dst, buf[:n*d.channels]...), nil
}

// wrap classifies a gopus decode error: a packet gopus cannot parse or
// decode is corrupt input.
func (d *OpusDecoder) wrap(err error) error {
	if errors.Is(err, gopus.ErrBufferTooSmall) {
		return fmt.Errorf("opus decoder: %w", err)
	}
	return fmt.Errorf("opus decoder: bad packet: %w: %w", err, ErrCorrupt)
}
