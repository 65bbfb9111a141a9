package accounts

import (
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// User is an account.
type User struct {
	ID          string    `json:"id"`
	Email       string    `json:"email"`
	DisplayName string    `json:"display_name"`
	CreatedAt   time.Time `json:"created_at"`
}

// Session is a signed-in browser. Token is the cookie value; it is known only
// when the session is created.
type Session struct {
	Token     string
	UserID    string
	CSRFToken string
	ExpiresAt time.Time
}

// SessionMeta describes the client a session is created for.
type SessionMeta struct {
	UserAgent string
	IP        string
}

// APIKey is a developer key. The secret itself is never stored.
type APIKey struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

// SignupInput is what a new account needs.
type SignupInput struct {
	Email       string `json:"email"`
	Password    string `json:"password"`
	DisplayName string `json:"display_name"`
}

// Limits on account fields.
const (
	MinPasswordLen    = 8
	MaxPasswordLen    = 256
	MaxEmailLen       = 254
	MaxDisplayNameLen = 80
	MaxKeyNameLen     = 100
)

// normalize trims the input and checks every field, returning a *FieldError
// for the first one that is wrong.
func (in *SignupInput) normalize() error {
	email, err := normalizeEmail(in.Email)
	if err != nil {
		return err
	}
	in.Email = email
	in.DisplayName = strings.TrimSpace(in.DisplayName)
	if err := checkText("display_name", in.DisplayName, 1, MaxDisplayNameLen); err != nil {
		return err
	}
	n := utf8.RuneCountInString(in.Password)
	switch {
	case n < MinPasswordLen:
		return &FieldError{Field: "password", Message: "must be at least 8 characters"}
	case n > MaxPasswordLen:
		return &FieldError{Field: "password", Message: "must be at most 256 characters"}
	case !utf8.ValidString(in.Password):
		return &FieldError{Field: "password", Message: "must be valid UTF-8"}
	}
	return nil
}

func normalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", &FieldError{Field: "email", Message: "is required"}
	}
	if len(s) > MaxEmailLen {
		return "", &FieldError{Field: "email", Message: "is too long"}
	}
	addr, err := mail.ParseAddress(s)
	// Reject display-name forms such as "Bob <bob@x>": only a bare address.
	if err != nil || addr.Address != s || !strings.Contains(s, "@") {
		return "", &FieldError{Field: "email", Message: "is not a valid email address"}
	}
	return s, nil
}

// checkText validates a single-line, human-entered string.
func checkText(field, s string, minLen, maxLen int) error {
	n := utf8.RuneCountInString(s)
	if !utf8.ValidString(s) {
		return &FieldError{Field: field, Message: "must be valid UTF-8"}
	}
	if n < minLen {
		return &FieldError{Field: field, Message: "is required"}
	}
	if n > maxLen {
		return &FieldError{Field: field, Message: "is too long"}
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return &FieldError{Field: field, Message: "must not contain control characters"}
		}
	}
	return nil
}
