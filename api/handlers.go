package api

import (
	"context"
	"log/slog"
	"net/http"
	"sort"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/timbre-ai/timbre/accounts"
	"github.com/timbre-ai/timbre/agents"
	"github.com/timbre-ai/timbre/agents/chat"
	"github.com/timbre-ai/timbre/knowledge"
	"github.com/timbre-ai/timbre/voice"
	"github.com/timbre-ai/timbre/voice/asr"
	"github.com/timbre-ai/timbre/voice/talk"
)

// handlers holds what the route handlers use.
type handlers struct {
	cfg            Config
	logger         *slog.Logger
	accounts       *accounts.Service
	agents         *agents.Service
	knowledge      *knowledge.Service
	chat           *chat.Service
	voice          *voice.Service
	talk           *talk.Manager
	asr            asr.Recognizer
	ready          map[string]Pinger
	limiter        *ipLimiter
	metricsHandler http.Handler
	ui             http.Handler
	openapi        []byte
}

func (h *handlers) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok", "version": h.cfg.Version})
}

// readyz checks every dependency with a short deadline and reports each.
func (h *handlers) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	names := make([]string, 0, len(h.ready))
	for name := range h.ready {
		names = append(names, name)
	}
	sort.Strings(names)
	checks := map[string]string{}
	status := http.StatusOK
	for _, name := range names {
		if err := h.ready[name].Ping(ctx); err != nil {
			h.logger.Warn("readiness check failed", "dependency", name, "error", err)
			checks[name] = "unavailable"
			status = http.StatusServiceUnavailable
		} else {
			checks[name] = "ok"
		}
	}
	state := "ready"
	if status != http.StatusOK {
		state = "not_ready"
	}
	return c.JSON(status, map[string]any{"status": state, "checks": checks})
}

func (h *handlers) metrics(c echo.Context) error {
	h.metricsHandler.ServeHTTP(c.Response(), c.Request())
	return nil
}

func (h *handlers) openAPI(c echo.Context) error {
	return c.JSONBlob(http.StatusOK, h.openapi)
}
