package agents

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// MaxCardJSONBytes is the largest card JSON ParseCardJSON accepts (also the
// limit on the JSON inside a PNG chunk or a CHARX card.json).
const MaxCardJSONBytes = 2 << 20

// Spec names and versions written by EncodeV2 and EncodeV3.
const (
	SpecV2        = "chara_card_v2"
	SpecVersionV2 = "2.0"
	SpecV3        = "chara_card_v3"
	SpecVersionV3 = "3.0"
)

// Card file formats: what Import reports in Imported.Format, and what an
// export may be asked for (v1 is import only).
const (
	FormatV1    = "v1"
	FormatV2    = "v2"
	FormatV3    = "v3"
	FormatPNG   = "png"
	FormatCHARX = "charx"
)

const utf8BOM = "\xef\xbb\xbf"

// ParseCardJSON decodes a V1, V2 or V3 character card, normalizes it and
// validates it. A JSON object whose spec is neither chara_card_v2 (2.x) nor
// chara_card_v3 (3.x), or that has no spec and no V1 name, gives
// ErrUnsupportedSpec; malformed JSON or a field of the wrong type gives
// ErrInvalidCard (a *FieldError with the line and column or the field);
// input over MaxCardJSONBytes gives ErrTooLarge.
func ParseCardJSON(data []byte) (Card, error) {
	c, _, err := parseCardJSON(data)
	return c, err
}

// parseCardJSON is ParseCardJSON that also says which format it read.
func parseCardJSON(data []byte) (Card, string, error) {
	if len(data) > MaxCardJSONBytes {
		return Card{}, "", fmt.Errorf("agents: card json is %d bytes, the limit is %d: %w", len(data), MaxCardJSONBytes, ErrTooLarge)
	}
	data = bytes.TrimPrefix(data, []byte(utf8BOM))
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return Card{}, "", fmt.Errorf("agents: parse card json: %w", jsonErrorAt(data, "card", err))
	}
	if top == nil {
		return Card{}, "", fmt.Errorf("agents: parse card json: %w", &FieldError{Field: "card", Message: "must be a JSON object, not null"})
	}
	var (
		c      Card
		format string
		err    error
	)
	specRaw, hasSpec := top["spec"]
	if hasSpec {
		var spec string
		if json.Unmarshal(specRaw, &spec) != nil {
			return Card{}, "", fmt.Errorf("agents: card spec %s is not a string: %w", truncate(string(specRaw), 40), ErrUnsupportedSpec)
		}
		var major float64
		switch spec {
		case SpecV2:
			format, major = FormatV2, 2
		case SpecV3:
			format, major = FormatV3, 3
		default:
			return Card{}, "", fmt.Errorf("agents: card spec %q: %w", truncate(spec, 40), ErrUnsupportedSpec)
		}
		if err := checkSpecVersion(top["spec_version"], major); err != nil {
			return Card{}, "", fmt.Errorf("agents: card spec %s: %w", spec, err)
		}
		raw, ok := top["data"]
		if !ok || string(raw) == "null" {
			return Card{}, "", fmt.Errorf("agents: parse card json: %w", &FieldError{Field: "data", Message: "is required"})
		}
		c, err = decodeCardData(raw)
	} else {
		_, hasName := top["name"]
		_, hasCharName := top["char_name"]
		if !hasName && !hasCharName {
			return Card{}, "", fmt.Errorf("agents: card json has no spec and no name: %w", ErrUnsupportedSpec)
		}
		format = FormatV1
		c, err = decodeV1(data)
	}
	if err != nil {
		return Card{}, "", fmt.Errorf("agents: parse %s card: %w", format, err)
	}
	c.Normalize()
	if err := c.Validate(); err != nil {
		return Card{}, "", fmt.Errorf("agents: parse %s card: %w", format, err)
	}
	return c, format, nil
}

