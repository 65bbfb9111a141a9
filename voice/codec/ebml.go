package codec

import (
	"encoding/binary"
	"fmt"
	"math"
)

// EBML and Matroska element IDs read here, as written (with their length
// marker bits).
const (
	idEBML              = 0x1A45DFA3
	idDocType           = 0x4282
	idSegment           = 0x18538067
	idSeekHead          = 0x114D9B74
	idInfo              = 0x1549A966
	idTimestampScale    = 0x2AD7B1
	idDuration          = 0x4489
	idTracks            = 0x1654AE6B
	idTrackEntry        = 0xAE
	idTrackNumber       = 0xD7
	idTrackType         = 0x83
	idCodecID           = 0x86
	idCodecPrivate      = 0x63A2
	idCodecDelay        = 0x56AA
	idContentEncodings  = 0x6D80
	idAudio             = 0xE1
	idSamplingFrequency = 0xB5
	idChannels          = 0x9F
	idCluster           = 0x1F43B675
	idSimpleBlock       = 0xA3
	idBlockGroup        = 0xA0
	idBlock             = 0xA1
	idDiscardPadding    = 0x75A2
	idCues              = 0x1C53BB6B
	idTags              = 0x1254C367
	idChapters          = 0x1043A770
	idAttachments       = 0x1941A469
	idVoid              = 0xEC
	idCRC32             = 0xBF
)

// ebmlName names an element for error messages.
func ebmlName(id uint32) string {
	switch id {
	case idEBML:
		return "EBML header"
	case idSegment:
		return "Segment"
	case idSeekHead:
		return "SeekHead"
	case idInfo:
		return "Info"
	case idTracks:
		return "Tracks"
	case idTrackEntry:
		return "TrackEntry"
	case idCluster:
		return "Cluster"
	case idSimpleBlock:
		return "SimpleBlock"
	case idBlockGroup:
		return "BlockGroup"
	case idBlock:
		return "Block"
	case idCues:
		return "Cues"
	case idTags:
		return "Tags"
	}
	return fmt.Sprintf("element %#x", id)
}

// isTopLevel reports whether id is a child of Segment (or an EBML header or
// Segment itself): an element that ends a Cluster of unknown size.
func isTopLevel(id uint32) bool {
	switch id {
	case idEBML, idSegment, idSeekHead, idInfo, idTracks, idCluster, idCues, idTags, idChapters, idAttachments:
		return true
	}
	return false
}

// ebmlElem is an element's place in the data.
type ebmlElem struct {
	id      uint32
	start   int  // offset of the ID
	data    int  // offset of the payload
	end     int  // offset after the payload; the parent's end when the size is unknown
	unknown bool // the size field is all ones: "until the parent or a higher-level element ends"
}

// payload is e's bytes in b.
func (e ebmlElem) payload(b []byte) []byte { return b[e.data:e.end] }

// readVint reads a variable-length integer (RFC 8794 §4) from the start of
// b and returns its value without the length marker, its length in bytes,
// and whether all its value bits are ones (an unknown size). Lengths over 8
// bytes, and a vint cut by the end of b, are errors.
func readVint(b []byte) (v uint64, n int, allOnes bool, err error) {
	if len(b) == 0 {
		return 0, 0, false, fmt.Errorf("number cut by the end of the data: %w", ErrCorrupt)
	}
	if b[0] == 0 {
		return 0, 0, false, fmt.Errorf("number longer than 8 bytes: %w", ErrCorrupt)
	}
	n = 1
	for mask := byte(0x80); b[0]&mask == 0; mask >>= 1 {
		n++
	}
	if len(b) < n {
		return 0, 0, false, fmt.Errorf("%d-byte number cut by the end of the data: %w", n, ErrCorrupt)
	}
	v = uint64(b[0] & (0xff >> n))
	for _, x := range b[1:n] {
		v = v<<8 | uint64(x)
	}
	return v, n, v == 1<<(7*n)-1, nil
}

// readElem reads the header of the element at b[off:] inside a parent
// that ends at end, and checks that a known size fits the parent.
func readElem(b []byte, off, end int) (ebmlElem, error) {
	in := b[off:end]
	if in[0] < 0x10 {
		return ebmlElem{}, fmt.Errorf("webm: invalid element ID %#x at byte %d: %w", in[0], off, ErrCorrupt)
	}
	_, idLen, _, err := readVint(in)
	if err != nil {
		return ebmlElem{}, fmt.Errorf("webm: element ID at byte %d: %w", off, err)
	}
	var id uint32
	for _, x := range in[:idLen] {
		id = id<<8 | uint32(x)
	}
	size, sizeLen, unknown, err := readVint(in[idLen:])
	if err != nil {
		return ebmlElem{}, fmt.Errorf("webm: size of %s at byte %d: %w", ebmlName(id), off, err)
	}
	e := ebmlElem{id: id, start: off, data: off + idLen + sizeLen, unknown: unknown}
	if unknown {
		e.end = end
		return e, nil
	}
	if size > uint64(end-e.data) {
		return ebmlElem{}, fmt.Errorf("webm: %s at byte %d declares %d bytes, more than the %d left in its parent (truncated file?): %w",
			ebmlName(id), off, size, end-e.data, ErrCorrupt)
	}
	e.end = e.data + int(size)
	return e, nil
}

// ebmlUint reads an unsigned integer element's payload.
func ebmlUint(p []byte) (uint64, error) {
	if len(p) > 8 {
		return 0, fmt.Errorf("webm: %d-byte integer: %w", len(p), ErrCorrupt)
	}
	var v uint64
	for _, x := range p {
		v = v<<8 | uint64(x)
	}
	return v, nil
}

// ebmlInt reads a signed integer element's payload.
func ebmlInt(p []byte) (int64, error) {
	v, err := ebmlUint(p)
	if err != nil || len(p) == 0 {
		return 0, err
	}
	shift := 64 - 8*uint(len(p))
	return int64(v<<shift) >> shift, nil
}

// ebmlFloat reads a float element's payload: 0, 4 or 8 bytes.
func ebmlFloat(p []byte) (float64, error) {
	switch len(p) {
	case 0:
		return 0, nil
	case 4:
		return float64(math.Float32frombits(binary.BigEndian.Uint32(p))), nil
	case 8:
		return math.Float64frombits(binary.BigEndian.Uint64(p)), nil
	}
	return 0, fmt.Errorf("webm: %d-byte float: %w", len(p), ErrCorrupt)
}
