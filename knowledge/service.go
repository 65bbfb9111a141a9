package knowledge

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/timbre-ai/timbre/bus"
	"github.com/timbre-ai/timbre/db"
	"github.com/timbre-ai/timbre/knowledge/extract"
	"github.com/timbre-ai/timbre/knowledge/fetch"
)

// Embedder turns texts into unit-length vectors (knowledge/embed provides
// them). Dim may be 0 until a remote embedder has answered once.
type Embedder interface {
	Name() string
	Dim() int
	MaxBatch() int
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// Fetcher fetches a document's URL under the SSRF policy (knowledge/fetch).
type Fetcher interface {
	Check(ctx context.Context, raw string) (*url.URL, error)
	Fetch(ctx context.Context, raw string) (fetch.Page, error)
}

// Defaults for Config.
const (
	DefaultMaxDocumentBytes = 20 << 20
	DefaultMaxAttempts      = 6
	DefaultChunkTokens      = 200
	DefaultChunkOverlap     = 24
	DefaultLease            = 30 * time.Second
	maxNameRunes            = 200
	maxDescriptionRunes     = 2000
	maxURLBytes             = 2048
)

// Config tunes the service; zero fields take the defaults.
type Config struct {
	// MaxDocumentBytes bounds an uploaded or fetched document.
	MaxDocumentBytes int64
	// MaxAttempts is how often a document is tried before it is marked
	// failed (embedder down, fetch timeouts).
	MaxAttempts int
	// Backoff between attempts; nil means 2s, 10s, 30s, 1m, 2m.
	Backoff []time.Duration
	// ChunkTokens and ChunkOverlap size the passages.
	ChunkTokens, ChunkOverlap int
	// Workers is how many documents this process ingests at once (default 1:
	// embedding is CPU-bound on small machines).
	Workers int
	// Lease is how long a worker holds a document between renewals; a
	// crashed worker's document is taken over after it (default 30s).
	Lease time.Duration
}

func (c Config) withDefaults() Config {
	if c.MaxDocumentBytes <= 0 {
		c.MaxDocumentBytes = DefaultMaxDocumentBytes
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.Backoff == nil {
		c.Backoff = []time.Duration{2 * time.Second, 10 * time.Second, 30 * time.Second, time.Minute, 2 * time.Minute}
	}
	if c.ChunkTokens <= 0 {
		c.ChunkTokens = DefaultChunkTokens
	}
	if c.ChunkOverlap <= 0 {
		c.ChunkOverlap = DefaultChunkOverlap
	}
	if c.Workers <= 0 {
		c.Workers = 1
	}
	if c.Lease <= 0 {
		c.Lease = DefaultLease
	}
	return c
}

// Params are the service's dependencies.
type Params struct {
	Pool *pgxpool.Pool
	Bus  *bus.Bus
	// Embedders are those this process can run; the first is the default
	// for new knowledge bases. Names must be unique.
	Embedders []Embedder
	Fetcher   Fetcher
	Config    Config
	Logger    *slog.Logger
}

// Service manages knowledge bases, ingests documents and searches them.
type Service struct {
	store     store
	cfg       Config
	embedders map[string]Embedder
	def       Embedder
	fetcher   Fetcher
	queue     *bus.Queue
	events    *bus.Broadcast
	log       *slog.Logger

	mu   sync.Mutex
	subs map[string]map[chan Event]struct{}
}

// queueName is the bus queue of ingestion and re-embedding jobs.
const (
	queueName     = "knowledge"
	eventsSubject = "timbre.knowledge.events"
)

// New builds the service and declares its job queue on the bus.
func New(ctx context.Context, p Params) (*Service, error) {
	if len(p.Embedders) == 0 {
		return nil, fmt.Errorf("knowledge: no embedder configured")
	}
	cfg := p.Config.withDefaults()
	s := &Service{
		store:     store{pool: p.Pool},
		cfg:       cfg,
		embedders: map[string]Embedder{},
		def:       p.Embedders[0],
		fetcher:   p.Fetcher,
		log:       p.Logger,
		subs:      map[string]map[chan Event]struct{}{},
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	for _, e := range p.Embedders {
		if _, dup := s.embedders[e.Name()]; dup {
			return nil, fmt.Errorf("knowledge: embedder %q given twice", e.Name())
		}
		s.embedders[e.Name()] = e
	}
	q, err := p.Bus.Queue(ctx, bus.QueueConfig{
		Name: queueName, MaxAttempts: cfg.MaxAttempts, Backoff: cfg.Backoff,
		MaxConcurrent: cfg.Workers, AckWait: 30 * time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("knowledge: declare job queue: %w", err)
	}
	s.queue = q
	if s.events, err = p.Bus.Broadcast(eventsSubject); err != nil {
		return nil, err
	}
	return s, nil
}

// Embedders lists the names of the embedders this process can run, the
// default first.
func (s *Service) Embedders() []string {
	var rest []string
	for name := range s.embedders {
		if name != s.def.Name() {
			rest = append(rest, name)
		}
	}
	slices.Sort(rest)
	return append([]string{s.def.Name()}, rest...)
}

// BaseInput is what a creator sets on a knowledge base.
type BaseInput struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
	// Embedder, on update, starts re-embedding with another embedder.
	Embedder *string `json:"embedder"`
}

func (in BaseInput) validate(create bool) error {
	if create && (in.Name == nil || strings.TrimSpace(*in.Name) == "") {
		return &FieldError{Field: "name", Message: "is required"}
	}
	if in.Name != nil {
		n := strings.TrimSpace(*in.Name)
		if n == "" {
			return &FieldError{Field: "name", Message: "must not be empty"}
		}
		if utf8.RuneCountInString(n) > maxNameRunes || !utf8.ValidString(n) {
			return &FieldError{Field: "name", Message: fmt.Sprintf("must be valid text of at most %d characters", maxNameRunes)}
		}
	}
	if in.Description != nil && (utf8.RuneCountInString(*in.Description) > maxDescriptionRunes || !utf8.ValidString(*in.Description)) {
		return &FieldError{Field: "description", Message: fmt.Sprintf("must be valid text of at most %d characters", maxDescriptionRunes)}
	}
	return nil
}

// Create makes a knowledge base that uses the default embedder.
func (s *Service) Create(ctx context.Context, ownerID string, in BaseInput) (Base, error) {
	if err := in.validate(true); err != nil {
		return Base{}, err
	}
	e := s.def
	if in.Embedder != nil {
		var ok bool
		if e, ok = s.embedders[*in.Embedder]; !ok {
			return Base{}, &FieldError{Field: "embedder", Message: "must be one of: " + strings.Join(s.Embedders(), ", ")}
		}
	}
	dim, err := s.dimension(ctx, e)
	if err != nil {
		return Base{}, err
	}
	if err := s.store.ensureIndex(ctx, dim); err != nil {
		return Base{}, err
	}
	b := Base{ID: db.NewID("kb"), OwnerID: ownerID, Name: strings.TrimSpace(*in.Name), Embedder: e.Name(), Dim: dim}
	if in.Description != nil {
		b.Description = *in.Description
	}
	return s.store.insertBase(ctx, b)
}

// dimension returns e's vector length, asking a remote embedder once.
func (s *Service) dimension(ctx context.Context, e Embedder) (int, error) {
	if d := e.Dim(); d > 0 {
		return d, nil
	}
	v, err := e.Embed(ctx, []string{"dimension probe"})
	if err != nil {
		return 0, fmt.Errorf("%w: %s: %w", ErrEmbedderUnavailable, e.Name(), err)
	}
	return len(v[0]), nil
}

// Base returns a knowledge base its owner may see.
func (s *Service) Base(ctx context.Context, callerID, id string) (Base, error) {
	if !db.ValidID("kb", id) {
		return Base{}, ErrNotFound
	}
	b, err := s.store.base(ctx, id)
	if err != nil {
		return Base{}, err
	}
	if b.OwnerID != callerID {
		return Base{}, ErrNotFound
	}
	return b, nil
}

// owns checks that the caller owns a knowledge base, without counting its
// documents and chunks as Base does: the check on every search and upload.
func (s *Service) owns(ctx context.Context, callerID, id string) error {
	if !db.ValidID("kb", id) {
		return ErrNotFound
	}
	var owner string
	err := s.store.pool.QueryRow(ctx, `SELECT owner_id FROM knowledge_bases WHERE id = $1`, id).Scan(&owner)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && owner != callerID) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("knowledge: load knowledge base %s: %w", id, err)
	}
	return nil
}

// Bases lists the caller's knowledge bases, newest first.
func (s *Service) Bases(ctx context.Context, callerID string) ([]Base, error) {
	return s.store.bases(ctx, `b.owner_id = $1`, callerID)
}

// Update renames a knowledge base or switches its embedder; a new embedder
// re-embeds every chunk in the background while search keeps using the old
// vectors until the new ones are complete.
func (s *Service) Update(ctx context.Context, callerID, id string, in BaseInput) (Base, error) {
	if err := in.validate(false); err != nil {
		return Base{}, err
	}
	b, err := s.Base(ctx, callerID, id)
	if err != nil {
		return Base{}, err
	}
	var reembed Embedder
	if in.Embedder != nil && *in.Embedder != b.Embedder {
		e, ok := s.embedders[*in.Embedder]
		if !ok {
			return Base{}, &FieldError{Field: "embedder", Message: "must be one of: " + strings.Join(s.Embedders(), ", ")}
		}
		dim, err := s.dimension(ctx, e)
		if err != nil {
			return Base{}, err
		}
		if err := s.store.ensureIndex(ctx, dim); err != nil {
			return Base{}, err
		}
		reembed = e
	}
	_, err = s.store.pool.Exec(ctx, `UPDATE knowledge_bases SET name = coalesce($2, name), description = coalesce($3, description),
		next_embedder = CASE WHEN $4::text IS NULL THEN next_embedder WHEN $4 = embedder THEN NULL ELSE $4 END,
		updated_at = now() WHERE id = $1`, id, trimmed(in.Name), in.Description, embedderName(reembed, in.Embedder, b.Embedder))
	if err != nil {
		return Base{}, fmt.Errorf("knowledge: update %s: %w", id, err)
	}
	if reembed != nil {
		if err := s.queue.Publish(ctx, "reembed:"+id+":"+reembed.Name(), encodeJob(job{Kind: jobReembed, ID: id})); err != nil {
			return Base{}, fmt.Errorf("knowledge: queue re-embedding of %s: %w", id, err)
		}
	}
	return s.Base(ctx, callerID, id)
}

func trimmed(s *string) *string {
	if s == nil {
		return nil
	}
	t := strings.TrimSpace(*s)
	return &t
}

// embedderName is the next_embedder update: the new embedder, or the current
// one (which cancels a re-embedding) when the caller chose it again.
func embedderName(e Embedder, asked *string, current string) *string {
	switch {
	case e != nil:
		n := e.Name()
		return &n
	case asked != nil && *asked == current:
		return &current
	}
	return nil
}

// Delete removes a knowledge base, its documents, chunks and vectors.
func (s *Service) Delete(ctx context.Context, callerID, id string) error {
	if err := s.owns(ctx, callerID, id); err != nil {
		return err
	}
	if _, err := s.store.pool.Exec(ctx, `DELETE FROM knowledge_bases WHERE id = $1`, id); err != nil {
		return fmt.Errorf("knowledge: delete %s: %w", id, err)
	}
	return nil
}

// Upload is a file given to AddFile.
type Upload struct {
	Filename    string
	ContentType string
	Data        []byte
}

// AddFile stores a file in a knowledge base and queues its ingestion. The
// same content twice is stored once: the second call returns the first
// document and created=false.
func (s *Service) AddFile(ctx context.Context, callerID, kbID string, up Upload) (doc Document, created bool, err error) {
	if err := s.owns(ctx, callerID, kbID); err != nil {
		return Document{}, false, err
	}
	if int64(len(up.Data)) > s.cfg.MaxDocumentBytes {
		return Document{}, false, fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, len(up.Data), s.cfg.MaxDocumentBytes)
	}
	hint := extract.Hint{Filename: up.Filename, ContentType: up.ContentType}
	media, err := extract.Detect(up.Data, hint)
	switch {
	case errors.Is(err, extract.ErrEmpty):
		return Document{}, false, fmt.Errorf("%w: the file has no content", ErrEmpty)
	case err != nil:
		return Document{}, false, fmt.Errorf("%w: %w", ErrUnsupported, err)
	}
	sum := sha256.Sum256(up.Data)
	d := Document{
		ID: db.NewID("doc"), KBID: kbID, Title: titleFromFilename(up.Filename), Filename: cleanFilename(up.Filename),
		MediaType: media, ContentHash: hex.EncodeToString(sum[:]), SizeBytes: int64(len(up.Data)),
	}
	if existing, err := s.store.documentByHash(ctx, s.store.pool, kbID, d.ContentHash); err == nil {
		return existing, false, nil
	}
	d, err = s.store.insertDocument(ctx, d, up.Data)
	if isUniqueViolation(err) {
		existing, err := s.store.documentByHash(ctx, s.store.pool, kbID, d.ContentHash)
		return existing, false, err
	}
	if err != nil {
		return Document{}, false, err
	}
	s.enqueue(ctx, d)
	return d, true, nil
}

