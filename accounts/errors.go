package accounts

import "errors"

// ErrEmailTaken means another account already uses the email address.
var ErrEmailTaken = errors.New("an account with this email already exists")

// ErrInvalidCredentials means the email or password is wrong. It does not say
// which, so that accounts cannot be discovered by probing.
var ErrInvalidCredentials = errors.New("email or password is incorrect")

// ErrUnauthenticated means a session or API key is missing, expired, revoked
// or unknown.
var ErrUnauthenticated = errors.New("not signed in or credentials revoked")

// ErrNotFound means the requested key or user does not exist for the caller.
var ErrNotFound = errors.New("not found")

// ErrInvalidInput wraps a *FieldError for input that fails validation.
var ErrInvalidInput = errors.New("invalid input")

// FieldError names the input field that failed validation.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Unwrap makes errors.Is(err, ErrInvalidInput) true.
func (e *FieldError) Unwrap() error { return ErrInvalidInput }
