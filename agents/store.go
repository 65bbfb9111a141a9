package agents

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// store holds the agents SQL.
type store struct {
	pool *pgxpool.Pool
}

const agentColumns = `a.id, a.slug, a.owner_id, a.card, a.visibility, a.voice_id, a.llm, a.avatar IS NOT NULL,
	a.created_at, a.updated_at, coalesce((SELECT max(number) FROM agent_versions v WHERE v.agent_id = a.id), 0)`

func scanAgent(row pgx.Row) (Agent, error) {
	var a Agent
	var card, llm []byte
	err := row.Scan(&a.ID, &a.Slug, &a.OwnerID, &card, &a.Visibility, &a.VoiceID, &llm, &a.HasAvatar,
		&a.CreatedAt, &a.UpdatedAt, &a.LatestVersion)
	if err != nil {
		return Agent{}, err
	}
	if a.Card, err = decodeStored(card); err != nil {
		return Agent{}, fmt.Errorf("agents: decode stored card of %s: %w", a.ID, err)
	}
	if err := json.Unmarshal(llm, &a.LLM); err != nil {
		return Agent{}, fmt.Errorf("agents: decode stored llm of %s: %w", a.ID, err)
	}
	return a, nil
}

func (s *store) agent(ctx context.Context, q pgx.Tx, id string, forUpdate bool) (Agent, error) {
	sql := `SELECT ` + agentColumns + ` FROM agents a WHERE a.id = $1`
	var row pgx.Row
	if q != nil {
		if forUpdate {
			sql += ` FOR UPDATE`
		}
		row = q.QueryRow(ctx, sql, id)
	} else {
		row = s.pool.QueryRow(ctx, sql, id)
	}
	a, err := scanAgent(row)
	if errors.Is(err, pgx.ErrNoRows) {
		return Agent{}, ErrNotFound
	}
	if err != nil {
		return Agent{}, fmt.Errorf("agents: load %s: %w", id, err)
	}
	return a, nil
}

// slugID returns the id of the agent with a slug.
func (s *store) slugID(ctx context.Context, slug string) (string, error) {
	var id string
	err := s.pool.QueryRow(ctx, `SELECT id FROM agents WHERE slug = $1`, slug).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("agents: find slug %q: %w", slug, err)
	}
	return id, nil
}

// usable lists, by name, the agents a user may talk to: their own and the
// public ones.
func (s *store) usable(ctx context.Context, userID string, limit int) ([]Summary, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+summaryColumns+` FROM agents a
		WHERE a.owner_id = $2 OR a.visibility = 'public'
		ORDER BY a.owner_id = $2 DESC, a.created_at DESC, a.id DESC LIMIT $3`, DescriptionExcerpt, userID, limit)
	if err != nil {
		return nil, fmt.Errorf("agents: list usable: %w", err)
	}
	return collectSummaries(rows)
}

func (s *store) insert(ctx context.Context, tx pgx.Tx, a Agent, avatar []byte) (Agent, error) {
	card, err := encodeStored(a.Card)
	if err != nil {
		return Agent{}, fmt.Errorf("agents: encode card: %w", err)
	}
	llm, err := json.Marshal(a.LLM)
	if err != nil {
		return Agent{}, fmt.Errorf("agents: encode llm: %w", err)
	}
	// The slug is the name's; when another agent has it, the id's tail
	// makes it unique.
	base := Slugify(a.Card.Name)
	err = tx.QueryRow(ctx,
		`INSERT INTO agents (id, slug, owner_id, visibility, card, voice_id, llm, avatar)
		 VALUES ($1, CASE WHEN EXISTS (SELECT 1 FROM agents WHERE slug = $8) THEN $9 ELSE $8 END,
		         $2, $3, $4, $5, $6, $7)
		 RETURNING slug, created_at, updated_at`,
		a.ID, a.OwnerID, a.Visibility, card, a.VoiceID, llm, avatar, base, base+"-"+a.ID[len(a.ID)-6:]).
		Scan(&a.Slug, &a.CreatedAt, &a.UpdatedAt)
	if err != nil {
		return Agent{}, fmt.Errorf("agents: insert: %w", err)
	}
	a.HasAvatar = avatar != nil
	return a, nil
}

func (s *store) insertAssets(ctx context.Context, tx pgx.Tx, agentID string, assets map[string][]byte) error {
	for path, data := range assets {
		if _, err := tx.Exec(ctx, `INSERT INTO agent_assets (agent_id, path, data) VALUES ($1, $2, $3)`,
			agentID, path, data); err != nil {
			return fmt.Errorf("agents: insert asset %q: %w", path, err)
		}
	}
	return nil
}

func (s *store) assets(ctx context.Context, agentID string) (map[string][]byte, error) {
	rows, err := s.pool.Query(ctx, `SELECT path, data FROM agent_assets WHERE agent_id = $1`, agentID)
	if err != nil {
		return nil, fmt.Errorf("agents: assets of %s: %w", agentID, err)
	}
	defer rows.Close()
	out := map[string][]byte{}
	for rows.Next() {
		var p string
		var d []byte
		if err := rows.Scan(&p, &d); err != nil {
			return nil, fmt.Errorf("agents: assets of %s: %w", agentID, err)
		}
		out[p] = d
	}
	return out, rows.Err()
}

