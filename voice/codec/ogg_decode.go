package codec

import (
	"bytes"
	"fmt"
	"strings"
)

const (
	// oggTailScan is how far from the end of an Ogg file Decode looks for
	// the last page of the Opus stream, whose granule position declares
	// the stream's length: two maximal pages.
	oggTailScan = 2 * oggMaxPage
	// oggTailTries bounds the candidate pages checked in that scan, so that
	// a file full of fake capture patterns costs little.
	oggTailTries = 16
)

// oggStream is a logical stream found from its beginning-of-stream page.
type oggStream struct {
	serial uint32
	codec  string // what its first packet says it holds
	head   []byte // its first packet
}

// oggCodec names the codec of a logical stream from its first packet.
func oggCodec(first []byte) string {
	for _, c := range []struct{ magic, name string }{
		{opusHeadMagic, "Opus"},
		{"\x01vorbis", "Vorbis"},
		{"\x7fFLAC", "FLAC"},
		{"Speex   ", "Speex"},
		{"PCM     ", "PCM"},
		{"\x80theora", "Theora video"},
		{"OVP80", "VP8 video"},
		{"fishead\x00", "Skeleton"},
		{"\x80kate", "Kate"},
	} {
		if bytes.HasPrefix(first, []byte(c.magic)) {
			return c.name
		}
	}
	return "an unknown codec"
}

// decodeOgg decodes an Ogg file holding one Opus stream (RFC 7845). Other
// logical streams (a video, a Skeleton) are checked and skipped; several
// Opus streams, or chained streams, are refused.
func decodeOgg(data []byte, lim Limits) (Decoded, error) {
	crc := newOggCRC()

	// Every logical stream begins with a BOS page holding its first
	// header packet whole, and all BOS pages come before any other page
	// (RFC 3533 §4).
	var streams []oggStream
	off := 0
	for off < len(data) {
		p, err := parseOggPage(data, off, crc)
		if err != nil {
			return Decoded{}, err
		}
		if p.flags&oggFlagBOS == 0 {
			break
		}
		first, ok := firstPacket(p)
		if !ok {
			return Decoded{}, fmt.Errorf("ogg: the first header of stream %#x does not fit its page: %w", p.serial, ErrCorrupt)
		}
		for _, s := range streams {
			if s.serial == p.serial {
				return Decoded{}, fmt.Errorf("ogg: two streams with serial number %#x: %w", p.serial, ErrCorrupt)
			}
		}
		streams = append(streams, oggStream{serial: p.serial, codec: oggCodec(first), head: first})
		off += p.size()
	}
	if len(streams) == 0 {
		return Decoded{}, fmt.Errorf("ogg: the first page does not begin a stream: %w", ErrCorrupt)
	}
	opus, err := pickOggOpus(streams)
	if err != nil {
		return Decoded{}, err
	}
	head, err := parseOpusHead(opus.head)
	if err != nil {
		return Decoded{}, fmt.Errorf("ogg: %w", err)
	}
	t := newOpusTrack(ContainerOgg, head, lim.MaxDuration)

	// The granule position of the stream's last page is its length plus
	// pre-skip: refuse a long recording before reading it.
	if g, ok := oggLastGranule(data, opus.serial, crc); ok && g-int64(head.preSkip) > t.maxSamples {
		return Decoded{}, t.tooLong(g, true)
	}
	if err := demuxOggOpus(data, opus.serial, crc, t); err != nil {
		return Decoded{}, err
	}
	f, err := t.decode()
	if err != nil {
		return Decoded{}, err
	}
	return Decoded{Audio: f, Container: ContainerOgg, Codec: CodecOpus, SourceRate: head.inputRate, SourceChannels: head.channels}, nil
}

// pickOggOpus chooses the one Opus stream among streams.
func pickOggOpus(streams []oggStream) (oggStream, error) {
	var opus []oggStream
	var others []string
	for _, s := range streams {
		switch s.codec {
		case "Opus":
			opus = append(opus, s)
		case "Skeleton":
		default:
			others = append(others, s.codec)
		}
	}
	switch len(opus) {
	case 1:
		return opus[0], nil
	case 0:
		if len(others) == 0 {
			return oggStream{}, fmt.Errorf("ogg: the file holds no audio stream: %w", ErrEmpty)
		}
		return oggStream{}, fmt.Errorf("ogg: the file holds %s, not Opus: %w", strings.Join(others, " and "), ErrUnsupportedCodec)
	}
	return oggStream{}, fmt.Errorf("ogg: the file holds %d Opus streams; upload a single recording: %w", len(opus), ErrUnsupportedFormat)
}

// firstPacket is the packet that begins page p, when it ends on p.
func firstPacket(p oggPage) ([]byte, bool) {
	n := 0
	for _, v := range p.lacing {
		n += int(v)
		if v < 255 {
			return p.body[:n], true
		}
	}
	return nil, false
}