// checkSpecVersion accepts a missing spec_version or one (string or number)
// in [major, major+1).
func checkSpecVersion(raw json.RawMessage, major float64) error {
	if raw == nil || string(raw) == "null" {
		return nil
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		s = string(raw)
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || v < major || v >= major+1 {
		return fmt.Errorf("spec_version %s: %w", truncate(string(raw), 40), ErrUnsupportedSpec)
	}
	return nil
}

// decodeCardData decodes the "data" object of a V2 or V3 card. It tolerates
// the shapes found in the wild for character_version (a number) and the V3
// dates (floats, numeric strings, null).
func decodeCardData(raw json.RawMessage) (Card, error) {
	type cardFields Card
	var w struct {
		cardFields
		CharacterVersion json.RawMessage `json:"character_version"`
		CreationDate     json.RawMessage `json:"creation_date"`
		ModificationDate json.RawMessage `json:"modification_date"`
	}
	// Only keys spelled exactly as the spec spells them fill fields;
	// encoding/json alone would also match "Creation_Date" and the like,
	// which are kept as unknown keys instead.
	known, extra, err := splitObject(raw, isCardKey)
	if err != nil {
		return Card{}, orField(err, "data")
	}
	if known == nil {
		known = []byte("{}")
	}
	if err := json.Unmarshal(known, &w); err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			// Only the character book has its own decoder.
			return Card{}, prefixFieldError("character_book", err)
		}
		return Card{}, orField(jsonErrorToField("", err), "data")
	}
	c := Card(w.cardFields)
	c.Extra = extra
	if c.CharacterVersion, err = looseString("character_version", w.CharacterVersion); err != nil {
		return Card{}, err
	}
	if c.CreationDate, err = looseUnix("creation_date", w.CreationDate); err != nil {
		return Card{}, err
	}
	if c.ModificationDate, err = looseUnix("modification_date", w.ModificationDate); err != nil {
		return Card{}, err
	}
	return c, nil
}

