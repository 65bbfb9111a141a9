package extract

// flatDict holds the top-level entries of a dictionary that scanPDF cares
// about: names, integers, arrays of integers, and which keys exist.
type flatDict struct {
	names map[string]string
	nums  map[string]int64
	lists map[string][]int64
	keys  map[string]bool
	subs  map[string]flatDict // nested dictionaries, one level down
}

// The accessors return zero values for absent keys.

func (d flatDict) has(k string) bool     { return d.keys[k] }
func (d flatDict) name(k string) string  { return d.names[k] }
func (d flatDict) int(k string) int64    { return d.nums[k] }
func (d flatDict) ints(k string) []int64 { return d.lists[k] }
func (d flatDict) sub(k string) flatDict { return d.subs[k] }

func (d flatDict) intOK(k string) (int64, bool) {
	v, ok := d.nums[k]
	return v, ok
}

// newFlatDict returns an empty flatDict.
func newFlatDict() flatDict {
	return flatDict{names: map[string]string{}, nums: map[string]int64{}, lists: map[string][]int64{}, keys: map[string]bool{}, subs: map[string]flatDict{}}
}

// parseFlatDict reads the dictionary data starts with. Nested values are
// skipped except arrays of numbers (and an array's first name, for
// /Filter) and dictionaries one level down (for /DecodeParms). It stops at
// the first keyword that cannot be inside a dictionary, so it reads little
// of a damaged file.
func parseFlatDict(data []byte) flatDict {
	lx := lexer{data: data}
	if lx.next().kind != tokDictOpen {
		return newFlatDict()
	}
	return readFlatDict(&lx, 1)
}

// readFlatDict reads the entries of a dictionary whose "<<" lx has just
// read, and nested dictionaries while levels > 0.
func readFlatDict(lx *lexer, levels int) flatDict {
	d := newFlatDict()
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
				if g, ok := lx.nextInteger(); ok && g >= 0 {
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
			ok := walkValue(lx, func(e token, depth int) {
				if depth != 1 {
					return
				}
				switch e.kind {
				case tokNumber:
					if n, ok := e.integer(); ok {
						list = append(list, n)
					}
				case tokName:
					if names++; names == 1 {
						d.names[key] = nameString(e)
					} else {
						d.names[key] = "(several)"
					}
				}
			})
			if !ok {
				return d
			}
			d.lists[key] = list
		case tokDictOpen:
			if levels > 0 {
				d.subs[key] = readFlatDict(lx, levels-1)
				continue
			}
			if !walkValue(lx, nil) {
				return d
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

// walkValue reads to the end of the array or dictionary just opened,
// calling visit (when set) with every other token and its nesting depth (1
// for the opened one). It reports false when the input ends, or a keyword
// that cannot stand in a value shows the structure is broken.
func walkValue(lx *lexer, visit func(e token, depth int)) bool {
	depth := 1
	for depth > 0 {
		e := lx.next()
		switch e.kind {
		case tokEOF:
			return false
		case tokKeyword:
			if !isValueKeyword(e) {
				return false
			}
		case tokArrayOpen, tokDictOpen:
			depth++
			continue
		case tokArrayClose, tokDictClose:
			depth--
			continue
		}
		if visit != nil {
			visit(e, depth)
		}
	}
	return true
}
