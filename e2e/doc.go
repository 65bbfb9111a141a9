// Package e2e holds whole-system tests: they build the real timbre binary,
// run it against a fresh PostgreSQL database and drive it over HTTP as a
// user and a developer would.
package e2e
