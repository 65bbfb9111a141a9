package agents

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits a valid card keeps to. Validate enforces them; the parsers refuse
// input beyond the byte limits before decoding it.
const (
	// MaxNameRunes is the longest card name, in characters, after trimming
	// surrounding white space.
	MaxNameRunes = 200
	// MaxTextBytes bounds every text field of a card, lorebook entry and
	// asset (description, first_mes, an entry's content, a tag…).
	MaxTextBytes = 64 << 10
	// MaxGreetings bounds alternate_greetings and group_only_greetings.
	MaxGreetings = 256
	// MaxTags is the most tags a card may carry.
	MaxTags = 64
	// MaxTagRunes is the longest tag, in characters.
	MaxTagRunes = 64
	// MaxLoreEntries is the most entries a character book may hold.
	MaxLoreEntries = 1000
	// MaxEntryKeys bounds keys and secondary_keys of one lorebook entry.
	MaxEntryKeys = 256
	// MaxAssets is the most assets a V3 card may list.
	MaxAssets = 256
	// MaxSources is the most source URLs a V3 card may list.
	MaxSources = 64
	// MaxLanguages bounds creator_notes_multilingual.
	MaxLanguages = 64
	// MaxExtensionsBytes bounds the JSON of one extensions object (of the
	// card, of the book, or of one entry).
	MaxExtensionsBytes = 1 << 20
)

// Card is the creator-facing content of an agent: the union of the fields of
// Character Card V2 and V3. JSON tags are the specs' snake_case names, so a
// Card marshals as the "data" object of a V3 card.
//
// Slices and maps are compared as values after Normalize, which makes every
// nil slice or map empty; the V3-only optional fields (nickname,
// creator_notes_multilingual, source, creation_date, modification_date,
// assets) are omitted from JSON when empty. An empty Assets list therefore
// means "not specified" (the V3 default icon), not "no assets".
type Card struct {
	Name                    string   `json:"name"`
	Description             string   `json:"description"`
	Personality             string   `json:"personality"`
	Scenario                string   `json:"scenario"`
	FirstMes                string   `json:"first_mes"`
	MesExample              string   `json:"mes_example"`
	CreatorNotes            string   `json:"creator_notes"`
	SystemPrompt            string   `json:"system_prompt"`
	PostHistoryInstructions string   `json:"post_history_instructions"`
	AlternateGreetings      []string `json:"alternate_greetings"`
	// CharacterBook is the card's embedded lorebook; nil when it has none.
	CharacterBook    *CharacterBook `json:"character_book,omitempty"`
	Tags             []string       `json:"tags"`
	Creator          string         `json:"creator"`
	CharacterVersion string         `json:"character_version"`
	// Extensions holds application-specific data (depth_prompt,
	// talkativeness, …) as raw JSON so that unknown keys survive a round
	// trip unchanged.
	Extensions map[string]json.RawMessage `json:"extensions"`

	// Nickname (V3) is the name used in place of Name in prompts, if set.
	Nickname string `json:"nickname,omitempty"`
	// CreatorNotesMultilingual (V3) maps an ISO 639-1 language code to
	// creator notes in that language.
	CreatorNotesMultilingual map[string]string `json:"creator_notes_multilingual,omitempty"`
	// Source (V3) lists where the card came from (URLs or ids).
	Source []string `json:"source,omitempty"`
	// GroupOnlyGreetings (V3) are greetings used only in group chats.
	GroupOnlyGreetings []string `json:"group_only_greetings"`
	// CreationDate and ModificationDate (V3) are unix timestamps in seconds;
	// zero means unknown.
	CreationDate     int64 `json:"creation_date,omitempty"`
	ModificationDate int64 `json:"modification_date,omitempty"`
	// Assets (V3) lists the card's images and other files.
	Assets []Asset `json:"assets,omitempty"`

	// Extra keeps the keys of the card's data object that no spec defines,
	// as raw JSON, so they survive import and export. The card exports and
	// the content hash carry them; the agent API's JSON does not (clients
	// edit spec fields only).
	Extra map[string]json.RawMessage `json:"-"`
}

