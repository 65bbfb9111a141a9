// Package retrieval is the labelled evaluation set for Timbre's knowledge
// search and the arithmetic that scores a search run against it.
//
// The corpus is the documentation shipped with every Go distribution
// ($(go env GOROOT)/doc: the language specification, the memory model, the
// assembler guide and the GODEBUG history), so the set needs no download and
// is the same on every machine with the same Go release. questions.json holds
// the questions; each names the document that answers it and quotes, as
// evidence, the sentence or two that does.
//
// A run goes: Documents gives the corpus files; the search service extracts
// their text and indexes it; Targets finds each question's evidence in that
// extracted text (Locate); the service answers each question with ranked
// passages (Hit); ScoreTargets (or Score) turns those into recall@5,
// recall@10 and MRR@10.
//
// The package imports only the standard library; its tests also use
// golang.org/x/net/html, to check the evidence against the documents
// independently of Timbre's own extractor.
package retrieval
