package accounts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/timbre-ai/timbre/cache"
	"github.com/timbre-ai/timbre/db"
)

// Config tunes accounts.
type Config struct {
	// SessionTTL is how long a session cookie stays valid.
	SessionTTL time.Duration
	// Hash sets the argon2id cost; zero means DefaultHashParams.
	Hash HashParams
	// KeyCacheTTL bounds how long a checked API key is trusted from memory;
	// zero disables the cache. Revocations through any Service sharing the
	// Notifier take effect at once; the TTL bounds it when a notice is lost.
	KeyCacheTTL time.Duration
	// Revocations, when set, is told the prefix of every revoked key.
	Revocations Notifier
	// Logger reports failed notifications.
	Logger *slog.Logger
}

// Notifier tells the other processes of a deployment that a key was revoked
// (bus.Broadcast implements it).
type Notifier interface {
	Notify(prefix string) error
}

// cachedKey is a checked API key held in memory.
type cachedKey struct {
	user       User
	key        APIKey
	secretHash []byte
	lastUsed   atomic.Int64 // unix nanoseconds; 0 when never used
}

// KeyPrefix starts every API key, so leaked keys are easy to recognise.
const KeyPrefix = "tmb_"

// keyTouchInterval limits writes of last_used_at to one per key per interval.
const keyTouchInterval = time.Minute

// Service manages accounts, sessions and API keys.
type Service struct {
	store store
	cfg   Config
	now   func() time.Time
	// dummyHash is verified when an email is unknown, so a failed login takes
	// as long whether or not the account exists.
	dummyHash string
	keys      *cache.TTL[*cachedKey]
}

// NewService returns a Service on pool.
func NewService(pool *pgxpool.Pool, cfg Config) *Service {
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 30 * 24 * time.Hour
	}
	if cfg.Hash == (HashParams{}) {
		cfg.Hash = DefaultHashParams()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{
		store:     store{pool: pool},
		cfg:       cfg,
		now:       time.Now,
		dummyHash: hashPassword("timbre-dummy-password", cfg.Hash),
		keys:      cache.New[*cachedKey](cfg.KeyCacheTTL, 10_000),
	}
}

// Signup creates an account and signs it in.
func (s *Service) Signup(ctx context.Context, in SignupInput, meta SessionMeta) (User, Session, error) {
	if err := in.normalize(); err != nil {
		return User{}, Session{}, fmt.Errorf("accounts: signup: %w", err)
	}
	hash := hashPassword(in.Password, s.cfg.Hash)
	var user User
	var sess Session
	err := pgx.BeginFunc(ctx, s.store.pool, func(tx pgx.Tx) error {
		var err error
		user, err = s.store.createUser(ctx, tx, User{ID: db.NewID("usr"), Email: in.Email, DisplayName: in.DisplayName}, hash)
		if err != nil {
			return err
		}
		sess, err = s.newSession(ctx, tx, user.ID, meta)
		return err
	})
	if err != nil {
		return User{}, Session{}, fmt.Errorf("accounts: signup: %w", err)
	}
	return user, sess, nil
}

// Login checks the password and opens a new session.
func (s *Service) Login(ctx context.Context, email, password string, meta SessionMeta) (User, Session, error) {
	row, err := s.store.userByEmail(ctx, strings.TrimSpace(email))
	if errors.Is(err, ErrNotFound) {
		_, _ = verifyPassword(password, s.dummyHash)
		return User{}, Session{}, ErrInvalidCredentials
	}
	if err != nil {
		return User{}, Session{}, err
	}
	ok, err := verifyPassword(password, row.PasswordHash)
	if err != nil {
		return User{}, Session{}, fmt.Errorf("accounts: login %s: %w", row.ID, err)
	}
	if !ok {
		return User{}, Session{}, ErrInvalidCredentials
	}
	sess, err := s.newSession(ctx, s.store.pool, row.ID, meta)
	if err != nil {
		return User{}, Session{}, err
	}
	return row.User, sess, nil
}

func (s *Service) newSession(ctx context.Context, q querier, userID string, meta SessionMeta) (Session, error) {
	sess := Session{
		Token:     randomToken(32),
		UserID:    userID,
		CSRFToken: randomToken(24),
		ExpiresAt: s.now().Add(s.cfg.SessionTTL).UTC(),
	}
	meta.UserAgent = truncate(meta.UserAgent, 512)
	if err := s.store.insertSession(ctx, q, hashToken(sess.Token), sess, meta); err != nil {
		return Session{}, err
	}
	return sess, nil
}

// Logout revokes the session with token. Unknown tokens are not an error.
func (s *Service) Logout(ctx context.Context, token string) error {
	return s.store.deleteSession(ctx, hashToken(token))
}

