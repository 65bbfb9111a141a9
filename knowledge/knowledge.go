package knowledge

import "time"

// Document statuses.
const (
	StatusQueued     = "queued"
	StatusProcessing = "processing"
	StatusReady      = "ready"
	StatusFailed     = "failed"
)

// Base is a knowledge base: a creator's set of documents, attachable to any
// of their agents.
type Base struct {
	ID          string `json:"id"`
	OwnerID     string `json:"owner_id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	// Embedder names the model whose vectors search uses; Dim is their length.
	Embedder string `json:"embedder"`
	Dim      int    `json:"embed_dim"`
	// NextEmbedder is set while the base is being re-embedded.
	NextEmbedder string    `json:"next_embedder,omitempty"`
	Documents    int       `json:"documents"`
	Chunks       int       `json:"chunks"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// Document is one file or web page in a knowledge base.
type Document struct {
	ID          string    `json:"id"`
	KBID        string    `json:"knowledge_base_id"`
	Title       string    `json:"title"`
	Filename    string    `json:"filename,omitempty"`
	URL         string    `json:"url,omitempty"`
	MediaType   string    `json:"media_type,omitempty"`
	ContentHash string    `json:"content_hash,omitempty"`
	SizeBytes   int64     `json:"size_bytes"`
	Status      string    `json:"status"`
	Error       string    `json:"error"`
	Chunks      int       `json:"chunks"`
	Attempts    int       `json:"attempts"`
	DuplicateOf string    `json:"duplicate_of,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Citation says where a passage comes from.
type Citation struct {
	DocumentID string   `json:"document_id"`
	Title      string   `json:"title"`
	Headings   []string `json:"heading_path"`
	// Start and End are offsets in characters (Unicode code points) of the
	// document's extracted text.
	Start int    `json:"start"`
	End   int    `json:"end"`
	Page  int    `json:"page,omitempty"`
	URL   string `json:"url,omitempty"`
}

// Result is one passage found by Search.
type Result struct {
	ChunkID    string   `json:"chunk_id"`
	DocumentID string   `json:"document_id"`
	KBID       string   `json:"knowledge_base_id"`
	Text       string   `json:"text"`
	Score      float64  `json:"score"`
	Citation   Citation `json:"citation"`
}

// Event reports a document's progress to subscribers of its knowledge base.
type Event struct {
	KBID        string `json:"knowledge_base_id"`
	DocumentID  string `json:"document_id"`
	Status      string `json:"status"`
	Error       string `json:"error,omitempty"`
	ChunksDone  int    `json:"chunks_done"`
	ChunksTotal int    `json:"chunks_total"`
	// Stage is what the worker is doing: fetching, extracting, chunking,
	// embedding, writing, re-embedding.
	Stage string `json:"stage,omitempty"`
}
