// Package accounts owns users, password hashes, server-side sessions with
// their CSRF tokens, and API keys. It may import db but never api.
package accounts
