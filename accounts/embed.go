package accounts

import (
	"context"
	"fmt"
	"strings"
	"time"

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
	t, err := s.store.insertEmbedToken(ctx, userID, t, hashToken(secret))
	if err != nil {
		return EmbedToken{}, "", err
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
	return s.store.embedTokenUser(ctx, hashToken(secret), s.now())
}

// PurgeExpiredEmbedTokens deletes expired embed tokens.
func (s *Service) PurgeExpiredEmbedTokens(ctx context.Context) (int64, error) {
	return s.store.deleteExpiredEmbedTokens(ctx, s.now())
}
