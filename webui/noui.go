//go:build noui

// Package webui is left out of this build (-tags noui): the server is API-only.
package webui

import "net/http"

// Handler returns nil: there is no web app in a noui build.
func Handler() http.Handler { return nil }