// AddURL queues a web page for fetching and ingestion. The URL is checked
// against the fetch policy now and again on every connection.
func (s *Service) AddURL(ctx context.Context, callerID, kbID, raw string) (Document, error) {
	if err := s.owns(ctx, callerID, kbID); err != nil {
		return Document{}, err
	}
	if len(raw) > maxURLBytes {
		return Document{}, &FieldError{Field: "url", Message: fmt.Sprintf("must be at most %d bytes", maxURLBytes)}
	}
	if s.fetcher == nil {
		return Document{}, fmt.Errorf("%w: this server does not fetch URLs", ErrURLRefused)
	}
	u, err := s.fetcher.Check(ctx, raw)
	if err != nil {
		return Document{}, fmt.Errorf("%w: %w", ErrURLRefused, err)
	}
	d := Document{ID: db.NewID("doc"), KBID: kbID, URL: u.String(), Title: titleFromURL(u)}
	d, err = s.store.insertDocument(ctx, d, nil)
	if err != nil {
		return Document{}, err
	}
	s.enqueue(ctx, d)
	return d, nil
}

// enqueue publishes a document's ingestion job. A document whose job could
// not be published stays queued and is published again by Start.
func (s *Service) enqueue(ctx context.Context, d Document) {
	if err := s.queue.Publish(ctx, "ingest:"+d.ID, encodeJob(job{Kind: jobIngest, ID: d.ID})); err != nil {
		s.log.Warn("ingestion job not queued; it will be on the next start", "document_id", d.ID, "error", err)
	}
	s.publish(Event{KBID: d.KBID, DocumentID: d.ID, Status: d.Status})
}

