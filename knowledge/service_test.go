package knowledge_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/timbre-ai/timbre/bus"
	"github.com/timbre-ai/timbre/bus/bustest"
	"github.com/timbre-ai/timbre/db"
	"github.com/timbre-ai/timbre/db/dbtest"
	"github.com/timbre-ai/timbre/knowledge"
	"github.com/timbre-ai/timbre/knowledge/embed"
	"github.com/timbre-ai/timbre/knowledge/fetch"
)

// harness is a knowledge service on a fresh database and bus, with its
// workers running.
type harness struct {
	t    *testing.T
	pool *pgxpool.Pool
	bus  *bus.Bus
	svc  *knowledge.Service
	user string
}

type option func(*knowledge.Params)

func newHarness(t *testing.T, opts ...option) *harness {
	t.Helper()
	pool := dbtest.New(t)
	b := bustest.New(t)
	h := &harness{t: t, pool: pool, bus: b, user: newUser(t, pool)}
	h.svc = h.start(opts...)
	return h
}

// start builds a service on the harness's database and bus and runs its
// workers until the test ends.
func (h *harness) start(opts ...option) *knowledge.Service {
	h.t.Helper()
	p := knowledge.Params{
		Pool:      h.pool,
		Bus:       h.bus,
		Embedders: []knowledge.Embedder{embed.NewNgram()},
		Fetcher:   fetch.New(fetch.Config{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, Timeout: 5 * time.Second}),
		Config:    knowledge.Config{Backoff: []time.Duration{50 * time.Millisecond}, MaxAttempts: 4},
		Logger:    slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		o(&p)
	}
	svc, err := knowledge.New(context.Background(), p)
	if err != nil {
		h.t.Fatalf("knowledge.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = svc.Start(ctx)
	}()
	h.t.Cleanup(func() {
		cancel()
		<-done
	})
	return svc
}

func newUser(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	id := db.NewID("usr")
	_, err := pool.Exec(context.Background(), `INSERT INTO users (id, email, password_hash, display_name) VALUES ($1, $2, 'x', 'Test')`,
		id, id+"@example.com")
	if err != nil {
		t.Fatalf("insert user: %v", err)
	}
	return id
}

func (h *harness) base(name string) knowledge.Base {
	h.t.Helper()
	b, err := h.svc.Create(context.Background(), h.user, knowledge.BaseInput{Name: &name})
	if err != nil {
		h.t.Fatalf("create knowledge base: %v", err)
	}
	return b
}

func (h *harness) add(kbID, filename, content string) knowledge.Document {
	h.t.Helper()
	d, created, err := h.svc.AddFile(context.Background(), h.user, kbID, knowledge.Upload{Filename: filename, Data: []byte(content)})
	if err != nil {
		h.t.Fatalf("add %s: %v", filename, err)
	}
	if !created {
		h.t.Fatalf("add %s: reported as a duplicate", filename)
	}
	return d
}

// wait polls a document until it is ready or failed.
func (h *harness) wait(kbID, docID string) knowledge.Document {
	h.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		d, err := h.svc.Document(context.Background(), h.user, kbID, docID)
		if err != nil {
			h.t.Fatalf("document %s: %v", docID, err)
		}
		if d.Status == knowledge.StatusReady || d.Status == knowledge.StatusFailed {
			return d
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("document %s still %s after 60s (error %q)", docID, d.Status, d.Error)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (h *harness) count(sql string, args ...any) int {
	h.t.Helper()
	var n int
	if err := h.pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		h.t.Fatalf("%s: %v", sql, err)
	}
	return n
}

const handbook = `# Lighthouse Keeper's Handbook

## Lamps

The lamp must be lit at sunset. Trim the wick every four hours, and keep a spare mantle in the brass cabinet.

## Fog signals

When visibility drops below two nautical miles, sound the diaphone horn twice every sixty seconds.
The horn's compressor is started with the red lever in the engine room.

## Provisions

The supply boat arrives on the first Tuesday of each month with flour, paraffin and letters.
`

func TestIngestSearchCite(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	kb := h.base("Lighthouse")
	doc := h.add(kb.ID, "handbook.md", handbook)
	if doc.Status != knowledge.StatusQueued || doc.MediaType != "text/markdown" {
		t.Fatalf("new document = %+v, want queued text/markdown", doc)
	}
	doc = h.wait(kb.ID, doc.ID)
	if doc.Status != knowledge.StatusReady || doc.Chunks < 3 || doc.Error != "" {
		t.Fatalf("document = %+v, want ready with at least 3 chunks", doc)
	}
	if doc.Title != "Lighthouse Keeper's Handbook" {
		t.Errorf("title = %q, want the document's own heading", doc.Title)
	}

	for _, mode := range []string{knowledge.ModeHybrid, knowledge.ModeVector, knowledge.ModeText} {
		res, err := h.svc.Search(context.Background(), h.user, kb.ID, knowledge.Query{Text: "how often should the fog horn sound", K: 3, Mode: mode})
		if err != nil {
			t.Fatalf("%s search: %v", mode, err)
		}
		if len(res.Results) == 0 {
			t.Fatalf("%s search found nothing", mode)
		}
		top := res.Results[0]
		if !strings.Contains(top.Text, "diaphone horn twice") {
			t.Errorf("%s: top result %q does not hold the fog signal passage", mode, top.Text)
		}
		c := top.Citation
		if c.DocumentID != doc.ID || len(c.Headings) == 0 || c.Headings[len(c.Headings)-1] != "Fog signals" {
			t.Errorf("%s: citation = %+v, want document %s under 'Fog signals'", mode, c, doc.ID)
		}
		// The offsets point at the passage in the extracted text.
		var body string
		if err := h.pool.QueryRow(context.Background(), `SELECT body FROM documents WHERE id = $1`, doc.ID).Scan(&body); err != nil {
			t.Fatal(err)
		}
		if got := string([]rune(body)[c.Start:c.End]); got != top.Text {
			t.Errorf("%s: body[%d:%d] = %q, want the result text %q", mode, c.Start, c.End, got, top.Text)
		}
	}

	// The same bytes again are stored once.
	again, created, err := h.svc.AddFile(context.Background(), h.user, kb.ID, knowledge.Upload{Filename: "copy.md", Data: []byte(handbook)})
	if err != nil || created || again.ID != doc.ID {
		t.Errorf("re-upload = %s, created %v, %v; want the existing %s", again.ID, created, err, doc.ID)
	}
	if n := h.count(`SELECT count(*) FROM documents WHERE kb_id = $1`, kb.ID); n != 1 {
		t.Errorf("%d documents stored, want 1", n)
	}

	// Another user sees none of it.
	other := newUser(t, h.pool)
	if _, err := h.svc.Search(context.Background(), other, kb.ID, knowledge.Query{Text: "lamp"}); !errors.Is(err, knowledge.ErrNotFound) {
		t.Errorf("search by another user: %v, want ErrNotFound", err)
	}
	if _, err := h.svc.Document(context.Background(), other, kb.ID, doc.ID); !errors.Is(err, knowledge.ErrNotFound) {
		t.Errorf("document by another user: %v, want ErrNotFound", err)
	}
}

func TestBadDocuments(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	kb := h.base("Bad input")
	ctx := context.Background()

	png := "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
	for _, tc := range []struct {
		name, filename, content string
		want                    error
	}{
		{"png named txt", "notes.txt", png, knowledge.ErrUnsupported},
		{"zero bytes", "empty.txt", "", knowledge.ErrEmpty},
		{"zip archive", "a.zip", "PK\x03\x04\x14\x00\x00\x00\x08\x00", knowledge.ErrUnsupported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := h.svc.AddFile(ctx, h.user, kb.ID, knowledge.Upload{Filename: tc.filename, Data: []byte(tc.content)})
			if !errors.Is(err, tc.want) {
				t.Errorf("AddFile = %v, want %v", err, tc.want)
			}
		})
	}
	if n := h.count(`SELECT count(*) FROM documents`); n != 0 {
		t.Fatalf("%d documents stored after refused uploads, want 0", n)
	}

	// A corrupt PDF fails with a message while a good document beside it proceeds.
	corrupt := h.add(kb.ID, "broken.pdf", "%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EO")
	good := h.add(kb.ID, "good.txt", "Paraffin is stored in the north shed, away from the lamp room.")
	// Whitespace only: accepted as text, then fails as empty.
	blank := h.add(kb.ID, "blank.txt", " \n\n\t  \n")
	if d := h.wait(kb.ID, corrupt.ID); d.Status != knowledge.StatusFailed || d.Error == "" || d.Chunks != 0 {
		t.Errorf("corrupt pdf = %+v, want failed with a message", d)
	}
	if d := h.wait(kb.ID, good.ID); d.Status != knowledge.StatusReady || d.Chunks != 1 {
		t.Errorf("good document = %+v, want ready with 1 chunk", d)
	}
	if d := h.wait(kb.ID, blank.ID); d.Status != knowledge.StatusFailed || !strings.Contains(d.Error, "no text") {
		t.Errorf("blank document = %+v, want failed: no text", d)
	}

	// A 10 MB file that is one line is still chunked.
	line := strings.Repeat("keeper lamp wick mantle ", 10<<20/24)
	big := h.add(kb.ID, "one-line.txt", line)
	d := h.wait(kb.ID, big.ID)
	if d.Status != knowledge.StatusReady || d.Chunks < 1000 {
		t.Errorf("10 MB one-line document = %+v, want ready with many chunks", d)
	}
	if n := h.count(`SELECT count(*) FROM chunk_vectors v JOIN chunks c ON c.id = v.chunk_id WHERE c.document_id = $1`, big.ID); n != d.Chunks {
		t.Errorf("%d vectors for %d chunks", n, d.Chunks)
	}

	// Queries out of bounds.
	for _, q := range []knowledge.Query{{Text: ""}, {Text: strings.Repeat("x", 2001)}, {Text: "lamp", K: 51}, {Text: "lamp", Mode: "magic"}} {
		if _, err := h.svc.Search(ctx, h.user, kb.ID, q); !errors.Is(err, knowledge.ErrInvalid) {
			t.Errorf("Search(%.20q, k=%d, mode=%q) = %v, want ErrInvalid", q.Text, q.K, q.Mode, err)
		}
	}
}

// openAIEmbeddings is an OpenAI-compatible /v1/embeddings server that
// embeds with the local n-gram embedder, and fails while down is set.
type openAIEmbeddings struct {
	down  atomic.Bool
	calls atomic.Int64
	local embed.Embedder
}

func (f *openAIEmbeddings) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	if f.down.Load() {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, `{"error":{"message":"The server is overloaded","type":"server_error","code":null}}`)
		return
	}
	var req struct {
		Model string   `json:"model"`
		Input []string `json:"input"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	vecs, err := f.local.Embed(r.Context(), req.Input)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	type item struct {
		Object    string    `json:"object"`
		Index     int       `json:"index"`
		Embedding []float32 `json:"embedding"`
	}
	resp := struct {
		Object string         `json:"object"`
		Data   []item         `json:"data"`
		Model  string         `json:"model"`
		Usage  map[string]int `json:"usage"`
	}{Object: "list", Model: req.Model, Usage: map[string]int{"prompt_tokens": 1, "total_tokens": 1}}
	// Reverse order: clients must sort by index.
	for i := len(vecs) - 1; i >= 0; i-- {
		resp.Data = append(resp.Data, item{Object: "embedding", Index: i, Embedding: vecs[i]})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

func TestEmbedderDownRetries(t *testing.T) {
	t.Parallel()
	fake := &openAIEmbeddings{local: embed.NewNgram()}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	remote, err := embed.New(embed.Config{Provider: "openai", BaseURL: srv.URL + "/v1", Model: "fake-embed", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(p *knowledge.Params) {
		p.Embedders = []knowledge.Embedder{remote}
		p.Config.Backoff = []time.Duration{300 * time.Millisecond}
		p.Config.MaxAttempts = 20
	})
	kb := h.base("Remote")
	if kb.Embedder != "openai/fake-embed" || kb.Dim != embed.NewNgram().Dim() {
		t.Fatalf("knowledge base embedder = %s/%d", kb.Embedder, kb.Dim)
	}
	fake.down.Store(true)
	doc := h.add(kb.ID, "handbook.md", handbook)

	// The document shows why it is waiting.
	deadline := time.Now().Add(30 * time.Second)
	for {
		d, err := h.svc.Document(context.Background(), h.user, kb.ID, doc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(d.Error, "unavailable") && strings.Contains(d.Error, "will retry") {
			if d.Status == knowledge.StatusReady || d.Status == knowledge.StatusFailed {
				t.Fatalf("document finished while the embedder is down: %+v", d)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("document never reported the embedder outage: %+v", d)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Search degrades to full text while the embedder is down.
	res, err := h.svc.Search(context.Background(), h.user, kb.ID, knowledge.Query{Text: "lamp"})
	if err != nil || res.Degraded == "" {
		t.Errorf("search while embedder down = %+v, %v; want a degraded answer", res, err)
	}

	fake.down.Store(false)
	d := h.wait(kb.ID, doc.ID)
	if d.Status != knowledge.StatusReady || d.Error != "" || d.Attempts < 2 {
		t.Fatalf("after recovery: %+v, want ready after several attempts", d)
	}
	res, err = h.svc.Search(context.Background(), h.user, kb.ID, knowledge.Query{Text: "supply boat", Mode: knowledge.ModeVector})
	if err != nil || len(res.Results) == 0 || !strings.Contains(res.Results[0].Text, "supply boat") {
		t.Errorf("vector search after recovery = %+v, %v", res, err)
	}
}

func TestCrashedWorkerIsTakenOver(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	h := &harness{t: t, pool: pool, bus: bustest.New(t), user: newUser(t, pool)}
	// A service with no running workers takes the upload; its job sits in the queue.
	quiet, err := knowledge.New(context.Background(), knowledge.Params{
		Pool: pool, Bus: h.bus, Embedders: []knowledge.Embedder{embed.NewNgram()}, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	h.svc = quiet
	kb := h.base("Crash")
	doc := h.add(kb.ID, "handbook.md", handbook)
	// Simulate a worker that claimed the document, wrote half of it in a
	// transaction that never committed, and died holding a lease.
	_, err = pool.Exec(context.Background(), `UPDATE documents SET status = 'processing', attempts = 1,
		lease_until = now() + interval '1 second' WHERE id = $1`, doc.ID)
	if err != nil {
		t.Fatal(err)
	}
	// A new process starts: it requeues the document once the lease lapses
	// and finishes it exactly once, even though the original job is also
	// still queued.
	time.Sleep(1100 * time.Millisecond)
	h.svc = h.start()
	d := h.wait(kb.ID, doc.ID)
	if d.Status != knowledge.StatusReady {
		t.Fatalf("document = %+v, want ready", d)
	}
	chunks := h.count(`SELECT count(*) FROM chunks WHERE document_id = $1`, doc.ID)
	if chunks != d.Chunks || chunks == 0 {
		t.Errorf("%d chunk rows, document says %d", chunks, d.Chunks)
	}
	// Give the duplicate job time to run; it must change nothing.
	time.Sleep(500 * time.Millisecond)
	if n := h.count(`SELECT count(*) FROM chunks WHERE document_id = $1`, doc.ID); n != chunks {
		t.Errorf("%d chunk rows after the duplicate job, want %d", n, chunks)
	}
	if n := h.count(`SELECT count(*) FROM chunk_vectors WHERE kb_id = $1`, kb.ID); n != chunks {
		t.Errorf("%d vectors, want %d (one per chunk)", n, chunks)
	}
	if n := h.count(`SELECT count(*) FROM chunk_vectors v LEFT JOIN chunks c ON c.id = v.chunk_id WHERE c.id IS NULL`); n != 0 {
		t.Errorf("%d orphaned vectors", n)
	}
}

func TestReembed(t *testing.T) {
	t.Parallel()
	fake := &openAIEmbeddings{local: embed.NewNgram()}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	remote, err := embed.New(embed.Config{Provider: "openai", BaseURL: srv.URL + "/v1", Model: "fake-embed", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(p *knowledge.Params) {
		p.Embedders = []knowledge.Embedder{embed.NewNgram(), remote}
	})
	kb := h.base("Switch")
	doc := h.wait(kb.ID, h.add(kb.ID, "handbook.md", handbook).ID)
	if kb.Embedder != embed.NewNgram().Name() {
		t.Fatalf("default embedder = %s", kb.Embedder)
	}
	// While the new embedder is down, the base keeps serving its old vectors.
	fake.down.Store(true)
	next := "openai/fake-embed"
	kb2, err := h.svc.Update(context.Background(), h.user, kb.ID, knowledge.BaseInput{Embedder: &next})
	if err == nil {
		t.Fatalf("switch to an unreachable embedder = %+v, want an error", kb2)
	}
	fake.down.Store(false)
	kb2, err = h.svc.Update(context.Background(), h.user, kb.ID, knowledge.BaseInput{Embedder: &next})
	if err != nil {
		t.Fatal(err)
	}
	if kb2.Embedder != embed.NewNgram().Name() || kb2.NextEmbedder != next {
		t.Fatalf("during switch: embedder %s next %s", kb2.Embedder, kb2.NextEmbedder)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, err := h.svc.Base(context.Background(), h.user, kb.ID)
		if err != nil {
			t.Fatal(err)
		}
		res, err := h.svc.Search(context.Background(), h.user, kb.ID, knowledge.Query{Text: "spare mantle", Mode: knowledge.ModeVector})
		if err != nil || len(res.Results) == 0 {
			t.Fatalf("search during re-embedding = %+v, %v", res, err)
		}
		if b.NextEmbedder == "" {
			if b.Embedder != next {
				t.Fatalf("after switch: embedder %s", b.Embedder)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("re-embedding did not finish: %+v", b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := h.count(`SELECT count(*) FROM chunk_vectors WHERE kb_id = $1 AND embedder = $2`, kb.ID, next); n != doc.Chunks {
		t.Errorf("%d vectors of the new embedder, want %d", n, doc.Chunks)
	}
	if n := h.count(`SELECT count(*) FROM chunk_vectors WHERE kb_id = $1 AND embedder <> $2`, kb.ID, next); n != 0 {
		t.Errorf("%d old vectors left", n)
	}
}

func TestURLDocuments(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("/page", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<html><head><title>Tide tables</title></head><body><h1>Tides</h1><p>High water at the harbour mouth is forty minutes after the pier.</p></body></html>`)
	})
	mux.HandleFunc("/metadata", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	h := newHarness(t)
	kb := h.base("Web")
	ctx := context.Background()

	d, err := h.svc.AddURL(ctx, h.user, kb.ID, srv.URL+"/page")
	if err != nil {
		t.Fatal(err)
	}
	d = h.wait(kb.ID, d.ID)
	if d.Status != knowledge.StatusReady || d.MediaType != "text/html" || d.ContentHash == "" {
		t.Fatalf("fetched page = %+v", d)
	}
	res, err := h.svc.Search(ctx, h.user, kb.ID, knowledge.Query{Text: "when is high water"})
	if err != nil || len(res.Results) == 0 || res.Results[0].Citation.URL != srv.URL+"/page" {
		t.Errorf("search = %+v, %v; want a result citing the page URL", res, err)
	}

	// The same page again is marked a duplicate of the first.
	dup, err := h.svc.AddURL(ctx, h.user, kb.ID, srv.URL+"/page?again")
	if err != nil {
		t.Fatal(err)
	}
	if dup = h.wait(kb.ID, dup.ID); dup.DuplicateOf != d.ID || dup.Chunks != 0 {
		t.Errorf("second fetch of the same content = %+v, want duplicate_of %s", dup, d.ID)
	}

	// A redirect to the cloud metadata address is refused at fetch time.
	meta, err := h.svc.AddURL(ctx, h.user, kb.ID, srv.URL+"/metadata")
	if err != nil {
		t.Fatal(err)
	}
	if meta = h.wait(kb.ID, meta.ID); meta.Status != knowledge.StatusFailed || !strings.Contains(meta.Error, "169.254.169.254") {
		t.Errorf("redirect to metadata = %+v, want failed naming the address", meta)
	}

	// Private and link-local addresses are refused up front.
	for _, u := range []string{"http://169.254.169.254/", "http://10.0.0.1/", "http://[::1]:80/", "file:///etc/passwd", "http://127.0.0.2/"} {
		if _, err := h.svc.AddURL(ctx, h.user, kb.ID, u); !errors.Is(err, knowledge.ErrURLRefused) {
			t.Errorf("AddURL(%s) = %v, want ErrURLRefused", u, err)
		}
	}
}

