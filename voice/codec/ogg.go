package codec

import (
	"encoding/binary"
	"fmt"
)

// Ogg page layout (RFC 3533 §6).
const (
	oggMagic         = "OggS"
	oggHeaderLen     = 27 // fixed part, before the segment table
	oggMaxSegments   = 255
	oggMaxPage       = oggHeaderLen + oggMaxSegments + oggMaxSegments*255
	oggFlagContinued = 0x01 // the page starts with the rest of a packet
	oggFlagBOS       = 0x02 // first page of a logical stream
	oggFlagEOS       = 0x04 // last page of a logical stream
	// oggNoGranule is the granule position of a page on which no packet
	// ends.
	oggNoGranule = -1
)

// oggCRCTable is the lookup table of the Ogg page checksum: CRC-32 with
// polynomial 0x04c11db7, not reflected, initial value and final XOR 0 —
// not the reflected CRC-32 of hash/crc32.
func oggCRCTable() *[256]uint32 {
	var t [256]uint32
	for i := range t {
		r := uint32(i) << 24
		for range 8 {
			if r&0x80000000 != 0 {
				r = r<<1 ^ 0x04c11db7
			} else {
				r <<= 1
			}
		}
		t[i] = r
	}
	return &t
}

// oggCRC computes Ogg page checksums. Each Decode and writer builds its own
// table (1 KiB, about a microsecond), so the package keeps no shared state.
type oggCRC struct{ table *[256]uint32 }

func newOggCRC() oggCRC { return oggCRC{table: oggCRCTable()} }

// update continues checksum crc over b.
func (c oggCRC) update(crc uint32, b []byte) uint32 {
	for _, x := range b {
		crc = crc<<8 ^ c.table[byte(crc>>24)^x]
	}
	return crc
}

// page is the checksum of a whole page, taking its CRC field (bytes 22–25)
// as zero whatever it holds.
func (c oggCRC) page(p []byte) uint32 {
	crc := c.update(0, p[:22])
	crc = c.update(crc, []byte{0, 0, 0, 0})
	return c.update(crc, p[26:])
}

// oggPage is one parsed page. Its slices point into the input.
type oggPage struct {
	offset   int // of the page in the input
	flags    byte
	granule  int64
	serial   uint32
	sequence uint32
	lacing   []byte // the segment table
	body     []byte
}

// size is the page's length in bytes.
func (p oggPage) size() int { return oggHeaderLen + len(p.lacing) + len(p.body) }

// parseOggPage parses and checks the page at data[off:]. The error wraps
// ErrCorrupt, saying whether the page is truncated, malformed or fails
// its checksum.
func parseOggPage(data []byte, off int, crc oggCRC) (oggPage, error) {
	rest := data[off:]
	if len(rest) < oggHeaderLen {
		return oggPage{}, fmt.Errorf("ogg: file ends inside the page header at byte %d (truncated file?): %w", off, ErrCorrupt)
	}
	if string(rest[:4]) != oggMagic {
		return oggPage{}, fmt.Errorf("ogg: no page at byte %d (capture pattern missing): %w", off, ErrCorrupt)
	}
	if rest[4] != 0 {
		return oggPage{}, fmt.Errorf("ogg: page at byte %d has stream structure version %d: %w", off, rest[4], ErrCorrupt)
	}
	le := binary.LittleEndian
	p := oggPage{
		offset:   off,
		flags:    rest[5],
		granule:  int64(le.Uint64(rest[6:])),
		serial:   le.Uint32(rest[14:]),
		sequence: le.Uint32(rest[18:]),
	}
	if p.flags&^(oggFlagContinued|oggFlagBOS|oggFlagEOS) != 0 {
		return oggPage{}, fmt.Errorf("ogg: page at byte %d has unknown flags %#x: %w", off, p.flags, ErrCorrupt)
	}
	nseg := int(rest[26])
	if len(rest) < oggHeaderLen+nseg {
		return oggPage{}, fmt.Errorf("ogg: file ends inside the segment table of the page at byte %d (truncated file?): %w", off, ErrCorrupt)
	}
	p.lacing = rest[oggHeaderLen : oggHeaderLen+nseg]
	bodyLen := 0
	for _, v := range p.lacing {
		bodyLen += int(v)
	}
	end := oggHeaderLen + nseg + bodyLen
	if len(rest) < end {
		return oggPage{}, fmt.Errorf("ogg: file ends %d bytes into the %d-byte page at byte %d (truncated file?): %w", len(rest), end, off, ErrCorrupt)
	}
	p.body = rest[oggHeaderLen+nseg : end]

	want := le.Uint32(rest[22:])
	if c := crc.page(rest[:end]); c != want {
		return oggPage{}, fmt.Errorf("ogg: page %d of stream %#x at byte %d fails its checksum (stored %#08x, computed %#08x): %w", p.sequence, p.serial, off, want, c, ErrCorrupt)
	}
	return p, nil
}

// appendOggPage appends a page holding the given lacing values and body to
// dst, with its checksum.
func appendOggPage(dst []byte, crc oggCRC, flags byte, granule int64, serial, sequence uint32, lacing, body []byte) []byte {
	le := binary.LittleEndian
	start := len(dst)
	dst = append(dst, oggMagic...)
	dst = append(dst, 0, flags)
	dst = le.AppendUint64(dst, uint64(granule))
	dst = le.AppendUint32(dst, serial)
	dst = le.AppendUint32(dst, sequence)
	dst = le.AppendUint32(dst, 0) // checksum, filled in below
	dst = append(dst, byte(len(lacing)))
	dst = append(dst, lacing...)
	dst = append(dst, body...)
	le.PutUint32(dst[start+22:], crc.page(dst[start:]))
	return dst
}

// appendLacing appends the lacing values of a packet of n bytes: n/255
// values of 255 and one of n%255 (0 when n is a multiple of 255, which
// marks the end).
func appendLacing(dst []byte, n int) []byte {
	for ; n >= 255; n -= 255 {
		dst = append(dst, 255)
	}
	return append(dst, byte(n))
}
