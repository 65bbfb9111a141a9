package codec

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// readFixture reads a file from testdata.
func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sine is n samples of amp·sin(2π·freq·i/rate).
func sine(n, rate int, freq, amp float64) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(amp * math.Sin(2*math.Pi*freq*float64(i)/float64(rate)))
	}
	return s
}

// channel extracts channel c of interleaved samples.
func channel(samples []float32, channels, c int) []float32 {
	out := make([]float32, 0, len(samples)/channels)
	for i := c; i < len(samples); i += channels {
		out = append(out, samples[i])
	}
	return out
}

// zeroCrossFreq estimates the frequency of a tone from its rising zero
// crossings, interpolated between samples.
func zeroCrossFreq(x []float32, rate int) float64 {
	first, last := -1.0, -1.0
	n := 0
	for i := 1; i < len(x); i++ {
		if x[i-1] < 0 && x[i] >= 0 {
			at := float64(i-1) + float64(-x[i-1])/float64(x[i]-x[i-1])
			if first < 0 {
				first = at
			} else {
				n++
			}
			last = at
		}
	}
	if n == 0 {
		return 0
	}
	return float64(n) * float64(rate) / (last - first)
}

// goertzel is the power of x at freq divided by len(x)²: about a²/4 for a
// sine of amplitude a at freq, near 0 for one far from it.
func goertzel(x []float32, rate int, freq float64) float64 {
	w := 2 * math.Pi * freq / float64(rate)
	c := 2 * math.Cos(w)
	var s1, s2 float64
	for _, v := range x {
		s0 := float64(v) + c*s1 - s2
		s2, s1 = s1, s0
	}
	p := s1*s1 + s2*s2 - c*s1*s2
	n := float64(len(x))
	return p / (n * n)
}

// bestLag is the shift, within ±maxLag samples, at which x best matches a
// sine of freq starting at phase 0 at sample 0 (x[i] ≈ sin(2πf(i+lag)/rate)),
// and the normalised correlation there. The first and last tenth of x are
// left out, where codecs fade in and out.
func bestLag(x []float32, rate int, freq float64, maxLag int) (int, float64) {
	lo, hi := len(x)/10, len(x)-len(x)/10
	bestL, bestC := 0, math.Inf(-1)
	for lag := -maxLag; lag <= maxLag; lag++ {
		var num, ex, ey float64
		for i := lo; i < hi; i++ {
			y := math.Sin(2 * math.Pi * freq * float64(i+lag) / float64(rate))
			num += float64(x[i]) * y
			ex += float64(x[i]) * float64(x[i])
			ey += y * y
		}
		if c := num / math.Sqrt(ex*ey); c > bestC {
			bestL, bestC = lag, c
		}
	}
	return bestL, bestC
}

// middle is x without its first and last tenth.
func middle(x []float32) []float32 { return x[len(x)/10 : len(x)-len(x)/10] }

// splitOggPages splits an Ogg file into its pages, checking each.
func splitOggPages(t testing.TB, data []byte) []oggPage {
	t.Helper()
	crc := newOggCRC()
	var pages []oggPage
	for off := 0; off < len(data); {
		p, err := parseOggPage(data, off, crc)
		if err != nil {
			t.Fatalf("page at %d: %v", off, err)
		}
		pages = append(pages, p)
		off += p.size()
	}
	return pages
}

// pageBytes is the raw bytes of page p in data.
func pageBytes(data []byte, p oggPage) []byte { return data[p.offset : p.offset+p.size()] }

// oggSpec describes an Ogg-Opus stream for buildOgg.
type oggSpec struct {
	serial  uint32
	head    []byte   // OpusHead packet; nil: mono, pre-skip 312
	packets [][]byte // audio packets
	maxSegs int      // lacing values per page (packets span pages when needed); 0: 255
	// final, when not zero, replaces the last page's granule position.
	final int64
	// granule, when set, replaces every audio page's granule position.
	granule func(page int, computed int64) int64
}

