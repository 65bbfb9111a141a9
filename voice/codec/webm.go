package codec

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// webmTrack is what a TrackEntry says.
type webmTrack struct {
	number     uint64
	kind       uint64 // TrackType: 1 video, 2 audio
	codecID    string
	private    []byte
	codecDelay uint64 // nanoseconds
	channels   uint64
	rate       float64
	encoded    bool // ContentEncodings: compressed or encrypted frames
}

// isAudio reports whether t is an audio track.
func (t webmTrack) isAudio() bool {
	return t.kind == 2 || (t.kind == 0 && strings.HasPrefix(t.codecID, "A_"))
}

// webmCodecName names a Matroska codec ID for error messages.
func webmCodecName(id string) string {
	for _, c := range []struct{ prefix, name string }{
		{"A_VORBIS", "Vorbis"},
		{"A_AAC", "AAC"},
		{"A_MPEG/L3", "MP3"},
		{"A_FLAC", "FLAC"},
		{"A_PCM", "PCM"},
		{"A_AC3", "AC-3"},
		{"A_OPUS", "Opus"},
	} {
		if strings.HasPrefix(id, c.prefix) {
			return c.name
		}
	}
	return fmt.Sprintf("%q", id)
}

// webmDemuxer walks a WebM or Matroska file and gathers the packets of its
// Opus track.
type webmDemuxer struct {
	data      []byte
	container string
	lim       Limits
	trackNum  uint64
	track     *opusTrack
	head      opusHead
	rate      float64 // Audio SamplingFrequency, for SourceRate when there is no OpusHead
	discard   int64   // DiscardPadding of the last block, 48 kHz samples
}

// decodeWebM decodes the Opus track of a WebM or Matroska file, as
// MediaRecorder writes them: a Segment and Clusters of unknown size are
// read to where the next element above them begins (or the end of the
// file), SimpleBlocks and BlockGroups alike, with any lacing. Block
// timestamps are not used: packets are decoded one after another.
func decodeWebM(data []byte, lim Limits) (Decoded, error) {
	hdr, err := readElem(data, 0, len(data))
	if err != nil {
		return Decoded{}, err
	}
	if hdr.unknown {
		return Decoded{}, fmt.Errorf("webm: EBML header of unknown size: %w", ErrCorrupt)
	}
	var docType string
	if err := eachChild(data, hdr, func(e ebmlElem) error {
		if e.id == idDocType {
			docType = strings.TrimRight(string(e.payload(data)), "\x00")
		}
		return nil
	}); err != nil {
		return Decoded{}, err
	}
	w := &webmDemuxer{data: data, lim: lim}
	switch docType {
	case "webm":
		w.container = ContainerWebM
	case "matroska":
		w.container = ContainerMatroska
	case "":
		return Decoded{}, fmt.Errorf("webm: EBML header without a DocType: %w", ErrCorrupt)
	default:
		return Decoded{}, fmt.Errorf("webm: EBML document of type %q, not WebM or Matroska: %w", docType, ErrUnsupportedFormat)
	}

	// The Segment follows the header, perhaps after Void elements.
	off := hdr.end
	for {
		if off >= len(data) {
			return Decoded{}, fmt.Errorf("%s: no Segment after the EBML header: %w", w.container, ErrCorrupt)
		}
		e, err := readElem(data, off, len(data))
		if err != nil {
			return Decoded{}, err
		}
		if e.id == idSegment {
			if err := w.segment(e); err != nil {
				return Decoded{}, err
			}
			break
		}
		if e.id != idVoid && e.id != idCRC32 {
			return Decoded{}, fmt.Errorf("%s: %s where the Segment should begin: %w", w.container, ebmlName(e.id), ErrCorrupt)
		}
		off = e.end
	}
	if w.track == nil {
		return Decoded{}, fmt.Errorf("%s: no Tracks element: %w", w.container, ErrCorrupt)
	}
	if len(w.track.packets) == 0 {
		return Decoded{}, fmt.Errorf("%s: the Opus track holds no audio: %w", w.container, ErrEmpty)
	}
	w.track.endTrim = min(w.discard, w.track.samples)
	f, err := w.track.decode()
	if err != nil {
		return Decoded{}, err
	}
	rate := w.head.inputRate
	if rate == 0 && w.rate >= 1 && w.rate <= float64(OpusRate*4) {
		rate = int(w.rate)
	}
	return Decoded{Audio: f, Container: w.container, Codec: CodecOpus, SourceRate: rate, SourceChannels: w.head.channels}, nil
}

