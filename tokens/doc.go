// Package tokens estimates how many tokens a text costs a language model,
// without the model's vocabulary: [Count] approximates the count of OpenAI's
// cl100k_base byte-pair tokenizer, and [Truncate] cuts a text to a token
// budget at a word boundary. The knowledge chunker sizes chunks with it and
// the chat engine budgets context windows with it.
//
// # How it estimates
//
// Count splits text exactly where cl100k's pre-tokenizer regex does (words
// with their leading space, runs of one to three digits, runs of symbols,
// runs of whitespace, English contractions). cl100k never merges across
// those pieces, so the count of a text is the sum of the counts of its
// pieces; Count replaces each piece's real count with a cost from a few
// features: for an ASCII word, its case segments ("HTTPServer" is HTTP +
// Server) by shape, position and length; for other letters, their script;
// for symbols, how many, how often they change and their UTF-8 length. The
// costs were fitted on testdata/cl100k.jsonl (see its README).
//
// # Measured error
//
// Count against the real cl100k count (gpt-tokenizer 4.0.0) on the
// calibration corpus, per category: the error of the total, then the worst
// single sample (samples are 1–3 KB):
//
//	English prose (Go docs)         +0.4%   worst ±7%
//	Go source                       +0.0%   worst ±8%
//	Python, C, TypeScript           +1.9%, −0.6%, +1.4%   worst ±8%
//	JSON                            +0.8%   worst ±10%
//	numbers, URLs                   −1.9%, −2.1%   worst ±6%
//	Russian, Greek, Japanese, Korean  within ±1%   worst ±5%
//	Chinese                         +2.5%   worst ±22% (common simplified
//	                                words merge into one token, traditional
//	                                characters often take two)
//	emoji chat                      −1.0%   worst ±3%
//	German, French, Spanish         −11%    worst ±20% (costed like English words)
//	Arabic, Hebrew, Hindi, Thai, …  −7%     worst ±31%
//
// On text it was not fitted on (95 samples: Python reference manual prose,
// READMEs from /usr/share/doc, Python, C, JavaScript and third-party Go
// files) the totals were within ±2.6% for prose and +2.3% to +4.8% for code,
// with single code samples (generated tables, macro-heavy headers) off by up
// to 21%. Short strings are less exact than long ones: a 10-token line can
// be off by two or three. When a budget must never be exceeded, keep a
// margin of about 10%.
//
// # Imports
//
// tokens imports only the standard library.
package tokens
