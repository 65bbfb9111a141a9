package main

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// indexBuild is one HNSW index dropped and built again on its full table.
type indexBuild struct {
	Index, Table string
	// Definition is the index's pg_get_indexdef, executed as it is.
	Definition string
	Rows       int64
	// Incremental is the index's size as ingestion left it (built row by
	// row); Size is its size built in one go.
	Incremental, Size int64
	// TableHeap is the table with TOAST, TableTotal with every index.
	TableHeap, TableTotal int64
	Took                  time.Duration
	CPU                   cpuUse
	// MaintenanceWorkMem and ParallelWorkers are the settings in force for
	// the build; Notices are what PostgreSQL said during it.
	MaintenanceWorkMem, ParallelWorkers string
	Notices                             []string
}

// rebuildIndex drops an index and executes its own definition again on a
// connection of its own, timing the build and collecting the notices.
func rebuildIndex(ctx context.Context, dbURL, index, table string) (indexBuild, error) {
	b := indexBuild{Index: index, Table: table}
	cfg, err := pgx.ParseConfig(dbURL)
	if err != nil {
		return b, fmt.Errorf("rebuild %s: %w", index, err)
	}
	cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) { b.Notices = append(b.Notices, n.Message) }
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return b, fmt.Errorf("rebuild %s: %w", index, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	err = conn.QueryRow(ctx, `SELECT pg_get_indexdef(to_regclass($1)), pg_relation_size(to_regclass($1)),
			current_setting('maintenance_work_mem'), current_setting('max_parallel_maintenance_workers')`, index).
		Scan(&b.Definition, &b.Incremental, &b.MaintenanceWorkMem, &b.ParallelWorkers)
	if err != nil {
		return b, fmt.Errorf("rebuild %s: read its definition: %w", index, err)
	}
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{table}.Sanitize()).Scan(&b.Rows); err != nil {
		return b, fmt.Errorf("rebuild %s: count rows: %w", index, err)
	}
	if _, err := conn.Exec(ctx, `DROP INDEX `+pgx.Identifier{index}.Sanitize()); err != nil {
		return b, fmt.Errorf("rebuild %s: drop: %w", index, err)
	}
	cpu := startCPU()
	start := time.Now()
	if _, err := conn.Exec(ctx, b.Definition); err != nil {
		return b, fmt.Errorf("rebuild %s: %w", index, err)
	}
	b.Took = time.Since(start)
	b.CPU = cpu.stop()
	err = conn.QueryRow(ctx, `SELECT pg_relation_size(to_regclass($1)), pg_table_size(to_regclass($2)), pg_total_relation_size(to_regclass($2))`,
		index, table).Scan(&b.Size, &b.TableHeap, &b.TableTotal)
	if err != nil {
		return b, fmt.Errorf("rebuild %s: sizes: %w", index, err)
	}
	return b, nil
}