// Document returns one document of a knowledge base.
func (s *Service) Document(ctx context.Context, callerID, kbID, id string) (Document, error) {
	if err := s.owns(ctx, callerID, kbID); err != nil {
		return Document{}, err
	}
	if !db.ValidID("doc", id) {
		return Document{}, ErrNotFound
	}
	return s.store.document(ctx, kbID, id)
}

// Documents lists a knowledge base's documents, newest first.
func (s *Service) Documents(ctx context.Context, callerID, kbID string) ([]Document, error) {
	if err := s.owns(ctx, callerID, kbID); err != nil {
		return nil, err
	}
	return s.store.documents(ctx, kbID)
}

// DeleteDocument removes a document with its chunks and vectors. A worker
// that is processing it finds it gone and stops.
func (s *Service) DeleteDocument(ctx context.Context, callerID, kbID, id string) error {
	if _, err := s.Document(ctx, callerID, kbID, id); err != nil {
		return err
	}
	if _, err := s.store.pool.Exec(ctx, `DELETE FROM documents WHERE id = $1`, id); err != nil {
		return fmt.Errorf("knowledge: delete document %s: %w", id, err)
	}
	return nil
}

// Attach lets an agent use a knowledge base. The caller must own the base;
// the API checks that they own the agent.
func (s *Service) Attach(ctx context.Context, callerID, agentID, kbID string) error {
	if err := s.owns(ctx, callerID, kbID); err != nil {
		return err
	}
	_, err := s.store.pool.Exec(ctx, `INSERT INTO agent_knowledge (agent_id, kb_id) VALUES ($1, $2)
		ON CONFLICT DO NOTHING`, agentID, kbID)
	if err != nil {
		return fmt.Errorf("knowledge: attach %s to %s: %w", kbID, agentID, err)
	}
	return nil
}

