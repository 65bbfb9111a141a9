package clone

import "errors"

// Errors of this package. A clip that is not good enough to clone from is a
// *RejectError, not one of these.
var (
	// ErrNoModel is a VAD model file that is missing or does not load.
	ErrNoModel = errors.New("clone: VAD model unavailable (run scripts/setup-vad)")
	// ErrClosed is a VAD used after Close.
	ErrClosed = errors.New("clone: VAD closed")
	// ErrNoVoice is audio with too little voiced speech to measure a profile.
	ErrNoVoice = errors.New("clone: too little voiced speech to measure")
	// ErrProfile is a Profile that is incomplete, not finite, or of another
	// ProfileVersion.
	ErrProfile = errors.New("clone: invalid profile")
	// ErrInput is audio that is not finite (NaN or ±Inf samples).
	ErrInput = errors.New("clone: invalid audio")
)
