package agents

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Visibility says who may see and use an agent.
type Visibility string

// Visibilities: private (owner only), unlisted (anyone with the id), public
// (listed in the public catalogue).
const (
	Private  Visibility = "private"
	Unlisted Visibility = "unlisted"
	Public   Visibility = "public"
)

func (v Visibility) valid() bool { return v == Private || v == Unlisted || v == Public }

// LLMSettings choose the language model an agent talks with. Empty fields
// mean the platform default.
type LLMSettings struct {
	Provider    string   `json:"provider"`
	Model       string   `json:"model"`
	Temperature *float64 `json:"temperature"`
	MaxTokens   *int     `json:"max_tokens"`
}

func (l LLMSettings) validate() error {
	switch l.Provider {
	case "", "openai", "ollama", "anthropic":
	default:
		return &FieldError{Field: "llm.provider", Message: "must be one of openai, ollama, anthropic (or empty for the platform default)"}
	}
	if len(l.Model) > 200 {
		return &FieldError{Field: "llm.model", Message: "is too long"}
	}
	if t := l.Temperature; t != nil && (*t < 0 || *t > 2) {
		return &FieldError{Field: "llm.temperature", Message: "must be between 0 and 2"}
	}
	if m := l.MaxTokens; m != nil && (*m < 1 || *m > 1_000_000) {
		return &FieldError{Field: "llm.max_tokens", Message: "must be between 1 and 1000000"}
	}
	return nil
}

// Agent is a card plus the platform's settings for it.
type Agent struct {
	ID string
	// Slug names the agent in the OpenAI-compatible API; it is derived from
	// the name at creation and never changes.
	Slug          string
	OwnerID       string
	Card          Card
	Visibility    Visibility
	VoiceID       string
	LLM           LLMSettings
	HasAvatar     bool
	CreatedAt     time.Time
	UpdatedAt     time.Time
	LatestVersion int
}

// avatarURL is where an agent's avatar is served; the version parameter
// changes with every update so caches never show an old image.
func avatarURL(id string, updated time.Time) *string {
	u := "/api/agents/" + id + "/avatar?v=" + strconv.FormatInt(updated.UnixMilli(), 10)
	return &u
}

// agentMeta is the platform half of an agent's JSON; the card's fields sit
// beside it at the top level, as API.md shows.
type agentMeta struct {
	ID            string      `json:"id"`
	Slug          string      `json:"slug"`
	OwnerID       string      `json:"owner_id"`
	Visibility    Visibility  `json:"visibility"`
	VoiceID       string      `json:"voice_id"`
	LLM           LLMSettings `json:"llm"`
	AvatarURL     *string     `json:"avatar_url"`
	CreatedAt     time.Time   `json:"created_at"`
	UpdatedAt     time.Time   `json:"updated_at"`
	LatestVersion int         `json:"latest_version"`
}

// settingsKeys are the top-level input keys that are not card fields.
var settingsKeys = [...]string{"visibility", "voice_id", "llm"}

// readOnlyKeys appear in an agent's JSON but cannot be set by clients; they
// are ignored on input so a client may send back what it read.
var readOnlyKeys = [...]string{"id", "slug", "owner_id", "avatar_url", "created_at", "updated_at", "latest_version"}

// MarshalJSON writes the card's fields and the platform's fields as one
// object. The two sets of keys are disjoint.
func (a Agent) MarshalJSON() ([]byte, error) {
	meta := agentMeta{
		ID: a.ID, Slug: a.Slug, OwnerID: a.OwnerID, Visibility: a.Visibility, VoiceID: a.VoiceID, LLM: a.LLM,
		CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt, LatestVersion: a.LatestVersion,
	}
	if a.HasAvatar {
		meta.AvatarURL = avatarURL(a.ID, a.UpdatedAt)
	}
	m, err := json.Marshal(meta)
	if err != nil {
		return nil, err
	}
	c, err := json.Marshal(a.Card)
	if err != nil {
		return nil, err
	}
	c = bytes.TrimSpace(c)
	if len(c) <= 2 { // "{}"
		return m, nil
	}
	out := make([]byte, 0, len(m)+len(c))
	out = append(out, m[:len(m)-1]...)
	out = append(out, ',')
	out = append(out, c[1:]...)
	return out, nil
}

