-- pgvector powers knowledge search and voice similarity.
CREATE EXTENSION IF NOT EXISTS vector;
