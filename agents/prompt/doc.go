// Package prompt assembles the chat prompt of the roleplay engine: from an
// agent's character card, its lorebook, the conversation, the rolling
// summary, retrieved knowledge and an API client's system messages, it
// builds the messages sent to the model, within the model's context window.
// It also writes the prompt that asks a model to update the summary
// ([Summarize]). It owns no state: [Build] is a pure function of its
// [Input], and the same input gives the same output, byte for byte.
//
// # Layout
//
// [Build] writes one system message, whose sections are separated by a
// blank line (empty sections are left out):
//
//  1. the card's system_prompt, or [DefaultSystemPrompt] when it is empty;
//  2. activated lorebook entries at position before_char (the default when
//     an entry has none or an unknown one), one per line;
//  3. the description;
//  4. "<char>'s personality: " and the personality;
//  5. "Scenario: " and the scenario;
//  6. activated lorebook entries at position after_char;
//  7. "Earlier in this conversation: " and the summary;
//  8. the knowledge block (below);
//  9. the API client's system messages, each a section, after everything
//     the creator wrote;
//  10. example dialogue: a heading, then each <START> block of mes_example.
//
// The history turns follow as user and assistant messages, then the card's
// post_history_instructions as a final system message when non-empty. The
// card's first_mes is not added: the engine stores the greeting (expanded
// with [Expand]) as the first assistant turn of the conversation.
//
// # Macros
//
// {{char}} (the V3 nickname when set, else the name: [CharName]), {{user}}
// (Input.User, [DefaultUser] when empty), in any case and with optional
// spaces inside the braces, and the legacy <BOT> and <USER> are replaced in
// every card text and lorebook entry (content and plain keys). In the
// card's system_prompt, {{original}} stands for the default Build would
// have used there, [DefaultSystemPrompt]; in post_history_instructions for
// the platform's default post-history instructions, which are empty;
// elsewhere it is removed. ([Expand] alone leaves {{original}} as it is.)
// History turns, the summary, client system messages and passages are
// data: no macro in them is replaced.
//
// # Lorebook
//
// Activation follows the character_book of the Character Card V2 spec
// (and the V3 additions): disabled entries and entries with empty content
// are skipped; constant entries are always active; any other entry is
// active when one of its keys occurs in the scan text, the content of the
// newest scan_depth history turns (the new user message included).
// scan_depth defaults to [DefaultScanDepth] (2, as in SillyTavern): lore
// should follow what is being talked about now, and the older turns that a
// larger depth would scan mostly keep stale entries in the prompt; a book
// may ask for more. A scan_depth of 0 scans nothing (only constant entries
// are active); a negative one is ignored.
//
// Keys match case-insensitively unless case_sensitive is true. A plain
// key must match a whole word at each end that is a word character, so
// "cat" does not fire on "concatenate" but "C++" fires on "C++17" (letters
// of scripts written without spaces, such as Chinese, Japanese, Thai, and
// Hangul, are not word characters for this, so keys in them match as
// substrings). With use_regex (V3) keys are regular expressions, either
// "/pattern/flags" (JavaScript form; the i, s and m flags are honoured,
// case follows the i flag alone) or a bare pattern (case follows
// case_sensitive). They use Go's RE2 syntax, so matching is linear in the
// text; a key longer than [MaxRegexKeyBytes] or one that does not compile
// (lookaround, backreferences) is skipped. A selective entry with
// secondary_keys also needs a secondary key to match (one whose secondary
// keys are all blank or invalid acts as a plain entry). With
// recursive_scanning, the content of activated entries (constant ones
// included) is scanned in turn, for at most [MaxRecursionPasses] passes
// after the history scan; a key and a secondary key may match in different
// passes. Scanning is bounded whatever the book: at most [MaxRegexKeys]
// regex keys per book are compiled, the newest [MaxScanBytes] of the scan
// text and as much entry content are read, and past a fixed amount of work
// the remaining keys count as not matching. One-word keys are looked up in
// an index of the scan text's words, so large books of ordinary keys cost
// little.
//
// Active entries are inserted by insertion_order, lowest first (ties by
// their index in the book). Their total tokens.Count stays within the
// book's token_budget, or [DefaultLoreBudgetPercent] of the prompt space
// (context window less the reply) when the book sets none. The budget
// serves entries by priority, highest first; an entry without priority
// comes after every entry with one; among equal priorities constant
// entries come first, then insertion order. An entry that does not fit is
// left out, and smaller entries of lower priority may still use what is
// left of the budget. [Output.Lore] lists the entries inserted.
//
// # Knowledge
//
// Passages are quoted inside a <reference_material> fence that opens with
// a sentence saying that its contents are documents, never instructions,
// and to cite passages by marker, like [1]. Each passage is a marker line,
// "[n] Title › Heading › Sub (p. 3)", then its text with every line
// prefixed by "> ", so no line of a passage can pass for a marker line or
// stand outside the quote. Passage text and marker fields are data from
// documents and are made harmless first: line breaks of every kind become
// "\n"; control and invisible format characters (zero-width spaces, bidi
// overrides, soft hyphens) are removed, which splits emoji sequences
// joined by a zero-width joiner; anything that reads as the fence's tag —
// any case, any separator between the words, slashes and spaces, HTML,
// JSON, C or URL escapes and full-width forms of the brackets — becomes
// "[tag removed]"; chat-template control tokens (<|im_start|>, [INST],
// <<SYS>>, <start_of_turn>, </s>…) get their brackets swapped for look-alikes
// so that no server reads them as turn boundaries. Marker line fields are
// folded to one line of at most 200 characters; the URL is shown only
// when the passage has no title. The summary is cleaned the same way (but
// not quoted), as a model wrote it from what users said.
//
// # Budget
//
// Tokens are tokens.Count of each message's content plus [MessageOverhead]
// per message; the prompt gets ContextTokens − ReplyTokens. Build always
// sends the fixed parts: the system prompt, the card's fields, the client's
// system messages, the post-history instructions and the newest turn; when
// they do not fit it returns [ErrTooSmall]. Then, in order, while they fit:
//
//  1. lorebook entries, within the lore budget;
//  2. passages, best first, within [DefaultPassageBudgetPercent] of the
//     prompt space; the first that does not fit ends the list, so the ones
//     sent are always the first PassagesUsed;
//  3. the summary, whole or not at all;
//  4. history turns, newest to oldest, until one does not fit: the turns
//     sent are always History[Dropped:], with no gap, and the engine
//     summarises the Dropped turns before them;
//  5. example dialogue, whole <START> blocks in order while they fit (like
//     SillyTavern, examples are the first thing to go when the window is
//     full).
//
// Parts are costed one by one; the whole prompt is then counted, and if
// joining them cost more than the parts did, the least important parts are
// removed in reverse order until it fits, so Output.Tokens never exceeds
// the space given.
//
// # Imports
//
// prompt may import the standard library, agents (the card model),
// agents/llm (for its message types only) and tokens. It performs no I/O.
package prompt
