package knowledge

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/pgvector/pgvector-go"
)

// Search modes. Hybrid is what users get; the others exist for evaluation.
const (
	ModeHybrid = "hybrid"
	ModeVector = "vector"
	ModeText   = "text"
)

// Search limits.
const (
	DefaultK      = 5
	MaxK          = 50
	maxQueryRunes = 2000
	maxEfSearch   = 1000
	// DefaultEfSearch is the HNSW candidate list size when a query sets none.
	DefaultEfSearch = 400
	// maxRanked bounds the full-text matches ranked for one query.
	maxRanked        = 2000
	rrfK             = 60 // reciprocal rank fusion constant (Cormack et al.)
	minCandidates    = 40
	candidatesPerHit = 4
)

// Query is a search over one or more knowledge bases.
type Query struct {
	Text string
	K    int
	// EfSearch is the HNSW candidate list size; 0 means DefaultEfSearch. It
	// is raised to the number of candidates fused when smaller.
	EfSearch int
	// Mode is ModeHybrid (default), ModeVector or ModeText.
	Mode string
}

// Results is what Search returns. Degraded says why vector search was left
// out (its embedder unreachable), when it was.
type Results struct {
	Results  []Result `json:"results"`
	Degraded string   `json:"degraded,omitempty"`
}

func (q *Query) validate() error {
	q.Text = strings.TrimSpace(q.Text)
	switch {
	case q.Text == "":
		return &FieldError{Field: "q", Message: "is required"}
	case !utf8.ValidString(q.Text) || utf8.RuneCountInString(q.Text) > maxQueryRunes:
		return &FieldError{Field: "q", Message: fmt.Sprintf("must be valid text of at most %d characters", maxQueryRunes)}
	case q.K < 0 || q.K > MaxK:
		return &FieldError{Field: "k", Message: fmt.Sprintf("must be from 1 to %d", MaxK)}
	case q.EfSearch < 0 || q.EfSearch > maxEfSearch:
		return &FieldError{Field: "ef_search", Message: fmt.Sprintf("must be from 1 to %d", maxEfSearch)}
	}
	if q.K == 0 {
		q.K = DefaultK
	}
	switch q.Mode {
	case "":
		q.Mode = ModeHybrid
	case ModeHybrid, ModeVector, ModeText:
	default:
		return &FieldError{Field: "mode", Message: "must be hybrid, vector or text"}
	}
	return nil
}

// Search searches a knowledge base its owner may see.
func (s *Service) Search(ctx context.Context, callerID, kbID string, q Query) (Results, error) {
	if err := s.owns(ctx, callerID, kbID); err != nil {
		return Results{}, err
	}
	return s.SearchBases(ctx, []string{kbID}, q)
}

// SearchBases searches knowledge bases without an ownership check: the chat
// engine calls it with the bases attached to an agent.
func (s *Service) SearchBases(ctx context.Context, kbIDs []string, q Query) (Results, error) {
	if err := q.validate(); err != nil {
		return Results{}, err
	}
	if len(kbIDs) == 0 {
		return Results{Results: []Result{}}, nil
	}
	// One snapshot for the whole search: a re-embedding that switches a
	// base's embedder and drops its old vectors between reading the
	// embedder and reading the vectors must not leave this search empty.
	tx, err := s.store.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return Results{}, fmt.Errorf("knowledge: search: %w", err)
	}
	defer tx.Rollback(ctx)
	groups, err := embedderGroups(ctx, tx, kbIDs)
	if err != nil {
		return Results{}, err
	}
	var out Results
	for _, g := range groups {
		mode := q.Mode
		var vec []float32
		if mode != ModeText {
			vec, err = s.queryVector(ctx, g.embedder, q.Text)
			if err != nil {
				if mode == ModeVector {
					return Results{}, err
				}
				s.log.Warn("vector search left out", "embedder", g.embedder, "error", err)
				out.Degraded = "Vector search is unavailable (" + g.embedder + " could not be reached); these results come from full-text search only."
				mode = ModeText
			}
		}
		res, err := s.store.search(ctx, tx, g, vec, q, mode)
		if err != nil {
			return Results{}, err
		}
		out.Results = append(out.Results, res...)
	}
	sort.SliceStable(out.Results, func(i, j int) bool { return out.Results[i].Score > out.Results[j].Score })
	if len(out.Results) > q.K {
		out.Results = out.Results[:q.K]
	}
	if out.Results == nil {
		out.Results = []Result{}
	}
	return out, nil
}

