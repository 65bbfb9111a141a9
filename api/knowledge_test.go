package api_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

const tideNotes = `# Harbour notes

## Tides

High water at the harbour mouth comes forty minutes after high water at the pier.

## Moorings

Visiting boats use the three yellow buoys off the north wall; the fee is paid at the chandlery.
`

// waitDocument polls a document until it is ready or failed.
func waitDocument(t *testing.T, c *client, kbID, docID string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		d := c.json("GET", "/api/knowledge-bases/"+kbID+"/documents/"+docID, nil).must(t, 200).json(t)["document"].(map[string]any)
		if s := d["status"]; s == "ready" || s == "failed" {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("document %s still %v", docID, d["status"])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func createBase(t *testing.T, c *client, name string) string {
	t.Helper()
	r := c.json("POST", "/api/knowledge-bases", map[string]any{"name": name, "description": "notes"}).must(t, 201).json(t)
	return r["knowledge_base"].(map[string]any)["id"].(string)
}

func TestKnowledgeFlow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.signup("alice")
	kb := createBase(t, alice, "Harbour")

	// Progress events: subscribe before uploading.
	req, _ := http.NewRequest("GET", e.srv.URL+"/api/knowledge-bases/"+kb+"/events", nil)
	dev := alice.withKey()
	req.Header.Set("Authorization", "Bearer "+dev.key)
	stream, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	if stream.StatusCode != 200 || !strings.HasPrefix(stream.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("events: %d %s", stream.StatusCode, stream.Header.Get("Content-Type"))
	}

	up := alice.upload("POST", "/api/knowledge-bases/"+kb+"/documents", "file", "harbour.md", []byte(tideNotes)).must(t, 202).json(t)
	doc := up["document"].(map[string]any)
	docID := doc["id"].(string)
	if doc["status"] != "queued" {
		t.Errorf("new document status %v", doc["status"])
	}

	// The stream reports progress up to ready.
	sc := bufio.NewScanner(stream.Body)
	var event string
	readyEvent := false
	progressEvents := 0
	for !readyEvent && sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: ") && event == "progress":
			var ev map[string]any
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &ev); err != nil {
				t.Fatalf("event data: %v", err)
			}
			if ev["document_id"] != docID {
				t.Fatalf("event for another document: %s", line)
			}
			progressEvents++
			readyEvent = ev["status"] == "ready" && ev["chunks_done"] == ev["chunks_total"]
		}
	}
	if !readyEvent || progressEvents < 3 {
		t.Fatalf("stream ended after %d progress events without ready (%v)", progressEvents, sc.Err())
	}

	d := waitDocument(t, alice, kb, docID)
	if d["status"] != "ready" || d["chunks"].(float64) < 2 {
		t.Fatalf("document = %v", d)
	}

	// Search with citations, through an API key.
	res := dev.json("GET", "/api/knowledge-bases/"+kb+"/search?q=where+do+visiting+boats+moor&k=2", nil).must(t, 200).json(t)
	results := res["results"].([]any)
	if len(results) == 0 || len(results) > 2 {
		t.Fatalf("results = %v", results)
	}
	top := results[0].(map[string]any)
	cit := top["citation"].(map[string]any)
	if !strings.Contains(top["text"].(string), "yellow buoys") || cit["document_id"] != docID ||
		cit["title"] == "" || cit["heading_path"].([]any)[1] != "Moorings" {
		t.Errorf("top result = %v", top)
	}

	// Same content again: 200 with the existing document.
	again := alice.upload("POST", "/api/knowledge-bases/"+kb+"/documents", "file", "copy.md", []byte(tideNotes)).must(t, 200).json(t)
	if again["duplicate"] != true || again["document"].(map[string]any)["id"] != docID {
		t.Errorf("re-upload = %v", again)
	}

	list := alice.json("GET", "/api/knowledge-bases/"+kb+"/documents", nil).must(t, 200).json(t)["items"].([]any)
	if len(list) != 1 {
		t.Errorf("%d documents listed", len(list))
	}
	bases := alice.json("GET", "/api/knowledge-bases", nil).must(t, 200).json(t)["items"].([]any)
	if len(bases) != 1 || bases[0].(map[string]any)["documents"].(float64) != 1 {
		t.Errorf("bases = %v", bases)
	}

	// Attach to an agent; nobody else can see or attach it.
	agent := agentOf(t, alice.json("POST", "/api/agents", map[string]any{"name": "Harbourmaster"}).must(t, 201))["id"].(string)
	attached := alice.json("PUT", "/api/agents/"+agent+"/knowledge-bases/"+kb, nil).must(t, 200).json(t)["items"].([]any)
	if len(attached) != 1 || attached[0].(map[string]any)["id"] != kb {
		t.Errorf("attached = %v", attached)
	}
	alice.json("PUT", "/api/agents/"+agent+"/knowledge-bases/"+kb, nil).must(t, 200)
	bob := e.signup("bob")
	bobKB := createBase(t, bob, "Bob's")
	bob.json("GET", "/api/knowledge-bases/"+kb, nil).must(t, 404)
	bob.json("GET", "/api/knowledge-bases/"+kb+"/search?q=tide", nil).must(t, 404)
	bob.json("GET", "/api/knowledge-bases/"+kb+"/events", nil).must(t, 404)
	bob.json("PUT", "/api/agents/"+agent+"/knowledge-bases/"+bobKB, nil).must(t, 404)
	alice.json("PUT", "/api/agents/"+agent+"/knowledge-bases/"+bobKB, nil).must(t, 404)
	alice.json("DELETE", "/api/agents/"+agent+"/knowledge-bases/"+kb, nil).must(t, 204)
	alice.json("DELETE", "/api/agents/"+agent+"/knowledge-bases/"+kb, nil).must(t, 404)

	// Deleting the document removes its passages.
	alice.json("DELETE", "/api/knowledge-bases/"+kb+"/documents/"+docID, nil).must(t, 204)
	if n := e.count("chunks"); n != 0 {
		t.Errorf("%d chunks left after delete", n)
	}
	alice.json("DELETE", "/api/knowledge-bases/"+kb, nil).must(t, 204)
	alice.json("GET", "/api/knowledge-bases/"+kb, nil).must(t, 404)
}

func TestKnowledgeBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.signup("alice")
	kb := createBase(t, alice, "Inputs")
	docs := "/api/knowledge-bases/" + kb + "/documents"
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00")

	cases := []struct {
		name   string
		do     func() response
		status int
		code   string
		field  string
	}{
		{"kb without name", func() response { return alice.json("POST", "/api/knowledge-bases", map[string]any{}) }, 400, "invalid_request", "name"},
		{"kb name wrong type", func() response { return alice.json("POST", "/api/knowledge-bases", `{"name": 5}`) }, 400, "invalid_request", "name"},
		{"kb unknown field", func() response { return alice.json("POST", "/api/knowledge-bases", `{"name":"x","colour":"red"}`) }, 400, "invalid_request", "colour"},
		{"kb long name", func() response {
			return alice.json("POST", "/api/knowledge-bases", map[string]any{"name": strings.Repeat("n", 201)})
		}, 400, "invalid_request", "name"},
		{"kb unknown embedder", func() response {
			return alice.json("PATCH", "/api/knowledge-bases/"+kb, map[string]any{"embedder": "magic"})
		}, 400, "invalid_request", "embedder"},
		{"png", func() response { return alice.upload("POST", docs, "file", "photo.txt", png) }, 415, "unsupported_document", ""},
		{"empty file", func() response { return alice.upload("POST", docs, "file", "empty.txt", nil) }, 422, "empty_document", ""},
		{"too large", func() response {
			return alice.upload("POST", docs, "file", "big.txt", bytes.Repeat([]byte("a "), 3<<20))
		}, 413, "body_too_large", ""},
		{"no file field", func() response { return alice.upload("POST", docs, "attachment", "a.txt", []byte("hi")) }, 400, "invalid_request", "file"},
		{"plain text body", func() response { return alice.do("POST", docs, "text/plain", strings.NewReader("hi")) }, 415, "unsupported_media_type", ""},
		{"url wrong type", func() response { return alice.json("POST", docs, `{"url": 5}`) }, 400, "invalid_request", "url"},
		{"url missing", func() response { return alice.json("POST", docs, `{}`) }, 400, "invalid_request", "url"},
		{"url metadata", func() response {
			return alice.json("POST", docs, map[string]any{"url": "http://169.254.169.254/latest/meta-data/"})
		}, 422, "url_refused", "url"},
		{"url private", func() response { return alice.json("POST", docs, map[string]any{"url": "http://10.1.2.3/"}) }, 422, "url_refused", "url"},
		{"url scheme", func() response { return alice.json("POST", docs, map[string]any{"url": "gopher://example.com/"}) }, 422, "url_refused", "url"},
		{"url too long", func() response {
			return alice.json("POST", docs, map[string]any{"url": "http://example.com/" + strings.Repeat("a", 3000)})
		}, 400, "invalid_request", "url"},
		{"search without q", func() response { return alice.json("GET", "/api/knowledge-bases/"+kb+"/search", nil) }, 400, "invalid_request", "q"},
		{"search bad k", func() response { return alice.json("GET", "/api/knowledge-bases/"+kb+"/search?q=x&k=abc", nil) }, 400, "invalid_request", "k"},
		{"search k too big", func() response { return alice.json("GET", "/api/knowledge-bases/"+kb+"/search?q=x&k=51", nil) }, 400, "invalid_request", "k"},
		{"search bad mode", func() response { return alice.json("GET", "/api/knowledge-bases/"+kb+"/search?q=x&mode=psychic", nil) }, 400, "invalid_request", "mode"},
		{"unknown kb", func() response { return alice.json("GET", "/api/knowledge-bases/kb_0000000000000000", nil) }, 404, "not_found", ""},
		{"garbage kb id", func() response { return alice.json("GET", "/api/knowledge-bases/'%20OR%201=1", nil) }, 404, "not_found", ""},
		{"unknown document", func() response { return alice.json("GET", docs+"/doc_0000000000000000", nil) }, 404, "not_found", ""},
		{"anonymous", func() response { return e.client().json("GET", "/api/knowledge-bases", nil) }, 401, "unauthenticated", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.do()
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			code, field := r.errorCode(t)
			if code != tc.code || field != tc.field {
				t.Errorf("error %s (field %q), want %s (field %q): %s", code, field, tc.code, tc.field, r.body)
			}
		})
	}
	if n := e.count("documents"); n != 0 {
		t.Errorf("%d documents stored by refused requests", n)
	}
}
