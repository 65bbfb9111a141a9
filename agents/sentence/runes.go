package sentence

import "unicode"

// Signals that travel with the runes between the stages. Decoded input is
// never negative, so they cannot be forged by the text.
const (
	// eof ends the stream.
	eof rune = -1
	// actionMark tells the splitter that an action span opened after a
	// terminator, so it can decide on the sentence before the span closes.
	actionMark rune = -2
)

const (
	zwj     = '\u200D'
	zwnj    = '\u200C'
	keycap  = '\u20E3'
	vs16    = '\uFE0F'
	replace = '\uFFFD'
)

// isBlank reports horizontal whitespace: everything unicode.IsSpace knows
// except the line break, which carries structure.
func isBlank(r rune) bool {
	return r != '\n' && r >= 0 && unicode.IsSpace(r)
}

// isWord reports runes that make up words, for the word-boundary tests of
// asterisks and underscores.
func isWord(r rune) bool {
	return r >= 0 && (unicode.IsLetter(r) || unicode.IsNumber(r))
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

// isPictograph reports emoji and pictographic symbols, which are removed.
// It covers the blocks that hold Extended_Pictographic characters plus the
// scattered ones with an emoji presentation; ©, ® and ™ are kept because a
// voice can say them, ‼ and ⁉ because they end sentences.
func isPictograph(r rune) bool {
	switch {
	case r >= 0x1F000 && r <= 0x1FFFF: // mahjong … symbols and pictographs extended, flags, skin tones
		return true
	case r >= 0x2600 && r <= 0x27BF: // miscellaneous symbols, dingbats
		return true
	case r >= 0x2B00 && r <= 0x2BFF: // miscellaneous symbols and arrows
		return true
	case r >= 0x23E9 && r <= 0x23F3, r >= 0x23F8 && r <= 0x23FA,
		r >= 0x2194 && r <= 0x2199, r >= 0x25FB && r <= 0x25FE:
		return true
	}
	switch r {
	case 0x231A, 0x231B, 0x2328, 0x23CF, 0x2139, 0x24C2, 0x21A9, 0x21AA,
		0x25AA, 0x25AB, 0x25B6, 0x25C0, 0x2934, 0x2935, 0x3030, 0x303D,
		0x3297, 0x3299:
		return true
	}
	return false
}

// isEmojiPart reports the invisible runes that build emoji sequences:
// variation selectors, tag characters and the combining keycap.
func isEmojiPart(r rune) bool {
	return r >= 0xFE00 && r <= 0xFE0F ||
		r >= 0xE0000 && r <= 0xE007F ||
		r >= 0xE0100 && r <= 0xE01EF ||
		r == keycap
}

// isInvisible reports runes that have no sound and no place in speech:
// controls, format characters other than the joiners, private use and
// noncharacters.
func isInvisible(r rune) bool {
	if r == zwj || r == zwnj {
		return false
	}
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Noncharacter_Code_Point)
}

// isTerminator reports runes that can end a sentence.
func isTerminator(r rune) bool {
	switch r {
	case '.', '!', '?', '…', '‽', '‼', '⁉', '。', '！', '？', '｡':
		return true
	}
	return false
}

// isCJKTerminator reports the full-width terminators, which end a sentence
// without a following space.
func isCJKTerminator(r rune) bool {
	switch r {
	case '。', '！', '？', '｡':
		return true
	}
	return false
}

// isCloser reports quotes and brackets that belong to the sentence whose
// terminator they follow.
func isCloser(r rune) bool {
	switch r {
	case '"', '\'', '”', '’', '»', '›', ')', ']', '}', '」', '』', '）', '】', '〉', '》', '〕':
		return true
	}
	return false
}

// isOpener reports quotes and brackets that open a word, stripped before an
// abbreviation is looked up.
func isOpener(r rune) bool {
	switch r {
	case '"', '\'', '“', '‘', '«', '‹', '(', '[', '{', '¿', '¡', '「', '『', '（', '【':
		return true
	}
	return false
}

// continues reports runes that, after a terminator and a space, show the
// sentence is not over.
func continues(r rune) bool {
	if r >= 0 && unicode.IsLower(r) {
		return true
	}
	switch r {
	case ',', ';', ':', ')', ']', '}':
		return true
	}
	return isTerminator(r)
}

// isCJK reports scripts written without spaces between sentences.
func isCJK(r rune) bool {
	return r >= 0 && unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul)
}

// isClause reports clause punctuation a run-on may be split after; the
// ASCII ones only when a space follows (1,000 and 12:30 stay whole).
func isClause(r rune) bool {
	switch r {
	case ',', ';', ':', '—', '–', '，', '、', '；', '：':
		return true
	}
	return false
}

// closesClause reports punctuation that takes no space before it.
func closesClause(r rune) bool {
	switch r {
	case ',', ';', ':', ')', ']', '}', '”', '’', '»', '，', '、':
		return true
	}
	return isTerminator(r)
}

// speakable reports whether a sentence has anything a voice can say.
func speakable(s string) bool {
	for _, r := range s {
		if isWord(r) {
			return true
		}
	}
	return false
}
