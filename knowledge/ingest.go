package knowledge

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/timbre-ai/timbre/bus"
	"github.com/timbre-ai/timbre/knowledge/chunk"
	"github.com/timbre-ai/timbre/knowledge/embed"
	"github.com/timbre-ai/timbre/knowledge/extract"
	"github.com/timbre-ai/timbre/knowledge/fetch"
)

// Job kinds on the knowledge queue.
const (
	jobIngest  = "ingest"
	jobReembed = "reembed"
)

type job struct {
	Kind string `json:"kind"`
	// ID is a document id (ingest) or a knowledge base id (reembed).
	ID string `json:"id"`
}

func encodeJob(j job) []byte {
	b, _ := json.Marshal(j)
	return b
}

// Internal outcomes of a claim or a write.
var (
	errFinished        = errors.New("knowledge: document already finished")
	errBusy            = errors.New("knowledge: another worker holds the document")
	errEmbedderChanged = errors.New("knowledge: the knowledge base's embedder changed during ingestion")
)

// Start publishes the jobs of documents left unfinished by an earlier run
// (a crash before the job was queued, or a lost bus store), then consumes
// jobs until ctx is cancelled. It returns when the consumer has stopped.
func (s *Service) Start(ctx context.Context) error {
	stop, err := s.events.Subscribe(s.deliver)
	if err != nil {
		return err
	}
	defer stop()
	if err := s.requeueUnfinished(ctx); err != nil {
		s.log.Warn("unfinished documents not requeued", "error", err)
	}
	return s.queue.Consume(ctx, s.handle)
}

// requeueUnfinished publishes a job for every unfinished document. A
// document whose job is still in the queue gets a second one, and one that a
// live worker holds is retried until that worker finishes: the claim lets
// only one of them do the work.
func (s *Service) requeueUnfinished(ctx context.Context) error {
	rows, err := s.store.pool.Query(ctx, `SELECT id, attempts FROM documents WHERE status IN ('queued', 'processing')`)
	if err != nil {
		return fmt.Errorf("knowledge: find unfinished documents: %w", err)
	}
	type pending struct {
		id       string
		attempts int
	}
	var list []pending
	for rows.Next() {
		var p pending
		if err := rows.Scan(&p.id, &p.attempts); err != nil {
			rows.Close()
			return fmt.Errorf("knowledge: find unfinished documents: %w", err)
		}
		list = append(list, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("knowledge: find unfinished documents: %w", err)
	}
	for _, p := range list {
		id := fmt.Sprintf("ingest:%s:restart%d", p.id, p.attempts)
		if err := s.queue.Publish(ctx, id, encodeJob(job{Kind: jobIngest, ID: p.id})); err != nil {
			return fmt.Errorf("knowledge: requeue %s: %w", p.id, err)
		}
	}
	if len(list) > 0 {
		s.log.Info("requeued unfinished documents", "count", len(list))
	}
	rows, err = s.store.pool.Query(ctx, `SELECT id, next_embedder FROM knowledge_bases WHERE next_embedder IS NOT NULL`)
	if err != nil {
		return fmt.Errorf("knowledge: find unfinished re-embeddings: %w", err)
	}
	var kbs [][2]string
	for rows.Next() {
		var k [2]string
		if err := rows.Scan(&k[0], &k[1]); err != nil {
			rows.Close()
			return fmt.Errorf("knowledge: find unfinished re-embeddings: %w", err)
		}
		kbs = append(kbs, k)
	}
	rows.Close()
	for _, k := range kbs {
		if err := s.queue.Publish(ctx, "reembed:"+k[0]+":"+k[1]+":restart", encodeJob(job{Kind: jobReembed, ID: k[0]})); err != nil {
			return fmt.Errorf("knowledge: requeue re-embedding of %s: %w", k[0], err)
		}
	}
	return rows.Err()
}

// handle runs one job from the queue.
func (s *Service) handle(ctx context.Context, j bus.Job) error {
	var jb job
	if err := json.Unmarshal(j.Payload, &jb); err != nil {
		return bus.Permanent(fmt.Errorf("knowledge: malformed job %s: %w", j.ID, err))
	}
	switch jb.Kind {
	case jobIngest:
		return s.ingest(ctx, jb.ID, j.Attempt)
	case jobReembed:
		return s.reembed(ctx, jb.ID)
	}
	return bus.Permanent(fmt.Errorf("knowledge: unknown job kind %q", jb.Kind))
}

// stepError is a failure during ingestion with the sentence its owner sees;
// retry says whether another attempt may succeed.
type stepError struct {
	message string
	retry   bool
	err     error
}

func (e *stepError) Error() string { return e.message + ": " + e.err.Error() }
func (e *stepError) Unwrap() error { return e.err }

func permanent(message string, err error) error { return &stepError{message: message, err: err} }
func retryable(message string, err error) error {
	return &stepError{message: message, retry: true, err: err}
}

// ingest fetches (for a URL), extracts, chunks and embeds one document, then
// writes its chunks in one transaction.
func (s *Service) ingest(ctx context.Context, id string, attempt int) error {
	w, err := s.store.claim(ctx, id, s.cfg.Lease)
	switch {
	case errors.Is(err, ErrNotFound), errors.Is(err, errFinished):
		return nil
	case err != nil:
		// errBusy, or the database: try again after the backoff.
		return err
	}
	log := s.log.With("document_id", id, "knowledge_base_id", w.doc.KBID, "attempt", attempt)
	log.Info("ingesting document")
	started := time.Now()

	renewCtx, stopRenew := context.WithCancel(ctx)
	defer stopRenew()
	go s.renewLease(renewCtx, id)

	err = s.process(ctx, w, log)
	switch {
	case err == nil:
		log.Info("document ready", "duration", time.Since(started).Round(time.Millisecond))
		return nil
	case errors.Is(err, ErrNotFound), errors.Is(err, errFinished):
		// Deleted, or finished by another worker, while this one worked.
		return nil
	}
	// What the owner reads: the step's sentence and cause, never SQL.
	var se *stepError
	msg := "an internal error interrupted ingestion"
	retry := true
	if errors.As(err, &se) {
		msg, retry = se.Error(), se.retry
	}
	if !retry || attempt >= s.cfg.MaxAttempts {
		if retry {
			msg = fmt.Sprintf("%s (gave up after %d attempts)", msg, attempt)
		}
		log.Warn("document failed", "error", err)
		if ferr := s.store.fail(context.WithoutCancel(ctx), id, msg); ferr != nil {
			return ferr
		}
		s.publish(Event{KBID: w.doc.KBID, DocumentID: id, Status: StatusFailed, Error: msg})
		return nil
	}
	msg = fmt.Sprintf("%s (attempt %d of %d, will retry)", msg, attempt, s.cfg.MaxAttempts)
	log.Warn("document attempt failed; will retry", "error", err)
	if rerr := s.store.release(context.WithoutCancel(ctx), id, msg); rerr != nil {
		log.Warn("release document", "error", rerr)
	}
	s.publish(Event{KBID: w.doc.KBID, DocumentID: id, Status: StatusProcessing, Error: msg})
	return err
}

func (s *Service) renewLease(ctx context.Context, id string) {
	t := time.NewTicker(s.cfg.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.store.renew(ctx, id, s.cfg.Lease); err != nil && ctx.Err() == nil {
				s.log.Warn("lease not renewed", "document_id", id, "error", err)
			}
		}
	}
}