func (s *Service) queryVector(ctx context.Context, name, text string) ([]float32, error) {
	e, ok := s.embedders[name]
	if !ok {
		return nil, fmt.Errorf("%w: %s is not configured on this server", ErrEmbedderUnavailable, name)
	}
	v, err := e.Embed(ctx, []string{text})
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrEmbedderUnavailable, name, err)
	}
	return v[0], nil
}

// group is a set of knowledge bases searched with one embedder.
type group struct {
	embedder string
	dim      int
	kbIDs    []string
}

func embedderGroups(ctx context.Context, tx pgx.Tx, kbIDs []string) ([]group, error) {
	rows, err := tx.Query(ctx, `SELECT id, embedder, embed_dim FROM knowledge_bases WHERE id = ANY($1) ORDER BY id`, kbIDs)
	if err != nil {
		return nil, fmt.Errorf("knowledge: search: %w", err)
	}
	defer rows.Close()
	var groups []group
	for rows.Next() {
		var id, name string
		var dim int
		if err := rows.Scan(&id, &name, &dim); err != nil {
			return nil, fmt.Errorf("knowledge: search: %w", err)
		}
		found := false
		for i := range groups {
			if groups[i].embedder == name && groups[i].dim == dim {
				groups[i].kbIDs = append(groups[i].kbIDs, id)
				found = true
			}
		}
		if !found {
			groups = append(groups, group{embedder: name, dim: dim, kbIDs: []string{id}})
		}
	}
	return groups, rows.Err()
}

