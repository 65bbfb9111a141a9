// Package api is Timbre's HTTP server: the one route table (routes.go), the
// handlers, authentication (session cookies with CSRF tokens, API keys), the
// mapping of domain errors to HTTP, metrics and the OpenAPI document. It
// imports the domain packages; they never import it.
package api