// process does the work of ingest once the document is claimed.
func (s *Service) process(ctx context.Context, w work, log *slog.Logger) error {
	ev := Event{KBID: w.doc.KBID, DocumentID: w.doc.ID, Status: StatusProcessing}
	if w.content == nil {
		if w.doc.URL == "" {
			return permanent("the document has no content", ErrEmpty)
		}
		ev.Stage = "fetching"
		s.publish(ev)
		dup, err := s.fetchDocument(ctx, &w)
		if err != nil {
			return err
		}
		if dup != "" {
			s.publish(Event{KBID: w.doc.KBID, DocumentID: w.doc.ID, Status: StatusReady})
			log.Info("fetched page is a duplicate", "duplicate_of", dup)
			return nil
		}
	}

	ev.Stage = "extracting"
	s.publish(ev)
	res, err := extract.Extract(ctx, w.content, extract.Hint{Filename: w.doc.Filename, ContentType: w.doc.MediaType})
	if err != nil {
		return extractError(err)
	}
	chunks, err := chunk.Split(res.Text, chunk.Options{MaxTokens: s.cfg.ChunkTokens, Overlap: s.cfg.ChunkOverlap})
	if err != nil {
		return permanent("the document could not be split into passages", err)
	}
	if len(chunks) == 0 {
		return permanent("the document holds no text", ErrEmpty)
	}

	embedders, err := s.embeddersFor(w)
	if err != nil {
		return err
	}
	rows := make([]chunkRow, len(chunks))
	inputs := make([]string, len(chunks))
	for i, c := range chunks {
		rows[i] = chunkRow{headings: c.Headings, text: c.Text, start: c.Start, end: c.End,
			page: pageOf(res.PageStarts, (c.Start+c.End)/2), tokens: c.Tokens, vectors: map[string][]float32{}}
		inputs[i] = embeddingInput(c.Headings, c.Text)
	}
	ev.Stage, ev.ChunksTotal = "embedding", len(chunks)*len(embedders)
	s.publish(ev)
	for _, e := range embedders {
		err := embedAll(ctx, e, inputs, func(i int, v []float32) { rows[i].vectors[e.Name()] = v }, func(n int) {
			ev.ChunksDone += n
			s.publish(ev)
		})
		if err != nil {
			if errors.Is(err, embed.ErrConfig) {
				return permanent("the embedder "+e.Name()+" refused the request", err)
			}
			return retryable("the embedder "+e.Name()+" is unavailable", err)
		}
	}

	ev.Stage = "writing"
	s.publish(ev)
	names := make([]string, len(embedders))
	for i, e := range embedders {
		names[i] = e.Name()
	}
	title := res.Title
	if err := s.store.finish(ctx, w, title, res.Text, res.PageStarts, rows, names); err != nil {
		if errors.Is(err, errEmbedderChanged) {
			return retryable("the knowledge base switched embedders during ingestion", err)
		}
		return err
	}
	s.publish(Event{KBID: w.doc.KBID, DocumentID: w.doc.ID, Status: StatusReady, ChunksDone: ev.ChunksTotal, ChunksTotal: ev.ChunksTotal})
	return nil
}