// isCardKey reports whether k is a spec field of a card's data object.
func isCardKey(k string) bool {
	switch k {
	case "name", "description", "personality", "scenario", "first_mes", "mes_example", "creator_notes",
		"system_prompt", "post_history_instructions", "alternate_greetings", "character_book", "tags",
		"creator", "character_version", "extensions", "nickname", "creator_notes_multilingual", "source",
		"group_only_greetings", "creation_date", "modification_date", "assets":
		return true
	}
	return false
}

// Asset is one entry of a V3 card's assets list. URI is "embeded://path" for
// a file inside a CHARX archive (the spec's spelling), "ccdefault:" for the
// application's default, or a URL.
type Asset struct {
	Type string `json:"type"`
	URI  string `json:"uri"`
	Name string `json:"name"`
	Ext  string `json:"ext"`
}

// CharacterBook is a card's embedded lorebook. Optional spec fields are
// pointers so that "absent" and "zero" stay distinct; keys that neither spec
// defines are kept in Extra and written back on export.
type CharacterBook struct {
	Name              string                     `json:"name,omitempty"`
	Description       string                     `json:"description,omitempty"`
	ScanDepth         *int                       `json:"scan_depth,omitempty"`
	TokenBudget       *int                       `json:"token_budget,omitempty"`
	RecursiveScanning *bool                      `json:"recursive_scanning,omitempty"`
	Extensions        map[string]json.RawMessage `json:"extensions"`
	Entries           []BookEntry                `json:"entries"`
	// Extra holds the book's keys that are not spec fields, as raw JSON.
	Extra map[string]json.RawMessage `json:"-"`
}

// BookEntry is one lorebook entry, with every V2 and V3 field. Optional spec
// fields are pointers (nil = absent, which readers such as SillyTavern treat
// differently from false); keys that neither spec defines are kept in Extra.
type BookEntry struct {
	Keys       []string                   `json:"keys"`
	Content    string                     `json:"content"`
	Extensions map[string]json.RawMessage `json:"extensions"`
	// Enabled defaults to true when an imported entry omits it.
	Enabled        bool  `json:"enabled"`
	InsertionOrder int   `json:"insertion_order"`
	CaseSensitive  *bool `json:"case_sensitive,omitempty"`
	// UseRegex (V3) says the keys are regular expressions.
	UseRegex bool   `json:"use_regex"`
	Constant *bool  `json:"constant,omitempty"`
	Name     string `json:"name,omitempty"`
	Priority *int   `json:"priority,omitempty"`
	// ID is the entry's id as raw JSON: a number (V2, V3) or a string (V3);
	// nil when absent.
	ID            json.RawMessage `json:"id,omitempty"`
	Comment       string          `json:"comment,omitempty"`
	Selective     *bool           `json:"selective,omitempty"`
	SecondaryKeys []string        `json:"secondary_keys"`
	// Position is "before_char", "after_char" or empty (absent).
	Position string `json:"position,omitempty"`
	// Extra holds the entry's keys that are not spec fields, as raw JSON.
	Extra map[string]json.RawMessage `json:"-"`
}

// Entry positions defined by the specs.
const (
	PositionBeforeChar = "before_char"
	PositionAfterChar  = "after_char"
)

// isBookKey reports whether k is a spec field of a character book.
func isBookKey(k string) bool {
	switch k {
	case "name", "description", "scan_depth", "token_budget", "recursive_scanning", "extensions", "entries":
		return true
	}
	return false
}

// isEntryKey reports whether k is a spec field of a lorebook entry.
func isEntryKey(k string) bool {
	switch k {
	case "keys", "content", "extensions", "enabled", "insertion_order", "case_sensitive", "use_regex",
		"constant", "name", "priority", "id", "comment", "selective", "secondary_keys", "position":
		return true
	}
	return false
}