// input is a decoded create or update request.
type input struct {
	card       Card
	visibility Visibility
	voiceID    string
	llm        LLMSettings
}

// decodeInput decodes a create (base == nil) or update request. An update is
// a merge patch over base: keys present in raw replace base's, others stay.
// Unknown keys are rejected so that typos do not silently vanish.
func decodeInput(raw []byte, base *Agent) (input, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return input{}, jsonFieldError(err)
	}
	if fields == nil {
		return input{}, &FieldError{Field: "body", Message: "must be a JSON object"}
	}
	in := input{visibility: Private}
	cardFields := map[string]json.RawMessage{}
	if base != nil {
		in = input{card: base.Card, visibility: base.Visibility, voiceID: base.VoiceID, llm: base.LLM}
		b, err := json.Marshal(base.Card)
		if err != nil {
			return input{}, fmt.Errorf("agents: encode card: %w", err)
		}
		if err := json.Unmarshal(b, &cardFields); err != nil {
			return input{}, fmt.Errorf("agents: encode card: %w", err)
		}
	}
	for _, k := range readOnlyKeys {
		delete(fields, k)
	}
	for _, k := range settingsKeys {
		v, ok := fields[k]
		if !ok {
			continue
		}
		delete(fields, k)
		var err error
		switch k {
		case "visibility":
			err = json.Unmarshal(v, &in.visibility)
			if err == nil && !in.visibility.valid() {
				return input{}, &FieldError{Field: k, Message: "must be private, unlisted or public"}
			}
		case "voice_id":
			err = json.Unmarshal(v, &in.voiceID)
		case "llm":
			in.llm = LLMSettings{}
			err = strictUnmarshal(v, &in.llm)
		}
		if err != nil {
			fe := jsonFieldError(err)
			if fe.Field == "" || fe.Field == "body" {
				fe.Field = k
			} else if k == "llm" {
				fe.Field = "llm." + fe.Field
			}
			return input{}, fe
		}
	}
	if len(in.voiceID) > 200 {
		return input{}, &FieldError{Field: "voice_id", Message: "is too long"}
	}
	if err := in.llm.validate(); err != nil {
		return input{}, err
	}
	for k, v := range fields {
		if string(bytes.TrimSpace(v)) == "null" {
			delete(cardFields, k)
			continue
		}
		cardFields[k] = v
	}
	merged, err := json.Marshal(cardFields)
	if err != nil {
		return input{}, fmt.Errorf("agents: merge card: %w", err)
	}
	in.card = Card{}
	if err := strictUnmarshal(merged, &in.card); err != nil {
		return input{}, jsonFieldError(err)
	}
	if base != nil {
		// Keys no spec defines came with an imported card; clients cannot
		// see or set them, so an edit keeps them.
		in.card.Extra = base.Card.Extra
	}
	in.card.Normalize()
	if err := in.card.Validate(); err != nil {
		return input{}, err
	}
	return in, nil
}

func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// jsonFieldError turns a decoding error into a FieldError naming the field.
func jsonFieldError(err error) *FieldError {
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return &FieldError{Field: strings.Trim(name, `"`), Message: "is not a known field"}
	}
	var inner *FieldError
	if errors.As(err, &inner) && !strings.HasPrefix(inner.Field, "character_book") {
		// Only the lorebook has its own decoder; its paths start inside the book.
		return &FieldError{Field: joinPath("character_book", inner.Field), Message: inner.Message}
	}
	var fe *FieldError
	errors.As(jsonErrorToField("", err), &fe)
	if fe.Field == "" {
		fe.Field = "body"
	}
	return fe
}

// Slugify turns a name into a URL-safe slug: lower-case ASCII letters and
// digits joined by single hyphens, at most 48 characters; "agent" when
// nothing is left.
func Slugify(name string) string {
	var b strings.Builder
	hyphen := false
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			if hyphen && b.Len() > 0 {
				b.WriteByte('-')
			}
			hyphen = false
			b.WriteRune(r)
		default:
			hyphen = true
		}
		if b.Len() >= 48 {
			break
		}
	}
	if b.Len() == 0 {
		return "agent"
	}
	return strings.TrimRight(b.String()[:min(b.Len(), 48)], "-")
}
