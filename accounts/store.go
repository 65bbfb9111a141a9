package accounts

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// store holds the accounts SQL.
type store struct {
	pool *pgxpool.Pool
}

type userRow struct {
	User
	PasswordHash string
}

func (s *store) createUser(ctx context.Context, tx pgx.Tx, u User, hash string) (User, error) {
	err := tx.QueryRow(ctx,
		`INSERT INTO users (id, email, password_hash, display_name) VALUES ($1, $2, $3, $4) RETURNING created_at`,
		u.ID, u.Email, hash, u.DisplayName).Scan(&u.CreatedAt)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return User{}, ErrEmailTaken
	}
	if err != nil {
		return User{}, fmt.Errorf("accounts: insert user: %w", err)
	}
	return u, nil
}

func (s *store) userByEmail(ctx context.Context, email string) (userRow, error) {
	var r userRow
	err := s.pool.QueryRow(ctx,
		`SELECT id, email, display_name, created_at, password_hash FROM users WHERE lower(email) = lower($1)`, email).
		Scan(&r.ID, &r.Email, &r.DisplayName, &r.CreatedAt, &r.PasswordHash)
	if errors.Is(err, pgx.ErrNoRows) {
		return userRow{}, ErrNotFound
	}
	if err != nil {
		return userRow{}, fmt.Errorf("accounts: user by email: %w", err)
	}
	return r, nil
}

type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

func (s *store) insertSession(ctx context.Context, q querier, tokenHash []byte, sess Session, meta SessionMeta) error {
	_, err := q.Exec(ctx,
		`INSERT INTO sessions (token_hash, user_id, csrf_token, expires_at, user_agent, ip) VALUES ($1, $2, $3, $4, $5, $6)`,
		tokenHash, sess.UserID, sess.CSRFToken, sess.ExpiresAt, meta.UserAgent, meta.IP)
	if err != nil {
		return fmt.Errorf("accounts: insert session: %w", err)
	}
	return nil
}

func (s *store) sessionUser(ctx context.Context, tokenHash []byte, now time.Time) (User, Session, error) {
	var u User
	var sess Session
	err := s.pool.QueryRow(ctx,
		`SELECT u.id, u.email, u.display_name, u.created_at, s.csrf_token, s.expires_at
		   FROM sessions s JOIN users u ON u.id = s.user_id
		  WHERE s.token_hash = $1 AND s.expires_at > $2`, tokenHash, now).
		Scan(&u.ID, &u.Email, &u.DisplayName, &u.CreatedAt, &sess.CSRFToken, &sess.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, Session{}, ErrUnauthenticated
	}
	if err != nil {
		return User{}, Session{}, fmt.Errorf("accounts: look up session: %w", err)
	}
	sess.UserID = u.ID
	return u, sess, nil
}

func (s *store) deleteSession(ctx context.Context, tokenHash []byte) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE token_hash = $1`, tokenHash); err != nil {
		return fmt.Errorf("accounts: delete session: %w", err)
	}
	return nil
}

func (s *store) deleteUserSessions(ctx context.Context, userID string) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID)
	if err != nil {
		return 0, fmt.Errorf("accounts: delete sessions of %s: %w", userID, err)
	}
	return tag.RowsAffected(), nil
}

func (s *store) deleteExpiredSessions(ctx context.Context, now time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE expires_at <= $1`, now)
	if err != nil {
		return 0, fmt.Errorf("accounts: purge sessions: %w", err)
	}
	return tag.RowsAffected(), nil
}

func (s *store) insertKey(ctx context.Context, userID string, k APIKey, secretHash []byte) (APIKey, error) {
	err := s.pool.QueryRow(ctx,
		`INSERT INTO api_keys (id, user_id, name, prefix, secret_hash) VALUES ($1, $2, $3, $4, $5) RETURNING created_at`,
		k.ID, userID, k.Name, k.Prefix, secretHash).Scan(&k.CreatedAt)
	if err != nil {
		return APIKey{}, fmt.Errorf("accounts: insert key: %w", err)
	}
	return k, nil
}

