package knowledge

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pgvector/pgvector-go"
)

// store holds the knowledge SQL.
type store struct {
	pool *pgxpool.Pool
}

// querier is what both a pool and a transaction offer.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

const baseColumns = `b.id, b.owner_id, b.name, b.description, b.embedder, b.embed_dim,
	coalesce(b.next_embedder, ''), b.created_at, b.updated_at,
	(SELECT count(*) FROM documents d WHERE d.kb_id = b.id),
	(SELECT count(*) FROM chunks c WHERE c.kb_id = b.id)`

func scanBase(row pgx.Row) (Base, error) {
	var b Base
	err := row.Scan(&b.ID, &b.OwnerID, &b.Name, &b.Description, &b.Embedder, &b.Dim,
		&b.NextEmbedder, &b.CreatedAt, &b.UpdatedAt, &b.Documents, &b.Chunks)
	return b, err
}

func (s *store) base(ctx context.Context, id string) (Base, error) {
	b, err := scanBase(s.pool.QueryRow(ctx, `SELECT `+baseColumns+` FROM knowledge_bases b WHERE b.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Base{}, ErrNotFound
	}
	if err != nil {
		return Base{}, fmt.Errorf("knowledge: load knowledge base %s: %w", id, err)
	}
	return b, nil
}

// bases lists knowledge bases matching where (a condition on b, with $1
// as its argument), newest first.
func (s *store) bases(ctx context.Context, where string, arg string) ([]Base, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+baseColumns+` FROM knowledge_bases b
		WHERE `+where+` ORDER BY b.created_at DESC, b.id DESC`, arg)
	if err != nil {
		return nil, fmt.Errorf("knowledge: list knowledge bases: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Base, error) { return scanBase(r) })
	if err != nil {
		return nil, fmt.Errorf("knowledge: list knowledge bases: %w", err)
	}
	return out, nil
}

func (s *store) insertBase(ctx context.Context, b Base) (Base, error) {
	err := s.pool.QueryRow(ctx, `INSERT INTO knowledge_bases (id, owner_id, name, description, embedder, embed_dim)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING created_at, updated_at`,
		b.ID, b.OwnerID, b.Name, b.Description, b.Embedder, b.Dim).Scan(&b.CreatedAt, &b.UpdatedAt)
	if err != nil {
		return Base{}, fmt.Errorf("knowledge: insert knowledge base: %w", err)
	}
	return b, nil
}

const documentColumns = `d.id, d.kb_id, d.title, d.filename, d.source_url, d.media_type, coalesce(d.content_hash, ''),
	d.size_bytes, d.status, d.error, d.chunks, d.attempts, coalesce(d.duplicate_of, ''), d.created_at, d.updated_at`

func scanDocument(row pgx.Row) (Document, error) {
	var d Document
	err := row.Scan(&d.ID, &d.KBID, &d.Title, &d.Filename, &d.URL, &d.MediaType, &d.ContentHash,
		&d.SizeBytes, &d.Status, &d.Error, &d.Chunks, &d.Attempts, &d.DuplicateOf, &d.CreatedAt, &d.UpdatedAt)
	return d, err
}

func (s *store) document(ctx context.Context, kbID, id string) (Document, error) {
	d, err := scanDocument(s.pool.QueryRow(ctx, `SELECT `+documentColumns+` FROM documents d WHERE d.id = $1 AND d.kb_id = $2`, id, kbID))
	if errors.Is(err, pgx.ErrNoRows) {
		return Document{}, ErrNotFound
	}
	if err != nil {
		return Document{}, fmt.Errorf("knowledge: load document %s: %w", id, err)
	}
	return d, nil
}

func (s *store) documents(ctx context.Context, kbID string) ([]Document, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+documentColumns+` FROM documents d WHERE d.kb_id = $1
		ORDER BY d.created_at DESC, d.id DESC`, kbID)
	if err != nil {
		return nil, fmt.Errorf("knowledge: list documents: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Document, error) { return scanDocument(r) })
	if err != nil {
		return nil, fmt.Errorf("knowledge: list documents: %w", err)
	}
	return out, nil
}

// documentByHash finds the stored copy of content in a knowledge base.
func (s *store) documentByHash(ctx context.Context, q querier, kbID, hash string) (Document, error) {
	d, err := scanDocument(q.QueryRow(ctx, `SELECT `+documentColumns+` FROM documents d
		WHERE d.kb_id = $1 AND d.content_hash = $2 AND d.duplicate_of IS NULL`, kbID, hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return Document{}, ErrNotFound
	}
	if err != nil {
		return Document{}, fmt.Errorf("knowledge: find document by hash: %w", err)
	}
	return d, nil
}

// insertDocument stores a new queued document. It returns a unique
// violation (isUniqueViolation) when the content is already in the
// knowledge base.
func (s *store) insertDocument(ctx context.Context, d Document, content []byte) (Document, error) {
	var hash *string
	if d.ContentHash != "" {
		hash = &d.ContentHash
	}
	err := s.pool.QueryRow(ctx, `INSERT INTO documents (id, kb_id, title, filename, source_url, media_type, content_hash, size_bytes, content)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING status, created_at, updated_at`,
		d.ID, d.KBID, d.Title, d.Filename, d.URL, d.MediaType, hash, d.SizeBytes, content).
		Scan(&d.Status, &d.CreatedAt, &d.UpdatedAt)
	if err != nil {
		return Document{}, fmt.Errorf("knowledge: insert document: %w", err)
	}
	return d, nil
}

// isUniqueViolation reports whether err is PostgreSQL's unique_violation.
func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

// work is what a worker needs to ingest a document.
type work struct {
	doc      Document
	content  []byte
	embedder string
	next     string
	ownerID  string
}

// claim takes a document for processing: it must be unfinished and not held
// by a live worker. It returns ErrNotFound when the document is gone, and
// errBusy when another worker holds it.
func (s *store) claim(ctx context.Context, id string, lease time.Duration) (work, error) {
	var w work
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return w, fmt.Errorf("knowledge: claim %s: %w", id, err)
	}
	defer tx.Rollback(ctx)
	var leased bool
	err = tx.QueryRow(ctx, `SELECT `+documentColumns+`, d.content, b.embedder, coalesce(b.next_embedder, ''), b.owner_id,
			coalesce(d.lease_until > now(), false)
		FROM documents d JOIN knowledge_bases b ON b.id = d.kb_id WHERE d.id = $1 FOR UPDATE OF d`, id).
		Scan(&w.doc.ID, &w.doc.KBID, &w.doc.Title, &w.doc.Filename, &w.doc.URL, &w.doc.MediaType, &w.doc.ContentHash,
			&w.doc.SizeBytes, &w.doc.Status, &w.doc.Error, &w.doc.Chunks, &w.doc.Attempts, &w.doc.DuplicateOf,
			&w.doc.CreatedAt, &w.doc.UpdatedAt, &w.content, &w.embedder, &w.next, &w.ownerID, &leased)
	if errors.Is(err, pgx.ErrNoRows) {
		return w, ErrNotFound
	}
	if err != nil {
		return w, fmt.Errorf("knowledge: claim %s: %w", id, err)
	}
	if w.doc.Status == StatusReady || w.doc.Status == StatusFailed {
		return w, errFinished
	}
	if leased {
		return w, errBusy
	}
	err = tx.QueryRow(ctx, `UPDATE documents SET status = 'processing', attempts = attempts + 1,
		lease_until = now() + $2::interval, updated_at = now() WHERE id = $1 RETURNING attempts, status`,
		id, lease.String()).Scan(&w.doc.Attempts, &w.doc.Status)
	if err != nil {
		return w, fmt.Errorf("knowledge: claim %s: %w", id, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return w, fmt.Errorf("knowledge: claim %s: %w", id, err)
	}
	return w, nil
}

// renew extends a claimed document's lease.
func (s *store) renew(ctx context.Context, id string, lease time.Duration) error {
	_, err := s.pool.Exec(ctx, `UPDATE documents SET lease_until = now() + $2::interval
		WHERE id = $1 AND status = 'processing'`, id, lease.String())
	if err != nil {
		return fmt.Errorf("knowledge: renew lease of %s: %w", id, err)
	}
	return nil
}

// release records a retryable problem and lets another attempt claim the
// document at once.
func (s *store) release(ctx context.Context, id, message string) error {
	_, err := s.pool.Exec(ctx, `UPDATE documents SET error = $2, lease_until = NULL, updated_at = now()
		WHERE id = $1 AND status = 'processing'`, id, message)
	if err != nil {
		return fmt.Errorf("knowledge: release %s: %w", id, err)
	}
	return nil
}

// fail marks a document failed with a message for its owner. Chunks of an
// earlier success are kept only if status was ready, which fail never sees.
func (s *store) fail(ctx context.Context, id, message string) error {
	_, err := s.pool.Exec(ctx, `UPDATE documents SET status = 'failed', error = $2, lease_until = NULL, updated_at = now()
		WHERE id = $1 AND status IN ('queued', 'processing')`, id, message)
	if err != nil {
		return fmt.Errorf("knowledge: mark %s failed: %w", id, err)
	}
	return nil
}

// setFetched stores a URL document's fetched bytes. If the content is
// already in the knowledge base it marks the document a duplicate of that
// one and reports dup.
func (s *store) setFetched(ctx context.Context, d Document, content []byte) (dupOf string, err error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return "", fmt.Errorf("knowledge: store fetched %s: %w", d.ID, err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT 1 FROM knowledge_bases WHERE id = $1 FOR UPDATE`, d.KBID); err != nil {
		return "", fmt.Errorf("knowledge: store fetched %s: %w", d.ID, err)
	}
	existing, err := s.documentByHash(ctx, tx, d.KBID, d.ContentHash)
	switch {
	case err == nil && existing.ID != d.ID:
		_, err = tx.Exec(ctx, `UPDATE documents SET duplicate_of = $2, content_hash = $3, status = 'ready', error = '',
			lease_until = NULL, updated_at = now() WHERE id = $1`, d.ID, existing.ID, d.ContentHash)
		if err != nil {
			return "", fmt.Errorf("knowledge: mark %s duplicate: %w", d.ID, err)
		}
		return existing.ID, tx.Commit(ctx)
	case err != nil && !errors.Is(err, ErrNotFound):
		return "", err
	}
	_, err = tx.Exec(ctx, `UPDATE documents SET content = $2, content_hash = $3, size_bytes = $4, media_type = $5,
		filename = $6, updated_at = now() WHERE id = $1`, d.ID, content, d.ContentHash, d.SizeBytes, d.MediaType, d.Filename)
	if err != nil {
		return "", fmt.Errorf("knowledge: store fetched %s: %w", d.ID, err)
	}
	return "", tx.Commit(ctx)
}

// chunkRow is a chunk ready to be written, with one vector per embedder.
type chunkRow struct {
	headings   []string
	text       string
	start, end int
	page       int
	tokens     int
	vectors    map[string][]float32
}

// finish writes a document's chunks and vectors and marks it ready, in one
// transaction, replacing whatever an earlier interrupted attempt wrote. It
// returns errEmbedderChanged when the knowledge base's embedders are no
// longer those the vectors were made with.
func (s *store) finish(ctx context.Context, w work, title, body string, pageStarts []int, rows []chunkRow, embedders []string) error {
	if pageStarts == nil {
		pageStarts = []int{}
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("knowledge: write %s: %w", w.doc.ID, err)
	}
	defer tx.Rollback(ctx)
	var cur, next, status string
	err = tx.QueryRow(ctx, `SELECT b.embedder, coalesce(b.next_embedder, ''), d.status
		FROM documents d JOIN knowledge_bases b ON b.id = d.kb_id WHERE d.id = $1 FOR UPDATE OF d FOR SHARE OF b`, w.doc.ID).
		Scan(&cur, &next, &status)
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("knowledge: write %s: %w", w.doc.ID, err)
	}
	if status != StatusProcessing {
		return errFinished
	}
	for _, e := range []string{cur, next} {
		if e != "" && !slices.Contains(embedders, e) {
			return errEmbedderChanged
		}
	}
	if _, err := tx.Exec(ctx, `DELETE FROM chunks WHERE document_id = $1`, w.doc.ID); err != nil {
		return fmt.Errorf("knowledge: clear chunks of %s: %w", w.doc.ID, err)
	}
	if err := s.copyChunks(ctx, tx, w.doc.ID, w.doc.KBID, rows, []string{cur, next}); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE documents SET status = 'ready', error = '', chunks = $2, body = $3, page_starts = $4,
		title = CASE WHEN $5 <> '' THEN $5 ELSE title END, lease_until = NULL, updated_at = now() WHERE id = $1`,
		w.doc.ID, len(rows), body, pageStarts, title)
	if err != nil {
		return fmt.Errorf("knowledge: mark %s ready: %w", w.doc.ID, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("knowledge: write %s: %w", w.doc.ID, err)
	}
	return nil
}

// copyChunks reserves chunk ids from the sequence and COPYs the chunks and
// their vectors (for each non-empty embedder name).
func (s *store) copyChunks(ctx context.Context, tx pgx.Tx, docID, kbID string, rows []chunkRow, embedders []string) error {
	if len(rows) == 0 {
		return nil
	}
	ids := make([]int64, 0, len(rows))
	r, err := tx.Query(ctx, `SELECT nextval(pg_get_serial_sequence('chunks', 'id')) FROM generate_series(1, $1)`, len(rows))
	if err != nil {
		return fmt.Errorf("knowledge: reserve chunk ids: %w", err)
	}
	ids, err = pgx.AppendRows(ids, r, pgx.RowTo[int64])
	if err != nil {
		return fmt.Errorf("knowledge: reserve chunk ids: %w", err)
	}
	_, err = tx.CopyFrom(ctx, pgx.Identifier{"chunks"},
		[]string{"id", "document_id", "kb_id", "ord", "headings", "heading_text", "body", "start_char", "end_char", "page", "tokens"},
		pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
			c := rows[i]
			h := c.headings
			if h == nil {
				h = []string{}
			}
			return []any{ids[i], docID, kbID, i, h, strings.Join(h, " > "), c.text, c.start, c.end, c.page, c.tokens}, nil
		}))
	if err != nil {
		return fmt.Errorf("knowledge: copy chunks of %s: %w", docID, err)
	}
	for _, e := range embedders {
		if e == "" {
			continue
		}
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"chunk_vectors"},
			[]string{"chunk_id", "kb_id", "embedder", "dim", "embedding"},
			pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
				v := rows[i].vectors[e]
				return []any{ids[i], kbID, e, len(v), pgvector.NewHalfVector(v)}, nil
			}))
		if err != nil {
			return fmt.Errorf("knowledge: copy vectors of %s: %w", docID, err)
		}
	}
	return nil
}

// ensureIndex creates the HNSW index for vectors of dimension dim.
// ef_construction 200 (pgvector's default is 64) builds a better connected
// graph: with the local n-gram vectors, which are poorly separated, recall at
// a given ef_search rises markedly for about twice the insert cost
// (bench/vectors).
func (s *store) ensureIndex(ctx context.Context, dim int) error {
	if dim <= 0 || dim > maxIndexDim {
		return fmt.Errorf("knowledge: no vector index for dimension %d (1–%d)", dim, maxIndexDim)
	}
	d := strconv.Itoa(dim)
	_, err := s.pool.Exec(ctx, `CREATE INDEX IF NOT EXISTS chunk_vectors_hnsw_`+d+` ON chunk_vectors
		USING hnsw ((embedding::halfvec(`+d+`)) halfvec_cosine_ops) WITH (m = 16, ef_construction = 200) WHERE dim = `+d)
	if err != nil {
		return fmt.Errorf("knowledge: create vector index for dimension %d: %w", dim, err)
	}
	return nil
}

// maxIndexDim is pgvector's limit for an HNSW index on halfvec.
const maxIndexDim = 4000
