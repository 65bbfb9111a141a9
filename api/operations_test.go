package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/timbre-ai/timbre/db/dbtest"
)

// TestOpenAPICoversEveryRoute compares the routes Echo serves with the paths
// and methods of the served OpenAPI document, both ways.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.client().json("GET", "/api/openapi.json", nil).must(t, 200)
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi = %q", doc.OpenAPI)
	}
	var documented []string
	for p, ops := range doc.Paths {
		for m := range ops {
			documented = append(documented, strings.ToUpper(m)+" "+p)
		}
	}
	var served []string
	for _, rt := range e.server.Routes() {
		if rt.Path == "/*" { // the web app's catch-all
			continue
		}
		p := rt.Path
		for _, seg := range strings.Split(p, "/") {
			if strings.HasPrefix(seg, ":") {
				p = strings.Replace(p, seg, "{"+seg[1:]+"}", 1)
			}
		}
		served = append(served, rt.Method+" "+p)
	}
	sort.Strings(documented)
	sort.Strings(served)
	if diff := cmp.Diff(served, documented); diff != "" {
		t.Fatalf("served routes (-) and documented routes (+) differ:\n%s", diff)
	}
	if len(served) < 20 {
		t.Fatalf("only %d routes served", len(served))
	}
}

func TestHealthReadinessAndMetrics(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client()
	if h := c.json("GET", "/healthz", nil).must(t, 200).json(t); h["status"] != "ok" {
		t.Fatalf("healthz = %v", h)
	}
	ready := c.json("GET", "/readyz", nil).must(t, 200).json(t)
	if ready["checks"].(map[string]any)["bus"] != "ok" {
		t.Fatalf("readyz = %v", ready)
	}
	c.json("GET", "/api/agents/agt_aaaaaaaaaaaaaaaa", nil).must(t, 404)
	c.json("GET", "/api/agents/agt_aaaaaaaaaaaaaaaa", nil).must(t, 404)
	m := string(c.json("GET", "/metrics", nil).must(t, 200).body)
	for _, want := range []string{
		`timbre_http_requests_total{method="GET",route="/api/agents/:id",status="404"} 2`,
		`timbre_http_request_duration_seconds_bucket{method="GET",route="/healthz"`,
		`timbre_http_requests_total{method="GET",route="/readyz",status="200"} 1`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

type poolPinger struct{ pool *pgxpool.Pool }

func (p poolPinger) Ping(ctx context.Context) error { return p.pool.Ping(ctx) }

func TestDatabaseDownGivesNotReadyAndOpaque500(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	closing := newEnv(t, func(p *envParams) { p.Ready["database"] = poolPinger{e.pool} })
	closing.client().json("GET", "/readyz", nil).must(t, 200)
	e.pool.Close()
	ready := closing.client().json("GET", "/readyz", nil).must(t, 503).json(t)
	if ready["status"] != "not_ready" || ready["checks"].(map[string]any)["database"] != "unavailable" || ready["checks"].(map[string]any)["bus"] != "ok" {
		t.Fatalf("readyz = %v", ready)
	}
	r := e.client().json("GET", "/api/agents?scope=public", nil).must(t, 500)
	code, _ := r.errorCode(t)
	if code != "internal_error" || strings.Contains(string(r.body), "closed") {
		t.Fatalf("500 body leaks details or has the wrong code: %s", r.body)
	}
}

func TestDatabaseGoneGives503WithRetryAfter(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client()
	c.json("GET", "/api/agents?scope=public&limit=7", nil).must(t, 200)
	var name string
	if err := e.pool.QueryRow(context.Background(), `SELECT current_database()`).Scan(&name); err != nil {
		t.Fatal(err)
	}
	admin, err := pgx.Connect(context.Background(), dbtest.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	if _, err := admin.Exec(context.Background(), `DROP DATABASE `+name+` WITH (FORCE)`); err != nil {
		t.Fatal(err)
	}
	r := c.json("GET", "/api/agents?scope=public&limit=8", nil)
	for range 3 { // the first query may land on a connection that was just killed
		if r.status == 503 {
			break
		}
		r = c.json("GET", "/api/agents?scope=public&limit=8", nil)
	}
	r.must(t, 503)
	if code, _ := r.errorCode(t); code != "unavailable" || r.header.Get("Retry-After") == "" {
		t.Fatalf("code %q, Retry-After %q", code, r.header.Get("Retry-After"))
	}
}

func TestWebAppDoesNotAnswerAPIPaths(t *testing.T) {
	t.Parallel()
	ui := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>app</html>")) })
	e := newEnv(t, func(p *envParams) { p.UI = ui })
	c := e.client()
	if r := c.do("GET", "/agents/some-page", "", nil).must(t, 200); !strings.Contains(string(r.body), "app") {
		t.Fatalf("web app route: %s", r.body)
	}
	for _, path := range []string{"/api/agent", "/api/agents/x/nope", "/v1/models-typo"} {
		r := c.do("GET", path, "", nil).must(t, 404)
		if code, _ := r.errorCode(t); code != "not_found" {
			t.Fatalf("%s: code %q", path, code)
		}
	}
}