// Normalize puts c in the form that compares equal after a round trip
// through any of the encoders here or through plain encoding/json: nil
// slices and maps become empty, raw JSON values (extensions, unknown keys,
// entry ids) are compacted with minimal string escapes, a JSON null entry id
// becomes absent, and unknown keys that shadow a spec field are dropped. It
// changes no text.
func (c *Card) Normalize() {
	c.AlternateGreetings = nonNil(c.AlternateGreetings)
	c.Tags = nonNil(c.Tags)
	c.GroupOnlyGreetings = nonNil(c.GroupOnlyGreetings)
	c.Source = nonNil(c.Source)
	c.Assets = nonNil(c.Assets)
	c.Extensions = normalizeRawMap(c.Extensions)
	c.Extra = normalizeRawMap(c.Extra)
	maps.DeleteFunc(c.Extra, func(k string, _ json.RawMessage) bool { return isCardKey(k) })
	if c.CreatorNotesMultilingual == nil {
		c.CreatorNotesMultilingual = map[string]string{}
	}
	if b := c.CharacterBook; b != nil {
		b.Extensions = normalizeRawMap(b.Extensions)
		b.Extra = normalizeRawMap(b.Extra)
		maps.DeleteFunc(b.Extra, func(k string, _ json.RawMessage) bool { return isBookKey(k) })
		b.Entries = nonNil(b.Entries)
		for i := range b.Entries {
			e := &b.Entries[i]
			e.Keys = nonNil(e.Keys)
			e.SecondaryKeys = nonNil(e.SecondaryKeys)
			e.Extensions = normalizeRawMap(e.Extensions)
			e.Extra = normalizeRawMap(e.Extra)
			maps.DeleteFunc(e.Extra, func(k string, _ json.RawMessage) bool { return isEntryKey(k) })
			e.ID = normalizeRaw(e.ID)
			if string(e.ID) == "null" {
				e.ID = nil
			}
		}
	}
}

func nonNil[S ~[]E, E any](s S) S {
	if s == nil {
		return S{}
	}
	return s
}

// normalizeRawMap returns m (or a new empty map) with every value compacted;
// a missing value becomes JSON null.
func normalizeRawMap(m map[string]json.RawMessage) map[string]json.RawMessage {
	if m == nil {
		return map[string]json.RawMessage{}
	}
	for k, v := range m {
		if len(v) == 0 {
			m[k] = json.RawMessage("null")
			continue
		}
		m[k] = normalizeRaw(v)
	}
	return m
}

// normalizeRaw returns v in a normal form that any JSON encoder's output
// maps back to: no insignificant white space, and strings re-escaped
// minimally (as CanonicalJSON writes them), so that for example the
// "\u003c" that encoding/json writes for "<" becomes "<" again. Number
// literals and member order are kept as they are. Invalid JSON is returned
// unchanged (Validate reports it).
func normalizeRaw(v json.RawMessage) json.RawMessage {
	if v == nil || !json.Valid(v) {
		return v
	}
	var buf bytes.Buffer
	buf.Grow(len(v))
	for i := 0; i < len(v); {
		switch c := v[i]; c {
		case ' ', '\t', '\r', '\n':
			i++
		case '"':
			end := i + 1
			for v[end] != '"' {
				if v[end] == '\\' {
					end++
				}
				end++
			}
			var s string
			if err := json.Unmarshal(v[i:end+1], &s); err != nil {
				return v
			}
			writeCanonicalString(&buf, s)
			i = end + 1
		default:
			buf.WriteByte(c)
			i++
		}
	}
	if bytes.Equal(buf.Bytes(), v) {
		return v
	}
	return json.RawMessage(buf.Bytes())
}

