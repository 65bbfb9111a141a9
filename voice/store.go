package voice

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pgvector/pgvector-go"
)

// clonedRow is a cloned voice as stored, without its audio.
type clonedRow struct {
	ID          string
	OwnerID     string
	Name        string
	Language    string
	BaseVoice   string
	ConsentText string
	ConsentBy   string
	ConsentAt   time.Time
	ConsentIP   string
	Format      string
	ClipSeconds float64
	Profile     json.RawMessage
	CreatedAt   time.Time
}

// newClone is everything one cloned voice stores.
type newClone struct {
	clonedRow
	Upload       []byte
	UploadSHA256 string
	Clip         []byte
	Embedding    []float32
}

// store is the SQL of cloned voices.
type store struct {
	pool *pgxpool.Pool
}

const clonedColumns = `id, owner_id, name, language, base_voice, consent_text, consent_by, consent_at,
	consent_ip, upload_format, clip_seconds, profile, created_at`

// scanCloned reads clonedColumns, then into extra the columns after them.
func scanCloned(row pgx.Row, extra ...any) (clonedRow, error) {
	var r clonedRow
	var seconds float32
	err := row.Scan(append([]any{&r.ID, &r.OwnerID, &r.Name, &r.Language, &r.BaseVoice, &r.ConsentText, &r.ConsentBy,
		&r.ConsentAt, &r.ConsentIP, &r.Format, &seconds, &r.Profile, &r.CreatedAt}, extra...)...)
	r.ClipSeconds = float64(seconds)
	return r, err
}

// insert stores a cloned voice in one statement: it is there whole or not
// at all.
func (s *store) insert(ctx context.Context, c newClone) (time.Time, error) {
	var created time.Time
	err := s.pool.QueryRow(ctx, `INSERT INTO voices (id, owner_id, name, language, base_voice, consent_text,
		consent_by, consent_at, consent_ip, upload, upload_format, upload_sha256, clip, clip_seconds, profile, embedding)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING created_at`,
		c.ID, c.OwnerID, c.Name, c.Language, c.BaseVoice, c.ConsentText, c.ConsentBy, c.ConsentAt, c.ConsentIP,
		c.Upload, c.Format, c.UploadSHA256, c.Clip, c.ClipSeconds, c.Profile, pgvector.NewVector(c.Embedding)).Scan(&created)
	if err != nil {
		return time.Time{}, fmt.Errorf("voice: store cloned voice: %w", err)
	}
	return created, nil
}

// cloned returns one cloned voice, whoever owns it: an agent speaks with
// its owner's cloned voice to every user.
func (s *store) cloned(ctx context.Context, id string) (clonedRow, error) {
	r, err := scanCloned(s.pool.QueryRow(ctx, `SELECT `+clonedColumns+` FROM voices WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return clonedRow{}, ErrNotFound
	}
	if err != nil {
		return clonedRow{}, fmt.Errorf("voice: read cloned voice: %w", err)
	}
	return r, nil
}

// owned lists an owner's cloned voices, newest first.
func (s *store) owned(ctx context.Context, ownerID string) ([]clonedRow, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+clonedColumns+` FROM voices WHERE owner_id = $1
		ORDER BY created_at DESC, id DESC`, ownerID)
	if err != nil {
		return nil, fmt.Errorf("voice: list cloned voices: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (clonedRow, error) { return scanCloned(r) })
	if err != nil {
		return nil, fmt.Errorf("voice: list cloned voices: %w", err)
	}
	return out, nil
}

// clip returns a cloned voice's processed clip (WAV).
func (s *store) clip(ctx context.Context, ownerID, id string) ([]byte, error) {
	var clip []byte
	err := s.pool.QueryRow(ctx, `SELECT clip FROM voices WHERE id = $1 AND owner_id = $2`, id, ownerID).Scan(&clip)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("voice: read clip: %w", err)
	}
	return clip, nil
}

// delete removes an owner's cloned voice.
func (s *store) delete(ctx context.Context, ownerID, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM voices WHERE id = $1 AND owner_id = $2`, id, ownerID)
	if err != nil {
		return fmt.Errorf("voice: delete cloned voice: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// similarTo lists the owner's other cloned voices nearest to embedding by
// cosine distance, with the distance.
func (s *store) similarTo(ctx context.Context, ownerID, exceptID string, embedding []float32, limit int) ([]clonedRow, []float64, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+clonedColumns+`, embedding <=> $3 FROM voices
		WHERE owner_id = $1 AND id <> $2 ORDER BY embedding <=> $3 LIMIT $4`,
		ownerID, exceptID, pgvector.NewVector(embedding), limit)
	if err != nil {
		return nil, nil, fmt.Errorf("voice: similar voices: %w", err)
	}
	defer rows.Close()
	var out []clonedRow
	var dist []float64
	for rows.Next() {
		var d float64
		r, err := scanCloned(rows, &d)
		if err != nil {
			return nil, nil, fmt.Errorf("voice: similar voices: %w", err)
		}
		out = append(out, r)
		dist = append(dist, d)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("voice: similar voices: %w", err)
	}
	return out, dist, nil
}
