// Package migrations holds Timbre's numbered SQL migrations, embedded in the
// binary. Files are named NNNN_description.sql and applied in order by
// db.Migrate, each in its own transaction. Never edit a file once it has been
// applied anywhere: add a new one.
package migrations

import "embed"

// FS holds every migration file.
//
//go:embed *.sql
var FS embed.FS
