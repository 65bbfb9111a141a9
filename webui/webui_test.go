//go:build !noui

package webui

import (
	"io"
	"io/fs"
	"mime"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// distFS is the embedded app, rooted like the handler serves it.
func distFS(t *testing.T) fs.FS {
	t.Helper()
	root, err := fs.Sub(dist, "dist")
	if err != nil {
		t.Fatalf("fs.Sub(dist): %v", err)
	}
	return root
}

func readDist(t *testing.T, name string) []byte {
	t.Helper()
	b, err := fs.ReadFile(distFS(t), name)
	if err != nil {
		t.Fatalf("read dist/%s: %v", name, err)
	}
	return b
}

type served struct {
	status      int
	contentType string // media type without parameters
	body        string
}

func get(t *testing.T, h http.Handler, target string) (served, http.Header) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	res := rec.Result()
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read body of %s: %v", target, err)
	}
	mt := ""
	if ct := res.Header.Get("Content-Type"); ct != "" {
		if mt, _, err = mime.ParseMediaType(ct); err != nil {
			t.Fatalf("%s: bad Content-Type %q: %v", target, ct, err)
		}
	}
	return served{status: res.StatusCode, contentType: mt, body: string(body)}, res.Header
}

func TestHandlerServesIndexForAppRoutes(t *testing.T) {
	index := string(readDist(t, "index.html"))
	h := Handler()
	for _, target := range []string{"/", "/agents", "/agents/x", "/agents/agt_abcdefghijklmnop", "/keys?tab=1", "/knowledge", "/knowledge/kb_abcdefghijklmnop", "/chat", "/chat/cnv_abcdefghijklmnop", "/voices", "/talk/agt_abcdefghijklmnop", "/talk/agt_abcdefghijklmnop?token=emb_x&conversation=cnv_y", "/deep/client/route"} {
		t.Run(target, func(t *testing.T) {
			got, hdr := get(t, h, target)
			want := served{status: http.StatusOK, contentType: "text/html", body: index}
			if diff := cmp.Diff(want, got, cmp.AllowUnexported(served{})); diff != "" {
				t.Errorf("GET %s (-want +got):\n%s", target, diff)
			}
			if cc := hdr.Get("Cache-Control"); cc != "no-cache" {
				t.Errorf("GET %s: Cache-Control = %q, want no-cache (so a new release is picked up)", target, cc)
			}
		})
	}
}

func TestHandlerServesAssets(t *testing.T) {
	h := Handler()
	tests := []struct {
		target string
		file   string
		types  []string // acceptable media types
	}{
		{"/app.js", "app.js", []string{"text/javascript", "application/javascript"}},
		{"/views/editor.js", "views/editor.js", []string{"text/javascript", "application/javascript"}},
		{"/views/knowledge.js", "views/knowledge.js", []string{"text/javascript", "application/javascript"}},
		{"/views/chat.js", "views/chat.js", []string{"text/javascript", "application/javascript"}},
		{"/views/voice.js", "views/voice.js", []string{"text/javascript", "application/javascript"}},
		{"/views/voices.js", "views/voices.js", []string{"text/javascript", "application/javascript"}},
		{"/views/talk.js", "views/talk.js", []string{"text/javascript", "application/javascript"}},
		{"/richtext.js", "richtext.js", []string{"text/javascript", "application/javascript"}},
		{"/app.css", "app.css", []string{"text/css"}},
		{"/favicon.svg", "favicon.svg", []string{"image/svg+xml"}},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			got, _ := get(t, h, tt.target)
			if got.status != http.StatusOK {
				t.Fatalf("GET %s: status %d, want 200", tt.target, got.status)
			}
			ok := false
			for _, typ := range tt.types {
				ok = ok || got.contentType == typ
			}
			if !ok {
				t.Errorf("GET %s: Content-Type %q, want one of %v", tt.target, got.contentType, tt.types)
			}
			if want := string(readDist(t, tt.file)); got.body != want {
				t.Errorf("GET %s: body (%d bytes) differs from dist/%s (%d bytes)", tt.target, len(got.body), tt.file, len(want))
			}
		})
	}
}

func TestHandlerMissingAssetIs404(t *testing.T) {
	h := Handler()
	for _, target := range []string{"/nope.js", "/views/nope.js", "/agents/app.js", "/img/logo.png"} {
		t.Run(target, func(t *testing.T) {
			got, _ := get(t, h, target)
			if got.status != http.StatusNotFound {
				t.Errorf("GET %s: status %d, want 404", target, got.status)
			}
			if strings.Contains(got.body, "<!doctype html>") {
				t.Errorf("GET %s: served index.html for a missing asset", target)
			}
		})
	}
}