// fetchDocument downloads a URL document and stores its bytes in w. It
// returns the id of the document it duplicates, if any.
func (s *Service) fetchDocument(ctx context.Context, w *work) (string, error) {
	if s.fetcher == nil {
		return "", permanent("this server does not fetch URLs", ErrURLRefused)
	}
	page, err := s.fetcher.Fetch(ctx, w.doc.URL)
	if err != nil {
		switch {
		case errors.Is(err, fetch.ErrTimeout):
			return "", retryable("fetching the page timed out", err)
		case errors.Is(err, fetch.ErrInvalidURL), errors.Is(err, fetch.ErrForbiddenAddress),
			errors.Is(err, fetch.ErrTooLarge), errors.Is(err, fetch.ErrTooManyRedirects), errors.Is(err, fetch.ErrStatus):
			return "", permanent("the page could not be fetched", err)
		}
		return "", retryable("the page could not be fetched", err)
	}
	if int64(len(page.Body)) > s.cfg.MaxDocumentBytes {
		return "", permanent("the page is too large", fmt.Errorf("%w: %d bytes", ErrTooLarge, len(page.Body)))
	}
	media, err := extract.Detect(page.Body, extract.Hint{Filename: page.Filename, ContentType: page.ContentType})
	if err != nil {
		return "", extractError(err)
	}
	sum := sha256.Sum256(page.Body)
	w.doc.ContentHash = hex.EncodeToString(sum[:])
	w.doc.SizeBytes = int64(len(page.Body))
	w.doc.MediaType = media
	if w.doc.Filename == "" {
		w.doc.Filename = page.Filename
	}
	dup, err := s.store.setFetched(ctx, w.doc, page.Body)
	if err != nil {
		return "", err
	}
	w.content = page.Body
	return dup, nil
}

func extractError(err error) error {
	switch {
	case errors.Is(err, extract.ErrEmpty):
		return permanent("the document holds no text", err)
	case errors.Is(err, extract.ErrUnsupported):
		return permanent("the document's type is not supported", err)
	case errors.Is(err, extract.ErrEncrypted):
		return permanent("the PDF is encrypted", err)
	case errors.Is(err, extract.ErrTooLarge):
		return permanent("the document's text is too large", err)
	case errors.Is(err, extract.ErrCorrupt):
		return permanent("the document is corrupt", err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return retryable("text extraction was interrupted", err)
	}
	return permanent("the document's text could not be extracted", err)
}

// embeddersFor returns the embedders a document's chunks need: the base's
// current one and, while it is re-embedded, the next one.
func (s *Service) embeddersFor(w work) ([]Embedder, error) {
	var out []Embedder
	for _, name := range []string{w.embedder, w.next} {
		if name == "" {
			continue
		}
		e, ok := s.embedders[name]
		if !ok {
			return nil, retryable("the embedder "+name+" is not configured on this server", ErrEmbedderUnavailable)
		}
		out = append(out, e)
	}
	return out, nil
}

// embeddingInput is the text embedded for a chunk: its heading path gives a
// passage the context its section title carries.
func embeddingInput(headings []string, text string) string {
	if len(headings) == 0 {
		return text
	}
	return strings.Join(headings, " > ") + "\n" + text
}

// embedAll embeds inputs in batches, calling put for each vector and done
// after each batch.
func embedAll(ctx context.Context, e Embedder, inputs []string, put func(int, []float32), done func(int)) error {
	batch := e.MaxBatch()
	if batch <= 0 {
		batch = 32
	}
	for i := 0; i < len(inputs); i += batch {
		end := min(i+batch, len(inputs))
		vecs, err := e.Embed(ctx, inputs[i:end])
		if err != nil {
			return fmt.Errorf("knowledge: embed chunks %d–%d: %w", i, end-1, err)
		}
		if len(vecs) != end-i {
			return fmt.Errorf("knowledge: embed chunks %d–%d: got %d vectors: %w", i, end-1, len(vecs), embed.ErrBadResponse)
		}
		for j, v := range vecs {
			put(i+j, v)
		}
		done(end - i)
	}
	return nil
}

// pageOf returns the 1-based page a rune offset falls on, or 0 without
// pages. Passages are cited by the page their middle falls on: an overlap
// carried over from the previous page does not move a passage back.
func pageOf(starts []int, offset int) int {
	if len(starts) == 0 {
		return 0
	}
	return sort.Search(len(starts), func(i int) bool { return starts[i] > offset })
}