func (s *store) listKeys(ctx context.Context, userID string) ([]APIKey, error) {
	rows, err := s.pool.Query(ctx,
		`SELECT id, name, prefix, created_at, last_used_at FROM api_keys
		  WHERE user_id = $1 AND revoked_at IS NULL ORDER BY created_at DESC, id DESC`, userID)
	if err != nil {
		return nil, fmt.Errorf("accounts: list keys: %w", err)
	}
	keys, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (APIKey, error) {
		var k APIKey
		err := r.Scan(&k.ID, &k.Name, &k.Prefix, &k.CreatedAt, &k.LastUsedAt)
		return k, err
	})
	if err != nil {
		return nil, fmt.Errorf("accounts: list keys: %w", err)
	}
	return keys, nil
}

// revokeKey marks a key revoked and returns its prefix.
func (s *store) revokeKey(ctx context.Context, userID, keyID string, now time.Time) (string, error) {
	var prefix string
	err := s.pool.QueryRow(ctx,
		`UPDATE api_keys SET revoked_at = $3 WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL RETURNING prefix`,
		keyID, userID, now).Scan(&prefix)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("accounts: revoke key: %w", err)
	}
	return prefix, nil
}

type keyRow struct {
	APIKey
	User       User
	SecretHash []byte
	Revoked    bool
}

func (s *store) keyByPrefix(ctx context.Context, prefix string) (keyRow, error) {
	var k keyRow
	err := s.pool.QueryRow(ctx,
		`SELECT k.id, k.name, k.prefix, k.created_at, k.last_used_at, k.secret_hash, k.revoked_at IS NOT NULL,
		        u.id, u.email, u.display_name, u.created_at
		   FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.prefix = $1`, prefix).
		Scan(&k.ID, &k.Name, &k.Prefix, &k.CreatedAt, &k.LastUsedAt, &k.SecretHash, &k.Revoked,
			&k.User.ID, &k.User.Email, &k.User.DisplayName, &k.User.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return keyRow{}, ErrUnauthenticated
	}
	if err != nil {
		return keyRow{}, fmt.Errorf("accounts: look up key: %w", err)
	}
	return k, nil
}

func (s *store) touchKey(ctx context.Context, id string, now time.Time) error {
	if _, err := s.pool.Exec(ctx, `UPDATE api_keys SET last_used_at = $2 WHERE id = $1`, id, now); err != nil {
		return fmt.Errorf("accounts: touch key: %w", err)
	}
	return nil
}

func (s *store) insertEmbedToken(ctx context.Context, userID string, t EmbedToken, tokenHash []byte) (EmbedToken, error) {
	err := s.pool.QueryRow(ctx, `INSERT INTO embed_tokens (id, token_hash, user_id, agent_id, end_user, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING created_at`,
		t.ID, tokenHash, userID, t.AgentID, t.EndUser, t.ExpiresAt).Scan(&t.CreatedAt)
	if err != nil {
		return EmbedToken{}, fmt.Errorf("accounts: insert embed token: %w", err)
	}
	return t, nil
}

// embedTokenUser returns the unexpired token with this hash and its user.
func (s *store) embedTokenUser(ctx context.Context, tokenHash []byte, now time.Time) (User, EmbedToken, error) {
	var u User
	var t EmbedToken
	err := s.pool.QueryRow(ctx, `SELECT u.id, u.email, u.display_name, u.created_at,
			e.id, e.agent_id, e.end_user, e.expires_at, e.created_at
		   FROM embed_tokens e JOIN users u ON u.id = e.user_id
		  WHERE e.token_hash = $1 AND e.expires_at > $2`, tokenHash, now).
		Scan(&u.ID, &u.Email, &u.DisplayName, &u.CreatedAt, &t.ID, &t.AgentID, &t.EndUser, &t.ExpiresAt, &t.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, EmbedToken{}, ErrUnauthenticated
	}
	if err != nil {
		return User{}, EmbedToken{}, fmt.Errorf("accounts: look up embed token: %w", err)
	}
	return u, t, nil
}

func (s *store) deleteExpiredEmbedTokens(ctx context.Context, now time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM embed_tokens WHERE expires_at <= $1`, now)
	if err != nil {
		return 0, fmt.Errorf("accounts: purge embed tokens: %w", err)
	}
	return tag.RowsAffected(), nil
}