// buildOgg builds the pages of an Ogg-Opus stream, each a separate slice
// so that tests can interleave streams.
func buildOgg(t testing.TB, s oggSpec) [][]byte {
	t.Helper()
	crc := newOggCRC()
	head := s.head
	if head == nil {
		head = appendOpusHead(nil, 1, 312, 48000)
	}
	maxSegs := s.maxSegs
	if maxSegs == 0 {
		maxSegs = 255
	}
	var pages [][]byte
	seq := uint32(0)
	add := func(flags byte, granule int64, lacing, body []byte) {
		pages = append(pages, appendOggPage(nil, crc, flags, granule, s.serial, seq, lacing, body))
		seq++
	}
	add(oggFlagBOS, 0, appendLacing(nil, len(head)), head)
	tags := appendOpusTags(nil)
	add(0, 0, appendLacing(nil, len(tags)), tags)

	// Segments of all packets, each with the granule position at which its
	// packet ends (or -1 for a segment that does not end one).
	type seg struct {
		data []byte
		end  int64
	}
	var segs []seg
	var pos int64
	for _, p := range s.packets {
		n, err := packetSamples(p)
		if err != nil {
			t.Fatal(err)
		}
		pos += int64(n)
		rest := p
		for len(rest) >= 255 {
			segs = append(segs, seg{rest[:255], -1})
			rest = rest[255:]
		}
		segs = append(segs, seg{rest, pos})
	}
	continued := false
	for page := 0; len(segs) > 0; page++ {
		n := min(maxSegs, len(segs))
		var lacing, body []byte
		granule := int64(-1)
		for _, sg := range segs[:n] {
			lacing = append(lacing, byte(len(sg.data)))
			body = append(body, sg.data...)
			if sg.end >= 0 {
				granule = sg.end
			}
		}
		segs = segs[n:]
		var flags byte
		if continued {
			flags |= oggFlagContinued
		}
		if len(segs) == 0 {
			flags |= oggFlagEOS
			if s.final != 0 {
				granule = s.final
			}
		}
		if s.granule != nil {
			granule = s.granule(page, granule)
		}
		continued = granule < 0 || lacing[len(lacing)-1] == 255
		add(flags, granule, lacing, body)
	}
	return pages
}

// opusPackets encodes audio (mono at rate, or stereo when channels is 2)
// into 20 ms packets with an OpusEncoder.
func opusPackets(t testing.TB, pcm []float32, rate, channels, bitrate int) [][]byte {
	t.Helper()
	enc, err := NewOpusEncoder(rate, channels)
	if err != nil {
		t.Fatal(err)
	}
	if bitrate != 0 {
		if err := enc.SetBitrate(bitrate); err != nil {
			t.Fatal(err)
		}
	}
	frame := enc.FrameLen() * channels
	var packets [][]byte
	for i := 0; i+frame <= len(pcm); i += frame {
		p, err := enc.Encode(nil, pcm[i:i+frame])
		if err != nil {
			t.Fatal(err)
		}
		packets = append(packets, p)
	}
	return packets
}

// referenceDecode decodes packets one after another with an OpusDecoder
// at 48 kHz and drops preSkip samples: what Decode should produce before
// end trimming.
func referenceDecode(t testing.TB, packets [][]byte, channels, preSkip int) []float32 {
	t.Helper()
	dec, err := NewOpusDecoder(OpusRate, channels)
	if err != nil {
		t.Fatal(err)
	}
	var out []float32
	for _, p := range packets {
		if out, err = dec.Decode(out, p); err != nil {
			t.Fatal(err)
		}
	}
	return out[preSkip*channels:]
}

// EBML building for constructed WebM files.

// ebmlID is an element ID's bytes.
func ebmlID(id uint32) []byte {
	b := binary.BigEndian.AppendUint32(nil, id)
	return bytes.TrimLeft(b, "\x00")
}