// eachChild calls fn for each child of master e, which must have a known
// size.
func eachChild(b []byte, e ebmlElem, fn func(ebmlElem) error) error {
	if e.unknown {
		return fmt.Errorf("webm: %s of unknown size: %w", ebmlName(e.id), ErrCorrupt)
	}
	for off := e.data; off < e.end; {
		c, err := readElem(b, off, e.end)
		if err != nil {
			return err
		}
		if c.unknown {
			return fmt.Errorf("webm: %s of unknown size inside %s: %w", ebmlName(c.id), ebmlName(e.id), ErrCorrupt)
		}
		if err := fn(c); err != nil {
			return err
		}
		off = c.end
	}
	return nil
}

// segment reads the Segment's children: Info, Tracks and Clusters; the
// rest (SeekHead, Cues, Tags, Chapters, Void) is skipped.
func (w *webmDemuxer) segment(seg ebmlElem) error {
	for off := seg.data; off < seg.end; {
		e, err := readElem(w.data, off, seg.end)
		if err != nil {
			return err
		}
		switch e.id {
		case idInfo:
			if err := w.info(e); err != nil {
				return err
			}
		case idTracks:
			if w.track != nil {
				return fmt.Errorf("%s: a second Tracks element at byte %d: %w", w.container, e.start, ErrCorrupt)
			}
			if err := w.tracks(e); err != nil {
				return err
			}
		case idCluster:
			if w.track == nil {
				return fmt.Errorf("%s: a Cluster at byte %d before the Tracks element: %w", w.container, e.start, ErrCorrupt)
			}
			next, err := w.cluster(e)
			if err != nil {
				return err
			}
			off = next
			continue
		case idEBML, idSegment:
			// A second Segment (a chained file): the first recording is
			// the upload.
			return nil
		default:
			if e.unknown {
				return fmt.Errorf("%s: %s of unknown size at byte %d: %w", w.container, ebmlName(e.id), e.start, ErrCorrupt)
			}
		}
		off = e.end
	}
	return nil
}