// decodeV1 decodes a flat V1 card, including the older TavernAI names
// (char_name, char_persona, world_scenario, char_greeting, example_dialogue).
func decodeV1(data []byte) (Card, error) {
	var v struct {
		Name            *string  `json:"name"`
		Description     *string  `json:"description"`
		Personality     string   `json:"personality"`
		Scenario        *string  `json:"scenario"`
		FirstMes        *string  `json:"first_mes"`
		MesExample      *string  `json:"mes_example"`
		CreatorComment  string   `json:"creatorcomment"`
		Tags            []string `json:"tags"`
		CharName        string   `json:"char_name"`
		CharPersona     string   `json:"char_persona"`
		WorldScenario   string   `json:"world_scenario"`
		CharGreeting    string   `json:"char_greeting"`
		ExampleDialogue string   `json:"example_dialogue"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return Card{}, orField(jsonErrorToField("", err), "card")
	}
	pick := func(p *string, old string) string {
		if p != nil {
			return *p
		}
		return old
	}
	return Card{
		Name:         pick(v.Name, v.CharName),
		Description:  pick(v.Description, v.CharPersona),
		Personality:  v.Personality,
		Scenario:     pick(v.Scenario, v.WorldScenario),
		FirstMes:     pick(v.FirstMes, v.CharGreeting),
		MesExample:   pick(v.MesExample, v.ExampleDialogue),
		CreatorNotes: v.CreatorComment,
		Tags:         v.Tags,
	}, nil
}

// looseString reads a JSON string, or a number as its literal text; null or
// absent is empty.
func looseString(field string, raw json.RawMessage) (string, error) {
	switch rawKind(raw) {
	case "invalid":
		if len(raw) == 0 {
			return "", nil
		}
	case "null":
		return "", nil
	case "string":
		var s string
		if err := json.Unmarshal(raw, &s); err == nil {
			return s, nil
		}
	case "number":
		return string(bytes.TrimSpace(raw)), nil
	}
	return "", &FieldError{Field: field, Message: "must be a string"}
}

// looseUnix reads a unix timestamp in seconds given as a JSON number
// (fractions truncated) or a numeric string; null, absent or "" is zero.
func looseUnix(field string, raw json.RawMessage) (int64, error) {
	bad := &FieldError{Field: field, Message: "must be a unix timestamp in seconds"}
	var text string
	switch rawKind(raw) {
	case "invalid":
		if len(raw) == 0 {
			return 0, nil
		}
		return 0, bad
	case "null":
		return 0, nil
	case "string":
		if err := json.Unmarshal(raw, &text); err != nil {
			return 0, bad
		}
		text = strings.TrimSpace(text)
		if text == "" {
			return 0, nil
		}
	case "number":
		text = string(bytes.TrimSpace(raw))
	default:
		return 0, bad
	}
	if n, err := strconv.ParseInt(text, 10, 64); err == nil {
		return n, nil
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsNaN(f) || f >= math.MaxInt64 || f <= math.MinInt64 {
		return 0, bad
	}
	return int64(f), nil
}

// jsonErrorAt turns a decoding error of data into a *FieldError; syntax
// errors say the line and column.
func jsonErrorAt(data []byte, what string, err error) error {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		line, col := lineCol(data, syn.Offset)
		return &FieldError{Field: what, Message: fmt.Sprintf("is not valid JSON at line %d, column %d (byte %d): %s", line, col, syn.Offset, syn.Error())}
	}
	return jsonErrorToField(what, err)
}

// jsonErrorToField turns a decoding error into a *FieldError whose path
// starts at prefix (empty for the top level).
func jsonErrorToField(prefix string, err error) error {
	var fe *FieldError
	if errors.As(err, &fe) {
		return err
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		field := joinPath(prefix, cleanFieldPath(typ.Field))
		return &FieldError{Field: field, Message: fmt.Sprintf("must be %s, not %s (byte %d)", jsonTypeWord(typ.Type.Kind().String()), typ.Value, typ.Offset)}
	}
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return &FieldError{Field: prefix, Message: fmt.Sprintf("is not valid JSON (byte %d): %s", syn.Offset, syn.Error())}
	}
	return &FieldError{Field: prefix, Message: "is not valid: " + err.Error()}
}

// cleanFieldPath removes from an encoding/json field path the names of the
// embedded structs the decoders here use to shadow fields.
func cleanFieldPath(p string) string {
	segs := strings.Split(p, ".")
	out := segs[:0]
	for _, s := range segs {
		if s != "cardFields" && s != "bookFields" {
			out = append(out, s)
		}
	}
	return strings.Join(out, ".")
}

func joinPath(prefix, field string) string {
	switch {
	case prefix == "":
		return field
	case field == "":
		return prefix
	case strings.HasPrefix(field, "["):
		return prefix + field
	}
	return prefix + "." + field
}

// orField names field in a *FieldError that names none.
func orField(err error, field string) error {
	var fe *FieldError
	if errors.As(err, &fe) && fe.Field == "" {
		return &FieldError{Field: field, Message: fe.Message}
	}
	return err
}

// prefixFieldError puts prefix in front of the path of a *FieldError.
func prefixFieldError(prefix string, err error) error {
	var fe *FieldError
	if errors.As(err, &fe) {
		return &FieldError{Field: joinPath(prefix, fe.Field), Message: fe.Message}
	}
	return &FieldError{Field: prefix, Message: "is not valid: " + err.Error()}
}

func jsonTypeWord(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "slice", "array":
		return "an array"
	case "map", "struct":
		return "an object"
	case "bool":
		return "true or false"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "an integer"
	case "float32", "float64":
		return "a number"
	}
	return "of another type"
}

// lineCol converts a byte offset of data into a 1-based line and column.
func lineCol(data []byte, off int64) (int, int) {
	off = min(off, int64(len(data)))
	if off > 0 {
		off-- // SyntaxError.Offset counts the offending byte
	}
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(off) - bytes.LastIndexByte(before, '\n')
	return line, col
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// EncodeV2 returns c as a chara_card_v2 JSON document. V2 has no place for
// the V3-only fields, so they are dropped: nickname,
// creator_notes_multilingual, source, group_only_greetings, creation_date,
// modification_date, assets, and in lorebook entries use_regex and ids that
// are not numbers. Extensions and unknown lorebook keys are kept. The card
// is normalized and validated first.
func EncodeV2(c Card) ([]byte, error) {
	c = c.Clone()
	c.Normalize()
	if err := c.validateFields(); err != nil {
		return nil, fmt.Errorf("agents: encode v2: %w", err)
	}
	b, err := encodeV2(c)
	if err != nil {
		return nil, err
	}
	if err := checkEncodedSize(b); err != nil {
		return nil, fmt.Errorf("agents: encode v2: %w", err)
	}
	return b, nil
}

// EncodeV3 returns c as a chara_card_v3 JSON document with every field. The
// card is normalized and validated first.
func EncodeV3(c Card) ([]byte, error) {
	c = c.Clone()
	c.Normalize()
	if err := c.validateFields(); err != nil {
		return nil, fmt.Errorf("agents: encode v3: %w", err)
	}
	b, err := encodeV3(c)
	if err != nil {
		return nil, err
	}
	if err := checkEncodedSize(b); err != nil {
		return nil, fmt.Errorf("agents: encode v3: %w", err)
	}
	return b, nil
}

type cardEnvelope struct {
	Spec        string `json:"spec"`
	SpecVersion string `json:"spec_version"`
	Data        any    `json:"data"`
}

// encodeV3 encodes an already normalized card.
func encodeV3(c Card) ([]byte, error) {
	data, err := marshalCardData(c, c)
	if err != nil {
		return nil, fmt.Errorf("agents: encode v3: %w", err)
	}
	b, err := marshalJSON(cardEnvelope{Spec: SpecV3, SpecVersion: SpecVersionV3, Data: data})
	if err != nil {
		return nil, fmt.Errorf("agents: encode v3: %w", err)
	}
	return b, nil
}

// v2Data is the data object of a V2 card.
type v2Data struct {
	Name                    string                     `json:"name"`
	Description             string                     `json:"description"`
	Personality             string                     `json:"personality"`
	Scenario                string                     `json:"scenario"`
	FirstMes                string                     `json:"first_mes"`
	MesExample              string                     `json:"mes_example"`
	CreatorNotes            string                     `json:"creator_notes"`
	SystemPrompt            string                     `json:"system_prompt"`
	PostHistoryInstructions string                     `json:"post_history_instructions"`
	AlternateGreetings      []string                   `json:"alternate_greetings"`
	CharacterBook           json.RawMessage            `json:"character_book,omitempty"`
	Tags                    []string                   `json:"tags"`
	Creator                 string                     `json:"creator"`
	CharacterVersion        string                     `json:"character_version"`
	Extensions              map[string]json.RawMessage `json:"extensions"`
}

// encodeV2 encodes an already normalized card.
func encodeV2(c Card) ([]byte, error) {
	d := v2Data{
		Name: c.Name, Description: c.Description, Personality: c.Personality, Scenario: c.Scenario,
		FirstMes: c.FirstMes, MesExample: c.MesExample, CreatorNotes: c.CreatorNotes,
		SystemPrompt: c.SystemPrompt, PostHistoryInstructions: c.PostHistoryInstructions,
		AlternateGreetings: c.AlternateGreetings, Tags: c.Tags, Creator: c.Creator,
		CharacterVersion: c.CharacterVersion, Extensions: c.Extensions,
	}
	if c.CharacterBook != nil {
		book, err := marshalBookV2(*c.CharacterBook)
		if err != nil {
			return nil, fmt.Errorf("agents: encode v2: %w", err)
		}
		d.CharacterBook = book
	}
	data, err := marshalCardData(d, c)
	if err != nil {
		return nil, fmt.Errorf("agents: encode v2: %w", err)
	}
	b, err := marshalJSON(cardEnvelope{Spec: SpecV2, SpecVersion: SpecVersionV2, Data: data})
	if err != nil {
		return nil, fmt.Errorf("agents: encode v2: %w", err)
	}
	return b, nil
}

// marshalCardData encodes a card's data object (fields) followed by the
// card's Extra keys.
func marshalCardData(fields any, c Card) (json.RawMessage, error) {
	b, err := marshalJSON(fields)
	if err != nil {
		return nil, err
	}
	b, err = appendExtra(b, c.Extra, isCardKey)
	return json.RawMessage(b), err
}

// encodeStored is how the agents store keeps a card in its jsonb column:
// the plain JSON of Card plus its Extra keys.
func encodeStored(c Card) ([]byte, error) {
	return marshalCardData(c, c)
}

// decodeStored reads what encodeStored wrote.
func decodeStored(b []byte) (Card, error) {
	known, extra, err := splitObject(b, isCardKey)
	if err != nil {
		return Card{}, err
	}
	var c Card
	if known != nil {
		if err := json.Unmarshal(known, &c); err != nil {
			return Card{}, err
		}
	}
	c.Extra = extra
	c.Normalize()
	return c, nil
}

// marshalBookV2 encodes a book with its entries in V2 form: no use_regex,
// and only numeric ids.
func marshalBookV2(b CharacterBook) (json.RawMessage, error) {
	entries := make([]json.RawMessage, len(b.Entries))
	for i, e := range b.Entries {
		if rawKind(e.ID) != "number" {
			e.ID = nil
		}
		raw, err := e.MarshalJSON()
		if err != nil {
			return nil, err
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, err
		}
		delete(m, "use_regex")
		if entries[i], err = marshalJSON(m); err != nil {
			return nil, err
		}
	}
	b.Entries = nil
	raw, err := b.MarshalJSON()
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	if m["entries"], err = marshalJSON(entries); err != nil {
		return nil, err
	}
	return marshalJSON(m)
}