// ebmlSize is the shortest vint holding size.
func ebmlSize(size int) []byte {
	n := 1
	for uint64(size) >= 1<<(7*n)-1 {
		n++
	}
	b := make([]byte, n)
	v := uint64(size)
	for i := n - 1; i >= 0; i-- {
		b[i] = byte(v)
		v >>= 8
	}
	b[0] |= 0x80 >> (n - 1)
	return b
}

// el is an element of known size holding the concatenated parts.
func el(id uint32, parts ...[]byte) []byte {
	body := bytes.Join(parts, nil)
	return bytes.Join([][]byte{ebmlID(id), ebmlSize(len(body)), body}, nil)
}

// elUnknown is an element of unknown size (as MediaRecorder writes
// Segment and Cluster), followed by the parts.
func elUnknown(id uint32, parts ...[]byte) []byte {
	return bytes.Join(append([][]byte{ebmlID(id), {0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}, parts...), nil)
}

// elUint is an unsigned integer element.
func elUint(id uint32, v uint64) []byte {
	b := bytes.TrimLeft(binary.BigEndian.AppendUint64(nil, v), "\x00")
	if len(b) == 0 {
		b = []byte{0}
	}
	return el(id, b)
}

// elInt is a signed integer element, 8 bytes.
func elInt(id uint32, v int64) []byte { return el(id, binary.BigEndian.AppendUint64(nil, uint64(v))) }

// elFloat is an 8-byte float element.
func elFloat(id uint32, v float64) []byte {
	return el(id, binary.BigEndian.AppendUint64(nil, math.Float64bits(v)))
}

// elString is a string element.
func elString(id uint32, s string) []byte { return el(id, []byte(s)) }

// ebmlHeader is an EBML header with docType.
func ebmlHeader(docType string) []byte {
	return el(idEBML, elUint(0x4286, 1), elUint(0x42F7, 1), elUint(0x42F2, 4), elUint(0x42F3, 8), elString(idDocType, docType), elUint(0x4287, 4), elUint(0x4285, 2))
}

// opusTrackEntry is a TrackEntry for an A_OPUS track.
func opusTrackEntry(number uint64, channels, preSkip int) []byte {
	return el(idTrackEntry,
		elUint(idTrackNumber, number),
		elUint(0x73C5, number), // TrackUID
		elUint(idTrackType, 2),
		elString(idCodecID, "A_OPUS"),
		el(idCodecPrivate, appendOpusHead(nil, channels, preSkip, 48000)),
		el(idAudio, elFloat(idSamplingFrequency, 48000), elUint(idChannels, uint64(channels))),
	)
}

// blockPayload is a (Simple)Block's payload: track, timestamp, flags,
// then the lacing header and frames.
func blockPayload(track byte, ts int16, flags byte, rest ...[]byte) []byte {
	b := []byte{0x80 | track, byte(uint16(ts) >> 8), byte(ts), flags}
	return append(b, bytes.Join(rest, nil)...)
}

// xiphLaced is a Xiph-laced block body (after the flags) of frames.
func xiphLaced(frames [][]byte) []byte {
	b := []byte{byte(len(frames) - 1)}
	for _, f := range frames[:len(frames)-1] {
		b = appendLacing(b, len(f))
	}
	return append(b, bytes.Join(frames, nil)...)
}

// ebmlLaced is an EBML-laced block body of frames.
func ebmlLaced(frames [][]byte) []byte {
	b := []byte{byte(len(frames) - 1)}
	b = append(b, ebmlSize(len(frames[0]))...)
	for i := 1; i < len(frames)-1; i++ {
		// Signed difference in a 2-byte vint: bias 2^13-1.
		d := len(frames[i]) - len(frames[i-1]) + (1<<13 - 1)
		b = append(b, 0x40|byte(d>>8), byte(d))
	}
	return append(b, bytes.Join(frames, nil)...)
}

// fixedLaced is a fixed-size-laced block body of equal-sized frames.
func fixedLaced(frames [][]byte) []byte {
	return append([]byte{byte(len(frames) - 1)}, bytes.Join(frames, nil)...)
}