// LogoutEverywhere revokes every session of the user (all browsers, this one
// included) and returns how many there were. API keys are not affected.
func (s *Service) LogoutEverywhere(ctx context.Context, userID string) (int64, error) {
	return s.store.deleteUserSessions(ctx, userID)
}

// Authenticate returns the user and session of a session token, or
// ErrUnauthenticated.
func (s *Service) Authenticate(ctx context.Context, token string) (User, Session, error) {
	if token == "" || len(token) > 128 {
		return User{}, Session{}, ErrUnauthenticated
	}
	return s.store.sessionUser(ctx, hashToken(token), s.now())
}

// PurgeExpiredSessions deletes sessions past their expiry.
func (s *Service) PurgeExpiredSessions(ctx context.Context) (int64, error) {
	return s.store.deleteExpiredSessions(ctx, s.now())
}

// CreateKey makes an API key for the user. The returned secret is the whole
// key; it is not stored and cannot be shown again.
func (s *Service) CreateKey(ctx context.Context, userID, name string) (APIKey, string, error) {
	name = strings.TrimSpace(name)
	if err := checkText("name", name, 1, MaxKeyNameLen); err != nil {
		return APIKey{}, "", fmt.Errorf("accounts: create key: %w", err)
	}
	pb := make([]byte, 4)
	_, _ = rand.Read(pb)
	prefix := hex.EncodeToString(pb)
	secret := randomToken(32)
	k := APIKey{ID: db.NewID("key"), Name: name, Prefix: prefix}
	k, err := s.store.insertKey(ctx, userID, k, hashToken(secret))
	if err != nil {
		return APIKey{}, "", err
	}
	return k, KeyPrefix + prefix + "_" + secret, nil
}

// Keys lists the user's active keys, newest first.
func (s *Service) Keys(ctx context.Context, userID string) ([]APIKey, error) {
	return s.store.listKeys(ctx, userID)
}

// RevokeKey revokes one of the user's keys; ErrNotFound if it is not theirs.
func (s *Service) RevokeKey(ctx context.Context, userID, keyID string) error {
	prefix, err := s.store.revokeKey(ctx, userID, keyID, s.now())
	if err != nil {
		return err
	}
	s.ForgetKey(prefix)
	if s.cfg.Revocations != nil {
		if err := s.cfg.Revocations.Notify(prefix); err != nil {
			s.cfg.Logger.Warn("key revocation not broadcast; other processes accept it until their cache expires",
				"key_id", keyID, "error", err)
		}
	}
	return nil
}

// ForgetKey drops a key from the cache; the bus calls it when another
// process revoked one.
func (s *Service) ForgetKey(prefix string) { s.keys.Forget(prefix) }

// AuthenticateKey resolves a full API key to its user, or ErrUnauthenticated.
func (s *Service) AuthenticateKey(ctx context.Context, key string) (User, APIKey, error) {
	rest, ok := strings.CutPrefix(key, KeyPrefix)
	if !ok || len(rest) > 100 {
		return User{}, APIKey{}, ErrUnauthenticated
	}
	prefix, secret, ok := strings.Cut(rest, "_")
	if !ok || len(prefix) != 8 {
		return User{}, APIKey{}, ErrUnauthenticated
	}
	entry, ok := s.keys.Get(prefix)
	if !ok {
		gen := s.keys.Generation()
		row, err := s.store.keyByPrefix(ctx, prefix)
		if err != nil {
			return User{}, APIKey{}, err
		}
		if row.Revoked {
			return User{}, APIKey{}, ErrUnauthenticated
		}
		entry = &cachedKey{user: row.User, key: row.APIKey, secretHash: row.SecretHash}
		if row.LastUsedAt != nil {
			entry.lastUsed.Store(row.LastUsedAt.UnixNano())
		}
		s.keys.Put(prefix, entry, gen)
	}
	if subtle.ConstantTimeCompare(hashToken(secret), entry.secretHash) != 1 {
		return User{}, APIKey{}, ErrUnauthenticated
	}
	now := s.now()
	last := entry.lastUsed.Load()
	// One request per key and interval records the use; the others skip it.
	if now.UnixNano()-last > int64(keyTouchInterval) && entry.lastUsed.CompareAndSwap(last, now.UnixNano()) {
		if err := s.store.touchKey(ctx, entry.key.ID, now); err != nil {
			return User{}, APIKey{}, err
		}
	}
	k := entry.key
	if used := entry.lastUsed.Load(); used != 0 {
		t := time.Unix(0, used).UTC()
		k.LastUsedAt = &t
	}
	return entry.user, k, nil
}

func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

func truncate(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.ToValidUTF8(s, "")
}
