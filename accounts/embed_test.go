package accounts_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/timbre-ai/timbre/accounts"
	"github.com/timbre-ai/timbre/agents"
	"github.com/timbre-ai/timbre/db/dbtest"
)

// TestEmbedTokens issues a token, authenticates with it, refuses bad ttls,
// malformed and expired tokens, and purges the expired one.
func TestEmbedTokens(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.New(t)
	svc := accounts.NewService(pool, cheap)
	user, _, err := svc.Signup(ctx, accounts.SignupInput{Email: "emb@example.com", Password: "correct horse", DisplayName: "Em"}, accounts.SessionMeta{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := agents.NewService(pool, agents.Config{}).Create(ctx, user.ID, []byte(`{"name":"Widget"}`))
	if err != nil {
		t.Fatal(err)
	}
	tok, secret, err := svc.CreateEmbedToken(ctx, user.ID, a.ID, " visitor-1 ", 0)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, accounts.EmbedTokenPrefix) || tok.EndUser != "visitor-1" || tok.AgentID != a.ID {
		t.Fatalf("token %+v, secret %q", tok, secret)
	}
	if d := time.Until(tok.ExpiresAt); d < 9*time.Minute || d > 11*time.Minute {
		t.Errorf("a default token expires in %v, want 10 minutes", d)
	}
	got, gotTok, err := svc.AuthenticateEmbedToken(ctx, secret)
	if err != nil || got.ID != user.ID || gotTok.ID != tok.ID {
		t.Fatalf("authenticate: %+v %+v %v", got, gotTok, err)
	}
	for _, bad := range []string{"", "emb_", secret[:len(secret)-1], strings.TrimPrefix(secret, accounts.EmbedTokenPrefix), accounts.EmbedTokenPrefix + strings.Repeat("x", 200)} {
		if _, _, err := svc.AuthenticateEmbedToken(ctx, bad); !errors.Is(err, accounts.ErrUnauthenticated) {
			t.Errorf("token %q: err = %v, want ErrUnauthenticated", bad, err)
		}
	}
	for _, ttl := range []time.Duration{time.Second, 25 * time.Hour} {
		var fe *accounts.FieldError
		if _, _, err := svc.CreateEmbedToken(ctx, user.ID, a.ID, "", ttl); !errors.As(err, &fe) || fe.Field != "ttl_seconds" {
			t.Errorf("ttl %v: err = %v, want a ttl_seconds field error", ttl, err)
		}
	}
	if n, err := svc.PurgeExpiredEmbedTokens(ctx); err != nil || n != 0 {
		t.Fatalf("purge with nothing expired: %d, %v", n, err)
	}
	if _, err := pool.Exec(ctx, `UPDATE embed_tokens SET expires_at = now() - interval '1 second' WHERE id = $1`, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.AuthenticateEmbedToken(ctx, secret); !errors.Is(err, accounts.ErrUnauthenticated) {
		t.Errorf("expired token: err = %v, want ErrUnauthenticated", err)
	}
	if n, err := svc.PurgeExpiredEmbedTokens(ctx); err != nil || n != 1 {
		t.Errorf("purge: %d, %v; want the expired token", n, err)
	}
}
