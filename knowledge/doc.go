// Package knowledge owns knowledge bases: creators' documents, their
// ingestion (fetch, extract, chunk, embed) as durable jobs on the bus, and
// hybrid search (pgvector HNSW + PostgreSQL full text, fused by reciprocal
// rank) with citations. Its subpackages do the pure work: extract, chunk,
// embed and fetch. It imports db and bus; it never imports api.
package knowledge