func TestEvents(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	kb := h.base("Events")
	events, cancel := h.svc.Subscribe(kb.ID)
	defer cancel()
	doc := h.add(kb.ID, "handbook.md", handbook)
	var last knowledge.Event
	timeout := time.After(30 * time.Second)
	for last.Status != knowledge.StatusReady {
		select {
		case e := <-events:
			if e.DocumentID != doc.ID {
				t.Fatalf("event for another document: %+v", e)
			}
			if e.ChunksDone < last.ChunksDone {
				t.Errorf("progress went backwards: %+v after %+v", e, last)
			}
			last = e
		case <-timeout:
			t.Fatalf("no ready event; last %+v", last)
		}
	}
	if last.ChunksTotal == 0 || last.ChunksDone != last.ChunksTotal {
		t.Errorf("ready event = %+v, want chunks_done == chunks_total > 0", last)
	}
}

// TestVectorsAreUnitHalfvecs checks what is stored: halfvec of the
// embedder's dimension, unit length within half precision.
func TestVectorsAreUnitHalfvecs(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	kb := h.base("Vectors")
	h.wait(kb.ID, h.add(kb.ID, "handbook.md", handbook).ID)
	rows, err := h.pool.Query(context.Background(), `SELECT dim, vector_dims(embedding), l2_norm(embedding) FROM chunk_vectors WHERE kb_id = $1`, kb.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var dim, dims int
		var norm float64
		if err := rows.Scan(&dim, &dims, &norm); err != nil {
			t.Fatal(err)
		}
		if dim != kb.Dim || dims != kb.Dim || math.Abs(norm-1) > 0.01 {
			t.Errorf("vector dim %d/%d norm %.4f, want %d and 1", dim, dims, norm, kb.Dim)
		}
		n++
	}
	if n == 0 {
		t.Fatal("no vectors stored")
	}
}

