package retrieval

import "errors"

var (
	// ErrMissingDocument is returned by Documents when a corpus file is not
	// under the given Go root.
	ErrMissingDocument = errors.New("retrieval: corpus document missing")
	// ErrInvalidQuestion is returned by Load and Parse for a question set
	// that is malformed or breaks a rule of the format (see Question).
	ErrInvalidQuestion = errors.New("retrieval: invalid question")
	// ErrEvidenceNotFound is returned by Targets when a question's evidence
	// cannot be located in the extracted text of its document.
	ErrEvidenceNotFound = errors.New("retrieval: evidence not found in extracted text")
)
