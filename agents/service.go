package agents

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/timbre-ai/timbre/cache"
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
	if err != nil || !db.ValidID("agt", c.ID) || c.CreatedAt.IsZero() {
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

// Summary is an agent as lists show it: enough for a catalogue tile, with
// the description cut to DescriptionExcerpt characters. GET /api/agents/{id}
// has the whole card.
type Summary struct {
	ID            string     `json:"id"`
	Slug          string     `json:"slug"`
	OwnerID       string     `json:"owner_id"`
	Name          string     `json:"name"`
	Description   string     `json:"description"`
	Creator       string     `json:"creator"`
	Tags          []string   `json:"tags"`
	Visibility    Visibility `json:"visibility"`
	VoiceID       string     `json:"voice_id"`
	AvatarURL     *string    `json:"avatar_url"`
	LatestVersion int        `json:"latest_version"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

// DescriptionExcerpt is how many characters of the description a Summary keeps.
const DescriptionExcerpt = 300

// Page is one page of agent summaries.
type Page struct {
	Items      []Summary `json:"items"`
	NextCursor string    `json:"next_cursor"`
}

// Exported is an agent's card rendered as a file.
type Exported struct {
	ContentType string
	Filename    string
	Data        []byte
}

// Notifier tells the other processes of a deployment that an agent changed,
// so they drop what they cached about it (bus.Broadcast implements it).
type Notifier interface {
	Notify(agentID string) error
}

// Config tunes the Service.
type Config struct {
	// CacheTTL bounds how long a read of an agent or of a public catalogue
	// page is served from memory; zero disables caching. Changes made through
	// any Service sharing the Notifier invalidate at once; the TTL only
	// bounds staleness when a notification is lost.
	CacheTTL time.Duration
	// CacheEntries bounds the number of cached agents (and catalogue pages).
	CacheEntries int
	// Changes, when set, is told the id of every agent that changes.
	Changes Notifier
	// Logger reports failed notifications.
	Logger *slog.Logger
}

// Service manages agents: drafts, versions, avatars and card files.
type Service struct {
	store   store
	cfg     Config
	agents  *cache.TTL[cachedAgent]
	catalog *cache.TTL[[]byte]
}

// cachedAgent is an agent's JSON with what access checks need.
type cachedAgent struct {
	ownerID    string
	visibility Visibility
	body       []byte
}

// NewService returns a Service on pool.
func NewService(pool *pgxpool.Pool, cfg Config) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{
		store:   store{pool: pool},
		cfg:     cfg,
		agents:  cache.New[cachedAgent](cfg.CacheTTL, cfg.CacheEntries),
		catalog: cache.New[[]byte](cfg.CacheTTL, max(100, cfg.CacheEntries/10)),
	}
}

// changed invalidates what this process cached about an agent and tells the
// other processes.
func (s *Service) changed(id string) {
	s.Forget(id)
	if s.cfg.Changes != nil {
		if err := s.cfg.Changes.Notify(id); err != nil {
			s.cfg.Logger.Warn("agent change not broadcast; other processes serve it until their cache expires",
				"agent_id", id, "error", err)
		}
	}
}

// Forget drops what is cached about an agent; the bus calls it when another
// process changed one.
func (s *Service) Forget(id string) {
	s.agents.Forget(id)
	s.catalog.Clear()
}

// AgentJSON returns the JSON of an agent the caller may see, from memory
// when it can. It is the read path of GET /api/agents/{id}.
func (s *Service) AgentJSON(ctx context.Context, callerID, id string) ([]byte, error) {
	if !db.ValidID("agt", id) {
		return nil, ErrNotFound
	}
	c, ok := s.agents.Get(id)
	if !ok {
		gen := s.agents.Generation()
		a, err := s.store.agent(ctx, nil, id, false)
		if err != nil {
			return nil, err
		}
		body, err := json.Marshal(a)
		if err != nil {
			return nil, fmt.Errorf("agents: encode %s: %w", id, err)
		}
		c = cachedAgent{ownerID: a.OwnerID, visibility: a.Visibility, body: body}
		s.agents.Put(id, c, gen)
	}
	if c.ownerID != callerID && c.visibility == Private {
		return nil, ErrNotFound
	}
	return c.body, nil
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
	s.changed(a.ID)
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

// Resolve returns an agent the caller may use, named by its id or its slug
// (as the OpenAI-compatible API's "model" does). Someone else's private
// agent is ErrNotFound.
func (s *Service) Resolve(ctx context.Context, callerID, idOrSlug string) (Agent, error) {
	if db.ValidID("agt", idOrSlug) {
		return s.Agent(ctx, callerID, idOrSlug)
	}
	if idOrSlug == "" || len(idOrSlug) > 64 || Slugify(idOrSlug) != idOrSlug {
		return Agent{}, ErrNotFound
	}
	id, err := s.store.slugID(ctx, idOrSlug)
	if err != nil {
		return Agent{}, err
	}
	return s.Agent(ctx, callerID, id)
}

// Usable lists the agents a user may talk to, their own first, then the
// public catalogue, newest first, at most limit.
func (s *Service) Usable(ctx context.Context, userID string, limit int) ([]Summary, error) {
	return s.store.usable(ctx, userID, limit)
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
	s.changed(id)
	return a, nil
}

// Delete removes the caller's agent with its versions and assets.
func (s *Service) Delete(ctx context.Context, callerID, id string) error {
	err := pgx.BeginFunc(ctx, s.store.pool, func(tx pgx.Tx) error {
		if _, err := s.owned(ctx, tx, callerID, id); err != nil {
			return err
		}
		return s.store.delete(ctx, tx, id)
	})
	if err != nil {
		return err
	}
	s.changed(id)
	return nil
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
		return Page{Items: []Summary{}}, nil
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
		page.Items = []Summary{}
	}
	return page, nil
}

// ListJSON is List encoded as JSON. Pages of the public catalogue are served
// from memory until any agent changes.
func (s *Service) ListJSON(ctx context.Context, callerID string, p ListParams) ([]byte, error) {
	key := ""
	if p.Scope == ScopePublic {
		key = fmt.Sprintf("%d\x00%s\x00%s", p.Limit, p.Cursor, p.Query)
		if b, ok := s.catalog.Get(key); ok {
			return b, nil
		}
	}
	gen := s.catalog.Generation()
	page, err := s.List(ctx, callerID, p)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(page)
	if err != nil {
		return nil, fmt.Errorf("agents: encode list: %w", err)
	}
	if key != "" {
		s.catalog.Put(key, b, gen)
	}
	return b, nil
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
		card, err := encodeStored(a.Card)
		if err != nil {
			return err
		}
		v, err = s.store.insertVersion(ctx, tx, a.ID, card, hash)
		return err
	})
	if err != nil {
		return Version{}, fmt.Errorf("agents: publish: %w", err)
	}
	s.changed(id)
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
		if avatar, err = normalizeImage(imp.Avatar, MaxImportBytes); err != nil {
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
	s.changed(a.ID)
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
	s.changed(id)
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
