package codec

import (
	"bytes"
	"fmt"
	"unicode/utf8"
)

// containerEBML is sniff's name for an EBML file before its DocType is
// read.
const containerEBML = "ebml"

// sniffed is what sniff found at the start of some data.
type sniffed struct {
	// container is ContainerWAV, ContainerOgg or containerEBML when Decode
	// reads the data, else empty.
	container string
	// what describes the data for an error message, e.g. "MP3 audio".
	what string
	// magic reports a match on a signature of three or more bytes, which
	// ordinary PCM samples are unlikely to produce by chance.
	magic bool
}

// sniff identifies data by its leading bytes. It recognises the containers
// Decode reads, and names the formats users most often upload by mistake so
// that the error can say what was found.
func sniff(b []byte) sniffed {
	has := func(off int, sig string) bool {
		return len(b) >= off+len(sig) && string(b[off:off+len(sig)]) == sig
	}
	switch {
	case (has(0, "RIFF") || has(0, "RIFX") || has(0, "RF64") || has(0, "BW64")) && has(8, "WAVE"):
		return sniffed{ContainerWAV, "WAV audio", true}
	case has(0, "RIFF") && has(8, "AVI "):
		return sniffed{"", "AVI video", true}
	case has(0, "RIFF") && has(8, "WEBP"):
		return sniffed{"", "a WebP image", true}
	case has(0, "RIFF") && len(b) >= 12:
		return sniffed{"", fmt.Sprintf("a RIFF file of form %q", b[8:12]), true}
	case has(0, "OggS"):
		return sniffed{ContainerOgg, "Ogg", true}
	case has(0, "\x1a\x45\xdf\xa3"):
		return sniffed{containerEBML, "EBML (WebM/Matroska)", true}
	case has(0, "fLaC"):
		return sniffed{"", "FLAC audio", true}
	case has(0, "ID3"):
		return sniffed{"", "MP3 audio (ID3 tag)", true}
	case has(4, "ftyp"):
		return sniffed{"", "MP4/M4A/MOV (as Safari records; not supported)", true}
	case has(0, "FORM") && (has(8, "AIFF") || has(8, "AIFC")):
		return sniffed{"", "AIFF audio", true}
	case has(0, "#!AMR"):
		return sniffed{"", "AMR audio", true}
	case has(0, "caff"):
		return sniffed{"", "CAF audio", true}
	case has(0, "MThd"):
		return sniffed{"", "a MIDI file", true}
	case has(0, "\x89PNG"):
		return sniffed{"", "a PNG image", true}
	case has(0, "\xff\xd8\xff"):
		return sniffed{"", "a JPEG image", true}
	case has(0, "GIF8"):
		return sniffed{"", "a GIF image", true}
	case has(0, "%PDF"):
		return sniffed{"", "a PDF document", true}
	case has(0, "PK\x03\x04"):
		return sniffed{"", "a ZIP archive", true}
	case has(0, "\x1f\x8b"):
		return sniffed{"", "gzip-compressed data", false}
	case len(b) >= 2 && b[0] == 0xff && b[1]&0xe0 == 0xe0:
		// MPEG audio frame sync: eleven set bits. Layer bits 00 are AAC's
		// ADTS framing, anything else MPEG-1/2 layer I–III.
		if b[1]&0x06 == 0 {
			return sniffed{"", "AAC audio (ADTS)", false}
		}
		return sniffed{"", "MP3 audio", false}
	case isText(b):
		return sniffed{"", "text, not audio", false}
	}
	n := min(len(b), 8)
	return sniffed{"", fmt.Sprintf("unrecognised data (first bytes % x)", b[:n]), false}
}

// isText reports whether the start of b reads as UTF-8 text without
// control characters other than tab, newline, carriage return and form
// feed.
func isText(b []byte) bool {
	b = b[:min(len(b), 512)]
	// A multi-byte character cut at the sniffing window is still text.
	for i := 0; i < utf8.UTFMax && len(b) > 0 && !utf8.Valid(b); i++ {
		b = b[:len(b)-1]
	}
	if len(b) == 0 || !utf8.Valid(b) {
		return false
	}
	return bytes.IndexFunc(b, func(r rune) bool {
		return r < 0x20 && r != '\t' && r != '\n' && r != '\r' && r != '\f' || r == 0x7f
	}) < 0
}
