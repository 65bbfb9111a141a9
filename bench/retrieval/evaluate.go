package retrieval

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/timbre-ai/timbre/bus"
	"github.com/timbre-ai/timbre/knowledge"
)

// Row is the score of one embedder and search mode.
type Row struct {
	Embedder string
	Mode     string
	Scores   Scores
	// Latency is the mean time of one search, embedding the query included.
	Latency time.Duration
}

// Evaluation is what Evaluate measured.
type Evaluation struct {
	Rows   []Row
	Chunks map[string]int // chunks ingested per embedder
	// Ingest is how long ingesting the corpus took per embedder.
	Ingest map[string]time.Duration
}

// Evaluate ingests the corpus into one knowledge base per embedder through
// the real knowledge service, then asks every question in every search mode
// and scores the top 10 passages against the evidence.
func Evaluate(ctx context.Context, pool *pgxpool.Pool, b *bus.Bus, embedders []knowledge.Embedder, docs []Document, qs []Question) (Evaluation, error) {
	ev := Evaluation{Chunks: map[string]int{}, Ingest: map[string]time.Duration{}}
	svc, err := knowledge.New(ctx, knowledge.Params{Pool: pool, Bus: b, Embedders: embedders, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return ev, err
	}
	workers, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- svc.Start(workers) }()
	defer func() {
		stop()
		<-done
	}()

	var owner string
	if err := pool.QueryRow(ctx, `INSERT INTO users (id, email, password_hash, display_name)
		VALUES ('usr_retrievaleval', 'eval@example.invalid', 'x', 'Evaluation')
		ON CONFLICT (id) DO UPDATE SET display_name = excluded.display_name RETURNING id`).Scan(&owner); err != nil {
		return ev, fmt.Errorf("retrieval: evaluation user: %w", err)
	}
	for _, e := range embedders {
		name, emb := "eval "+e.Name(), e.Name()
		kb, err := svc.Create(ctx, owner, knowledge.BaseInput{Name: &name, Embedder: &emb})
		if err != nil {
			return ev, err
		}
		started := time.Now()
		docName := map[string]string{} // document id → corpus name
		for _, d := range docs {
			doc, _, err := svc.AddFile(ctx, owner, kb.ID, knowledge.Upload{Filename: d.Name, Data: d.Bytes})
			if err != nil {
				return ev, fmt.Errorf("retrieval: add %s: %w", d.Name, err)
			}
			docName[doc.ID] = d.Name
		}
		extracted := map[string]string{}
		for id, n := range docName {
			doc, err := waitReady(ctx, svc, owner, kb.ID, id)
			if err != nil {
				return ev, err
			}
			ev.Chunks[e.Name()] += doc.Chunks
			var body string
			if err := pool.QueryRow(ctx, `SELECT body FROM documents WHERE id = $1`, id).Scan(&body); err != nil {
				return ev, fmt.Errorf("retrieval: extracted text of %s: %w", n, err)
			}
			extracted[n] = body
		}
		ev.Ingest[e.Name()] = time.Since(started)
		targets, err := Targets(qs, extracted)
		if err != nil {
			return ev, err
		}
		for _, mode := range []string{knowledge.ModeVector, knowledge.ModeText, knowledge.ModeHybrid} {
			results := make([][]Hit, len(qs))
			searchStart := time.Now()
			for i, q := range qs {
				res, err := svc.SearchBases(ctx, []string{kb.ID}, knowledge.Query{Text: q.Question, K: 10, Mode: mode})
				if err != nil {
					return ev, fmt.Errorf("retrieval: %s search for %s: %w", mode, q.ID, err)
				}
				for _, r := range res.Results {
					results[i] = append(results[i], Hit{Doc: docName[r.DocumentID], Start: r.Citation.Start, End: r.Citation.End})
				}
			}
			ev.Rows = append(ev.Rows, Row{Embedder: e.Name(), Mode: mode, Scores: ScoreTargets(targets, results),
				Latency: time.Since(searchStart) / time.Duration(max(len(qs), 1))})
		}
	}
	return ev, nil
}

func waitReady(ctx context.Context, svc *knowledge.Service, owner, kbID, docID string) (knowledge.Document, error) {
	for {
		d, err := svc.Document(ctx, owner, kbID, docID)
		if err != nil {
			return d, err
		}
		switch d.Status {
		case knowledge.StatusReady:
			return d, nil
		case knowledge.StatusFailed:
			return d, fmt.Errorf("retrieval: document %s failed: %s", d.Filename, d.Error)
		}
		select {
		case <-ctx.Done():
			return d, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
