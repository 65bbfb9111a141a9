package knowledge

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/pgvector/pgvector-go"
)

// reembed gives every chunk of a knowledge base a vector from its next
// embedder, batch by batch, then switches the base over and drops the old
// vectors in one transaction. Until then search uses the old vectors. An
// interrupted run resumes where it stopped: it only embeds chunks that still
// lack a vector.
func (s *Service) reembed(ctx context.Context, kbID string) error {
	b, err := s.store.base(ctx, kbID)
	if errors.Is(err, ErrNotFound) {
		return nil // deleted meanwhile
	}
	if err != nil {
		return err
	}
	if b.NextEmbedder == "" {
		return nil // finished or cancelled
	}
	e, ok := s.embedders[b.NextEmbedder]
	if !ok {
		return fmt.Errorf("%w: %s is not configured on this server", ErrEmbedderUnavailable, b.NextEmbedder)
	}
	log := s.log.With("knowledge_base_id", kbID, "embedder", e.Name())
	log.Info("re-embedding knowledge base", "chunks", b.Chunks)
	ev := Event{KBID: kbID, Status: StatusProcessing, Stage: "re-embedding", ChunksTotal: b.Chunks}
	batch := max(e.MaxBatch(), 1)
	for {
		ids, inputs, err := s.store.missingVectors(ctx, kbID, e.Name(), batch)
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			done, err := s.store.switchEmbedder(ctx, kbID, e.Name(), e.Dim())
			if err != nil {
				return err
			}
			if done {
				log.Info("re-embedding finished")
				s.publish(Event{KBID: kbID, Status: StatusReady, Stage: "re-embedding", ChunksDone: b.Chunks, ChunksTotal: b.Chunks})
				return nil
			}
			continue // a document arrived meanwhile
		}
		vecs, err := e.Embed(ctx, inputs)
		if err != nil {
			return fmt.Errorf("knowledge: re-embed %s with %s: %w", kbID, e.Name(), err)
		}
		if err := s.store.insertVectors(ctx, kbID, e.Name(), ids, vecs); err != nil {
			return err
		}
		ev.ChunksDone += len(ids)
		s.publish(ev)
	}
}

// missingVectors returns up to limit chunks of a base that have no vector
// from embedder, with their embedding inputs.
func (s *store) missingVectors(ctx context.Context, kbID, embedder string, limit int) ([]int64, []string, error) {
	rows, err := s.pool.Query(ctx, `SELECT c.id, c.headings, c.body FROM chunks c
		WHERE c.kb_id = $1 AND NOT EXISTS (SELECT 1 FROM chunk_vectors v WHERE v.chunk_id = c.id AND v.embedder = $2)
		ORDER BY c.id LIMIT $3`, kbID, embedder, limit)
	if err != nil {
		return nil, nil, fmt.Errorf("knowledge: chunks to re-embed: %w", err)
	}
	defer rows.Close()
	var ids []int64
	var inputs []string
	for rows.Next() {
		var id int64
		var headings []string
		var body string
		if err := rows.Scan(&id, &headings, &body); err != nil {
			return nil, nil, fmt.Errorf("knowledge: chunks to re-embed: %w", err)
		}
		ids = append(ids, id)
		inputs = append(inputs, embeddingInput(headings, body))
	}
	return ids, inputs, rows.Err()
}

func (s *store) insertVectors(ctx context.Context, kbID, embedder string, ids []int64, vecs [][]float32) error {
	if len(vecs) != len(ids) {
		return fmt.Errorf("knowledge: re-embed: %d vectors for %d chunks", len(vecs), len(ids))
	}
	batch := &pgx.Batch{}
	for i, id := range ids {
		batch.Queue(`INSERT INTO chunk_vectors (chunk_id, kb_id, embedder, dim, embedding) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT DO NOTHING`, id, kbID, embedder, len(vecs[i]), pgvector.NewHalfVector(vecs[i]))
	}
	if err := s.pool.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("knowledge: store re-embedded vectors: %w", err)
	}
	return nil
}

// switchEmbedder makes embedder the base's current one once no chunk lacks
// its vector, and deletes the old vectors. It reports false when a chunk
// still lacks one (written meanwhile).
func (s *store) switchEmbedder(ctx context.Context, kbID, embedder string, dim int) (bool, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("knowledge: switch embedder of %s: %w", kbID, err)
	}
	defer tx.Rollback(ctx)
	var old string
	var next *string
	err = tx.QueryRow(ctx, `SELECT embedder, next_embedder FROM knowledge_bases WHERE id = $1 FOR UPDATE`, kbID).Scan(&old, &next)
	if err != nil {
		return false, fmt.Errorf("knowledge: switch embedder of %s: %w", kbID, err)
	}
	if next == nil || *next != embedder {
		return true, nil // cancelled or replaced by another switch
	}
	var missing bool
	err = tx.QueryRow(ctx, `SELECT
			EXISTS (SELECT 1 FROM chunks c WHERE c.kb_id = $1 AND NOT EXISTS
				(SELECT 1 FROM chunk_vectors v WHERE v.chunk_id = c.id AND v.embedder = $2)),
			coalesce((SELECT dim FROM chunk_vectors WHERE kb_id = $1 AND embedder = $2 LIMIT 1), $3)`, kbID, embedder, dim).
		Scan(&missing, &dim)
	if err != nil {
		return false, fmt.Errorf("knowledge: switch embedder of %s: %w", kbID, err)
	}
	if missing {
		return false, nil
	}
	if dim == 0 {
		return false, fmt.Errorf("knowledge: switch embedder of %s: no vectors of %s", kbID, embedder)
	}
	if _, err := tx.Exec(ctx, `UPDATE knowledge_bases SET embedder = $2, embed_dim = $3, next_embedder = NULL, updated_at = now()
		WHERE id = $1`, kbID, embedder, dim); err != nil {
		return false, fmt.Errorf("knowledge: switch embedder of %s: %w", kbID, err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM chunk_vectors WHERE kb_id = $1 AND embedder = $2`, kbID, old); err != nil {
		return false, fmt.Errorf("knowledge: drop old vectors of %s: %w", kbID, err)
	}
	return true, tx.Commit(ctx)
}