var attrRef = regexp.MustCompile(`(?i)\s(?:src|href)\s*=\s*"([^"]*)"`)

// TestIndexReferencesExistingFiles guards against a broken page: every src
// and href in index.html must name a file in dist.
func TestIndexReferencesExistingFiles(t *testing.T) {
	index := string(readDist(t, "index.html"))
	matches := attrRef.FindAllStringSubmatch(index, -1)
	if len(matches) < 2 {
		t.Fatalf("index.html references %d files; want at least the script and the stylesheet", len(matches))
	}
	root := distFS(t)
	var refs []string
	for _, m := range matches {
		ref := m[1]
		if strings.HasPrefix(ref, "#") {
			continue // an anchor in the page
		}
		refs = append(refs, ref)
		if strings.Contains(ref, "://") || strings.HasPrefix(ref, "//") {
			t.Errorf("index.html references %q on another origin; the app must work offline", ref)
			continue
		}
		if !strings.HasPrefix(ref, "/") {
			t.Errorf("index.html references %q by a relative path; it breaks on client routes such as /agents/x", ref)
			continue
		}
		if _, err := fs.Stat(root, strings.TrimPrefix(ref, "/")); err != nil {
			t.Errorf("index.html references %q, which is not in dist: %v", ref, err)
		}
	}
	for _, want := range []string{"/app.js", "/app.css"} {
		found := false
		for _, r := range refs {
			found = found || r == want
		}
		if !found {
			t.Errorf("index.html does not reference %s; refs = %v", want, refs)
		}
	}
}

// importFrom matches static import and re-export statements at the start of
// a line: `import {a} from './a.js'`, `export * from './b.js'`, `import './c.js'`.
var importFrom = regexp.MustCompile(`(?m)^\s*(?:import|export)\b[^;'"]*?\bfrom\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]`)

// TestModuleImportsResolve checks that every ES module import in dist names
// a module that exists there, so no screen fails to load.
func TestModuleImportsResolve(t *testing.T) {
	root := distFS(t)
	var modules []string
	err := fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && path.Ext(p) == ".js" {
			modules = append(modules, p)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk dist: %v", err)
	}
	if len(modules) == 0 {
		t.Fatal("dist holds no JavaScript modules")
	}
	imports := 0
	for _, m := range modules {
		src := string(readDist(t, m))
		for _, match := range importFrom.FindAllStringSubmatch(src, -1) {
			spec := match[1] + match[2]
			imports++
			if !strings.HasPrefix(spec, "./") && !strings.HasPrefix(spec, "../") && !strings.HasPrefix(spec, "/") {
				t.Errorf("%s imports %q: only relative or absolute paths work without a bundler", m, spec)
				continue
			}
			target := path.Clean(path.Join(path.Dir(m), spec))
			if strings.HasPrefix(spec, "/") {
				target = strings.TrimPrefix(spec, "/")
			}
			if _, err := fs.Stat(root, target); err != nil {
				t.Errorf("%s imports %q, which is not in dist (%s): %v", m, spec, target, err)
			}
		}
	}
	if imports == 0 {
		t.Error("found no imports at all; the pattern is broken or app.js imports nothing")
	}
}

// routeLine matches one entry of app.js's route table: its pattern and the rest of the line.
var routeLine = regexp.MustCompile(`(?m)^\s*\{\s*pattern:\s*/(.+?)/,\s*(view:.*)$`)

// TestTalkRouteNeedsNoSignIn checks that app.js routes /talk/{id} to the
// voice page without asking for a sign-in: an embed token lets an anonymous
// visitor talk, so a login redirect would lock them out.
func TestTalkRouteNeedsNoSignIn(t *testing.T) {
	app := string(readDist(t, "app.js"))
	var found []string
	for _, m := range routeLine.FindAllStringSubmatch(app, -1) {
		pattern, err := regexp.Compile(strings.ReplaceAll(m[1], `\/`, "/"))
		if err != nil {
			t.Fatalf("app.js route /%s/: %v", m[1], err)
		}
		if !pattern.MatchString("/talk/agt_abcdefghijklmnop") {
			continue
		}
		found = append(found, m[2])
		if !strings.Contains(m[2], "talkView") {
			t.Errorf("/talk/{id} is routed to %q, want talkView", m[2])
		}
		if strings.Contains(m[2], "auth: true") {
			t.Errorf("/talk/{id} requires a sign-in (%q); embed visitors have none", m[2])
		}
	}
	if len(found) != 1 {
		t.Fatalf("app.js has %d routes matching /talk/{id}, want 1 (%q)", len(found), found)
	}
}
