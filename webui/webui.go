//go:build !noui

// Package webui serves Timbre's web app, embedded in the binary. Build with
// `-tags noui` to leave it out (an API-only server). It imports nothing from
// the project.
package webui

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed dist
var dist embed.FS

// Handler serves the web app. Paths without a file extension get index.html,
// so client-side routes survive a reload.
func Handler() http.Handler {
	root, err := fs.Sub(dist, "dist")
	if err != nil {
		panic("webui: embedded dist is missing: " + err.Error()) // a build defect, not a runtime condition
	}
	files := http.FileServerFS(root)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
		if p == "" || path.Ext(p) == "" {
			w.Header().Set("Cache-Control", "no-cache")
			http.ServeFileFS(w, r, root, "index.html")
			return
		}
		if _, err := fs.Stat(root, p); err != nil {
			http.NotFound(w, r)
			return
		}
		files.ServeHTTP(w, r)
	})
}
