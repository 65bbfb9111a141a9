package agents

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/timbre-ai/timbre/db"
)

// Version is a published, immutable snapshot of an agent's card.
type Version struct {
	Number      int       `json:"number"`
	ContentHash string    `json:"content_hash"`
	CreatedAt   time.Time `json:"created_at"`
}

// Cursor marks a position in a list of agents, newest first.
type Cursor struct {
	CreatedAt time.Time `json:"t"`
	ID        string    `json:"i"`
}

// Encode returns the cursor as an opaque string.
func (c Cursor) Encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// ParseCursor decodes a cursor made by Encode.
func ParseCursor(s string) (*Cursor, error) {
	if s == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	var c Cursor
	if err == nil && len(b) < 256 {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || c.ID == "" || c.CreatedAt.IsZero() {
		return nil, &FieldError{Field: "cursor", Message: "is not a cursor this server issued"}
	}
	return &c, nil
}

// Scope selects which agents a list shows.
type Scope string

// Scopes: the caller's own agents, or the public catalogue.
const (
	ScopeMine   Scope = "mine"
	ScopePublic Scope = "public"
)

// ListParams filter and page a list of agents.
type ListParams struct {
	Scope  Scope
	Query  string
	Cursor string
	Limit  int
}

// Page is one page of agents.
type Page struct {
	Items      []Agent `json:"items"`
	NextCursor string  `json:"next_cursor"`
}

// Exported is an agent's card rendered as a file.
type Exported struct {
	ContentType string
	Filename    string
	Data        []byte
}

// Service manages agents: drafts, versions, avatars and card files.
type Service struct {
	store store
}

// NewService returns a Service on pool.
func NewService(pool *pgxpool.Pool) *Service {
	return &Service{store: store{pool: pool}}
}

// Create makes a draft agent owned by ownerID from a JSON request body.
func (s *Service) Create(ctx context.Context, ownerID string, body []byte) (Agent, error) {
	in, err := decodeInput(body, nil)
	if err != nil {
		return Agent{}, fmt.Errorf("agents: create: %w", err)
	}
	a := Agent{ID: db.NewID("agt"), OwnerID: ownerID, Card: in.card, Visibility: in.visibility, VoiceID: in.voiceID, LLM: in.llm}
	err = pgx.BeginFunc(ctx, s.store.pool, func(tx pgx.Tx) error {
		a, err = s.store.insert(ctx, tx, a, nil)
		return err
	})
	if err != nil {
		return Agent{}, err
	}
	return a, nil
}

// Agent returns an agent the caller may see. Someone else's private agent is
// ErrNotFound, as if it did not exist. callerID may be empty (anonymous).
func (s *Service) Agent(ctx context.Context, callerID, id string) (Agent, error) {
	if !db.ValidID("agt", id) {
		return Agent{}, ErrNotFound
	}
	a, err := s.store.agent(ctx, nil, id, false)
	if err != nil {
		return Agent{}, err
	}
	if a.OwnerID != callerID && a.Visibility == Private {
		return Agent{}, ErrNotFound
	}
	return a, nil
}

// owned loads an agent for a change by its owner, locking its row in tx.
func (s *Service) owned(ctx context.Context, tx pgx.Tx, callerID, id string) (Agent, error) {
	if !db.ValidID("agt", id) {
		return Agent{}, ErrNotFound
	}
	a, err := s.store.agent(ctx, tx, id, true)
	if err != nil {
		return Agent{}, err
	}
	if a.OwnerID != callerID {
		if a.Visibility == Private {
			return Agent{}, ErrNotFound
		}
		return Agent{}, ErrForbidden
	}
	return a, nil
}

// Update applies a JSON merge patch to the caller's draft.
func (s *Service) Update(ctx context.Context, callerID, id string, patch []byte) (Agent, error) {
	var a Agent
	err := pgx.BeginFunc(ctx, s.store.pool, func(tx pgx.Tx) error {
		var err error
		a, err = s.owned(ctx, tx, callerID, id)
		if err != nil {
			return err
		}
		in, err := decodeInput(patch, &a)
		if err != nil {
			return err
		}
		a.Card, a.Visibility, a.VoiceID, a.LLM = in.card, in.visibility, in.voiceID, in.llm
		a.UpdatedAt, err = s.store.update(ctx, tx, a)
		return err
	})
	if err != nil {
		return Agent{}, fmt.Errorf("agents: update: %w", err)
	}
	return a, nil
}

// Delete removes the caller's agent with its versions and assets.
func (s *Service) Delete(ctx context.Context, callerID, id string) error {
	return pgx.BeginFunc(ctx, s.store.pool, func(tx pgx.Tx) error {
		if _, err := s.owned(ctx, tx, callerID, id); err != nil {
			return err
		}
		return s.store.delete(ctx, tx, id)
	})
}

// List returns a page of agents: the caller's own (ScopeMine) or the public
// catalogue (ScopePublic), optionally matching a search query.
func (s *Service) List(ctx context.Context, callerID string, p ListParams) (Page, error) {
	q := listQuery{limit: p.Limit}
	switch p.Scope {
	case ScopeMine, "":
		if callerID == "" {
			return Page{}, fmt.Errorf("agents: list: %w", ErrForbidden)
		}
		q.ownerID = callerID
	case ScopePublic:
		q.public = true
	default:
		return Page{}, &FieldError{Field: "scope", Message: "must be mine or public"}
	}
	if q.limit <= 0 || q.limit > 100 {
		q.limit = 20
	}
	if len(p.Query) > 200 {
		return Page{}, &FieldError{Field: "q", Message: "is too long (200 characters at most)"}
	}
	q.tsquery = prefixQuery(p.Query)
	if strings.TrimSpace(p.Query) != "" && q.tsquery == "" {
		return Page{Items: []Agent{}}, nil
	}
	var err error
	if q.after, err = ParseCursor(p.Cursor); err != nil {
		return Page{}, err
	}
	q.limit++ // one extra row tells whether there is a next page
	items, err := s.store.list(ctx, q)
	if err != nil {
		return Page{}, err
	}
	page := Page{Items: items}
	if len(items) == q.limit {
		page.Items = items[:q.limit-1]
		last := page.Items[len(page.Items)-1]
		page.NextCursor = Cursor{CreatedAt: last.CreatedAt, ID: last.ID}.Encode()
	}
	if page.Items == nil {
		page.Items = []Agent{}
	}
	return page, nil
}

// prefixQuery turns free text into a tsquery matching every word as a
// prefix. Only letters and digits pass, so the text cannot inject tsquery
// operators.
func prefixQuery(q string) string {
	words := strings.FieldsFunc(strings.ToLower(q), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	if len(words) > 16 {
		words = words[:16]
	}
	for i, w := range words {
		words[i] = w + ":*"
	}
	return strings.Join(words, " & ")
}

// Publish freezes the caller's current draft as the next version.
func (s *Service) Publish(ctx context.Context, callerID, id string) (Version, error) {
	var v Version
	err := pgx.BeginFunc(ctx, s.store.pool, func(tx pgx.Tx) error {
		a, err := s.owned(ctx, tx, callerID, id)
		if err != nil {
			return err
		}
		hash, err := ContentHash(a.Card)
		if err != nil {
			return err
		}
		card, err := json.Marshal(a.Card)
		if err != nil {
			return err
		}
		v, err = s.store.insertVersion(ctx, tx, a.ID, card, hash)
		return err
	})
	if err != nil {
		return Version{}, fmt.Errorf("agents: publish: %w", err)
	}
	return v, nil
}

// Versions lists an agent's published versions, newest first.
func (s *Service) Versions(ctx context.Context, callerID, id string) ([]Version, error) {
	if _, err := s.Agent(ctx, callerID, id); err != nil {
		return nil, err
	}
	vs, err := s.store.versions(ctx, id)
	if err != nil {
		return nil, err
	}
	if vs == nil {
		vs = []Version{}
	}
	return vs, nil
}

// VersionCard returns the card frozen in version number of an agent.
func (s *Service) VersionCard(ctx context.Context, callerID, id string, number int) (Card, error) {
	if _, err := s.Agent(ctx, callerID, id); err != nil {
		return Card{}, err
	}
	return s.store.versionCard(ctx, id, number)
}

// Import creates a private draft from a card file (V1/V2/V3 JSON, PNG card or
// CHARX). Nothing is written unless the whole card, its avatar and its assets
// are accepted.
func (s *Service) Import(ctx context.Context, ownerID string, file []byte) (Agent, error) {
	imp, err := Import(file)
	if err != nil {
		return Agent{}, err
	}
	imp.Card.Normalize()
	if err := imp.Card.Validate(); err != nil {
		return Agent{}, fmt.Errorf("agents: import: %w", err)
	}
	var avatar []byte
	if len(imp.Avatar) > 0 {
		if avatar, err = NormalizeAvatar(imp.Avatar); err != nil {
			return Agent{}, fmt.Errorf("agents: import: card image: %w", err)
		}
	}
	a := Agent{ID: db.NewID("agt"), OwnerID: ownerID, Card: imp.Card, Visibility: Private}
	err = pgx.BeginFunc(ctx, s.store.pool, func(tx pgx.Tx) error {
		if a, err = s.store.insert(ctx, tx, a, avatar); err != nil {
			return err
		}
		return s.store.insertAssets(ctx, tx, a.ID, imp.Assets)
	})
	if err != nil {
		return Agent{}, err
	}
	return a, nil
}

// Export renders an agent's current card in format (v2, v3, png or charx).
func (s *Service) Export(ctx context.Context, callerID, id, format string) (Exported, error) {
	a, err := s.Agent(ctx, callerID, id)
	if err != nil {
		return Exported{}, err
	}
	base := fileName(a.Card.Name)
	switch format {
	case FormatV2, "":
		b, err := EncodeV2(a.Card)
		return Exported{ContentType: "application/json", Filename: base + ".json", Data: b}, err
	case FormatV3:
		b, err := EncodeV3(a.Card)
		return Exported{ContentType: "application/json", Filename: base + ".json", Data: b}, err
	case FormatPNG:
		var avatar []byte
		if a.HasAvatar {
			if avatar, err = s.store.avatar(ctx, id); err != nil {
				return Exported{}, err
			}
		}
		b, err := EncodePNG(a.Card, avatar)
		return Exported{ContentType: "image/png", Filename: base + ".png", Data: b}, err
	case FormatCHARX:
		assets, err := s.store.assets(ctx, id)
		if err != nil {
			return Exported{}, err
		}
		card := a.Card
		if a.HasAvatar {
			avatar, err := s.store.avatar(ctx, id)
			if err != nil {
				return Exported{}, err
			}
			card, assets = WithIcon(card, assets, avatar)
		}
		b, err := EncodeCHARX(card, assets)
		return Exported{ContentType: "application/zip", Filename: base + ".charx", Data: b}, err
	}
	return Exported{}, &FieldError{Field: "format", Message: "must be v2, v3, png or charx"}
}

// SetAvatar validates, re-encodes and stores a new avatar for the caller's agent.
func (s *Service) SetAvatar(ctx context.Context, callerID, id string, image []byte) (Agent, error) {
	png, err := NormalizeAvatar(image)
	if err != nil {
		return Agent{}, fmt.Errorf("agents: avatar: %w", err)
	}
	err = pgx.BeginFunc(ctx, s.store.pool, func(tx pgx.Tx) error {
		if _, err := s.owned(ctx, tx, callerID, id); err != nil {
			return err
		}
		return s.store.setAvatar(ctx, tx, id, png)
	})
	if err != nil {
		return Agent{}, fmt.Errorf("agents: avatar: %w", err)
	}
	return s.Agent(ctx, callerID, id)
}

// Avatar returns the PNG avatar of an agent the caller may see.
func (s *Service) Avatar(ctx context.Context, callerID, id string) ([]byte, error) {
	if _, err := s.Agent(ctx, callerID, id); err != nil {
		return nil, err
	}
	png, err := s.store.avatar(ctx, id)
	if err != nil {
		return nil, err
	}
	if png == nil {
		return nil, ErrNotFound
	}
	return png, nil
}

// fileName makes a safe download name from an agent's name.
func fileName(name string) string {
	var b strings.Builder
	for _, r := range name {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '_':
			b.WriteRune('_')
		}
		if b.Len() >= 64 {
			break
		}
	}
	if b.Len() == 0 {
		return "agent"
	}
	return b.String()
}
