package db

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrateLockKey serialises concurrent migrators (several processes starting
// at once) with a session-level advisory lock.
const migrateLockKey = 7_466_201_001

// Migration is one numbered SQL file.
type Migration struct {
	Version  int
	Name     string
	SQL      string
	Checksum string
}

// Status describes the database against the embedded migrations.
type Status struct {
	Applied []int
	Pending []Migration
}

// Load reads NNNN_name.sql files from fsys in version order.
func Load(fsys fs.FS) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("db: read migrations: %w", err)
	}
	var out []Migration
	seen := map[int]string{}
	for _, e := range entries {
		if e.IsDir() || path.Ext(e.Name()) != ".sql" {
			continue
		}
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		version, err := strconv.Atoi(num)
		if !ok || err != nil || version <= 0 {
			return nil, fmt.Errorf("db: migration %q: name must look like 0001_description.sql", e.Name())
		}
		if other, dup := seen[version]; dup {
			return nil, fmt.Errorf("db: migrations %q and %q share version %d", other, e.Name(), version)
		}
		seen[version] = e.Name()
		body, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, fmt.Errorf("db: read migration %q: %w", e.Name(), err)
		}
		sum := sha256.Sum256(body)
		out = append(out, Migration{Version: version, Name: name, SQL: string(body), Checksum: hex.EncodeToString(sum[:])})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

const createTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    integer PRIMARY KEY,
	name       text NOT NULL,
	checksum   text NOT NULL,
	applied_at timestamptz NOT NULL DEFAULT now()
)`

// Migrate applies every pending migration from fsys, each in its own
// transaction, and records it. It returns the migrations it applied.
func Migrate(ctx context.Context, pool *pgxpool.Pool, fsys fs.FS) ([]Migration, error) {
	all, err := Load(fsys)
	if err != nil {
		return nil, err
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("db: migrate: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrateLockKey); err != nil {
		return nil, fmt.Errorf("db: migrate: lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrateLockKey) //nolint:errcheck // released with the session anyway

	if _, err := conn.Exec(ctx, createTable); err != nil {
		return nil, fmt.Errorf("db: migrate: create schema_migrations: %w", err)
	}
	applied, err := appliedChecksums(ctx, conn.Conn())
	if err != nil {
		return nil, err
	}
	if err := verify(all, applied); err != nil {
		return nil, err
	}
	var done []Migration
	for _, m := range all {
		if _, ok := applied[m.Version]; ok {
			continue
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)`,
				m.Version, m.Name, m.Checksum)
			return err
		})
		if err != nil {
			return done, fmt.Errorf("db: migration %04d_%s: %w", m.Version, m.Name, err)
		}
		done = append(done, m)
	}
	return done, nil
}

// Check compares the database with the migrations in fsys. It returns
// ErrSchemaOutdated (with the pending versions in the message) when some are
// not applied, and ErrMigrationChanged when an applied one was edited.
func Check(ctx context.Context, pool *pgxpool.Pool, fsys fs.FS) (Status, error) {
	all, err := Load(fsys)
	if err != nil {
		return Status{}, err
	}
	var exists bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
		return Status{}, fmt.Errorf("db: check schema: %w", err)
	}
	applied := map[int]string{}
	if exists {
		conn, err := pool.Acquire(ctx)
		if err != nil {
			return Status{}, fmt.Errorf("db: check schema: %w", err)
		}
		applied, err = appliedChecksums(ctx, conn.Conn())
		conn.Release()
		if err != nil {
			return Status{}, err
		}
	}
	if err := verify(all, applied); err != nil {
		return Status{}, err
	}
	var st Status
	for _, m := range all {
		if _, ok := applied[m.Version]; ok {
			st.Applied = append(st.Applied, m.Version)
		} else {
			st.Pending = append(st.Pending, m)
		}
	}
	if len(st.Pending) > 0 {
		names := make([]string, len(st.Pending))
		for i, m := range st.Pending {
			names[i] = fmt.Sprintf("%04d_%s", m.Version, m.Name)
		}
		return st, fmt.Errorf("db: %w: %d pending migration(s) (%s); run `timbre migrate`",
			ErrSchemaOutdated, len(names), strings.Join(names, ", "))
	}
	return st, nil
}

func appliedChecksums(ctx context.Context, conn *pgx.Conn) (map[int]string, error) {
	rows, err := conn.Query(ctx, `SELECT version, checksum FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("db: read schema_migrations: %w", err)
	}
	applied := map[int]string{}
	for rows.Next() {
		var v int
		var sum string
		if err := rows.Scan(&v, &sum); err != nil {
			return nil, fmt.Errorf("db: read schema_migrations: %w", err)
		}
		applied[v] = sum
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("db: read schema_migrations: %w", err)
	}
	return applied, nil
}

func verify(all []Migration, applied map[int]string) error {
	known := map[int]bool{}
	for _, m := range all {
		known[m.Version] = true
		if sum, ok := applied[m.Version]; ok && sum != m.Checksum {
			return fmt.Errorf("db: %w: %04d_%s differs from the applied version; add a new migration instead",
				ErrMigrationChanged, m.Version, m.Name)
		}
	}
	for v := range applied {
		if !known[v] {
			return fmt.Errorf("db: %w: it has migration %04d; upgrade timbre", ErrSchemaNewer, v)
		}
	}
	return nil
}
