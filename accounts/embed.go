package accounts

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/timbre-ai/timbre/db"
)

// EmbedTokenPrefix starts every embed token.
const EmbedTokenPrefix = "emb_"

// Embed token lifetimes: DefaultEmbedTTL when none is asked for, at most
// MaxEmbedTTL.
const (
	DefaultEmbedTTL = 10 * time.Minute
	MaxEmbedTTL     = 24 * time.Hour
	// MaxEndUserLen bounds the embedding site's label for its visitor.
	MaxEndUserLen = 200
)

// EmbedToken lets a page that embeds an agent open voice sessions with it
// on its creator's behalf, without the creator's key reaching the browser.
// The token itself is shown once and only its hash is stored.
type EmbedToken struct {
	ID      string `json:"id"`
	AgentID string `json:"agent_id"`
	// EndUser is the embedding site's own label for its visitor, metered
	// as the usage's end user.
	EndUser   string    `json:"end_user"`
	ExpiresAt time.Time `json:"expires_at"`
	CreatedAt time.Time `json:"created_at"`
}

// CreateEmbedToken issues a token for userID's use of agentID, valid for
// ttl (DefaultEmbedTTL when zero). The caller checks that userID may use
// the agent.
func (s *Service) CreateEmbedToken(ctx context.Context, userID, agentID, endUser string, ttl time.Duration) (EmbedToken, string, error) {
	switch {
	case ttl == 0:
		ttl = DefaultEmbedTTL
	case ttl < time.Minute || ttl > MaxEmbedTTL:
		return EmbedToken{}, "", &FieldError{Field: "ttl_seconds", Message: fmt.Sprintf("must be from 60 to %d", int(MaxEmbedTTL/time.Second))}
	}
	endUser = strings.TrimSpace(endUser)
	if err := checkText("end_user", endUser, 0, MaxEndUserLen); err != nil {
		return EmbedToken{}, "", fmt.Errorf("accounts: create embed token: %w", err)
	}
	secret := randomToken(32)
	t := EmbedToken{ID: db.NewID("emb"), AgentID: agentID, EndUser: endUser, ExpiresAt: s.now().Add(ttl).UTC().Truncate(time.Microsecond)}
	err := s.store.pool.QueryRow(ctx, `INSERT INTO embed_tokens (id, token_hash, user_id, agent_id, end_user, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING created_at`,
		t.ID, hashToken(secret), userID, agentID, t.EndUser, t.ExpiresAt).Scan(&t.CreatedAt)
	if err != nil {
		return EmbedToken{}, "", fmt.Errorf("accounts: insert embed token: %w", err)
	}
	return t, EmbedTokenPrefix + secret, nil
}

// AuthenticateEmbedToken returns the user a token acts for and the token.
// A malformed, unknown or expired token is ErrUnauthenticated.
func (s *Service) AuthenticateEmbedToken(ctx context.Context, token string) (User, EmbedToken, error) {
	secret, ok := strings.CutPrefix(token, EmbedTokenPrefix)
	if !ok || secret == "" || len(secret) > 100 {
		return User{}, EmbedToken{}, ErrUnauthenticated
	}
	var u User
	var t EmbedToken
	err := s.store.pool.QueryRow(ctx, `SELECT u.id, u.email, u.display_name, u.created_at,
			e.id, e.agent_id, e.end_user, e.expires_at, e.created_at
		   FROM embed_tokens e JOIN users u ON u.id = e.user_id
		  WHERE e.token_hash = $1 AND e.expires_at > $2`, hashToken(secret), s.now()).
		Scan(&u.ID, &u.Email, &u.DisplayName, &u.CreatedAt, &t.ID, &t.AgentID, &t.EndUser, &t.ExpiresAt, &t.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, EmbedToken{}, ErrUnauthenticated
	}
	if err != nil {
		return User{}, EmbedToken{}, fmt.Errorf("accounts: look up embed token: %w", err)
	}
	return u, t, nil
}

// PurgeExpiredEmbedTokens deletes expired embed tokens.
func (s *Service) PurgeExpiredEmbedTokens(ctx context.Context) (int64, error) {
	tag, err := s.store.pool.Exec(ctx, `DELETE FROM embed_tokens WHERE expires_at <= $1`, s.now())
	if err != nil {
		return 0, fmt.Errorf("accounts: purge embed tokens: %w", err)
	}
	return tag.RowsAffected(), nil
}