// info reads the segment's TimestampScale and Duration, and refuses a
// recording whose declared Duration is beyond the limit.
func (w *webmDemuxer) info(e ebmlElem) error {
	scale := uint64(time.Millisecond) // the default TimestampScale, 1 ms
	duration := -1.0
	err := eachChild(w.data, e, func(c ebmlElem) error {
		var err error
		switch c.id {
		case idTimestampScale:
			scale, err = ebmlUint(c.payload(w.data))
		case idDuration:
			duration, err = ebmlFloat(c.payload(w.data))
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: Info: %w", w.container, err)
	}
	if duration <= 0 || scale == 0 || math.IsNaN(duration) || math.IsInf(duration, 0) {
		return nil
	}
	d := duration * float64(scale) // nanoseconds
	// The declared Duration runs to the end of the last block and may
	// include its padding: allow one packet's worth beyond the limit here;
	// the decoded length is checked exactly later.
	slack := float64(samplesDuration(maxPacketSamples))
	if d > float64(w.lim.MaxDuration)+slack {
		return &TooLongError{
			Container:   w.container,
			AtLeast:     time.Duration(min(d, float64(samplesDuration(maxReportedSamples)))),
			Declared:    true,
			MaxDuration: w.lim.MaxDuration,
		}
	}
	return nil
}

// tracks reads the TrackEntries and chooses the one Opus audio track.
func (w *webmDemuxer) tracks(e ebmlElem) error {
	var all []webmTrack
	err := eachChild(w.data, e, func(c ebmlElem) error {
		if c.id != idTrackEntry {
			return nil
		}
		t, err := w.trackEntry(c)
		all = append(all, t)
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: Tracks: %w", w.container, err)
	}
	var opus []webmTrack
	var others []string
	for _, t := range all {
		switch {
		case t.codecID == "A_OPUS":
			opus = append(opus, t)
		case t.isAudio():
			others = append(others, webmCodecName(t.codecID))
		}
	}
	switch {
	case len(opus) > 1:
		return fmt.Errorf("%s: the file holds %d Opus tracks; upload a single recording: %w", w.container, len(opus), ErrUnsupportedFormat)
	case len(opus) == 0 && len(others) > 0:
		return fmt.Errorf("%s: the audio is %s, not Opus: %w", w.container, strings.Join(others, " and "), ErrUnsupportedCodec)
	case len(opus) == 0:
		return fmt.Errorf("%s: the file has no audio track: %w", w.container, ErrEmpty)
	}
	t := opus[0]
	if t.encoded {
		return fmt.Errorf("%s: the Opus track is compressed or encrypted (ContentEncodings): %w", w.container, ErrUnsupportedCodec)
	}
	if t.number == 0 {
		return fmt.Errorf("%s: the Opus track has no track number: %w", w.container, ErrCorrupt)
	}
	head, err := webmOpusHead(t)
	if err != nil {
		return fmt.Errorf("%s: %w", w.container, err)
	}
	w.trackNum, w.head, w.rate = t.number, head, t.rate
	w.track = newOpusTrack(w.container, head, w.lim.MaxDuration)
	return nil
}

// webmOpusHead is the Opus header of an A_OPUS track: its CodecPrivate, or
// when that is missing, one made of the track's Channels and CodecDelay.
// CodecDelay (in nanoseconds) is the Matroska form of the pre-skip; it
// stands in when the OpusHead's pre-skip is zero, as Chrome writes it.
func webmOpusHead(t webmTrack) (opusHead, error) {
	delay := int(min(t.codecDelay, uint64(time.Second)) * OpusRate / uint64(time.Second))
	if len(t.private) == 0 {
		ch := int(max(t.channels, 1))
		if ch > 2 {
			return opusHead{}, fmt.Errorf("%d-channel Opus without a channel mapping (only mono and stereo are decoded): %w", ch, ErrUnsupportedCodec)
		}
		return opusHead{channels: ch, preSkip: delay}, nil
	}
	h, err := parseOpusHead(t.private)
	if err != nil {
		return opusHead{}, err
	}
	if h.preSkip == 0 {
		h.preSkip = delay
	}
	return h, nil
}

// trackEntry reads one TrackEntry.
func (w *webmDemuxer) trackEntry(e ebmlElem) (webmTrack, error) {
	var t webmTrack
	err := eachChild(w.data, e, func(c ebmlElem) error {
		p := c.payload(w.data)
		var err error
		switch c.id {
		case idTrackNumber:
			t.number, err = ebmlUint(p)
		case idTrackType:
			t.kind, err = ebmlUint(p)
		case idCodecID:
			t.codecID = strings.TrimRight(string(p), "\x00")
		case idCodecPrivate:
			t.private = p
		case idCodecDelay:
			t.codecDelay, err = ebmlUint(p)
		case idContentEncodings:
			t.encoded = true
		case idAudio:
			err = eachChild(w.data, c, func(a ebmlElem) error {
				var err error
				switch a.id {
				case idChannels:
					t.channels, err = ebmlUint(a.payload(w.data))
				case idSamplingFrequency:
					t.rate, err = ebmlFloat(a.payload(w.data))
				}
				return err
			})
		}
		return err
	})
	return t, err
}

// cluster reads a Cluster's blocks and returns the offset after it. A
// Cluster of unknown size ends where an element that cannot be its child
// begins, or at the end of the Segment.
func (w *webmDemuxer) cluster(cl ebmlElem) (int, error) {
	off := cl.data
	for off < cl.end {
		e, err := readElem(w.data, off, cl.end)
		if err != nil {
			return 0, err
		}
		if cl.unknown && isTopLevel(e.id) {
			return off, nil
		}
		if e.unknown {
			return 0, fmt.Errorf("%s: %s of unknown size inside a Cluster at byte %d: %w", w.container, ebmlName(e.id), e.start, ErrCorrupt)
		}
		switch e.id {
		case idSimpleBlock:
			if err := w.block(e); err != nil {
				return 0, err
			}
		case idBlockGroup:
			if err := w.blockGroup(e); err != nil {
				return 0, err
			}
		}
		off = e.end
	}
	return cl.end, nil
}

// blockGroup reads a BlockGroup: its Block and DiscardPadding.
func (w *webmDemuxer) blockGroup(g ebmlElem) error {
	var (
		block   ebmlElem
		found   bool
		padding int64
	)
	err := eachChild(w.data, g, func(c ebmlElem) error {
		switch c.id {
		case idBlock:
			if found {
				return fmt.Errorf("webm: two Blocks in one BlockGroup at byte %d: %w", g.start, ErrCorrupt)
			}
			block, found = c, true
		case idDiscardPadding:
			var err error
			padding, err = ebmlInt(c.payload(w.data))
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s: %w", w.container, err)
	}
	if !found {
		return nil
	}
	ours, err := w.blockTrack(block)
	if err != nil || !ours {
		return err
	}
	if err := w.block(block); err != nil {
		return err
	}
	// DiscardPadding is the padding at the end of this block, in
	// nanoseconds: the encoder's flush after the last sample. It only
	// trims the stream's end when its block is the last; a later block
	// resets it.
	w.discard = 0
	if padding > 0 {
		w.discard = int64(min(uint64(padding), uint64(time.Second)) * OpusRate / uint64(time.Second))
	}
	return nil
}

// blockTrack reports whether block e belongs to the Opus track.
func (w *webmDemuxer) blockTrack(e ebmlElem) (bool, error) {
	num, _, _, err := readVint(e.payload(w.data))
	if err != nil {
		return false, fmt.Errorf("%s: track number of the block at byte %d: %w", w.container, e.start, err)
	}
	return num == w.trackNum, nil
}

// block reads a SimpleBlock or Block (Matroska §10): track number, 16-bit
// relative timestamp, flags, then one frame or a laced run of frames, each
// an Opus packet of the Opus track. Blocks of other tracks are skipped.
func (w *webmDemuxer) block(e ebmlElem) error {
	p := e.payload(w.data)
	num, n, _, err := readVint(p)
	if err != nil {
		return fmt.Errorf("%s: track number of the block at byte %d: %w", w.container, e.start, err)
	}
	if num != w.trackNum {
		return nil
	}
	if len(p) < n+3 {
		return fmt.Errorf("%s: block at byte %d of %d bytes is shorter than its header: %w", w.container, e.start, len(p), ErrCorrupt)
	}
	w.discard = 0
	flags, frames := p[n+2], p[n+3:]
	lacing := flags >> 1 & 3
	if lacing == 0 {
		return w.frame(frames, e)
	}
	sizes, rest, err := lacedSizes(frames, lacing)
	if err != nil {
		return fmt.Errorf("%s: block at byte %d: %w", w.container, e.start, err)
	}
	for _, size := range sizes {
		if err := w.frame(rest[:size], e); err != nil {
			return err
		}
		rest = rest[size:]
	}
	return nil
}

// frame hands one Opus packet of block e to the track.
func (w *webmDemuxer) frame(pkt []byte, e ebmlElem) error {
	if err := w.track.add(pkt); err != nil {
		return fmt.Errorf("%w (block at byte %d)", err, e.start)
	}
	return nil
}

// Block lacing kinds: flags bits 1–2.
const (
	lacingXiph  = 1
	lacingFixed = 2
	lacingEBML  = 3
)

// lacedSizes reads the lacing header at the start of b and returns the
// frame sizes, which sum to len(rest), and the frame data.
func lacedSizes(b []byte, lacing byte) (sizes []int, rest []byte, err error) {
	if len(b) == 0 {
		return nil, nil, fmt.Errorf("laced block without a frame count: %w", ErrCorrupt)
	}
	count := int(b[0]) + 1
	b = b[1:]
	sizes = make([]int, 0, count)
	total := 0
	// add appends the size of a frame other than the last and checks
	// that the frames so far fit.
	add := func(size int64) error {
		if size < 0 || size > int64(len(b)) || int64(total)+size > int64(len(b)) {
			return fmt.Errorf("laced frame of %d bytes runs past the block: %w", size, ErrCorrupt)
		}
		sizes = append(sizes, int(size))
		total += int(size)
		return nil
	}
	switch lacing {
	case lacingXiph:
		for range count - 1 {
			var size int64
			for {
				if len(b) == 0 {
					return nil, nil, fmt.Errorf("Xiph lacing header cut short: %w", ErrCorrupt)
				}
				v := b[0]
				b = b[1:]
				size += int64(v)
				if v < 255 {
					break
				}
			}
			if err := add(size); err != nil {
				return nil, nil, err
			}
		}
	case lacingEBML:
		var prev int64
		for i := range count - 1 {
			v, n, allOnes, err := readVint(b)
			if err != nil || allOnes {
				return nil, nil, fmt.Errorf("EBML lacing size %d unreadable: %w", i, ErrCorrupt)
			}
			b = b[n:]
			size := int64(v)
			if i > 0 {
				// Later sizes are signed differences from the previous
				// one, biased by half the vint's range.
				size = prev + int64(v) - (1<<(7*n-1) - 1)
			}
			if err := add(size); err != nil {
				return nil, nil, err
			}
			prev = size
		}
	case lacingFixed:
		if len(b)%count != 0 {
			return nil, nil, fmt.Errorf("%d bytes do not divide into %d fixed-size laced frames: %w", len(b), count, ErrCorrupt)
		}
		for range count - 1 {
			sizes = append(sizes, len(b)/count)
		}
		total = len(b) / count * (count - 1)
	}
	if total > len(b) {
		return nil, nil, fmt.Errorf("laced frames of %d bytes in a block of %d: %w", total, len(b), ErrCorrupt)
	}
	sizes = append(sizes, len(b)-total)
	return sizes, b, nil
}
