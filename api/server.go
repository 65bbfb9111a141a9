package api

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/timbre-ai/timbre/accounts"
	"github.com/timbre-ai/timbre/agents"
	"github.com/timbre-ai/timbre/agents/chat"
	"github.com/timbre-ai/timbre/knowledge"
	"github.com/timbre-ai/timbre/voice"
	"github.com/timbre-ai/timbre/voice/asr"
	"github.com/timbre-ai/timbre/voice/talk"
)

// Config tunes the HTTP server.
type Config struct {
	// MaxBodyBytes limits JSON request bodies.
	MaxBodyBytes int64
	// MaxUploadBytes limits card imports and other file uploads.
	MaxUploadBytes int64
	// AuthRatePerMinute limits signup and login attempts per client IP.
	AuthRatePerMinute int
	// SecureCookies marks session cookies Secure (serve over HTTPS).
	SecureCookies bool
	// Version is reported by /healthz.
	Version string
}

// Pinger is a dependency /readyz checks.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Params are what the server is built from.
type Params struct {
	Config   Config
	Logger   *slog.Logger
	Accounts *accounts.Service
	Agents   *agents.Service
	// Knowledge serves knowledge bases, documents and search.
	Knowledge *knowledge.Service
	// Chat runs conversations and the OpenAI-compatible completions.
	Chat *chat.Service
	// Voice serves the voice catalog and speech.
	Voice *voice.Service
	// Talk holds real-time voice sessions; nil answers 503.
	Talk *talk.Manager
	// ASR transcribes /v1/audio/transcriptions; nil answers 503.
	ASR asr.Recognizer
	// Ready lists the dependencies /readyz checks, by name.
	Ready map[string]Pinger
	// Metrics receives the HTTP metrics; /metrics serves it.
	Metrics *prometheus.Registry
	// UI serves the web app at / when non-nil.
	UI http.Handler
}

// Server is Timbre's HTTP API.
type Server struct {
	echo   *echo.Echo
	routes []route
}

// New builds the server and registers every route of the route table.
func New(p Params) *Server {
	if p.Config.MaxBodyBytes <= 0 {
		p.Config.MaxBodyBytes = 1 << 20
	}
	if p.Config.MaxUploadBytes <= 0 {
		p.Config.MaxUploadBytes = 64 << 20
	}
	if p.Config.AuthRatePerMinute <= 0 {
		p.Config.AuthRatePerMinute = 20
	}
	if p.Metrics == nil {
		p.Metrics = prometheus.NewRegistry()
	}
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = errorHandler(p.Logger)
	// The peer address, not X-Forwarded-For: a client must not be able to
	// pick its own rate-limit bucket.
	e.IPExtractor = echo.ExtractIPDirect()

	h := &handlers{
		cfg:            p.Config,
		logger:         p.Logger,
		accounts:       p.Accounts,
		agents:         p.Agents,
		knowledge:      p.Knowledge,
		chat:           p.Chat,
		voice:          p.Voice,
		talk:           p.Talk,
		asr:            p.ASR,
		ready:          p.Ready,
		limiter:        newIPLimiter(p.Config.AuthRatePerMinute, time.Minute),
		metricsHandler: promhttp.HandlerFor(p.Metrics, promhttp.HandlerOpts{}),
		ui:             p.UI,
	}
	e.Use(middleware.RequestID())
	e.Use(newMetrics(p.Metrics).middleware)
	e.Use(requestLogger(p.Logger))
	e.Use(recoverer(p.Logger))

	s := &Server{echo: e, routes: h.routeTable()}
	for _, r := range s.routes {
		mw := []echo.MiddlewareFunc{middleware.BodyLimit(bodyLimit(r, p.Config))}
		// Only routes that care who is calling pay for the session or key lookup.
		switch r.auth {
		case authUser:
			mw = append(mw, h.identify, h.requireUser)
		case authKey:
			mw = append(mw, h.identify, h.requireKey)
		case authOptional:
			mw = append(mw, h.identify, h.csrfIfSession)
		}
		e.Add(r.method, r.path, r.handler, mw...)
	}
	if p.UI != nil {
		ui := echo.WrapHandler(p.UI)
		// The web app answers what no route does. A "not found" route, not a
		// GET /* route: that would turn an unknown API path under another
		// method into a 405 (OpenAI's clients expect 404 there).
		e.RouteNotFound("/*", func(c echo.Context) error {
			// A mistyped API path is a JSON 404, not the web app's page.
			r := c.Request()
			if strings.HasPrefix(r.URL.Path, "/api/") || strings.HasPrefix(r.URL.Path, "/v1/") ||
				(r.Method != http.MethodGet && r.Method != http.MethodHead) {
				return echo.ErrNotFound
			}
			return ui(c)
		})
	}
	h.openapi = openAPIDocument(s.routes, p.Config.Version)
	return s
}

func bodyLimit(r route, cfg Config) string {
	n := cfg.MaxBodyBytes
	if r.upload {
		n = cfg.MaxUploadBytes
	}
	return formatBytes(n)
}

// formatBytes writes n in the unit syntax middleware.BodyLimit parses.
func formatBytes(n int64) string {
	switch {
	case n%(1<<20) == 0:
		return itoa(n>>20) + "M"
	case n%(1<<10) == 0:
		return itoa(n>>10) + "K"
	}
	return itoa(n) + "B"
}

// ServeHTTP makes the server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.echo.ServeHTTP(w, r) }

// Routes lists the registered method and path pairs (Echo syntax).
func (s *Server) Routes() []*echo.Route { return s.echo.Routes() }
