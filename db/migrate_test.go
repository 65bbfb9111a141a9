package db_test

import (
	"context"
	"errors"
	"testing"
	"testing/fstest"

	"github.com/timbre-ai/timbre/db"
	"github.com/timbre-ai/timbre/db/dbtest"
	"github.com/timbre-ai/timbre/migrations"
)

func TestMigrateAppliesEverythingOnceAndCheckAgrees(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Empty(t)
	all, err := db.Load(migrations.FS)
	if err != nil {
		t.Fatal(err)
	}

	st, err := db.Check(ctx, pool, migrations.FS)
	if !errors.Is(err, db.ErrSchemaOutdated) {
		t.Fatalf("Check on an empty database: err = %v, want ErrSchemaOutdated", err)
	}
	if len(st.Pending) != len(all) {
		t.Fatalf("pending = %d, want %d", len(st.Pending), len(all))
	}

	applied, err := db.Migrate(ctx, pool, migrations.FS)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != len(all) {
		t.Fatalf("applied %d migrations, want %d", len(applied), len(all))
	}
	again, err := db.Migrate(ctx, pool, migrations.FS)
	if err != nil || len(again) != 0 {
		t.Fatalf("second Migrate applied %d, err %v; want 0, nil", len(again), err)
	}
	if _, err := db.Check(ctx, pool, migrations.FS); err != nil {
		t.Fatalf("Check after Migrate: %v", err)
	}
	var ext string
	if err := pool.QueryRow(ctx, `SELECT extversion FROM pg_extension WHERE extname = 'vector'`).Scan(&ext); err != nil {
		t.Fatalf("vector extension not installed by the migrations: %v", err)
	}
}

func TestMigrateFailureLeavesNothingOfThatMigration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Empty(t)
	fsys := fstest.MapFS{
		"0001_a.sql": {Data: []byte(`CREATE TABLE a (id int);`)},
		"0002_b.sql": {Data: []byte(`CREATE TABLE b (id int); INSERT INTO b VALUES ('not a number');`)},
	}
	applied, err := db.Migrate(ctx, pool, fsys)
	if err == nil {
		t.Fatal("Migrate succeeded with a broken migration")
	}
	if len(applied) != 1 || applied[0].Version != 1 {
		t.Fatalf("applied = %+v, want only version 1", applied)
	}
	var b, recorded bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass('b') IS NOT NULL, EXISTS (SELECT 1 FROM schema_migrations WHERE version = 2)`).Scan(&b, &recorded); err != nil {
		t.Fatal(err)
	}
	if b || recorded {
		t.Fatalf("failed migration left table b=%v recorded=%v", b, recorded)
	}
}

func TestCheckDetectsEditedAndUnknownMigrations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Empty(t)
	orig := fstest.MapFS{
		"0001_a.sql": {Data: []byte(`CREATE TABLE a (id int);`)},
		"0002_b.sql": {Data: []byte(`CREATE TABLE b (id int);`)},
	}
	if _, err := db.Migrate(ctx, pool, orig); err != nil {
		t.Fatal(err)
	}
	edited := fstest.MapFS{
		"0001_a.sql": {Data: []byte(`CREATE TABLE a (id bigint);`)},
		"0002_b.sql": orig["0002_b.sql"],
	}
	if _, err := db.Check(ctx, pool, edited); !errors.Is(err, db.ErrMigrationChanged) {
		t.Errorf("Check with an edited migration: err = %v, want ErrMigrationChanged", err)
	}
	if _, err := db.Migrate(ctx, pool, edited); !errors.Is(err, db.ErrMigrationChanged) {
		t.Errorf("Migrate with an edited migration: err = %v, want ErrMigrationChanged", err)
	}
	older := fstest.MapFS{"0001_a.sql": orig["0001_a.sql"]}
	if _, err := db.Check(ctx, pool, older); !errors.Is(err, db.ErrSchemaNewer) {
		t.Errorf("Check with fewer migrations than applied: err = %v, want ErrSchemaNewer", err)
	}
}

func TestLoadRejectsBadFileNames(t *testing.T) {
	t.Parallel()
	for name, fsys := range map[string]fstest.MapFS{
		"no number":      {"create.sql": {Data: []byte(`SELECT 1`)}},
		"zero":           {"0000_x.sql": {Data: []byte(`SELECT 1`)}},
		"duplicate":      {"0001_a.sql": {Data: []byte(`SELECT 1`)}, "001_b.sql": {Data: []byte(`SELECT 1`)}},
		"no description": {"0001.sql": {Data: []byte(`SELECT 1`)}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := db.Load(fsys); err == nil {
				t.Errorf("Load accepted %v", fsys)
			}
		})
	}
}

func TestNewIDIsValidAndUnique(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 1000 {
		id := db.NewID("agt")
		if !db.ValidID("agt", id) {
			t.Fatalf("ValidID(%q) = false", id)
		}
		if seen[id] {
			t.Fatalf("duplicate id %q", id)
		}
		seen[id] = true
	}
	for _, bad := range []string{"", "agt_", "usr_aaaaaaaaaaaaaaaa", "agt_AAAAAAAAAAAAAAAA", "agt_aaaaaaaaaaaaaaa1", "agt_' OR 1=1 --"} {
		if db.ValidID("agt", bad) {
			t.Errorf("ValidID(%q) = true", bad)
		}
	}
}
