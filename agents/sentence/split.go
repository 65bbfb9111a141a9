package sentence

import (
	"strings"
	"unicode"
)

// splitState is where the splitter stands relative to a terminator.
type splitState uint8

const (
	sNormal    splitState = iota
	sTerm                 // right after a terminator run and its closers
	sTermSpace            // past the whitespace after them: the next rune decides
)

// termKind is what a terminator run is made of, in rising strength.
type termKind uint8

const (
	kPeriod   termKind = iota // a single .
	kEllipsis                 // .. ... …
	kStrong                   // ! ? and their runs
	kCJK                      // 。！？: no space needed after them
)

// splitter reads the cleaner's output and cuts it into sentences.
type splitter struct {
	maxLen      int
	cur         []rune // the pending sentence
	state       splitState
	kind        termKind
	termAt      int  // index in cur of the terminator run's first rune
	cornerQuote bool // 」 or 』 closed the run
	out         []string
}

func (s *splitter) put(r rune) {
	switch s.state {
	case sTerm:
		s.term(r)
	case sTermSpace:
		s.termSpace(r)
	default:
		s.normal(r)
	}
}

func (s *splitter) normal(r rune) {
	switch {
	case r == eof || r == '\n':
		s.cut()
	case r == actionMark:
	case r == ' ':
		if n := len(s.cur); n > 0 && s.cur[n-1] != ' ' {
			s.add(r)
		}
	case isTerminator(r):
		s.add(r)
		s.state, s.kind, s.termAt, s.cornerQuote = sTerm, kindOf(r), len(s.cur)-1, false
	default:
		s.add(r)
	}
}

// term reads what follows a terminator directly: more terminators and
// closers belong to the run; whitespace defers the decision to the next
// rune; anything else is attached (3.14, example.com) and the sentence goes
// on, unless the text is CJK.
func (s *splitter) term(r rune) {
	switch {
	case r == eof || r == '\n':
		s.cut()
	case isTerminator(r):
		s.add(r)
		s.kind = max(s.kind, kindOf(r))
		if r == '.' && s.kind == kPeriod {
			s.kind = kEllipsis
		}
	case isCloser(r):
		s.add(r)
		s.cornerQuote = s.cornerQuote || r == '」' || r == '』'
	case r == actionMark:
		// Only a span after whitespace decides anything; see cleaner.mark.
	case r == ' ':
		if s.kind == kCJK {
			s.cut()
			return
		}
		s.state = sTermSpace
	default:
		s.state = sNormal
		// Japanese quotes speech with 「…。」と: the particle continues it.
		quoted := s.cornerQuote && unicode.Is(unicode.Hiragana, r)
		if s.kind == kCJK && !quoted || s.kind != kCJK && isCJK(r) {
			s.cut()
		}
		s.normal(r)
	}
}

// termSpace decides, on the first rune after the whitespace that follows a
// terminator, whether the sentence has ended.
func (s *splitter) termSpace(r rune) {
	switch {
	case r == ' ':
	case r == eof || r == '\n':
		s.cut()
	case r == actionMark:
		// An action reads like the start of a new sentence.
		s.state = sNormal
		if s.ends('A') {
			s.cut()
		}
	default:
		s.state = sNormal
		if s.ends(r) {
			s.cut()
		} else {
			s.add(' ')
		}
		s.normal(r)
	}
}

// ends reports whether the terminator run ends the sentence when x is the
// first rune after the whitespace that follows it.
func (s *splitter) ends(x rune) bool {
	if continues(x) {
		return false
	}
	if s.kind != kPeriod {
		return true
	}
	start := s.termAt
	for start > 0 && s.cur[start-1] != ' ' {
		start--
	}
	tok := s.cur[start:s.termAt]
	switch classify(tok) {
	case title, midSentence:
		return false
	case initial:
		return isDigit(x)
	case beforeNumber:
		return !isDigit(x)
	case closing:
		return true
	}
	if listNumber(tok) {
		// "1." opening a sentence or following a colon numbers an item.
		before := start - 1
		for before >= 0 && s.cur[before] == ' ' {
			before--
		}
		if before < 0 || s.cur[before] == ':' {
			return false
		}
	}
	return true
}

// add appends r; past the maximum length the run-on is split.
func (s *splitter) add(r rune) {
	s.cur = append(s.cur, r)
	if len(s.cur) > s.maxLen {
		s.termAt = max(0, s.termAt-s.splitLong())
	}
}

// splitLong emits the head of an over-long pending text: up to its last
// clause boundary in the second half, else its last space there, else the
// last clause boundary or space anywhere, else maxLen runes. It returns how
// many runes left cur.
func (s *splitter) splitLong() int {
	at := -1
	for _, lo := range [...]int{s.maxLen / 2, 1} {
		if at = s.lastClause(lo); at > 0 {
			break
		}
		if at = s.lastSpace(lo); at > 0 {
			break
		}
	}
	if at <= 0 {
		at = s.maxLen
	}
	s.emit(s.cur[:at])
	for at < len(s.cur) && s.cur[at] == ' ' {
		at++
	}
	n := copy(s.cur, s.cur[at:])
	s.cur = s.cur[:n]
	return at
}

// lastClause returns the last cut position p in [lo, maxLen] right after
// clause punctuation, or -1. ASCII punctuation needs a space after it.
func (s *splitter) lastClause(lo int) int {
	for p := min(s.maxLen, len(s.cur)-1); p >= max(lo, 1); p-- {
		r := s.cur[p-1]
		if isClause(r) && (r >= 0x80 || s.cur[p] == ' ') {
			return p
		}
	}
	return -1
}

// lastSpace returns the last space position p in [lo, maxLen], or -1.
func (s *splitter) lastSpace(lo int) int {
	for p := min(s.maxLen, len(s.cur)-1); p >= max(lo, 1); p-- {
		if s.cur[p] == ' ' {
			return p
		}
	}
	return -1
}

// cut ends the pending sentence.
func (s *splitter) cut() {
	s.emit(s.cur)
	s.cur = s.cur[:0]
	s.state = sNormal
}

func (s *splitter) emit(rs []rune) {
	if text := strings.TrimSpace(string(rs)); speakable(text) {
		s.out = append(s.out, text)
	}
}

func kindOf(r rune) termKind {
	switch {
	case isCJKTerminator(r):
		return kCJK
	case r == '.':
		return kPeriod
	case r == '…':
		return kEllipsis
	}
	return kStrong
}
