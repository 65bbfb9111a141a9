// Package dbtest gives each test a fresh PostgreSQL database cloned from a
// migrated template. It connects to TIMBRE_TEST_DATABASE_URL (default: the
// local database `make test` sets up) and fails the test, with the command to
// run, when PostgreSQL is not there: store tests never silently skip.
package dbtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/timbre-ai/timbre/db"
	"github.com/timbre-ai/timbre/migrations"
)

// DefaultURL is the database `make test` prepares.
const DefaultURL = "postgres://timbre:timbre@127.0.0.1:5432/timbre?sslmode=disable"

// templateLockKey serialises template creation across test binaries that run
// in parallel.
const templateLockKey = 7_466_201_002

// URL is the admin URL tests connect to.
func URL() string {
	if u := os.Getenv("TIMBRE_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// New creates a fresh, migrated database for the test and returns a pool on
// it. The database is dropped when the test ends.
func New(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool, _ := NewWithURL(t)
	return pool
}

// NewWithURL is New, also returning the database's URL (for code under test
// that opens its own connections, such as a whole server).
func NewWithURL(t testing.TB) (*pgxpool.Pool, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	admin, err := pgx.Connect(ctx, URL())
	if err != nil {
		t.Fatalf("dbtest: cannot reach PostgreSQL at TIMBRE_TEST_DATABASE_URL (%v).\n"+
			"Run the tests with `make test`, which installs and starts PostgreSQL with pgvector and creates the timbre role.", err)
	}
	defer admin.Close(context.WithoutCancel(ctx))

	tmpl, err := ensureTemplate(ctx, admin)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	name := "timbre_test_" + randomHex(8)
	if _, err := admin.Exec(ctx, fmt.Sprintf(`CREATE DATABASE %s TEMPLATE %s`, name, tmpl)); err != nil {
		t.Fatalf("dbtest: create database: %v", err)
	}
	url := withDatabase(admin.Config(), name)
	pool, err := db.Open(ctx, url, 8)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	t.Cleanup(func() { pool.Close(); drop(t, name) })
	return pool, url
}

// Empty creates a fresh database with no migrations applied (for testing
// migrations themselves) and returns a pool on it.
func Empty(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool, _ := EmptyWithURL(t)
	return pool
}

// EmptyWithURL is Empty, also returning the database's URL.
func EmptyWithURL(t testing.TB) (*pgxpool.Pool, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin, err := pgx.Connect(ctx, URL())
	if err != nil {
		t.Fatalf("dbtest: cannot reach PostgreSQL at TIMBRE_TEST_DATABASE_URL (%v).\n"+
			"Run the tests with `make test`, which sets PostgreSQL up.", err)
	}
	defer admin.Close(context.WithoutCancel(ctx))
	name := "timbre_test_" + randomHex(8)
	if _, err := admin.Exec(ctx, fmt.Sprintf(`CREATE DATABASE %s`, name)); err != nil {
		t.Fatalf("dbtest: create database: %v", err)
	}
	url := withDatabase(admin.Config(), name)
	pool, err := db.Open(ctx, url, 4)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	t.Cleanup(func() { pool.Close(); drop(t, name) })
	return pool, url
}

func drop(t testing.TB, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, URL())
	if err != nil {
		t.Errorf("dbtest: drop %s: %v", name, err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, name)); err != nil {
		t.Errorf("dbtest: drop %s: %v", name, err)
	}
}

// ensureTemplate creates, once per migration set, a template database with
// every migration applied. Its name carries a hash of the migrations, so a
// changed migration set gets a new template.
func ensureTemplate(ctx context.Context, admin *pgx.Conn) (string, error) {
	all, err := db.Load(migrations.FS)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, m := range all {
		fmt.Fprintf(h, "%d:%s\n", m.Version, m.Checksum)
	}
	name := "timbre_tmpl_" + hex.EncodeToString(h.Sum(nil))[:16]

	if _, err := admin.Exec(ctx, `SELECT pg_advisory_lock($1)`, templateLockKey); err != nil {
		return "", fmt.Errorf("lock template: %w", err)
	}
	defer admin.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, templateLockKey) //nolint:errcheck

	var exists bool
	if err := admin.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return "", fmt.Errorf("look up template: %w", err)
	}
	if exists {
		return name, nil
	}
	building := name + "_build"
	if _, err := admin.Exec(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, building)); err != nil {
		return "", fmt.Errorf("drop stale template: %w", err)
	}
	if _, err := admin.Exec(ctx, fmt.Sprintf(`CREATE DATABASE %s`, building)); err != nil {
		return "", fmt.Errorf("create template (does the role have CREATEDB? `make test` grants it): %w", err)
	}
	pool, err := db.Open(ctx, withDatabase(admin.Config(), building), 2)
	if err != nil {
		return "", err
	}
	_, err = db.Migrate(ctx, pool, migrations.FS)
	pool.Close()
	if err != nil {
		return "", fmt.Errorf("migrate template: %w", err)
	}
	// Rename only when complete, so a crash mid-way never leaves a broken
	// template under the final name.
	if _, err := admin.Exec(ctx, fmt.Sprintf(`ALTER DATABASE %s RENAME TO %s`, building, name)); err != nil {
		return "", fmt.Errorf("rename template: %w", err)
	}
	return name, nil
}

func withDatabase(cfg *pgx.ConnConfig, name string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(cfg.User, cfg.Password),
		Host:     fmt.Sprintf("%s:%d", cfg.Host, cfg.Port),
		Path:     "/" + name,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
