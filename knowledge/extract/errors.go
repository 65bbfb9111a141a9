package extract

import "errors"

var (
	// ErrUnsupported is returned for content that is not text, Markdown, HTML
	// or PDF: images, archives, office files, audio, arbitrary binary.
	ErrUnsupported = errors.New("extract: unsupported document type")
	// ErrEmpty is returned for zero bytes, or for a document that holds no
	// text once extracted (a scanned PDF, an HTML page of scripts).
	ErrEmpty = errors.New("extract: document has no text")
	// ErrEncrypted is returned for a PDF that needs a password to open, or
	// that is encrypted with a method the PDF reader does not implement.
	ErrEncrypted = errors.New("extract: document is encrypted")
	// ErrCorrupt is returned for a damaged document: a truncated PDF, a broken
	// cross-reference table, syntax nested absurdly deep.
	ErrCorrupt = errors.New("extract: document is damaged")
	// ErrTooLarge is returned when a document would expand past MaxTextBytes
	// of text, or a PDF past its decompression budget.
	ErrTooLarge = errors.New("extract: document is too large to extract")
)