// search runs one hybrid query: the nearest vectors through the HNSW index
// and the best full-text matches, fused by reciprocal rank.
func (s *store) search(ctx context.Context, tx pgx.Tx, g group, vec []float32, q Query, mode string) ([]Result, error) {
	candidates := max(minCandidates, q.K*candidatesPerHit)
	ef := q.EfSearch
	if ef == 0 {
		ef = DefaultEfSearch
	}
	ef = max(ef, candidates)
	// Filtered HNSW scans keep going until enough rows pass the filter.
	if _, err := tx.Exec(ctx, `SELECT set_config('hnsw.ef_search', $1, true), set_config('hnsw.iterative_scan', 'relaxed_order', true)`,
		strconv.Itoa(ef)); err != nil {
		return nil, fmt.Errorf("knowledge: search settings: %w", err)
	}
	d := strconv.Itoa(g.dim)
	vecPart := `SELECT NULL::bigint AS chunk_id, NULL::bigint AS r WHERE false`
	if mode != ModeText {
		vecPart = `SELECT chunk_id, row_number() OVER (ORDER BY dist, chunk_id) AS r FROM (
			SELECT v.chunk_id, v.embedding::halfvec(` + d + `) <=> @vec::halfvec(` + d + `) AS dist
			FROM chunk_vectors v
			WHERE v.dim = ` + d + ` AND v.embedder = @embedder AND v.kb_id = ANY(@kbs)
			ORDER BY dist LIMIT @n) nearest`
	}
	textPart := `SELECT NULL::bigint AS chunk_id, NULL::bigint AS r WHERE false`
	if mode != ModeVector {
		// Ranking is the costly part: rank at most maxRanked matches, so a
		// question made of a large corpus's commonest words stays fast.
		textPart = `SELECT id AS chunk_id, row_number() OVER (ORDER BY rank DESC, id) AS r FROM (
			SELECT m.id, ts_rank_cd(m.search, tq.q, 1) AS rank
			FROM (SELECT @tsquery::tsquery AS q) tq,
				LATERAL (SELECT c.id, c.search FROM chunks c
					WHERE c.kb_id = ANY(@kbs) AND c.search @@ tq.q LIMIT ` + strconv.Itoa(maxRanked) + `) m
			ORDER BY rank DESC LIMIT @n) matches`
	}
	tsq := ""
	if mode != ModeVector {
		var err error
		if tsq, err = s.textQuery(ctx, tx, q.Text); err != nil {
			return nil, err
		}
		if tsq == "" {
			// Only stop words: nothing for full text to match.
			textPart = `SELECT NULL::bigint AS chunk_id, NULL::bigint AS r WHERE false`
		}
	}
	var half any
	if vec != nil {
		half = pgvector.NewHalfVector(vec)
	}
	sql := `WITH vec AS (` + vecPart + `), txt AS (` + textPart + `),
		fused AS (
			SELECT chunk_id, sum(1.0 / (` + strconv.Itoa(rrfK) + ` + r)) AS score
			FROM (SELECT * FROM vec UNION ALL SELECT * FROM txt) ranked
			GROUP BY chunk_id ORDER BY score DESC, chunk_id LIMIT @k)
		SELECT c.id, c.document_id, c.kb_id, c.body, f.score, d.title, c.headings, c.start_char, c.end_char, c.page, d.source_url
		FROM fused f JOIN chunks c ON c.id = f.chunk_id JOIN documents d ON d.id = c.document_id
		ORDER BY f.score DESC, c.id`
	rows, err := tx.Query(ctx, sql, pgx.NamedArgs{
		"kbs": g.kbIDs, "embedder": g.embedder, "vec": half, "tsquery": tsq, "n": candidates, "k": q.K,
	})
	if err != nil {
		return nil, fmt.Errorf("knowledge: search: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Result, error) {
		var res Result
		var id int64
		err := r.Scan(&id, &res.DocumentID, &res.KBID, &res.Text, &res.Score, &res.Citation.Title, &res.Citation.Headings,
			&res.Citation.Start, &res.Citation.End, &res.Citation.Page, &res.Citation.URL)
		res.ChunkID = strconv.FormatInt(id, 10)
		res.Citation.DocumentID = res.DocumentID
		return res, err
	})
	if err != nil {
		return nil, fmt.Errorf("knowledge: search: %w", err)
	}
	return out, nil
}

// maxQueryLexemes bounds the terms of a full-text query (and so its pairs).
const maxQueryLexemes = 8

// textQuery turns a question into the full-text query: with three or more
// distinct terms, passages must hold at least two of them (any pair, OR-ed);
// with fewer, any one term. Requiring all terms (plainto_tsquery's AND) misses
// passages that answer in other words; any single term matches a large share
// of a big corpus on one common word and makes ranking them slow. It returns
// "" when the question has only stop words.
func (s *store) textQuery(ctx context.Context, tx pgx.Tx, text string) (string, error) {
	var lexemes []string
	if err := tx.QueryRow(ctx, `SELECT tsvector_to_array(to_tsvector('english', $1))`, text).Scan(&lexemes); err != nil {
		return "", fmt.Errorf("knowledge: full-text terms: %w", err)
	}
	return pairQuery(lexemes), nil
}

// pairQuery builds the tsquery text for textQuery from stemmed lexemes.
func pairQuery(lexemes []string) string {
	if len(lexemes) > maxQueryLexemes {
		// Keep the longest: they are the rarest, most telling terms.
		sort.SliceStable(lexemes, func(i, j int) bool { return len(lexemes[i]) > len(lexemes[j]) })
		lexemes = lexemes[:maxQueryLexemes]
	}
	quoted := make([]string, len(lexemes))
	for i, l := range lexemes {
		quoted[i] = "'" + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(l) + "'"
	}
	if len(quoted) < 3 {
		return strings.Join(quoted, " | ")
	}
	var pairs []string
	for i := range quoted {
		for j := i + 1; j < len(quoted); j++ {
			pairs = append(pairs, "("+quoted[i]+" & "+quoted[j]+")")
		}
	}
	return strings.Join(pairs, " | ")
}