// oggLastGranule finds the last page of stream serial that carries a
// granule position, looking back from the end of data a bounded distance
// and through a bounded number of candidates. ok is false when none is
// found; the forward parse then finds the length as it goes.
func oggLastGranule(data []byte, serial uint32, crc oggCRC) (int64, bool) {
	lo := max(0, len(data)-oggTailScan)
	end := len(data)
	for range oggTailTries {
		i := bytes.LastIndex(data[lo:end], []byte(oggMagic))
		if i < 0 {
			return 0, false
		}
		i += lo
		if p, err := parseOggPage(data, i, crc); err == nil && p.serial == serial && p.granule >= 0 {
			return p.granule, true
		}
		end = i
	}
	return 0, false
}

// demuxOggOpus reassembles the packets of stream serial from its pages
// into t, checking page order and packet continuation, and sets t's end
// trimming from the final granule position.
func demuxOggOpus(data []byte, serial uint32, crc oggCRC, t *opusTrack) error {
	var (
		seq       uint32
		started   bool
		eos       bool
		partial   []byte // a packet that continues on the next page
		pending   bool
		npackets  int   // packets completed, headers included
		start     int64 // granule position at the first audio sample
		haveStart bool
		last      int64 = oggNoGranule
		nonBOS    bool
	)
	for off := 0; off < len(data); {
		p, err := parseOggPage(data, off, crc)
		if err != nil {
			return err
		}
		off += p.size()
		if p.flags&oggFlagBOS != 0 && nonBOS {
			return fmt.Errorf("ogg: a new stream begins at byte %d after the first ended (chained Ogg); upload a single recording: %w", p.offset, ErrUnsupportedFormat)
		}
		if p.flags&oggFlagBOS == 0 {
			nonBOS = true
		}
		if p.serial != serial {
			continue
		}
		if eos {
			return fmt.Errorf("ogg: page %d at byte %d follows the end of the Opus stream: %w", p.sequence, p.offset, ErrCorrupt)
		}
		if started && p.sequence != seq+1 {
			return fmt.Errorf("ogg: page %d of the Opus stream follows page %d at byte %d (pages missing): %w", p.sequence, seq, p.offset, ErrCorrupt)
		}
		seq, started = p.sequence, true
		if continued := p.flags&oggFlagContinued != 0; continued != pending {
			if continued {
				return fmt.Errorf("ogg: page %d at byte %d continues a packet that never began: %w", p.sequence, p.offset, ErrCorrupt)
			}
			return fmt.Errorf("ogg: page %d at byte %d does not continue the packet the previous page began: %w", p.sequence, p.offset, ErrCorrupt)
		}

		audioBefore := t.samples
		completed := false
		pos, begin := 0, 0 // in p.body: end of the current segment, start of the packet's part on this page
		for _, v := range p.lacing {
			pos += int(v)
			if v == 255 {
				continue
			}
			var pkt []byte
			if pending {
				partial = append(partial, p.body[begin:pos]...)
				pkt, partial, pending = partial, nil, false
			} else {
				pkt = p.body[begin:pos]
			}
			begin = pos
			if err := oggPacket(pkt, npackets, t); err != nil {
				return fmt.Errorf("%w (page %d at byte %d)", err, p.sequence, p.offset)
			}
			npackets++
			completed = true
		}
		if begin < len(p.body) {
			// The page ends inside a packet: keep its part for the next.
			partial = append(partial, p.body[begin:]...)
			pending = true
			if npackets >= 2 && len(partial) > maxPacketBytes {
				return fmt.Errorf("ogg: an Opus packet grows past %d bytes at page %d: %w", maxPacketBytes, p.sequence, ErrCorrupt)
			}
		}
		if completed && p.granule >= 0 && t.samples > audioBefore {
			if !haveStart {
				// A stream may begin at a granule position other than 0;
				// a first page whose position is below its own samples is
				// only valid as the last page, where it means trimming.
				start, haveStart = max(p.granule-t.samples, 0), true
			}
			last = p.granule
		}
		eos = p.flags&oggFlagEOS != 0
	}
	if pending {
		return fmt.Errorf("ogg: the file ends inside a packet (truncated file?): %w", ErrCorrupt)
	}
	if npackets < 2 {
		return fmt.Errorf("ogg: the Opus stream ends before its headers do (truncated file?): %w", ErrCorrupt)
	}
	if len(t.packets) == 0 {
		return fmt.Errorf("ogg: the Opus stream has headers and no audio: %w", ErrEmpty)
	}
	if last >= 0 {
		if trim := start + t.samples - last; trim > 0 {
			t.endTrim = min(trim, t.samples)
		}
	}
	return nil
}

// oggPacket takes the n-th packet of an Ogg-Opus stream: the headers are
// checked, audio packets go to t.
func oggPacket(pkt []byte, n int, t *opusTrack) error {
	switch n {
	case 0: // OpusHead, parsed from the BOS page already
		return nil
	case 1:
		if !bytes.HasPrefix(pkt, []byte(opusTagsMagic)) {
			return fmt.Errorf("ogg: the second packet of the Opus stream is not its OpusTags header: %w", ErrCorrupt)
		}
		return nil
	}
	return t.add(pkt)
}