// Detach stops an agent using a knowledge base.
func (s *Service) Detach(ctx context.Context, callerID, agentID, kbID string) error {
	if err := s.owns(ctx, callerID, kbID); err != nil {
		return err
	}
	tag, err := s.store.pool.Exec(ctx, `DELETE FROM agent_knowledge WHERE agent_id = $1 AND kb_id = $2`, agentID, kbID)
	if err != nil {
		return fmt.Errorf("knowledge: detach %s from %s: %w", kbID, agentID, err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// AgentBases returns the knowledge bases attached to an agent, newest
// first. It checks no ownership: the chat engine searches them for anyone
// who talks to the agent; only a base's owner can attach it.
func (s *Service) AgentBases(ctx context.Context, agentID string) ([]Base, error) {
	return s.store.bases(ctx, `b.id IN (SELECT kb_id FROM agent_knowledge WHERE agent_id = $1)`, agentID)
}

func titleFromFilename(name string) string {
	base := path.Base(strings.ReplaceAll(name, `\`, "/"))
	if base == "." || base == "/" {
		return ""
	}
	return strings.TrimSuffix(base, path.Ext(base))
}

// cleanFilename keeps the last path element, valid UTF-8, at most 255 bytes.
func cleanFilename(name string) string {
	base := path.Base(strings.ReplaceAll(name, `\`, "/"))
	if base == "." || base == "/" {
		return ""
	}
	base = strings.ToValidUTF8(base, "")
	for len(base) > 255 {
		_, size := utf8.DecodeLastRuneInString(base)
		base = base[:len(base)-size]
	}
	return base
}

func titleFromURL(u *url.URL) string {
	if p := strings.Trim(u.Path, "/"); p != "" {
		return u.Host + "/" + p
	}
	return u.Host
}
