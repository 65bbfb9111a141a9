package extract

import (
	"bytes"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"io"
)

// Limits on PDF syntax. The PDF reader this package uses has no limits of
// its own: it recurses once per nested array or dictionary (a few MB of
// "[" would overflow the stack, which cannot be recovered), loops forever on
// an array left open at the end of an object stream or on a /Prev chain
// that points back at itself, and allocates whatever a /Size or xref
// subsection asks for. scanPDF finds these before the reader sees them.
const (
	maxPDFNesting    = 256
	maxScanDecoded   = 512 << 20 // object streams decompressed by scanPDF
	maxStreamDecoded = 64 << 20  // one stream decompressed by scanPDF or read for its content
)

// pdfScan is what scanPDF learned about a file.
type pdfScan struct {
	encrypted bool // a trailer or xref stream has /Encrypt
}

// xrefSection is one cross-reference section and the /Prev it names.
type xrefSection struct {
	prev    int64
	hasPrev bool
}

// scanPDF reads the whole file once as PDF syntax and refuses what would
// make the reader crash, hang or exhaust memory (see the limits above).
func scanPDF(ctx context.Context, data []byte) (pdfScan, error) {
	var (
		info         pdfScan
		lx           = lexer{data: data}
		depth        int
		objStart           = -1 // where the body of the last "N G obj" starts
		objHeader          = -1 // where that "N G obj" starts
		startxref    int64 = -1
		sections           = map[int]xrefSection{} // by offset of "xref" or of the xref stream's "N G obj"
		prev2, prev1 token                         // the two tokens before the current one
		decoded      int
		xrefAt       = -1 // offset of the "xref" keyword whose trailer comes next
	)
	maxObjects := int64(len(data)) + 4096
	for n := 0; ; n++ {
		if n&(1<<16-1) == 0 {
			if err := ctx.Err(); err != nil {
				return info, fmt.Errorf("extract: pdf: %w", err)
			}
		}
		t := lx.next()
		switch t.kind {
		case tokEOF:
			if err := checkPrevChain(data, startxref, sections); err != nil {
				return info, err
			}
			return info, nil
		case tokArrayOpen, tokDictOpen:
			depth++
			if depth > maxPDFNesting {
				return info, fmt.Errorf("extract: pdf: objects are nested more than %d deep: %w", maxPDFNesting, ErrCorrupt)
			}
		case tokArrayClose, tokDictClose:
			depth = max(depth-1, 0)
		case tokKeyword:
			switch string(t.raw) {
			case "obj":
				depth = 0
				objStart, objHeader = lx.pos, t.pos
				if _, ok := prev2.integer(); ok {
					if _, ok := prev1.integer(); ok {
						objHeader = prev2.pos
					}
				}
			case "endobj":
				depth = 0
			case "stream":
				streamKW := t.pos
				body := lx.skipStreamData()
				if objStart < 0 || objStart > streamKW {
					break
				}
				dict := parseFlatDict(data[objStart:streamKW])
				switch dict.name("Type") {
				case "XRef":
					if err := checkXrefStream(dict, maxObjects); err != nil {
						return info, err
					}
					if dict.has("Encrypt") {
						info.encrypted = true
					}
					sections[objHeader] = xrefSection{prev: dict.int("Prev"), hasPrev: dict.has("Prev")}
				case "ObjStm":
					n, err := checkObjectStream(dict, body, maxObjects)
					if err != nil {
						return info, err
					}
					if decoded += n; decoded > maxScanDecoded {
						return info, fmt.Errorf("extract: pdf: its object streams expand past %d MiB: %w", maxScanDecoded>>20, ErrTooLarge)
					}
				}
				objStart = -1
				depth = 0
			case "xref":
				xrefAt = t.pos
				if err := checkXrefTable(&lx, maxObjects); err != nil {
					return info, err
				}
			case "trailer":
				dict := parseFlatDict(data[lx.pos:])
				if size, ok := dict.intOK("Size"); ok && (size < 0 || size > maxObjects) {
					return info, fmt.Errorf("extract: pdf: the trailer declares %d objects: %w", size, ErrCorrupt)
				}
				if dict.has("Encrypt") {
					info.encrypted = true
				}
				if xrefAt >= 0 {
					sections[xrefAt] = xrefSection{prev: dict.int("Prev"), hasPrev: dict.has("Prev")}
					xrefAt = -1
				}
			case "startxref":
				if v, ok := lx.peekInteger(); ok {
					startxref = v
				}
			}
		}
		prev2, prev1 = prev1, t
	}
}

