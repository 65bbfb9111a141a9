package main

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/timbre-ai/timbre/db"
)

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
