package codec

import (
	"fmt"
	"time"

	"github.com/timbre-ai/timbre/voice/audio"
)

// maxReportedSamples caps sample counts turned into durations, so that a
// hostile granule position cannot overflow time.Duration (about 290 years).
const maxReportedSamples = 1 << 40

// samplesDuration is n samples at 48 kHz as a duration.
func samplesDuration(n int64) time.Duration {
	n = min(max(n, 0), maxReportedSamples)
	return audio.Format{SampleRate: OpusRate, Channels: 1}.Duration(int(n))
}

// opusTrack gathers the packets of one Opus stream from a container (Ogg
// or WebM), counting their duration from their TOC bytes as they come, so
// that a recording beyond the limit is refused before any is decoded.
type opusTrack struct {
	container  string
	head       opusHead
	limit      time.Duration
	maxSamples int64 // limit in samples at 48 kHz, after pre-skip and trimming

	packets [][]byte
	samples int64 // total duration of packets, 48 kHz samples
	endTrim int64 // samples to drop from the end (Ogg final granule, WebM DiscardPadding)
}

func newOpusTrack(container string, head opusHead, limit time.Duration) *opusTrack {
	return &opusTrack{
		container:  container,
		head:       head,
		limit:      limit,
		maxSamples: int64(audio.Format{SampleRate: OpusRate, Channels: 1}.Frames(limit)),
	}
}

// tooLong is the error for a recording of at least samples (before
// pre-skip) samples.
func (t *opusTrack) tooLong(samples int64, declared bool) error {
	return &TooLongError{
		Container:   t.container,
		AtLeast:     samplesDuration(samples - int64(t.head.preSkip)),
		Declared:    declared,
		MaxDuration: t.limit,
	}
}

// add appends packet p, which must stay valid until decode. It fails with
// ErrCorrupt for a packet that is empty, too large or whose TOC is
// invalid, and with a *TooLongError once the packets so far last more than
// the limit plus one packet (the end trimming not yet known may take up to
// that much off).
func (t *opusTrack) add(p []byte) error {
	n, err := packetSamples(p)
	if err != nil {
		return fmt.Errorf("%s: Opus packet %d: %w", t.container, len(t.packets), err)
	}
	if len(p) > maxPacketBytes {
		return fmt.Errorf("%s: Opus packet %d of %d bytes is larger than any valid packet: %w", t.container, len(t.packets), len(p), ErrCorrupt)
	}
	t.packets = append(t.packets, p)
	t.samples += int64(n)
	if t.samples-int64(t.head.preSkip)-maxPacketSamples > t.maxSamples {
		return t.tooLong(t.samples, false)
	}
	return nil
}

// decode decodes the packets at 48 kHz, drops the pre-skip and the end
// trimming, and returns the audio. The output is allocated once, at its
// final size, which the limit has already bounded.
func (t *opusTrack) decode() (audio.Frame, error) {
	ch := t.head.channels
	total := t.samples - int64(t.head.preSkip) - t.endTrim
	if total <= 0 {
		return audio.Frame{}, fmt.Errorf("%s: %d Opus packets hold %d samples, no more than the %d of pre-skip and trimming: %w",
			t.container, len(t.packets), t.samples, int64(t.head.preSkip)+t.endTrim, ErrEmpty)
	}
	if total > t.maxSamples {
		return audio.Frame{}, t.tooLong(total+int64(t.head.preSkip), false)
	}
	dec, err := NewOpusDecoder(OpusRate, ch)
	if err != nil {
		return audio.Frame{}, fmt.Errorf("%s: %w", t.container, err)
	}
	if err := dec.setGain(t.head.gain); err != nil {
		return audio.Frame{}, fmt.Errorf("%s: %w", t.container, err)
	}
	want := int(total) * ch
	// One packet of headroom: the last packet is decoded whole, then cut.
	out := make([]float32, 0, want+maxPacketSamples*ch)
	skip := t.head.preSkip
	for i, p := range t.packets {
		before := len(out)
		if out, err = dec.Decode(out, p); err != nil {
			return audio.Frame{}, fmt.Errorf("%s: Opus packet %d of %d: %w", t.container, i, len(t.packets), err)
		}
		if skip > 0 {
			drop := min(skip, (len(out)-before)/ch)
			out = append(out[:before], out[before+drop*ch:]...)
			skip -= drop
		}
		if len(out) >= want {
			break
		}
	}
	if len(out) < want {
		// The TOC bytes promised more than the decoder gave: not a
		// stream libopus would play the same way.
		return audio.Frame{}, fmt.Errorf("%s: Opus packets decoded to %d samples, %d expected: %w", t.container, len(out)/ch, want/ch, ErrCorrupt)
	}
	return audio.Frame{Format: audio.Format{SampleRate: OpusRate, Channels: ch}, Samples: out[:want:want]}, nil
}