// peekInteger returns the integer token that comes next without consuming
// anything else.
func (l *lexer) peekInteger() (int64, bool) {
	save := l.pos
	t := l.next()
	v, ok := t.integer()
	if !ok {
		l.pos = save
	}
	return v, ok
}

// checkXrefTable reads the subsection headers of a classic xref table
// ("start count" followed by count entries) and refuses object numbers
// beyond maxObjects, which the reader would allocate a table for.
func checkXrefTable(lx *lexer, maxObjects int64) error {
	for {
		save := lx.pos
		start, ok1 := lx.peekInteger()
		if !ok1 {
			return nil
		}
		count, ok2 := lx.peekInteger()
		if !ok2 {
			lx.pos = save
			return nil
		}
		if start < 0 || count < 0 || start+count > maxObjects {
			return fmt.Errorf("extract: pdf: the cross-reference table lists objects up to %d in a file of %d bytes: %w", start+count, maxObjects-4096, ErrCorrupt)
		}
		for i := int64(0); i < count; i++ {
			off, ok := lx.peekInteger()
			if !ok {
				return nil
			}
			if _, ok := lx.peekInteger(); !ok {
				return nil
			}
			if t := lx.next(); !t.is("n") && !t.is("f") {
				return nil
			}
			_ = off
		}
	}
}

// checkXrefStream refuses an xref stream dictionary whose /Size, /W or
// /Index would make the reader allocate without bound.
func checkXrefStream(d flatDict, maxObjects int64) error {
	if size, ok := d.intOK("Size"); ok && (size < 0 || size > maxObjects) {
		return fmt.Errorf("extract: pdf: the cross-reference stream declares %d objects: %w", size, ErrCorrupt)
	}
	w := d.ints("W")
	if len(w) < 3 {
		return fmt.Errorf("extract: pdf: the cross-reference stream has no valid /W: %w", ErrCorrupt)
	}
	for _, v := range w {
		if v < 0 || v > 8 {
			return fmt.Errorf("extract: pdf: the cross-reference stream has field widths %v: %w", w, ErrCorrupt)
		}
	}
	idx := d.ints("Index")
	for i := 0; i+1 < len(idx); i += 2 {
		if idx[i] < 0 || idx[i+1] < 0 || idx[i]+idx[i+1] > maxObjects {
			return fmt.Errorf("extract: pdf: the cross-reference stream indexes objects up to %d: %w", idx[i]+idx[i+1], ErrCorrupt)
		}
	}
	return nil
}

// checkObjectStream refuses an object stream the reader would loop on,
// and returns how many bytes it decompressed.
func checkObjectStream(d flatDict, body []byte, maxObjects int64) (int, error) {
	if n, ok := d.intOK("N"); ok && (n < 0 || n > maxObjects) {
		return 0, fmt.Errorf("extract: pdf: an object stream declares %d objects: %w", n, ErrCorrupt)
	}
	if d.has("Extends") {
		// The reader follows /Extends without checking for a cycle.
		return 0, fmt.Errorf("extract: pdf: object streams that extend others are not supported: %w", ErrCorrupt)
	}
	switch {
	case !d.has("Filter"):
		return 0, checkObjects(body)
	case d.name("Filter") != "FlateDecode" || d.has("DecodeParms"):
		return 0, fmt.Errorf("extract: pdf: an object stream uses an unsupported encoding: %w", ErrCorrupt)
	}
	zr, err := zlib.NewReader(bytes.NewReader(body))
	if err != nil {
		// Not zlib data: encrypted (checked by nothing, left to the
		// reader), or broken, which the reader reports cleanly.
		return 0, nil
	}
	out, err := io.ReadAll(io.LimitReader(zr, maxStreamDecoded+1))
	if len(out) > maxStreamDecoded {
		return 0, fmt.Errorf("extract: pdf: an object stream expands past %d MiB: %w", maxStreamDecoded>>20, ErrTooLarge)
	}
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		// Not compressed data after all (encrypted, most likely).
		return len(out), nil
	}
	if err := checkObjects(out); err != nil {
		return len(out), err
	}
	return len(out), nil
}

