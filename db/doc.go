// Package db opens Timbre's PostgreSQL pool and applies the numbered SQL
// migrations embedded from the migrations package. It owns the
// schema_migrations table and nothing else; each domain owns its own tables
// and SQL. It may import only the migrations package.
package db
