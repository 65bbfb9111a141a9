// Package chunk splits the Markdown-like text that the knowledge extractor
// produces into chunks small enough to embed and to put in a prompt, along
// its structure: a chunk never spans two sections, carries the path of
// headings above it, and keeps paragraphs, lists, tables and code blocks
// whole whenever they fit.
//
// # Input
//
// Headings are lines "# " to "###### " (up to three spaces before); a
// heading of level n ends the sections of level n and deeper. Blocks are
// separated by blank lines: paragraphs, lists (lines starting "- ", "* ",
// "+ ", "1. " or "1) "), tables (lines with " | " or starting with "|") and
// fenced code blocks (``` or ~~~ up to the matching closing fence, or to the
// end of the text; a "#" line inside is not a heading). A list or a table
// also ends a paragraph that it follows without a blank line. "\r\n" line
// ends are fine: '\r' is whitespace.
//
// # Chunks
//
// [Split] packs the blocks of a section greedily into chunks of at most
// Options.MaxTokens tokens ([tokens.Count]). A block that fits in a chunk is
// never split. A block over the limit is split: a paragraph at the end of a
// sentence, else at a line break; a list, table or code block at a line
// break, else at the end of a sentence; else at a word boundary; and a word
// longer than a whole chunk (a 10 MB line without spaces) at a rune boundary.
// A split point is never taken from the first half of the room, so pieces
// stay near the limit.
//
// Each chunk after the first of a section starts about Options.Overlap
// tokens before the end of the previous one, at a word boundary, so that a
// sentence cut at a boundary is whole in one of the two, unless the overlap
// would keep the next block from fitting whole. Chunk text is exactly the
// source between its offsets, with whitespace trimmed from both ends; offsets
// count runes. Split is linear in the length of the text and deterministic.
//
// # Imports
//
// chunk imports the standard library and the tokens package.
package chunk
