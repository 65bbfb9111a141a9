package accounts_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/timbre-ai/timbre/accounts"
	"github.com/timbre-ai/timbre/bus/bustest"
	"github.com/timbre-ai/timbre/db/dbtest"
)

// cheap keeps argon2id real but light so the suite stays quick.
var cheap = accounts.Config{Hash: accounts.HashParams{Memory: 1024, Time: 1, Threads: 1}}

func TestSignupLoginLogout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc := accounts.NewService(dbtest.New(t), cheap)

	user, sess, err := svc.Signup(ctx, accounts.SignupInput{Email: " Ada@Example.com ", Password: "correct horse", DisplayName: " Ada "}, accounts.SessionMeta{IP: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	if user.Email != "Ada@Example.com" || user.DisplayName != "Ada" || !strings.HasPrefix(user.ID, "usr_") {
		t.Fatalf("user = %+v", user)
	}
	got, gotSess, err := svc.Authenticate(ctx, sess.Token)
	if err != nil || got.ID != user.ID || gotSess.CSRFToken != sess.CSRFToken || sess.CSRFToken == "" {
		t.Fatalf("Authenticate = %+v, %+v, %v", got, gotSess, err)
	}

	if _, _, err := svc.Signup(ctx, accounts.SignupInput{Email: "ada@example.COM", Password: "another one", DisplayName: "Ada 2"}, accounts.SessionMeta{}); !errors.Is(err, accounts.ErrEmailTaken) {
		t.Fatalf("duplicate email (other case): err = %v, want ErrEmailTaken", err)
	}
	if _, _, err := svc.Login(ctx, "ada@example.com", "wrong password", accounts.SessionMeta{}); !errors.Is(err, accounts.ErrInvalidCredentials) {
		t.Fatalf("wrong password: err = %v", err)
	}
	if _, _, err := svc.Login(ctx, "nobody@example.com", "correct horse", accounts.SessionMeta{}); !errors.Is(err, accounts.ErrInvalidCredentials) {
		t.Fatalf("unknown email: err = %v", err)
	}
	_, second, err := svc.Login(ctx, "ADA@example.com", "correct horse", accounts.SessionMeta{})
	if err != nil {
		t.Fatal(err)
	}
	if second.Token == sess.Token {
		t.Fatal("login reused the signup session token")
	}

	if err := svc.Logout(ctx, sess.Token); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Authenticate(ctx, sess.Token); !errors.Is(err, accounts.ErrUnauthenticated) {
		t.Fatalf("session after logout: err = %v, want ErrUnauthenticated", err)
	}
	if _, _, err := svc.Authenticate(ctx, second.Token); err != nil {
		t.Fatalf("the other session must survive: %v", err)
	}
}

func TestSignupValidation(t *testing.T) {
	t.Parallel()
	svc := accounts.NewService(dbtest.New(t), cheap)
	cases := []struct {
		name  string
		in    accounts.SignupInput
		field string
	}{
		{"no email", accounts.SignupInput{Password: "12345678", DisplayName: "A"}, "email"},
		{"bad email", accounts.SignupInput{Email: "not-an-email", Password: "12345678", DisplayName: "A"}, "email"},
		{"display form", accounts.SignupInput{Email: "Bob <bob@example.com>", Password: "12345678", DisplayName: "A"}, "email"},
		{"short password", accounts.SignupInput{Email: "a@example.com", Password: "1234567", DisplayName: "A"}, "password"},
		{"huge password", accounts.SignupInput{Email: "a@example.com", Password: strings.Repeat("x", 257), DisplayName: "A"}, "password"},
		{"no name", accounts.SignupInput{Email: "a@example.com", Password: "12345678", DisplayName: "   "}, "display_name"},
		{"control chars", accounts.SignupInput{Email: "a@example.com", Password: "12345678", DisplayName: "A\x00B"}, "display_name"},
		{"long name", accounts.SignupInput{Email: "a@example.com", Password: "12345678", DisplayName: strings.Repeat("é", 81)}, "display_name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := svc.Signup(context.Background(), tc.in, accounts.SessionMeta{})
			var fe *accounts.FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field || !errors.Is(err, accounts.ErrInvalidInput) {
				t.Fatalf("err = %v, want a FieldError on %q", err, tc.field)
			}
		})
	}
}

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := cheap
	cfg.KeyCacheTTL = time.Hour // revocation must still take effect at once
	svc := accounts.NewService(dbtest.New(t), cfg)
	user, _, err := svc.Signup(ctx, accounts.SignupInput{Email: "k@example.com", Password: "password1", DisplayName: "K"}, accounts.SessionMeta{})
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := svc.Signup(ctx, accounts.SignupInput{Email: "o@example.com", Password: "password1", DisplayName: "O"}, accounts.SessionMeta{})
	if err != nil {
		t.Fatal(err)
	}
	key, secret, err := svc.CreateKey(ctx, user.ID, "ci")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, accounts.KeyPrefix+key.Prefix+"_") {
		t.Fatalf("secret %q does not start with its prefix %q", secret, key.Prefix)
	}
	got, k, err := svc.AuthenticateKey(ctx, secret)
	if err != nil || got.ID != user.ID || k.ID != key.ID || k.LastUsedAt == nil {
		t.Fatalf("AuthenticateKey = %+v %+v %v", got, k, err)
	}
	keys, err := svc.Keys(ctx, user.ID)
	if err != nil || len(keys) != 1 || keys[0].LastUsedAt == nil {
		t.Fatalf("Keys = %+v, %v (want one key with last_used_at)", keys, err)
	}

	for _, bad := range []string{"", "tmb_", secret + "x", secret[:len(secret)-1], strings.Replace(secret, key.Prefix, "00000000", 1), "Bearer " + secret} {
		if _, _, err := svc.AuthenticateKey(ctx, bad); !errors.Is(err, accounts.ErrUnauthenticated) {
			t.Errorf("AuthenticateKey(%q): err = %v, want ErrUnauthenticated", bad, err)
		}
	}
	if err := svc.RevokeKey(ctx, other.ID, key.ID); !errors.Is(err, accounts.ErrNotFound) {
		t.Fatalf("revoking someone else's key: err = %v, want ErrNotFound", err)
	}
	if err := svc.RevokeKey(ctx, user.ID, key.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.AuthenticateKey(ctx, secret); !errors.Is(err, accounts.ErrUnauthenticated) {
		t.Fatalf("revoked key: err = %v, want ErrUnauthenticated", err)
	}
	if keys, _ := svc.Keys(ctx, user.ID); len(keys) != 0 {
		t.Fatalf("revoked key still listed: %+v", keys)
	}
	if _, _, err := svc.CreateKey(ctx, user.ID, ""); !errors.Is(err, accounts.ErrInvalidInput) {
		t.Fatalf("empty key name: err = %v", err)
	}
}

