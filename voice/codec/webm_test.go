package codec

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"
)

// TestDecodeWebMConstructed decodes WebM files built here to cover what
// the fixtures do not all show: Clusters of unknown size ended by the next
// Cluster, by Cues or by the end of the file; BlockGroups; the three
// lacings; Void and CRC-32 elements; a video track whose blocks are
// skipped; CodecDelay standing in for a zero pre-skip; DiscardPadding.
// Each is checked sample for sample against a plain decode of the packets.
func TestDecodeWebMConstructed(t *testing.T) {
	t.Parallel()
	pcm := sine(OpusRate/2*2, OpusRate, 440, 0.5) // 0.5 s stereo
	packets := opusPackets(t, pcm, OpusRate, 2, 0)
	n := len(packets) // 25
	const preSkip = 312
	ref := referenceDecode(t, packets, 2, preSkip)

	// Fixed lacing needs frames of equal size: pad four packets to 300
	// bytes with Opus padding.
	equal := make([][]byte, 4)
	for i := range equal {
		equal[i] = padOpus(t, packets[8+i], 300)
	}
	refFixed := referenceDecode(t, slices.Concat(packets[:8], equal, packets[12:]), 2, preSkip)

	videoTrack := el(idTrackEntry, elUint(idTrackNumber, 2), elUint(idTrackType, 1), elString(idCodecID, "V_VP8"))
	videoBlock := el(idSimpleBlock, blockPayload(2, 0, 0x80, []byte{0x9d, 0x01, 0x2a, 0, 0}))
	simple := func(ps ...[]byte) [][]byte {
		var out [][]byte
		for _, p := range ps {
			out = append(out, el(idSimpleBlock, blockPayload(1, 0, 0x80, p)))
		}
		return out
	}
	void := el(idVoid, make([]byte, 7))
	crc := el(idCRC32, []byte{1, 2, 3, 4})
	head := func(tracks ...[]byte) [][]byte {
		return [][]byte{
			el(idSeekHead, el(0x4DBB, elUint(0x53AC, 1))),
			void,
			el(idInfo, crc, elUint(idTimestampScale, 1_000_000), elString(0x4D80, "test")),
			el(idTracks, tracks...),
		}
	}
	const discardSamples = 480 // 10 ms
	discard := int64(discardSamples) * int64(time.Second) / OpusRate

	tests := []struct {
		name string
		data []byte
		want []float32
	}{
		{
			name: "unknown sizes, clusters ended by clusters, cues and EOF",
			data: append(ebmlHeader("webm"), elUnknown(idSegment, slices.Concat(
				head(opusTrackEntry(1, 2, preSkip), videoTrack),
				[][]byte{elUnknown(idCluster, slices.Concat([][]byte{elUint(0xE7, 0), videoBlock}, simple(packets[:10]...))...)},
				[][]byte{elUnknown(idCluster, slices.Concat([][]byte{elUint(0xE7, 200), void}, simple(packets[10:20]...))...)},
				[][]byte{el(idCues, el(0xBB, elUint(0xB3, 0)))},
				[][]byte{elUnknown(idCluster, slices.Concat([][]byte{elUint(0xE7, 400)}, simple(packets[20:]...))...)},
			)...)...),
			want: ref,
		},
		{
			name: "known sizes, block groups and lacing",
			data: append(ebmlHeader("matroska"), el(idSegment, slices.Concat(
				head(videoTrack, opusTrackEntry(1, 2, preSkip)),
				[][]byte{el(idCluster,
					elUint(0xE7, 0),
					el(idBlockGroup, el(idBlock, blockPayload(1, 0, 0, packets[0])), elUint(0x9B, 20)),
					el(idSimpleBlock, blockPayload(1, 20, 0x80|lacingXiph<<1, xiphLaced(packets[1:4]))),
					el(idSimpleBlock, blockPayload(1, 80, 0x80|lacingEBML<<1, ebmlLaced(packets[4:8]))),
					el(idBlockGroup, el(idBlock, blockPayload(1, 160, lacingFixed<<1, fixedLaced(equal)))),
					videoBlock,
				)},
				[][]byte{el(idCluster, slices.Concat([][]byte{elUint(0xE7, 240)}, simple(packets[12:]...))...)},
			)...)...),
			want: refFixed,
		},
		{
			name: "codec delay and discard padding",
			data: append(ebmlHeader("webm"), elUnknown(idSegment, slices.Concat(
				head(el(idTrackEntry,
					elUint(idTrackNumber, 1), elUint(idTrackType, 2), elString(idCodecID, "A_OPUS"),
					elUint(idCodecDelay, uint64(preSkip)*uint64(time.Second)/OpusRate),
					el(idCodecPrivate, appendOpusHead(nil, 2, 0, 48000)),
				)),
				[][]byte{elUnknown(idCluster, slices.Concat(
					[][]byte{elUint(0xE7, 0)},
					simple(packets[:n-1]...),
					[][]byte{el(idBlockGroup, el(idBlock, blockPayload(1, 0, 0, packets[n-1])), elInt(idDiscardPadding, discard))},
				)...)},
			)...)...),
			want: ref[:len(ref)-discardSamples*2],
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, err := Decode(tt.data, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if d.Audio.Channels != 2 || d.Codec != CodecOpus {
				t.Errorf("%v %s", d.Audio.Format, d.Codec)
			}
			if !slices.Equal(d.Audio.Samples, tt.want) {
				t.Errorf("decoded %d samples differ from the %d of a plain decode", len(d.Audio.Samples), len(tt.want))
			}
		})
	}
}

