package chunk

import "errors"

// ErrInvalidOptions is returned by Split for options it cannot honour: a
// negative MaxTokens, or an Overlap that is negative (other than NoOverlap)
// or not below half of MaxTokens.
var ErrInvalidOptions = errors.New("chunk: invalid options")
