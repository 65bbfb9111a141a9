// Package sentence owns the step between a language model's token stream
// and the voice: it turns small text deltas into speakable sentences as soon
// as each one is certainly complete, so that text-to-speech can start on the
// first sentence while the model is still writing the rest.
//
// A [Segmenter] is fed deltas with [Segmenter.Push] and closed with
// [Segmenter.Flush]; [Split] and [Speakable] do the same for a whole text.
// The work happens in two stages that read one rune at a time: a cleaner
// that removes what must not be spoken, and a splitter that finds sentence
// ends in the cleaned text. Neither looks at where one delta ends and the
// next begins, so the sentences do not depend on how the stream was chopped:
// a text pushed byte by byte gives exactly what [Split] gives.
//
// # Cleaning
//
// Markdown is reduced to its words: emphasis markers (** __ * _ ~~) and
// inline code backticks go and their text stays; fenced code blocks go
// whole; heading hashes, list bullets (- + * •) and numbers (1. 2)), task
// boxes, blockquote markers and horizontal rules at the start of a line go;
// a table row is a unit whose cells read as a list ("Alice, 30");
// [text](url) becomes text (an address may not contain spaces, so links
// with titles stay as written); images, known HTML tags, HTML comments and
// citation markers ([1], [2][3], [1, 2], [^note]) go, and a link whose text
// is a citation goes whole. An underscore inside a word (snake_case) stays;
// a single tilde stays only before a digit (~5 minutes), and an asterisk
// between spaces after a digit is read as × (5 * 3). HTML entities are left
// as they are.
//
// A span between single asterisks is either emphasis (its words are kept)
// or a roleplay action such as *smiles warmly* (removed whole). It is an
// action when its opening asterisk stands at a word boundary and the span
// contains whitespace, or when it opens a line or the message, or when it
// directly follows a sentence terminator ("Sure. *nods* Let's go."). So
// "*really*" in the middle of a sentence is emphasis, but "*really very*"
// is an action: models use single asterisks for actions and double ones for
// emphasis, and the rule follows that habit. A span that does not close
// before the end of its line, within 256 runes, or before another single
// asterisk opens, was no span: its asterisk is dropped and its text kept.
// An action that follows a terminator ends the sentence before it as soon
// as its first rune arrives, without waiting for it to close.
//
// Emoji and pictographs go, with everything that builds them: zero-width
// joiner sequences, skin tones, flags (regional indicator pairs and tag
// sequences), keycaps and variation selectors. Control and invisible format
// characters go, invalid UTF-8 decodes to U+FFFD and then goes too.
// Whitespace collapses to single spaces, and a space left in front of
// punctuation by a removed marker ("Paris [1].") goes with it.
//
// # Sentence ends
//
// A unit ends at a terminator (. ! ? … ‽ and runs such as "?!" or "...",
// with the closing quotes and brackets that follow it) once whitespace and
// the first rune of what follows have arrived; at a CJK terminator (。！？)
// once the next rune has arrived; at a blank line; at the end of a heading,
// list item or table row line; around a code block; and at the end of the stream. The
// decision waits for exactly that rune and is made when the cleaner lets it
// through: at once for letters, later for a rune that may begin markup (a
// digit waits one rune more, as it may be a keycap emoji; * [ < wait until
// their construct is decided).
//
// What follows the terminator decides:
//
//   - a lowercase letter, or , ; : ) ] } or another terminator: the sentence
//     goes on ("I think... maybe", `"Run!" she said.`, "etc. and more");
//   - no whitespace at all: the sentence goes on (3.14, v1.2.3, 192.168.0.1,
//     example.com, e.g.), unless a CJK character follows;
//   - anything else ends the sentence, except after a period that closes an
//     abbreviation: titles (Mr. Dr. Prof. St. …) never end one, single
//     initials (J. R. R. Tolkien) and dotted acronyms (U.S.) end one only
//     before a digit, words used before numbers (No. Fig. Vol. p. approx. …)
//     end one unless a digit follows, e.g./i.e./vs./cf. never end one, and
//     "etc.", "a.m.", "p.m.", "Jr.", "Inc." and their like end one before a
//     capital: proper nouns rarely follow "etc.", so a capital after it
//     most likely starts the next sentence. A number of one to three digits
//     that opens a sentence or follows a colon is a list marker, not a
//     sentence end ("Steps: 1. Mix. 2. Bake.").
//
// Where a rule has to guess it prefers not to split: a missed end makes one
// sentence longer (a little latency), a wrong end puts a pause in the middle
// of a phrase. "I lived in the U.S. Then I moved." is therefore one
// sentence.
//
// Text that runs past the maximum length (default 250 runes) without an end
// is split at its last clause boundary (, ; : — – and the CJK ，、；：) or,
// failing one in its second half, at its last space, or, failing that, hard,
// so speech can start. A sentence with no letter or digit left after
// cleaning is not emitted.
//
// # Cost
//
// Memory is bounded by the maximum length and the lookahead caps (256
// runes, 2048 for a link's address), not by the input. A lookahead that
// fails hands its runes back to be read again, and a held construct stops
// at the next opener of its own kind, so each rune is read a small bounded
// number of times (about three times more at worst in the adversarial
// patterns the tests try): time is linear in the input.
//
// # Imports
//
// sentence imports only the standard library; it knows nothing of models,
// voices or transports.
package sentence