// TestDecodeWebMRejects covers WebM structures Decode refuses.
func TestDecodeWebMRejects(t *testing.T) {
	t.Parallel()
	packets := opusPackets(t, sine(OpusRate/5, OpusRate, 440, 0.5), OpusRate, 1, 0)
	cluster := el(idCluster, elUint(0xE7, 0), el(idSimpleBlock, blockPayload(1, 0, 0x80, packets[0])))
	segment := func(parts ...[]byte) []byte { return append(ebmlHeader("webm"), elUnknown(idSegment, parts...)...) }
	tracks := el(idTracks, opusTrackEntry(1, 1, 312))
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"two opus tracks", segment(el(idTracks, opusTrackEntry(1, 1, 312), opusTrackEntry(2, 1, 312)), cluster), ErrUnsupportedFormat},
		{"video only", segment(el(idTracks, el(idTrackEntry, elUint(idTrackNumber, 1), elUint(idTrackType, 1), elString(idCodecID, "V_VP9"))), cluster), ErrEmpty},
		{"aac", segment(el(idTracks, el(idTrackEntry, elUint(idTrackNumber, 1), elUint(idTrackType, 2), elString(idCodecID, "A_AAC"))), cluster), ErrUnsupportedCodec},
		{"encrypted", segment(el(idTracks, el(idTrackEntry, elUint(idTrackNumber, 1), elUint(idTrackType, 2), elString(idCodecID, "A_OPUS"), el(idContentEncodings))), cluster), ErrUnsupportedCodec},
		{"cluster before tracks", segment(cluster, tracks), ErrCorrupt},
		{"no blocks", segment(tracks, el(idCluster, elUint(0xE7, 0))), ErrEmpty},
		{"no tracks", segment(el(idInfo, elUint(idTimestampScale, 1_000_000))), ErrCorrupt},
		{"unknown-size tracks", segment(elUnknown(idTracks, opusTrackEntry(1, 1, 312))), ErrCorrupt},
		{"oversized block", segment(tracks, elUnknown(idCluster, []byte{0xA3, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x81, 0, 0, 0x80})), ErrCorrupt},
		{"bad lacing", segment(tracks, el(idCluster, el(idSimpleBlock, blockPayload(1, 0, 0x80|lacingXiph<<1, []byte{3, 200, 200, 200, 1, 2, 3})))), ErrCorrupt},
		{"bad opus packet", segment(tracks, el(idCluster, el(idSimpleBlock, blockPayload(1, 0, 0x80, []byte{0xfb, 0x00})))), ErrCorrupt},
		{"undecodable opus packet", segment(tracks, el(idCluster, el(idSimpleBlock, blockPayload(1, 0, 0x80, []byte{0x09, 1, 2, 3})))), ErrCorrupt},
		{"bad opus head", segment(el(idTracks, el(idTrackEntry, elUint(idTrackNumber, 1), elUint(idTrackType, 2), elString(idCodecID, "A_OPUS"), el(idCodecPrivate, []byte("OpusHead")))), cluster), ErrCorrupt},
		{"no segment", append(ebmlHeader("webm"), el(idVoid, []byte{0})...), ErrCorrupt},
		{"id too long", append(ebmlHeader("webm"), 0x08, 0x81, 0x00), ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Decode(tt.data, Limits{})
			if !errors.Is(err, tt.want) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
		})
	}
}

// TestLacedSizes checks the three lacings' size arithmetic directly.
func TestLacedSizes(t *testing.T) {
	t.Parallel()
	frames := [][]byte{bytes.Repeat([]byte{1}, 300), bytes.Repeat([]byte{2}, 10), bytes.Repeat([]byte{3}, 700), bytes.Repeat([]byte{4}, 5)}
	for _, tt := range []struct {
		name   string
		lacing byte
		body   []byte
		want   []int
	}{
		{"xiph", lacingXiph, xiphLaced(frames), []int{300, 10, 700, 5}},
		{"ebml", lacingEBML, ebmlLaced(frames), []int{300, 10, 700, 5}},
		{"fixed", lacingFixed, fixedLaced([][]byte{{1, 1}, {2, 2}, {3, 3}}), []int{2, 2, 2}},
	} {
		sizes, rest, err := lacedSizes(tt.body, tt.lacing)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if !slices.Equal(sizes, tt.want) {
			t.Errorf("%s: sizes %v, want %v", tt.name, sizes, tt.want)
		}
		total := 0
		for _, s := range tt.want {
			total += s
		}
		if len(rest) != total {
			t.Errorf("%s: %d frame bytes, want %d", tt.name, len(rest), total)
		}
	}
}
