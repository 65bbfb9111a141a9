package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/timbre-ai/timbre/db/dbtest"
)

// TestIngestionSurvivesKill uploads a large document to the real binary,
// kills the process with SIGKILL while the document is being processed, and
// starts it again on the same database and data directory: the document is
// finished exactly once (no duplicated or orphaned passages) and search
// finds it.
func TestIngestionSurvivesKill(t *testing.T) {
	t.Parallel()
	pool, url := dbtest.NewWithURL(t)
	dataDir := t.TempDir()
	env := []string{"TIMBRE_INGEST_LEASE=2s"}
	p := serve(t, url, dataDir, env...)
	u := newUser(t, p.url)
	u.call("POST", "/api/auth/signup", `{"email":"keeper@example.com","password":"a long passphrase","display_name":"Keeper"}`, 201)
	u.csrf = u.call("GET", "/api/me", "", 200)["csrf_token"].(string)
	kb := u.call("POST", "/api/knowledge-bases", `{"name":"Logbook"}`, 201)["knowledge_base"].(map[string]any)["id"].(string)

	// About 4 MB of distinct paragraphs under headings: thousands of passages.
	var b strings.Builder
	for i := 0; b.Len() < 4<<20; i++ {
		if i%40 == 0 {
			fmt.Fprintf(&b, "# Logbook volume %d\n\n", i/40)
		}
		fmt.Fprintf(&b, "Entry %d. The keeper trimmed wick number %d at %02d:%02d and logged wind from bearing %d degrees; "+
			"the supply boat %d brought %d barrels of paraffin.\n\n", i, i*7%113, i%24, i*13%60, i*37%360, i%17, i%9+1)
	}
	b.WriteString("# Closing note\n\nThe final entry says the albatross returned to the northern rock at dawn.\n")
	doc := u.upload("/api/knowledge-bases/"+kb+"/documents", "logbook.md", []byte(b.String()), 202)["document"].(map[string]any)
	docPath := "/api/knowledge-bases/" + kb + "/documents/" + doc["id"].(string)

	// Kill the process while it works on the document.
	deadline := time.Now().Add(60 * time.Second)
	for {
		d := u.call("GET", docPath, "", 200)["document"].(map[string]any)
		if d["status"] == "processing" {
			break
		}
		if d["status"] != "queued" || time.Now().After(deadline) {
			t.Fatalf("document never seen processing: %v", d)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-p.done

	p = serve(t, url, dataDir, env...)
	u.base = p.url
	deadline = time.Now().Add(3 * time.Minute)
	var d map[string]any
	for {
		d = u.call("GET", docPath, "", 200)["document"].(map[string]any)
		if d["status"] == "ready" || d["status"] == "failed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("document not finished 3 min after the restart: %v\n%s", d, p.output())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if d["status"] != "ready" || d["attempts"].(float64) < 2 {
		t.Fatalf("after restart: %v, want ready after a second attempt", d)
	}
	var rows, distinct, vectors, orphans int
	err := pool.QueryRow(context.Background(), `SELECT count(*), count(DISTINCT ord),
			(SELECT count(*) FROM chunk_vectors),
			(SELECT count(*) FROM chunk_vectors v WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.id = v.chunk_id))
		FROM chunks WHERE document_id = $1`, doc["id"]).Scan(&rows, &distinct, &vectors, &orphans)
	if err != nil {
		t.Fatal(err)
	}
	if n := int(d["chunks"].(float64)); rows != n || distinct != n || vectors != n || orphans != 0 || n < 1000 {
		t.Errorf("document says %d chunks; rows %d, distinct %d, vectors %d, orphans %d", n, rows, distinct, vectors, orphans)
	}
	res := u.call("GET", "/api/knowledge-bases/"+kb+"/search?q=when+did+the+albatross+return&k=3", "", 200)["results"].([]any)
	if len(res) == 0 || !strings.Contains(res[0].(map[string]any)["text"].(string), "albatross") {
		t.Errorf("search after restart = %v", res)
	}
	get(t, http.DefaultClient, p.url+"/readyz", 200)
	p.stop(t)
}