func TestPDFDocuments(t *testing.T) {
	t.Parallel()
	// Small passages, so that page 2's sentence starts a passage of its own.
	h := newHarness(t, func(p *knowledge.Params) { p.Config.ChunkTokens, p.Config.ChunkOverlap = 16, 4 })
	kb := h.base("PDFs")
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join("extract", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	good := h.add(kb.ID, "fixture.pdf", read("two-pages.pdf"))
	locked := h.add(kb.ID, "locked.pdf", read("encrypted.pdf"))
	cut := h.add(kb.ID, "cut.pdf", read("truncated.pdf"))

	if d := h.wait(kb.ID, good.ID); d.Status != knowledge.StatusReady || d.MediaType != "application/pdf" {
		t.Fatalf("pdf = %+v, want ready", d)
	}
	for _, tc := range []struct{ id, want string }{{locked.ID, "encrypted"}, {cut.ID, "corrupt"}} {
		if d := h.wait(kb.ID, tc.id); d.Status != knowledge.StatusFailed || !strings.Contains(d.Error, tc.want) {
			t.Errorf("%s = %+v, want failed: %s", d.Filename, d, tc.want)
		}
	}
	res, err := h.svc.Search(context.Background(), h.user, kb.ID, knowledge.Query{Text: "violet lanterns", K: 1})
	if err != nil || len(res.Results) != 1 {
		t.Fatalf("search = %+v, %v", res, err)
	}
	if r := res.Results[0]; !strings.Contains(r.Text, "violet lanterns") || r.Citation.Page != 2 {
		t.Errorf("result = %+v, want the sentence cited on page 2", r)
	}
}
