package voice

import "errors"

// Errors of the voice domain.
var (
	// ErrNotFound is a cloned voice that does not exist or is not the
	// caller's.
	ErrNotFound = errors.New("voice: voice not found")
	// ErrConsentRequired is a clone request without the speaker's consent.
	ErrConsentRequired = errors.New("voice: cloning needs the speaker's consent")
	// ErrCloningUnavailable is a server without the VAD model or a
	// database for cloned voices.
	ErrCloningUnavailable = errors.New("voice: cloning is not available on this server (run `make setup` for the VAD model)")
)
