package listen

import "errors"

// Errors of this package.
var (
	// ErrConfig is a Config with a value out of range.
	ErrConfig = errors.New("listen: invalid config")
	// ErrNoModel is a Silero VAD model file that is missing or does not
	// load.
	ErrNoModel = errors.New("listen: VAD model unavailable (run scripts/setup-vad)")
)
