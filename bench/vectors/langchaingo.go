package main

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/tmc/langchaingo/embeddings"
	"github.com/tmc/langchaingo/schema"
	"github.com/tmc/langchaingo/vectorstores/pgvector"

	"github.com/timbre-ai/timbre/knowledge/embed"
)

var _ embeddings.Embedder = ngramEmbeddings{}

// lcStore drives langchaingo's vectorstores/pgvector.
type lcStore struct {
	s pgvector.Store
}

// openLangchaingo creates langchaingo's tables and collection on conn, with
// vectors of dim dimensions and its HNSW index on cosine distance, and
// the ngram embedder behind the adapter.
func openLangchaingo(ctx context.Context, conn *pgx.Conn, dim int) (vectorStore, error) {
	s, err := pgvector.New(ctx,
		pgvector.WithConn(conn),
		pgvector.WithEmbedder(ngramEmbeddings{e: embed.NewNgram()}),
		pgvector.WithVectorDimensions(dim),
		pgvector.WithHNSWIndex(lcHNSWM, lcHNSWEfConstruction, "vector_cosine_ops"),
		pgvector.WithCollectionName(lcCollection),
	)
	if err != nil {
		return nil, fmt.Errorf("pgvector.New: %w", err)
	}
	return lcStore{s: s}, nil
}

func (l lcStore) add(ctx context.Context, texts []string, chunkIDs []int64) ([]string, error) {
	docs := make([]schema.Document, len(texts))
	for i, t := range texts {
		docs[i] = schema.Document{PageContent: t, Metadata: map[string]any{"chunk_id": chunkIDs[i]}}
	}
	return l.s.AddDocuments(ctx, docs)
}

func (l lcStore) search(ctx context.Context, text string, k int) ([]hit, error) {
	docs, err := l.s.SimilaritySearch(ctx, text, k)
	if err != nil {
		return nil, err
	}
	out := make([]hit, len(docs))
	for i, d := range docs {
		// The metadata comes back through JSON: numbers are float64.
		id, ok := d.Metadata["chunk_id"].(float64)
		if !ok {
			return nil, fmt.Errorf("result %d has no chunk_id metadata: %v", i, d.Metadata)
		}
		out[i] = hit{ID: int64(id), Dist: 1 - float64(d.Score)}
	}
	return out, nil
}
