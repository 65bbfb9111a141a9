package agents

import "errors"

var (
	// ErrNotFound is returned when an agent (or one of its versions or
	// assets) does not exist or is not visible to the caller.
	ErrNotFound = errors.New("agents: agent not found")
	// ErrForbidden is returned when the caller may see an agent but may not
	// perform the requested action on it.
	ErrForbidden = errors.New("agents: forbidden")

	// ErrInvalidCard is returned for a character card that is malformed or
	// breaks a field rule. Field-level problems come as a *FieldError, which
	// unwraps to ErrInvalidCard.
	ErrInvalidCard = errors.New("agents: invalid character card")
	// ErrUnsupportedSpec is returned for card JSON whose spec is neither
	// chara_card_v2 nor chara_card_v3 (nor a recognisable V1 card).
	ErrUnsupportedSpec = errors.New("agents: unsupported character card spec")
	// ErrUnsupportedFormat is returned for a file that is not a card JSON, a
	// PNG card or a CHARX archive, and for an avatar that is not PNG, JPEG or
	// WebP.
	ErrUnsupportedFormat = errors.New("agents: unsupported file format")
	// ErrNoCardChunk is returned for a well-formed PNG that carries no
	// chara or ccv3 text chunk.
	ErrNoCardChunk = errors.New("agents: png has no character card chunk")
	// ErrCorruptImage is returned for an image that is truncated, fails a
	// checksum or cannot be decoded.
	ErrCorruptImage = errors.New("agents: corrupt image")
	// ErrImageTooLarge is returned for an image whose pixel dimensions exceed
	// MaxAvatarSide.
	ErrImageTooLarge = errors.New("agents: image dimensions too large")
	// ErrUnsafeArchive is returned for a CHARX archive with a dangerous entry
	// name, too many entries, or entries that inflate past the limits.
	ErrUnsafeArchive = errors.New("agents: unsafe archive")
	// ErrTooLarge is returned for input bigger than the limit for its kind
	// (MaxCardJSONBytes, MaxCardPNGBytes, MaxCHARXBytes, MaxAvatarBytes,
	// MaxImportBytes).
	ErrTooLarge = errors.New("agents: input too large")
)

// FieldError names the field of a card (or of an agent) that is invalid and
// says why, in words a client can show next to the field. Field is a JSON
// path such as "name", "tags[3]" or "character_book.entries[2].position".
// It unwraps to ErrInvalidCard.
type FieldError struct {
	Field   string
	Message string
}

// Error returns "<field> <message>", e.g. "name is required".
func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + " " + e.Message
}

// Unwrap returns ErrInvalidCard so that errors.Is(err, ErrInvalidCard) holds
// for every field error.
func (e *FieldError) Unwrap() error { return ErrInvalidCard }