// Clone returns a deep copy of c: no slice, map or book is shared.
func (c Card) Clone() Card {
	c.AlternateGreetings = slices.Clone(c.AlternateGreetings)
	c.Tags = slices.Clone(c.Tags)
	c.GroupOnlyGreetings = slices.Clone(c.GroupOnlyGreetings)
	c.Source = slices.Clone(c.Source)
	c.Assets = slices.Clone(c.Assets)
	c.CreatorNotesMultilingual = maps.Clone(c.CreatorNotesMultilingual)
	c.Extensions = cloneRawMap(c.Extensions)
	c.Extra = cloneRawMap(c.Extra)
	if c.CharacterBook != nil {
		b := *c.CharacterBook
		b.ScanDepth = clonePtr(b.ScanDepth)
		b.TokenBudget = clonePtr(b.TokenBudget)
		b.RecursiveScanning = clonePtr(b.RecursiveScanning)
		b.Extensions = cloneRawMap(b.Extensions)
		b.Extra = cloneRawMap(b.Extra)
		if b.Entries != nil {
			entries := make([]BookEntry, len(b.Entries))
			for i, e := range b.Entries {
				e.Keys = slices.Clone(e.Keys)
				e.SecondaryKeys = slices.Clone(e.SecondaryKeys)
				e.Extensions = cloneRawMap(e.Extensions)
				e.Extra = cloneRawMap(e.Extra)
				e.ID = slices.Clone(e.ID)
				e.CaseSensitive = clonePtr(e.CaseSensitive)
				e.Constant = clonePtr(e.Constant)
				e.Priority = clonePtr(e.Priority)
				e.Selective = clonePtr(e.Selective)
				entries[i] = e
			}
			b.Entries = entries
		}
		c.CharacterBook = &b
	}
	return c
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func cloneRawMap(m map[string]json.RawMessage) map[string]json.RawMessage {
	if m == nil {
		return nil
	}
	out := make(map[string]json.RawMessage, len(m))
	for k, v := range m {
		out[k] = slices.Clone(v)
	}
	return out
}

// Validate checks c against the field rules: a name of 1..MaxNameRunes
// characters after trimming, text fields of at most MaxTextBytes, at most
// MaxTags tags of at most MaxTagRunes characters, at most MaxLoreEntries
// lorebook entries with a valid position, well-formed extensions, and a V3
// encoding no larger than MaxCardJSONBytes (so every valid card can be
// exported and imported again). It returns the first problem as a
// *FieldError, which unwraps to ErrInvalidCard.
func (c Card) Validate() error {
	if err := c.validateFields(); err != nil {
		return err
	}
	n := c.Clone()
	n.Normalize()
	b, err := encodeV3(n)
	if err != nil {
		return &FieldError{Field: "card", Message: "cannot be encoded: " + err.Error()}
	}
	if hasNULEscape(b) {
		// A NUL in a lorebook entry, a tag or an extension: PostgreSQL's
		// jsonb cannot hold it.
		return &FieldError{Field: "card", Message: "must not contain NUL characters (\\u0000) anywhere"}
	}
	return checkEncodedSize(b)
}

// hasNULEscape reports whether JSON text b holds the escape \u0000 (and not
// an escaped backslash followed by the letters u0000).
func hasNULEscape(b []byte) bool {
	for i := 0; ; {
		j := bytes.Index(b[i:], []byte(`\u0000`))
		if j < 0 {
			return false
		}
		j += i
		slashes := 0
		for k := j; k >= 0 && b[k] == '\\'; k-- {
			slashes++
		}
		if slashes%2 == 1 {
			return true
		}
		i = j + 1
	}
}

func checkEncodedSize(b []byte) error {
	if len(b) > MaxCardJSONBytes {
		return &FieldError{Field: "card", Message: fmt.Sprintf("is too large: %d bytes of JSON, the limit is %d", len(b), MaxCardJSONBytes)}
	}
	return nil
}

func (c Card) validateFields() error {
	name := strings.TrimSpace(c.Name)
	if name == "" {
		return &FieldError{Field: "name", Message: "is required"}
	}
	if err := checkText("name", c.Name); err != nil {
		return err
	}
	if n := utf8.RuneCountInString(name); n > MaxNameRunes {
		return &FieldError{Field: "name", Message: fmt.Sprintf("must be at most %d characters, it has %d", MaxNameRunes, n)}
	}
	texts := []struct{ field, value string }{
		{"description", c.Description},
		{"personality", c.Personality},
		{"scenario", c.Scenario},
		{"first_mes", c.FirstMes},
		{"mes_example", c.MesExample},
		{"creator_notes", c.CreatorNotes},
		{"system_prompt", c.SystemPrompt},
		{"post_history_instructions", c.PostHistoryInstructions},
		{"creator", c.Creator},
		{"character_version", c.CharacterVersion},
		{"nickname", c.Nickname},
	}
	for _, t := range texts {
		if err := checkText(t.field, t.value); err != nil {
			return err
		}
	}
	if err := checkTextList("alternate_greetings", c.AlternateGreetings, MaxGreetings); err != nil {
		return err
	}
	if err := checkTextList("group_only_greetings", c.GroupOnlyGreetings, MaxGreetings); err != nil {
		return err
	}
	if err := checkTextList("source", c.Source, MaxSources); err != nil {
		return err
	}
	if len(c.Tags) > MaxTags {
		return &FieldError{Field: "tags", Message: fmt.Sprintf("must have at most %d tags, it has %d", MaxTags, len(c.Tags))}
	}
	for i, t := range c.Tags {
		if n := utf8.RuneCountInString(t); n > MaxTagRunes {
			return &FieldError{Field: fmt.Sprintf("tags[%d]", i), Message: fmt.Sprintf("must be at most %d characters, it has %d", MaxTagRunes, n)}
		}
	}
	if len(c.CreatorNotesMultilingual) > MaxLanguages {
		return &FieldError{Field: "creator_notes_multilingual", Message: fmt.Sprintf("must have at most %d languages", MaxLanguages)}
	}
	for _, lang := range sortedKeys(c.CreatorNotesMultilingual) {
		field := "creator_notes_multilingual." + lang
		if lang == "" || len(lang) > 35 {
			return &FieldError{Field: "creator_notes_multilingual", Message: "has a language code that is empty or longer than 35 bytes"}
		}
		if err := checkText(field, c.CreatorNotesMultilingual[lang]); err != nil {
			return err
		}
	}
	if c.CreationDate < 0 {
		return &FieldError{Field: "creation_date", Message: "must not be negative"}
	}
	if c.ModificationDate < 0 {
		return &FieldError{Field: "modification_date", Message: "must not be negative"}
	}
	if len(c.Assets) > MaxAssets {
		return &FieldError{Field: "assets", Message: fmt.Sprintf("must have at most %d assets, it has %d", MaxAssets, len(c.Assets))}
	}
	for i, a := range c.Assets {
		p := fmt.Sprintf("assets[%d]", i)
		if strings.TrimSpace(a.Type) == "" {
			return &FieldError{Field: p + ".type", Message: "is required"}
		}
		if strings.TrimSpace(a.URI) == "" {
			return &FieldError{Field: p + ".uri", Message: "is required"}
		}
		for _, t := range []struct{ field, value string }{{".type", a.Type}, {".uri", a.URI}, {".name", a.Name}, {".ext", a.Ext}} {
			if err := checkText(p+t.field, t.value); err != nil {
				return err
			}
		}
	}
	if err := checkExtensions("extensions", c.Extensions); err != nil {
		return err
	}
	if err := checkExtensions("data", c.Extra); err != nil {
		return err
	}
	if b := c.CharacterBook; b != nil {
		if err := b.validate("character_book"); err != nil {
			return err
		}
	}
	return nil
}

func (b *CharacterBook) validate(p string) error {
	if err := checkText(p+".name", b.Name); err != nil {
		return err
	}
	if err := checkText(p+".description", b.Description); err != nil {
		return err
	}
	if b.ScanDepth != nil && *b.ScanDepth < 0 {
		return &FieldError{Field: p + ".scan_depth", Message: "must not be negative"}
	}
	if b.TokenBudget != nil && *b.TokenBudget < 0 {
		return &FieldError{Field: p + ".token_budget", Message: "must not be negative"}
	}
	if err := checkExtensions(p+".extensions", b.Extensions); err != nil {
		return err
	}
	if err := checkExtensions(p, b.Extra); err != nil {
		return err
	}
	if len(b.Entries) > MaxLoreEntries {
		return &FieldError{Field: p + ".entries", Message: fmt.Sprintf("must have at most %d entries, it has %d", MaxLoreEntries, len(b.Entries))}
	}
	for i := range b.Entries {
		if err := b.Entries[i].validate(fmt.Sprintf("%s.entries[%d]", p, i)); err != nil {
			return err
		}
	}
	return nil
}

func (e *BookEntry) validate(p string) error {
	if err := checkTextList(p+".keys", e.Keys, MaxEntryKeys); err != nil {
		return err
	}
	if err := checkTextList(p+".secondary_keys", e.SecondaryKeys, MaxEntryKeys); err != nil {
		return err
	}
	for _, t := range []struct{ field, value string }{{".content", e.Content}, {".name", e.Name}, {".comment", e.Comment}} {
		if err := checkText(p+t.field, t.value); err != nil {
			return err
		}
	}
	switch e.Position {
	case "", PositionBeforeChar, PositionAfterChar:
	default:
		return &FieldError{Field: p + ".position", Message: `must be "before_char" or "after_char"`}
	}
	if len(e.ID) > 0 {
		switch kind := rawKind(e.ID); kind {
		case "number", "string", "null":
		default:
			return &FieldError{Field: p + ".id", Message: "must be a number or a string"}
		}
		if _, err := canonicalize(e.ID); err != nil {
			return &FieldError{Field: p + ".id", Message: err.Error()}
		}
	}
	if err := checkExtensions(p+".extensions", e.Extensions); err != nil {
		return err
	}
	return checkExtensions(p, e.Extra)
}

// rawKind names the JSON type of a raw value: "object", "array", "string",
// "number", "bool", "null", or "invalid".
func rawKind(v json.RawMessage) string {
	if !json.Valid(v) {
		return "invalid"
	}
	t := bytes.TrimLeft(v, " \t\r\n")
	switch t[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	}
	return "number"
}

func checkText(field, v string) error {
	if len(v) > MaxTextBytes {
		return &FieldError{Field: field, Message: fmt.Sprintf("must be at most %d bytes, it has %d", MaxTextBytes, len(v))}
	}
	if !utf8.ValidString(v) {
		return &FieldError{Field: field, Message: "must be valid UTF-8"}
	}
	if strings.IndexByte(v, 0) >= 0 {
		// PostgreSQL's text and jsonb cannot hold NUL.
		return &FieldError{Field: field, Message: "must not contain NUL characters"}
	}
	return nil
}

func checkTextList(field string, vs []string, limit int) error {
	if len(vs) > limit {
		return &FieldError{Field: field, Message: fmt.Sprintf("must have at most %d items, it has %d", limit, len(vs))}
	}
	for i, v := range vs {
		if err := checkText(field+"["+strconv.Itoa(i)+"]", v); err != nil {
			return err
		}
	}
	return nil
}

// checkExtensions checks that every value of m is valid UTF-8 JSON that
// CanonicalJSON accepts (no duplicate member names, numbers within the
// double range) and that together they stay under MaxExtensionsBytes. prefix names the object that
// holds them.
func checkExtensions(prefix string, m map[string]json.RawMessage) error {
	total := 0
	for _, k := range sortedKeys(m) {
		v := m[k]
		total += len(k) + len(v)
		if len(v) == 0 {
			continue // marshals as null
		}
		if !utf8.ValidString(k) || !utf8.Valid(v) || !json.Valid(v) {
			return &FieldError{Field: prefix + "." + k, Message: "must be valid JSON in UTF-8"}
		}
		if _, err := canonicalize(v); err != nil {
			// ContentHash could not hash the card.
			return &FieldError{Field: prefix + "." + k, Message: err.Error()}
		}
	}
	if total > MaxExtensionsBytes {
		return &FieldError{Field: prefix, Message: fmt.Sprintf("must be at most %d bytes of JSON", MaxExtensionsBytes)}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// MarshalJSON writes the entry's spec fields followed by its Extra keys.
func (e BookEntry) MarshalJSON() ([]byte, error) {
	type plain BookEntry // drops the methods, so no recursion
	b, err := marshalJSON(plain(e))
	if err != nil {
		return nil, err
	}
	return appendExtra(b, e.Extra, isEntryKey)
}

// UnmarshalJSON reads the spec fields by their exact names and keeps every
// other key in Extra. An entry without "enabled" is enabled. Errors are
// *FieldError naming the key.
func (e *BookEntry) UnmarshalJSON(data []byte) error {
	known, extra, err := splitObject(data, isEntryKey)
	if err != nil {
		return err
	}
	type plain BookEntry
	p := plain{Enabled: true}
	if known != nil {
		if err := json.Unmarshal(known, &p); err != nil {
			return jsonErrorToField("", err)
		}
	}
	p.Extra = extra
	*e = BookEntry(p)
	return nil
}

// MarshalJSON writes the book's spec fields followed by its Extra keys.
func (b CharacterBook) MarshalJSON() ([]byte, error) {
	type plain CharacterBook
	out, err := marshalJSON(plain(b))
	if err != nil {
		return nil, err
	}
	return appendExtra(out, b.Extra, isBookKey)
}

// UnmarshalJSON reads the spec fields by their exact names and keeps every
// other key in Extra. Errors are *FieldError naming the key, e.g.
// "entries[3].keys".
func (b *CharacterBook) UnmarshalJSON(data []byte) error {
	known, extra, err := splitObject(data, isBookKey)
	if err != nil {
		return err
	}
	type plain CharacterBook
	var p plain
	var entries []json.RawMessage
	if known != nil {
		type bookFields = plain
		var withRawEntries struct {
			bookFields
			Entries *[]json.RawMessage `json:"entries"`
		}
		withRawEntries.Entries = &entries
		if err := json.Unmarshal(known, &withRawEntries); err != nil {
			return jsonErrorToField("", err)
		}
		p = withRawEntries.bookFields
	}
	if entries != nil {
		p.Entries = make([]BookEntry, len(entries))
		for i, raw := range entries {
			if err := p.Entries[i].UnmarshalJSON(raw); err != nil {
				return prefixFieldError(fmt.Sprintf("entries[%d]", i), err)
			}
		}
	}
	p.Extra = extra
	*b = CharacterBook(p)
	return nil
}

// splitObject splits a JSON object into the re-encoded object of its known
// keys (exact names only) and a map of the others. JSON null gives nil, nil.
func splitObject(data []byte, known func(string) bool) ([]byte, map[string]json.RawMessage, error) {
	var all map[string]json.RawMessage
	if err := json.Unmarshal(data, &all); err != nil {
		return nil, nil, jsonErrorToField("", err)
	}
	if all == nil {
		return nil, nil, nil
	}
	k := map[string]json.RawMessage{}
	extra := map[string]json.RawMessage{}
	for key, v := range all {
		if known(key) {
			k[key] = v
		} else {
			extra[key] = v
		}
	}
	if len(extra) == 0 {
		// Every key is a spec name: data itself decodes the same, without
		// re-encoding (the common case, and the hot one on reads).
		return data, nil, nil
	}
	b, err := marshalJSON(k)
	if err != nil {
		return nil, nil, jsonErrorToField("", err)
	}
	return b, extra, nil
}

// appendExtra adds extra's keys (sorted, skipping spec names) to the JSON
// object obj.
func appendExtra(obj []byte, extra map[string]json.RawMessage, known func(string) bool) ([]byte, error) {
	if len(extra) == 0 {
		return obj, nil
	}
	obj = bytes.TrimRight(obj, "\n")
	if len(obj) < 2 || obj[len(obj)-1] != '}' {
		return nil, fmt.Errorf("agents: marshal extra keys: not an object")
	}
	out := append([]byte(nil), obj[:len(obj)-1]...)
	first := len(obj) == 2
	for _, k := range sortedKeys(extra) {
		if known(k) {
			continue
		}
		kb, err := marshalJSON(k)
		if err != nil {
			return nil, err
		}
		v := extra[k]
		if len(v) == 0 {
			v = json.RawMessage("null")
		}
		if !json.Valid(v) {
			return nil, fmt.Errorf("agents: marshal extra key %q: invalid JSON value", k)
		}
		if !first {
			out = append(out, ',')
		}
		first = false
		out = append(out, kb...)
		out = append(out, ':')
		out = append(out, v...)
	}
	return append(out, '}'), nil
}

// marshalJSON is json.Marshal without HTML escaping (cards are full of
// "<START>" and "&"), and without the trailing newline of json.Encoder.
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// MaxImportBytes is the largest file Import accepts.
const MaxImportBytes = MaxCHARXBytes

// Imported is what Import found in a card file.
type Imported struct {
	// Card is the parsed, normalized and validated card.
	Card Card
	// Avatar holds the raw bytes of the image the file carried, if any: the
	// PNG card file itself, or the main icon asset of a CHARX archive. It is
	// not normalized (see NormalizeAvatar).
	Avatar []byte
	// Assets maps archive paths to file contents (CHARX only; never nil).
	Assets map[string][]byte
	// Format is FormatV1, FormatV2 or FormatV3 for card JSON, FormatPNG or
	// FormatCHARX.
	Format string
}

// Import reads a card file of any supported kind, chosen by its first
// bytes: the PNG signature (ParseCardPNG), a zip local file header "PK\x03\x04"
// (ParseCHARX), or a JSON object or array, after optional white space and a
// UTF-8 byte order mark (ParseCardJSON). Anything else gives
// ErrUnsupportedFormat; a file over MaxImportBytes gives ErrTooLarge.
func Import(data []byte) (Imported, error) {
	if len(data) > MaxImportBytes {
		return Imported{}, fmt.Errorf("agents: import: file is %d bytes, the limit is %d: %w", len(data), MaxImportBytes, ErrTooLarge)
	}
	switch {
	case isPNG(data):
		c, err := ParseCardPNG(data)
		if err != nil {
			return Imported{}, fmt.Errorf("agents: import: %w", err)
		}
		return Imported{Card: c, Avatar: data, Assets: map[string][]byte{}, Format: FormatPNG}, nil
	case bytes.HasPrefix(data, []byte("PK\x03\x04")):
		c, files, err := ParseCHARX(data)
		if err != nil {
			return Imported{}, fmt.Errorf("agents: import: %w", err)
		}
		return Imported{Card: c, Avatar: mainIcon(c, files), Assets: files, Format: FormatCHARX}, nil
	}
	rest := bytes.TrimLeft(bytes.TrimPrefix(data, []byte(utf8BOM)), " \t\r\n")
	if len(rest) == 0 || (rest[0] != '{' && rest[0] != '[') {
		return Imported{}, fmt.Errorf("agents: import: not a card JSON, PNG or CHARX file: %w", ErrUnsupportedFormat)
	}
	c, format, err := parseCardJSON(data)
	if err != nil {
		return Imported{}, fmt.Errorf("agents: import: %w", err)
	}
	return Imported{Card: c, Assets: map[string][]byte{}, Format: format}, nil
}
