package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/timbre-ai/timbre/db"
)

// createDatabase drops database name if it exists, creates it afresh on the
// server of serverURL and returns its URL.
func createDatabase(ctx context.Context, serverURL, name string) (string, error) {
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return "", fmt.Errorf("connect to TIMBRE_DATABASE_URL's server (is PostgreSQL running? `make setup` starts it): %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
		return "", fmt.Errorf("drop the previous %s: %w", name, err)
	}
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+name); err != nil {
		return "", fmt.Errorf("create database %s (does the role have CREATEDB?): %w", name, err)
	}
	return withDatabase(serverURL, name)
}

// dropDatabase drops name. It runs at the end, after an interrupt too, so
// it does not take the run's context.
func dropDatabase(serverURL, name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// withDatabase returns serverURL pointing at database name instead; it is a
// postgres:// URL or a keyword=value connection string.
func withDatabase(serverURL, name string) (string, error) {
	if strings.HasPrefix(serverURL, "postgres://") || strings.HasPrefix(serverURL, "postgresql://") {
		u, err := url.Parse(serverURL)
		if err != nil {
			return "", errors.New("TIMBRE_DATABASE_URL is not a valid URL")
		}
		u.Path, u.RawPath = "/"+name, ""
		return u.String(), nil
	}
	// In a keyword=value string a later keyword wins.
	return serverURL + " dbname=" + name, nil
}

// newOwner inserts the user who owns the benchmark's knowledge bases.
func newOwner(ctx context.Context, pool *pgxpool.Pool) (string, error) {
	id := db.NewID("usr")
	_, err := pool.Exec(ctx, `INSERT INTO users (id, email, password_hash, display_name) VALUES ($1, $2, 'x', 'Vector benchmark')`,
		id, id+"@bench.invalid")
	if err != nil {
		return "", fmt.Errorf("insert the owner: %w", err)
	}
	return id, nil
}

// clearKnowledge empties the knowledge tables between ingestion runs.
// TRUNCATE also empties their indexes (the HNSW index stays defined).
func clearKnowledge(ctx context.Context, pool *pgxpool.Pool) error {
	if _, err := pool.Exec(ctx, `TRUNCATE knowledge_bases, documents, chunks, chunk_vectors CASCADE`); err != nil {
		return fmt.Errorf("empty the knowledge tables: %w", err)
	}
	return nil
}

// serverInfo describes the PostgreSQL server and the settings the figures
// depend on.
type serverInfo struct {
	Version                string
	Pgvector               string
	SharedBuffers          string
	WorkMem                string
	MaintenanceWorkMem     string
	MaxParallelMaintenance string
	MaxParallelWorkers     string
}

func readServerInfo(ctx context.Context, pool *pgxpool.Pool) (serverInfo, error) {
	var s serverInfo
	err := pool.QueryRow(ctx, `SELECT current_setting('server_version'),
			coalesce((SELECT extversion FROM pg_extension WHERE extname = 'vector'), '?'),
			current_setting('shared_buffers'), current_setting('work_mem'), current_setting('maintenance_work_mem'),
			current_setting('max_parallel_maintenance_workers'), current_setting('max_parallel_workers_per_gather')`).
		Scan(&s.Version, &s.Pgvector, &s.SharedBuffers, &s.WorkMem, &s.MaintenanceWorkMem, &s.MaxParallelMaintenance, &s.MaxParallelWorkers)
	if err != nil {
		return s, fmt.Errorf("read server settings: %w", err)
	}
	return s, nil
}

// relationSize returns pg_relation_size of a table or index (0 if it does
// not exist).
func relationSize(ctx context.Context, pool *pgxpool.Pool, name string) (int64, error) {
	var n int64
	err := pool.QueryRow(ctx, `SELECT coalesce(pg_relation_size(to_regclass($1)), 0)`, name).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("size of %s: %w", name, err)
	}
	return n, nil
}

// tableSizes returns a table's heap (with TOAST) and its total with indexes.
func tableSizes(ctx context.Context, pool *pgxpool.Pool, table string) (heap, total int64, err error) {
	err = pool.QueryRow(ctx, `SELECT pg_table_size(to_regclass($1)), pg_total_relation_size(to_regclass($1))`, table).Scan(&heap, &total)
	if err != nil {
		return 0, 0, fmt.Errorf("size of %s: %w", table, err)
	}
	return heap, total, nil
}