func (s *store) update(ctx context.Context, tx pgx.Tx, a Agent) (time.Time, error) {
	card, err := encodeStored(a.Card)
	if err != nil {
		return time.Time{}, fmt.Errorf("agents: encode card: %w", err)
	}
	llm, err := json.Marshal(a.LLM)
	if err != nil {
		return time.Time{}, fmt.Errorf("agents: encode llm: %w", err)
	}
	var updated time.Time
	err = tx.QueryRow(ctx,
		`UPDATE agents SET card = $2, visibility = $3, voice_id = $4, llm = $5, updated_at = now()
		  WHERE id = $1 RETURNING updated_at`,
		a.ID, card, a.Visibility, a.VoiceID, llm).Scan(&updated)
	if err != nil {
		return time.Time{}, fmt.Errorf("agents: update %s: %w", a.ID, err)
	}
	return updated, nil
}

func (s *store) setAvatar(ctx context.Context, tx pgx.Tx, id string, png []byte) error {
	if _, err := tx.Exec(ctx, `UPDATE agents SET avatar = $2, updated_at = now() WHERE id = $1`, id, png); err != nil {
		return fmt.Errorf("agents: set avatar of %s: %w", id, err)
	}
	return nil
}

func (s *store) delete(ctx context.Context, tx pgx.Tx, id string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM agents WHERE id = $1`, id); err != nil {
		return fmt.Errorf("agents: delete %s: %w", id, err)
	}
	return nil
}

func (s *store) avatar(ctx context.Context, id string) ([]byte, error) {
	var png []byte
	err := s.pool.QueryRow(ctx, `SELECT avatar FROM agents WHERE id = $1`, id).Scan(&png)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("agents: avatar of %s: %w", id, err)
	}
	return png, nil
}

// listQuery selects a page of agents, newest first, after the cursor.
type listQuery struct {
	ownerID string // scope=mine
	public  bool   // scope=public
	tsquery string // prefix query built from q; empty for none
	after   *Cursor
	limit   int
}

const summaryColumns = `a.id, a.slug, a.owner_id, coalesce(a.card ->> 'name', ''),
	left(coalesce(a.card ->> 'description', ''), $1), coalesce(a.card ->> 'creator', ''),
	coalesce(ARRAY(SELECT jsonb_array_elements_text(CASE jsonb_typeof(a.card -> 'tags') WHEN 'array' THEN a.card -> 'tags' ELSE '[]' END)), '{}'),
	a.visibility, a.voice_id, a.avatar IS NOT NULL, a.created_at, a.updated_at,
	coalesce((SELECT max(number) FROM agent_versions v WHERE v.agent_id = a.id), 0)`

func (s *store) list(ctx context.Context, q listQuery) ([]Summary, error) {
	sql := `SELECT ` + summaryColumns + ` FROM agents a WHERE true`
	args := []any{DescriptionExcerpt} // $1 in summaryColumns
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if q.ownerID != "" {
		sql += ` AND a.owner_id = ` + arg(q.ownerID)
	}
	if q.public {
		sql += ` AND a.visibility = 'public'`
	}
	if q.tsquery != "" {
		sql += ` AND a.search @@ to_tsquery('simple', ` + arg(q.tsquery) + `)`
	}
	if q.after != nil {
		sql += ` AND (a.created_at, a.id) < (` + arg(q.after.CreatedAt) + `, ` + arg(q.after.ID) + `)`
	}
	sql += ` ORDER BY a.created_at DESC, a.id DESC LIMIT ` + arg(q.limit)
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("agents: list: %w", err)
	}
	return collectSummaries(rows)
}

func collectSummaries(rows pgx.Rows) ([]Summary, error) {
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Summary, error) {
		var a Summary
		var hasAvatar bool
		err := r.Scan(&a.ID, &a.Slug, &a.OwnerID, &a.Name, &a.Description, &a.Creator, &a.Tags, &a.Visibility, &a.VoiceID,
			&hasAvatar, &a.CreatedAt, &a.UpdatedAt, &a.LatestVersion)
		if hasAvatar {
			a.AvatarURL = avatarURL(a.ID, a.UpdatedAt)
		}
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("agents: list: %w", err)
	}
	return out, nil
}

func (s *store) insertVersion(ctx context.Context, tx pgx.Tx, agentID string, card []byte, hash string) (Version, error) {
	v := Version{ContentHash: hash}
	err := tx.QueryRow(ctx,
		`INSERT INTO agent_versions (agent_id, number, card, content_hash)
		 VALUES ($1, coalesce((SELECT max(number) FROM agent_versions WHERE agent_id = $1), 0) + 1, $2, $3)
		 RETURNING number, created_at`, agentID, card, hash).Scan(&v.Number, &v.CreatedAt)
	if err != nil {
		return Version{}, fmt.Errorf("agents: insert version of %s: %w", agentID, err)
	}
	return v, nil
}

func (s *store) versions(ctx context.Context, agentID string) ([]Version, error) {
	rows, err := s.pool.Query(ctx,
		`SELECT number, content_hash, created_at FROM agent_versions WHERE agent_id = $1 ORDER BY number DESC`, agentID)
	if err != nil {
		return nil, fmt.Errorf("agents: versions of %s: %w", agentID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Version, error) {
		var v Version
		err := r.Scan(&v.Number, &v.ContentHash, &v.CreatedAt)
		return v, err
	})
	if err != nil {
		return nil, fmt.Errorf("agents: versions of %s: %w", agentID, err)
	}
	return out, nil
}

func (s *store) versionCard(ctx context.Context, agentID string, number int) (Card, error) {
	var raw []byte
	err := s.pool.QueryRow(ctx, `SELECT card FROM agent_versions WHERE agent_id = $1 AND number = $2`, agentID, number).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return Card{}, ErrNotFound
	}
	if err != nil {
		return Card{}, fmt.Errorf("agents: version %d of %s: %w", number, agentID, err)
	}
	c, err := decodeStored(raw)
	if err != nil {
		return Card{}, fmt.Errorf("agents: decode version %d of %s: %w", number, agentID, err)
	}
	return c, nil
}
