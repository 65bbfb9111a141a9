package db

import "errors"

// ErrSchemaOutdated means migrations exist that the database has not applied.
var ErrSchemaOutdated = errors.New("database schema is outdated")

// ErrMigrationChanged means a migration file differs from the one that was
// applied under the same number. Applied migrations must never be edited.
var ErrMigrationChanged = errors.New("an applied migration was changed")

// ErrUnreachable means the database could not be reached.
var ErrUnreachable = errors.New("database unreachable")

// ErrSchemaNewer means the database has migrations this binary does not know:
// the binary is older than the database.
var ErrSchemaNewer = errors.New("database schema is newer than this binary")
