// Package benchdb gives benchmark programs a scratch database on the
// PostgreSQL that `make setup` starts: created, migrated, and dropped at the
// end.
package benchdb

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/timbre-ai/timbre/db"
	"github.com/timbre-ai/timbre/migrations"
)

// Migrate applies the embedded migrations on a pool of its own.
func Migrate(ctx context.Context, dbURL string) error {
	pool, err := db.Open(ctx, dbURL, 2)
	if err != nil {
		return err
	}
	defer pool.Close()
	if _, err := db.Migrate(ctx, pool, migrations.FS); err != nil {
		return fmt.Errorf("bench: migrate: %w", err)
	}
	return nil
}

// Create creates database name as the admin role and returns its URL.
func Create(ctx context.Context, adminURL, name string) (string, error) {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return "", fmt.Errorf("bench: connect to the admin URL (is PostgreSQL running? `make setup` starts it): %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+name); err != nil {
		return "", fmt.Errorf("bench: create database (does the role have CREATEDB?): %w", err)
	}
	return WithDatabase(adminURL, name)
}

// Drop drops name; it runs at the end, after an interrupt too, so it
// does not use the run's context.
func Drop(adminURL, name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("bench: drop database %s: %w", name, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
		return fmt.Errorf("bench: drop database %s: %w", name, err)
	}
	return nil
}

// WithDatabase returns adminURL pointing at database name instead; adminURL
// is a postgres:// URL or a keyword=value connection string.
func WithDatabase(adminURL, name string) (string, error) {
	if strings.HasPrefix(adminURL, "postgres://") || strings.HasPrefix(adminURL, "postgresql://") {
		u, err := url.Parse(adminURL)
		if err != nil {
			return "", errors.New("bench: the admin URL is not a valid URL")
		}
		u.Path, u.RawPath = "/"+name, ""
		return u.String(), nil
	}
	// In a keyword=value string a later keyword wins.
	return adminURL + " dbname=" + name, nil
}

// WithParam adds a run-time parameter (a PostgreSQL setting) to a
// connection URL or keyword=value string.
func WithParam(connString, key, value string) (string, error) {
	if strings.HasPrefix(connString, "postgres://") || strings.HasPrefix(connString, "postgresql://") {
		u, err := url.Parse(connString)
		if err != nil {
			return "", errors.New("bench: database URL is not a valid URL")
		}
		q := u.Query()
		q.Set(key, value)
		u.RawQuery = q.Encode()
		return u.String(), nil
	}
	return connString + " " + key + "=" + value, nil
}
