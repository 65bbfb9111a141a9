package sentence

import (
	"strings"
	"unicode"
)

// abbrev is how a word that ends in a period behaves before what follows.
type abbrev uint8

const (
	// notAbbrev is an ordinary word: its period ends the sentence.
	notAbbrev abbrev = iota
	// title precedes a name (Mr. Dr.): never ends a sentence.
	title
	// midSentence introduces what follows (e.g. vs.): never ends a sentence.
	midSentence
	// initial is a single capital or a dotted acronym (J. U.S.): ends a
	// sentence only before a digit.
	initial
	// beforeNumber precedes a number (No. Fig. p.): ends a sentence unless a
	// digit follows.
	beforeNumber
	// closing usually ends a clause (etc. a.m.): ends a sentence before
	// anything but a lowercase continuation.
	closing
)

// classify says how the word before a period behaves. tok may carry
// opening quotes or brackets, which are ignored.
func classify(tok []rune) abbrev {
	for len(tok) > 0 && !isWord(tok[0]) {
		tok = tok[1:]
	}
	if len(tok) == 0 {
		return notAbbrev
	}
	if a := known(strings.ToLower(string(tok))); a != notAbbrev {
		return a
	}
	if len(tok) == 1 {
		switch r := tok[0]; {
		case r == 'I': // the pronoun, far more often than an initial
			return notAbbrev
		case unicode.IsUpper(r):
			return initial
		case unicode.IsLower(r): // p. 5, option a.
			return beforeNumber
		}
		return notAbbrev
	}
	return dotted(tok)
}

// dotted classifies words made of single letters joined by periods (U.S,
// J.R.R, n.b): capitals are acronyms, lowercase ones abbreviate phrases.
func dotted(tok []rune) abbrev {
	upper := true
	for i, r := range tok {
		letter := i%2 == 0
		switch {
		case letter && !unicode.IsLetter(r), !letter && r != '.':
			return notAbbrev
		case letter && !unicode.IsUpper(r):
			upper = false
		}
	}
	if len(tok)%2 == 0 {
		return notAbbrev
	}
	if upper {
		return initial
	}
	return midSentence
}

// known looks up the abbreviations that need a list; word is lowercase and
// has no final period.
func known(word string) abbrev {
	switch word {
	case "mr", "mrs", "ms", "mx", "dr", "prof", "st", "rev", "fr", "gen", "col",
		"capt", "cpt", "lt", "sgt", "maj", "adm", "cmdr", "hon", "gov", "sen", "rep",
		"pres", "supt", "insp", "mt", "ft", "messrs", "mmes", "mme", "mlle", "sra", "srta":
		return title
	case "e.g", "i.e", "cf", "viz", "vs", "v", "esp", "incl", "resp", "w.r.t", "a.k.a":
		return midSentence
	case "no", "nos", "nr", "num", "fig", "figs", "vol", "vols", "ch", "chap", "sec",
		"art", "eq", "eqs", "ref", "refs", "pt", "pts", "pp", "para", "approx", "ca",
		"tel", "ext", "op", "ed", "eds", "est", "min", "max",
		"jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec":
		return beforeNumber
	case "etc", "jr", "sr", "inc", "ltd", "co", "corp", "bros", "al", "a.m", "p.m",
		"ph.d", "ave", "blvd", "rd", "dept", "univ":
		return closing
	}
	return notAbbrev
}

// listNumber reports a word that can number a list item: one to three
// ASCII digits.
func listNumber(tok []rune) bool {
	if len(tok) == 0 || len(tok) > 3 {
		return false
	}
	for _, r := range tok {
		if !isDigit(r) {
			return false
		}
	}
	return true
}