// checkObjects refuses decoded object-stream content with nesting deeper
// than maxPDFNesting, or an array or string left open at its end (the
// reader reads past the end of an object stream as endless white space).
func checkObjects(data []byte) error {
	lx := lexer{data: data}
	depth := 0
	arrays := 0
	for {
		t := lx.next()
		switch t.kind {
		case tokEOF:
			if arrays > 0 {
				return fmt.Errorf("extract: pdf: an object stream ends inside an array: %w", ErrCorrupt)
			}
			return nil
		case tokHex, tokString:
			if t.open {
				return fmt.Errorf("extract: pdf: an object stream ends inside a string: %w", ErrCorrupt)
			}
		case tokArrayOpen:
			arrays++
			depth++
		case tokDictOpen:
			depth++
		case tokArrayClose:
			arrays = max(arrays-1, 0)
			depth = max(depth-1, 0)
		case tokDictClose:
			depth = max(depth-1, 0)
		}
		if depth > maxPDFNesting {
			return fmt.Errorf("extract: pdf: objects are nested more than %d deep: %w", maxPDFNesting, ErrCorrupt)
		}
	}
}

// checkPrevChain follows the cross-reference sections from startxref
// through their /Prev links, as the reader will, and refuses a cycle.
func checkPrevChain(data []byte, startxref int64, sections map[int]xrefSection) error {
	seen := map[int]bool{}
	off := startxref
	for off >= 0 && off < int64(len(data)) {
		at := int(off)
		for at < len(data) && isPDFSpace(data[at]) {
			at++
		}
		if seen[at] {
			return fmt.Errorf("extract: pdf: the cross-reference sections form a loop: %w", ErrCorrupt)
		}
		seen[at] = true
		s, ok := sections[at]
		if !ok || !s.hasPrev {
			return nil
		}
		off = s.prev
	}
	return nil
}

// flatDict holds the top-level entries of a dictionary that scanPDF cares
// about: names, integers, arrays of integers, and which keys exist.
type flatDict struct {
	names map[string]string
	nums  map[string]int64
	lists map[string][]int64
	keys  map[string]bool
}

func (d flatDict) has(k string) bool     { return d.keys[k] }
func (d flatDict) name(k string) string  { return d.names[k] }
func (d flatDict) int(k string) int64    { return d.nums[k] }
func (d flatDict) ints(k string) []int64 { return d.lists[k] }

func (d flatDict) intOK(k string) (int64, bool) {
	v, ok := d.nums[k]
	return v, ok
}

// parseFlatDict reads the dictionary data starts with. Nested values are
// skipped except arrays of numbers (and an array's first name, for /Filter).
// It stops at the first keyword that cannot be inside a dictionary, so it
// reads little of a damaged file.
func parseFlatDict(data []byte) flatDict {
	d := flatDict{names: map[string]string{}, nums: map[string]int64{}, lists: map[string][]int64{}, keys: map[string]bool{}}
	lx := lexer{data: data}
	if lx.next().kind != tokDictOpen {
		return d
	}
	for {
		t := lx.next()
		switch t.kind {
		case tokEOF, tokDictClose:
			return d
		case tokName:
		case tokKeyword:
			if !isValueKeyword(t) {
				return d
			}
			continue
		default:
			continue
		}
		key := nameString(t)
		d.keys[key] = true
		v := lx.next()
		switch v.kind {
		case tokName:
			d.names[key] = nameString(v)
		case tokNumber:
			if n, ok := v.integer(); ok {
				d.nums[key] = n
				// "N G R" is a reference, not a number.
				save := lx.pos
				if g, ok := lx.peekInteger(); ok && g >= 0 {
					if r := lx.next(); r.is("R") {
						delete(d.nums, key)
						continue
					}
				}
				lx.pos = save
			}
		case tokArrayOpen:
			var list []int64
			names := 0
			depth := 1
			for depth > 0 {
				e := lx.next()
				switch e.kind {
				case tokEOF:
					return d
				case tokKeyword:
					if !isValueKeyword(e) {
						return d
					}
				case tokArrayOpen, tokDictOpen:
					depth++
				case tokArrayClose, tokDictClose:
					depth--
				case tokNumber:
					if n, ok := e.integer(); ok && depth == 1 {
						list = append(list, n)
					}
				case tokName:
					if depth == 1 {
						if names++; names == 1 {
							d.names[key] = nameString(e)
						} else {
							d.names[key] = "(several)"
						}
					}
				}
			}
			d.lists[key] = list
		case tokDictOpen:
			depth := 1
			for depth > 0 {
				switch e := lx.next(); e.kind {
				case tokEOF:
					return d
				case tokKeyword:
					if !isValueKeyword(e) {
						return d
					}
				case tokArrayOpen, tokDictOpen:
					depth++
				case tokArrayClose, tokDictClose:
					depth--
				}
			}
		}
	}
}

// isValueKeyword reports whether t is a keyword that can appear inside a
// dictionary or array: a reference's R, true, false or null.
func isValueKeyword(t token) bool {
	switch string(t.raw) {
	case "R", "true", "false", "null":
		return true
	}
	return false
}