func TestHashParamsTravelWithTheHash(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.New(t)
	svc := accounts.NewService(pool, accounts.Config{})
	if _, _, err := svc.Signup(ctx, accounts.SignupInput{Email: "h@example.com", Password: "password1", DisplayName: "H"}, accounts.SessionMeta{}); err != nil {
		t.Fatal(err)
	}
	// A service with other parameters still verifies: they are stored in the hash.
	other := accounts.NewService(pool, cheap)
	if _, _, err := other.Login(ctx, "h@example.com", "password1", accounts.SessionMeta{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := other.Login(ctx, "h@example.com", "password2", accounts.SessionMeta{}); !errors.Is(err, accounts.ErrInvalidCredentials) {
		t.Fatalf("wrong password: err = %v", err)
	}
}

// A key revoked through one process stops working in another that had it
// cached, through the bus.
func TestKeyRevocationReachesOtherProcesses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.New(t)
	revoked := bustest.Broadcast(t, "timbre.keys.revoked")
	process := func() *accounts.Service {
		cfg := cheap
		cfg.KeyCacheTTL, cfg.Revocations = time.Hour, revoked
		svc := accounts.NewService(pool, cfg)
		stop, err := revoked.Subscribe(svc.ForgetKey)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(stop)
		return svc
	}
	a, other := process(), process()
	user, _, err := a.Signup(ctx, accounts.SignupInput{Email: "r@example.com", Password: "password1", DisplayName: "R"}, accounts.SessionMeta{})
	if err != nil {
		t.Fatal(err)
	}
	key, secret, err := a.CreateKey(ctx, user.ID, "k")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.AuthenticateKey(ctx, secret); err != nil {
		t.Fatal(err)
	}
	if err := other.RevokeKey(ctx, user.ID, key.ID); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, _, err := a.AuthenticateKey(ctx, secret)
		if errors.Is(err, accounts.ErrUnauthenticated) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the revoked key still works in the other process: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
