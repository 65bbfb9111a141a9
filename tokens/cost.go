package tokens

import "unicode/utf8"

// Costs are in milli-tokens. They were fitted by weighted least squares on
// the cl100k_base token counts of every pre-tokenizer piece of the corpus in
// testdata/cl100k.jsonl (about 54,000 pieces; weights favour English prose
// and source code, see testdata/README.md). The constants marked "set by
// hand" had too little data to fit and come from direct measurements of
// single runs (for example 80 spaces in a row are one token).
const (
	costContraction = 1000 // "'s", "'re", …: always one token
	costNumber      = 1000 // one to three digits: always one token

	// A run of whitespace is one token; long runs cost a little per rune
	// (set by hand: 1000 spaces are 9 tokens, 1000 newlines 32, 1000 tabs
	// 63).
	costSpaceRun    = 1000
	costExtraSpace  = 9
	costExtraTab    = 62
	costExtraNL     = 31
	costExtraOtherS = 1000 // non-ASCII whitespace such as U+3000 (set by hand)

	// Punctuation pieces: a base when the block has ASCII symbols, plus a
	// little per symbol and more per change of symbol ("}))" costs more
	// than "---").
	costPunct        = 940
	costPunctRune    = 30
	costPunctChange  = 76  // for each of the first four changes
	costPunctChangeX = 573 // for each change after the fourth
	costPunctNL      = 14  // a trailing newline ("{\n" is one token)
	costPunctSpace   = 23  // the optional leading space
	costJoiner       = 1733
	costMark2        = 1000 // two-byte combining mark (set by hand)
	costMark3        = 1207
	costMark4        = 2000 // (set by hand)
	costSymbol2      = 1125
	costSymbol3      = 1488
	costSymbol4      = 2981 // most emoji

	// Letter runs with a non-ASCII letter: a base by what leads the run,
	// plus a cost per letter by script.
	costUniLeadSpace = 310
	costUniLeadNone  = 474
	costUniLeadPunct = 827
	costUniLeadOther = 648 // a non-ASCII lead, usually a combining mark
	costUniASCII     = 202

	// An ASCII letter segment longer than 16 letters costs this much more
	// per extra letter (set by hand from hex and base64 strings).
	costLongLetter = 250
)

// Letter segment shapes.
const (
	shapeLower = iota // "word"
	shapeCap          // "Word", "W"
	shapeUpper        // "WORD"
)

// Positions of a letter segment.
const (
	posSpace = iota // first segment, led by a space: " word"
	posNone         // first segment, nothing before it: "word"
	posPunct        // first segment, led by an ASCII symbol or whitespace other than space: ".word", "\tword"
	posInner        // a later segment of a camelCase or ALLCapsWord run
)

// segmentCost is read-only: the cost of an ASCII letter segment of length L
// is base + over4·max(0, L−4) + over8·max(0, L−8) + costLongLetter·max(0, L−16).
// A lower-case segment is never inner; its row repeats posNone.
var segmentCost = [3][4]struct{ base, over4, over8 int32 }{
	shapeLower: {
		posSpace: {1007, 17, 29},
		posNone:  {1051, 55, 200},
		posPunct: {1165, 156, 22},
		posInner: {1051, 55, 200},
	},
	shapeCap: {
		posSpace: {993, 43, 147},
		posNone:  {1063, 57, 97},
		posPunct: {1319, 140, 116},
		posInner: {1093, 0, 137},
	},
	shapeUpper: {
		posSpace: {1170, 321, 14},
		posNone:  {1484, 410, -35},
		posPunct: {1665, 89, -89},
		posInner: {1476, 620, -620},
	},
}

func segment(shape, pos, n int) int {
	c := segmentCost[shape][pos]
	cost := int(c.base)
	if n > 4 {
		cost += int(c.over4) * (n - 4)
	}
	if n > 8 {
		cost += int(c.over8) * (n - 8)
	}
	if n > 16 {
		cost += costLongLetter * (n - 16)
	}
	return cost
}

// letterCost is the cost of one non-ASCII letter, by script.
func letterCost(r rune) int {
	switch {
	case r < 0x80:
		return costUniASCII
	case r <= 0x24F, 0x1E00 <= r && r <= 0x1EFF:
		return 677 // Latin with diacritics
	case 0x370 <= r && r <= 0x3FF, 0x1F00 <= r && r <= 0x1FFF:
		return 982 // Greek
	case 0x400 <= r && r <= 0x52F:
		return 382 // Cyrillic
	case 0x530 <= r && r <= 0x58F:
		return 2078 // Armenian
	case 0x590 <= r && r <= 0x5FF:
		return 1131 // Hebrew
	case 0x600 <= r && r <= 0x8FF, 0xFB50 <= r && r <= 0xFDFF, 0xFE70 <= r && r <= 0xFEFF:
		return 773 // Arabic
	case 0x900 <= r && r <= 0xDFF:
		return 1686 // Indic scripts
	case 0xE00 <= r && r <= 0xEFF:
		return 1124 // Thai, Lao
	case 0x10A0 <= r && r <= 0x10FF, 0x2D00 <= r && r <= 0x2D2F, 0x1C90 <= r && r <= 0x1CBF:
		return 2071 // Georgian
	case 0x1200 <= r && r <= 0x139F:
		return 2900 // Ethiopic
	case 0x1100 <= r && r <= 0x11FF, 0x3130 <= r && r <= 0x318F, 0xAC00 <= r && r <= 0xD7AF:
		return 1008 // Hangul
	case 0x3040 <= r && r <= 0x30FF, 0x31F0 <= r && r <= 0x31FF, 0xFF66 <= r && r <= 0xFF9F:
		return 926 // kana
	case 0x3400 <= r && r <= 0x4DBF, 0x4E00 <= r && r <= 0x9FFF, 0xF900 <= r && r <= 0xFAFF, r >= 0x20000:
		return 1210 // Han
	}
	// Other scripts (set by hand from a few words each of Syriac, Sinhala,
	// Myanmar, Tibetan, Gothic): by UTF-8 length.
	switch utf8.RuneLen(r) {
	case 2:
		return 1800
	case 3:
		return 2000
	}
	return 3000
}

// symbolCost is the cost of one non-ASCII rune in a punctuation piece.
func symbolCost(r rune, size int) int {
	if r == 0x200D || r == 0xFE0F { // zero-width joiner, emoji presentation selector
		return costJoiner
	}
	if isMark(r) {
		switch size {
		case 2:
			return costMark2
		case 3:
			return costMark3
		}
		return costMark4
	}
	switch size {
	case 1, 2: // size 1: an invalid byte
		return costSymbol2
	case 3:
		return costSymbol3
	}
	return costSymbol4
}
