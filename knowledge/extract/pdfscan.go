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
// "[" would overflow the stack, which cannot be recovered), recurses
// through object streams said to live in object streams, loops forever on
// an array left open at the end of an object stream or on a /Prev chain
// that points back at itself, and allocates whatever a /Size or xref
// subsection asks for. scanPDF finds these before the reader sees them.
const (
	maxPDFNesting    = 256
	maxScanDecoded   = 512 << 20 // object and xref streams decompressed by scanPDF
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

// scanner holds the state of scanPDF.
type scanner struct {
	ctx        context.Context
	data       []byte
	info       pdfScan
	maxObjects int64
	sections   map[int]xrefSection // by offset of "xref" or of an xref stream's "N G obj"
	inStreams  [][2]uint32         // (object, object stream) pairs from xref streams
	decoded    int
	lexed      int // bytes lexed, against a budget that overlapping objects would blow
	budget     int
}

// scanPDF checks a file the way the reader will read it. The reader parses
// only from cross-reference offsets, which must hold "N G obj", and from
// the xref tables and trailers that startxref and /Prev point at; so
// scanPDF checks every object that follows an "obj" keyword, every "xref"
// table and every "trailer" anywhere in the file (stream data and strings
// included, since offsets may point into them), then the /Prev chain.
func scanPDF(ctx context.Context, data []byte) (pdfScan, error) {
	s := &scanner{
		ctx:        ctx,
		data:       data,
		maxObjects: int64(len(data)) + 4096,
		sections:   map[int]xrefSection{},
		budget:     2*len(data) + 1<<20,
	}
	for _, kw := range []string{"obj", "xref", "trailer"} {
		for pos := range keywordPositions(data, kw) {
			if err := s.check(kw, pos); err != nil {
				return s.info, err
			}
			if s.lexed > s.budget {
				return s.info, fmt.Errorf("extract: pdf: its objects overlap each other: %w", ErrCorrupt)
			}
		}
	}
	startxref := int64(-1)
	if i := bytes.LastIndex(data, []byte("startxref")); i >= 0 {
		lx := lexer{data: data, pos: i + len("startxref")}
		if v, ok := lx.nextInteger(); ok {
			startxref = v
		}
	}
	if err := checkPrevChain(data, startxref, s.sections); err != nil {
		return s.info, err
	}
	return s.info, checkNestedObjectStreams(s.inStreams)
}

// keywordPositions yields the offsets just past each occurrence of kw that
// stands alone as a keyword (so "endobj" is not "obj").
func keywordPositions(data []byte, kw string) func(func(int) bool) {
	return func(yield func(int) bool) {
		for from := 0; from < len(data); {
			i := bytes.Index(data[from:], []byte(kw))
			if i < 0 {
				return
			}
			at := from + i
			end := at + len(kw)
			from = end
			if at > 0 && !isPDFSpace(data[at-1]) && !isPDFDelim(data[at-1]) {
				continue
			}
			if end < len(data) && !isPDFSpace(data[end]) && !isPDFDelim(data[end]) {
				continue
			}
			if !yield(end) {
				return
			}
		}
	}
}

// check checks what follows one keyword occurrence (pos is just past it).
func (s *scanner) check(kw string, pos int) error {
	if err := s.ctx.Err(); err != nil {
		return fmt.Errorf("extract: pdf: %w", err)
	}
	lx := lexer{data: s.data, pos: pos}
	defer func() { s.lexed += lx.pos - pos }()
	switch kw {
	case "xref":
		if err := checkXrefTable(&lx, s.maxObjects); err != nil {
			return err
		}
		if !lx.next().is("trailer") {
			return nil
		}
		d := parseFlatDict(s.data[lx.pos:])
		s.sections[pos-len(kw)] = xrefSection{prev: d.int("Prev"), hasPrev: d.has("Prev")}
		return nil
	case "trailer":
		if _, err := checkNesting(&lx); err != nil {
			return err
		}
		d := parseFlatDict(s.data[pos:])
		if size, ok := d.intOK("Size"); ok && (size < 0 || size > s.maxObjects) {
			return fmt.Errorf("extract: pdf: the trailer declares %d objects: %w", size, ErrCorrupt)
		}
		if d.has("Encrypt") {
			s.info.encrypted = true
		}
		return nil
	}
	// An object: its header is the two integers before "obj".
	header := pos - len(kw)
	if h := objectHeader(s.data, header); h >= 0 {
		header = h
	}
	stream, err := checkNesting(&lx)
	if err != nil || !stream {
		return err
	}
	streamKW := lx.pos - len("stream")
	bodyStart := streamDataStart(s.data, lx.pos)
	body := lx.skipStreamData()
	dict := parseFlatDict(s.data[pos:streamKW])
	switch dict.name("Type") {
	case "XRef":
		if err := checkXrefStream(dict, s.maxObjects); err != nil {
			return err
		}
		if dict.has("Encrypt") {
			s.info.encrypted = true
		}
		s.sections[header] = xrefSection{prev: dict.int("Prev"), hasPrev: dict.has("Prev")}
		pairs, n, err := xrefStreamObjects(dict, body)
		if err != nil {
			return err
		}
		s.inStreams = append(s.inStreams, pairs...)
		return s.addDecoded(n)
	case "ObjStm":
		n, err := checkObjectStream(dict, s.data, bodyStart, body, s.maxObjects)
		if err != nil {
			return err
		}
		return s.addDecoded(n)
	}
	return nil
}

// addDecoded counts decompressed bytes against maxScanDecoded.
func (s *scanner) addDecoded(n int) error {
	if s.decoded += n; s.decoded > maxScanDecoded {
		return fmt.Errorf("extract: pdf: its object and cross-reference streams expand past %d MiB: %w", maxScanDecoded>>20, ErrTooLarge)
	}
	return nil
}

// checkNesting lexes one object, up to a keyword that ends it, and refuses
// nesting deeper than maxPDFNesting. It reports whether the object is a
// stream, leaving lx just past "stream".
func checkNesting(lx *lexer) (stream bool, err error) {
	depth := 0
	for {
		t := lx.next()
		switch t.kind {
		case tokEOF:
			return false, nil
		case tokArrayOpen, tokDictOpen:
			if depth++; depth > maxPDFNesting {
				return false, fmt.Errorf("extract: pdf: objects are nested more than %d deep: %w", maxPDFNesting, ErrCorrupt)
			}
		case tokArrayClose, tokDictClose:
			depth = max(depth-1, 0)
		case tokKeyword:
			switch string(t.raw) {
			case "stream":
				return true, nil
			case "endobj", "obj", "endstream", "xref", "trailer", "startxref":
				return false, nil
			}
		}
	}
}

// objectHeader returns the offset of "N G" before the "obj" at kwAt, or -1.
func objectHeader(data []byte, kwAt int) int {
	i := kwAt
	for n := 0; n < 2; n++ {
		for i > 0 && isPDFSpace(data[i-1]) {
			i--
		}
		j := i
		for j > 0 && data[j-1] >= '0' && data[j-1] <= '9' {
			j--
		}
		if j == i {
			return -1
		}
		i = j
	}
	return i
}

// nextInteger reads the next token if it is an integer; otherwise it
// leaves the lexer where it was.
func (l *lexer) nextInteger() (int64, bool) {
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
		start, ok1 := lx.nextInteger()
		if !ok1 {
			return nil
		}
		count, ok2 := lx.nextInteger()
		if !ok2 {
			lx.pos = save
			return nil
		}
		if start < 0 || count < 0 || start > maxObjects || count > maxObjects || start+count > maxObjects {
			return fmt.Errorf("extract: pdf: the cross-reference table lists objects up to %d in a file of %d bytes: %w", start+count, maxObjects-4096, ErrCorrupt)
		}
		for i := int64(0); i < count; i++ {
			if _, ok := lx.nextInteger(); !ok {
				return nil
			}
			if _, ok := lx.nextInteger(); !ok {
				return nil
			}
			if t := lx.next(); !t.is("n") && !t.is("f") {
				return nil
			}
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
		if idx[i] < 0 || idx[i+1] < 0 || idx[i] > maxObjects || idx[i+1] > maxObjects || idx[i]+idx[i+1] > maxObjects {
			return fmt.Errorf("extract: pdf: the cross-reference stream indexes objects up to %d: %w", idx[i]+idx[i+1], ErrCorrupt)
		}
	}
	return nil
}

// streamDataStart returns where a stream's data starts, pos being just
// past its "stream" keyword (the reader's rule: CR LF, LF or a lone CR).
func streamDataStart(data []byte, pos int) int {
	if pos < len(data) && data[pos] == '\r' {
		pos++
	}
	if pos < len(data) && data[pos] == '\n' {
		pos++
	}
	return pos
}

// checkObjectStream refuses an object stream the reader would loop on,
// and returns how many bytes it decompressed. body is its data up to
// "endstream"; bodyStart is where that starts in data.
func checkObjectStream(d flatDict, data []byte, bodyStart int, body []byte, maxObjects int64) (int, error) {
	if n, ok := d.intOK("N"); ok && (n < 0 || n > maxObjects) {
		return 0, fmt.Errorf("extract: pdf: an object stream declares %d objects: %w", n, ErrCorrupt)
	}
	if d.has("Extends") {
		// The reader follows /Extends without checking for a cycle.
		return 0, fmt.Errorf("extract: pdf: object streams that extend others are not supported: %w", ErrCorrupt)
	}
	switch {
	case !d.has("Filter"):
		// The reader reads /Length bytes, whatever "endstream" says; a
		// length that cuts an array short would make it loop.
		length, ok := d.intOK("Length")
		if !ok || length < 0 {
			return 0, fmt.Errorf("extract: pdf: an uncompressed object stream has no direct /Length: %w", ErrCorrupt)
		}
		end := len(data)
		if length < int64(end-bodyStart) {
			end = bodyStart + int(length)
		}
		return 0, checkObjects(data[bodyStart:end])
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

// xrefStreamObjects decodes an xref stream and returns its entries for
// objects stored in object streams, as (object, stream) pairs, and how many
// bytes it decompressed. Streams it cannot decode are left to the reader.
func xrefStreamObjects(d flatDict, body []byte) ([][2]uint32, int, error) {
	data := body
	switch {
	case !d.has("Filter"):
	case d.name("Filter") == "FlateDecode":
		zr, err := zlib.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, 0, nil
		}
		data, _ = io.ReadAll(io.LimitReader(zr, maxStreamDecoded+1))
		if len(data) > maxStreamDecoded {
			return nil, 0, fmt.Errorf("extract: pdf: a cross-reference stream expands past %d MiB: %w", maxStreamDecoded>>20, ErrTooLarge)
		}
	default:
		return nil, 0, nil
	}
	n := len(data)
	parms := d.sub("DecodeParms")
	switch pred := parms.int("Predictor"); {
	case pred >= 10:
		columns := int64(1)
		if c, ok := parms.intOK("Columns"); ok {
			columns = c
		}
		if columns <= 0 || columns > 1<<16 {
			return nil, n, nil
		}
		data = unpredictPNG(data, int(columns))
	case pred > 1:
		return nil, n, nil
	}
	w := d.ints("W")
	w0, w1, w2 := int(w[0]), int(w[1]), int(w[2])
	row := w0 + w1 + w2
	if row == 0 {
		return nil, n, nil
	}
	index := d.ints("Index")
	if len(index) == 0 {
		index = []int64{0, d.int("Size")}
	}
	var pairs [][2]uint32
	for i := 0; i+1 < len(index) && len(data) >= row; i += 2 {
		for obj := index[i]; obj < index[i]+index[i+1] && len(data) >= row; obj++ {
			typ := uint32(1)
			if w0 > 0 {
				typ = codeOf(data[:w0])
			}
			if typ == 2 {
				pairs = append(pairs, [2]uint32{uint32(obj), codeOf(data[w0 : w0+w1])})
			}
			data = data[row:]
		}
	}
	return pairs, n, nil
}

// unpredictPNG undoes PNG row predictors (one byte per pixel, as in xref
// streams): each row is a filter-type byte and columns bytes.
func unpredictPNG(data []byte, columns int) []byte {
	out := make([]byte, 0, len(data))
	prev := make([]byte, columns)
	cur := make([]byte, columns)
	for len(data) >= columns+1 {
		filter, row := data[0], data[1:columns+1]
		data = data[columns+1:]
		for i, x := range row {
			var left, upLeft byte
			if i > 0 {
				left, upLeft = cur[i-1], prev[i-1]
			}
			up := prev[i]
			switch filter {
			case 1:
				x += left
			case 2:
				x += up
			case 3:
				x += byte((int(left) + int(up)) / 2)
			case 4:
				x += paeth(left, up, upLeft)
			}
			cur[i] = x
		}
		out = append(out, cur...)
		prev, cur = cur, prev
	}
	return out
}

// paeth is the PNG Paeth predictor.
func paeth(a, b, c byte) byte {
	p := int(a) + int(b) - int(c)
	pa, pb, pc := abs(p-int(a)), abs(p-int(b)), abs(p-int(c))
	switch {
	case pa <= pb && pa <= pc:
		return a
	case pb <= pc:
		return b
	}
	return c
}

// abs returns |x|.
func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// checkNestedObjectStreams refuses an object stream that is itself listed
// as stored in an object stream (which the format forbids): the reader
// resolves such a chain by recursion, and a cycle would overflow the stack.
func checkNestedObjectStreams(pairs [][2]uint32) error {
	streams := map[uint32]bool{}
	for _, p := range pairs {
		streams[p[1]] = true
	}
	for _, p := range pairs {
		if streams[p[0]] {
			return fmt.Errorf("extract: pdf: object stream %d is stored inside another object stream: %w", p[0], ErrCorrupt)
		}
	}
	return nil
}
