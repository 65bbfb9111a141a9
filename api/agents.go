package api

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/timbre-ai/timbre/agents"
)

type agentResponse struct {
	Agent agents.Agent `json:"agent"`
}

func (h *handlers) createAgent(c echo.Context) error {
	body, err := readJSON(c)
	if err != nil {
		return err
	}
	a, err := h.agents.Create(c.Request().Context(), callerID(c), body)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, agentResponse{Agent: a})
}

func (h *handlers) listAgents(c echo.Context) error {
	p := agents.ListParams{
		Scope:  agents.Scope(c.QueryParam("scope")),
		Query:  c.QueryParam("q"),
		Cursor: c.QueryParam("cursor"),
	}
	if p.Scope == "" {
		p.Scope = agents.ScopeMine
		if callerID(c) == "" {
			p.Scope = agents.ScopePublic
		}
	}
	if p.Scope == agents.ScopeMine && callerID(c) == "" {
		return newError(http.StatusUnauthorized, "unauthenticated", "Sign in to list your agents, or use scope=public.")
	}
	if l := c.QueryParam("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 100 {
			return fieldError("limit", "must be a number from 1 to 100")
		}
		p.Limit = n
	}
	page, err := h.agents.ListJSON(c.Request().Context(), callerID(c), p)
	if err != nil {
		return err
	}
	return c.JSONBlob(http.StatusOK, page)
}

func (h *handlers) getAgent(c echo.Context) error {
	a, err := h.agents.AgentJSON(c.Request().Context(), callerID(c), c.Param("id"))
	if err != nil {
		return err
	}
	body := make([]byte, 0, len(a)+10)
	body = append(append(append(body, `{"agent":`...), a...), '}')
	return c.JSONBlob(http.StatusOK, body)
}

func (h *handlers) updateAgent(c echo.Context) error {
	body, err := readJSON(c)
	if err != nil {
		return err
	}
	a, err := h.agents.Update(c.Request().Context(), callerID(c), c.Param("id"), body)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, agentResponse{Agent: a})
}

func (h *handlers) deleteAgent(c echo.Context) error {
	if err := h.agents.Delete(c.Request().Context(), callerID(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h *handlers) publishAgent(c echo.Context) error {
	v, err := h.agents.Publish(c.Request().Context(), callerID(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]any{"version": v})
}

func (h *handlers) listVersions(c echo.Context) error {
	vs, err := h.agents.Versions(c.Request().Context(), callerID(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"items": vs})
}

func (h *handlers) getVersion(c echo.Context) error {
	n, err := strconv.Atoi(c.Param("number"))
	if err != nil || n < 1 {
		return fieldError("number", "must be a version number (1, 2, …)")
	}
	card, err := h.agents.VersionCard(c.Request().Context(), callerID(c), c.Param("id"), n)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"number": n, "card": card})
}

func (h *handlers) importAgent(c echo.Context) error {
	data, err := readUpload(c, "file")
	if err != nil {
		return err
	}
	a, err := h.agents.Import(c.Request().Context(), callerID(c), data)
	var fe *agents.FieldError
	if errors.As(err, &fe) {
		// The upload itself was well formed; the card inside it is unusable.
		return &Error{Status: http.StatusUnprocessableEntity, Code: "invalid_card",
			Message: "The card is not valid: " + fe.Field + " " + fe.Message, Field: fe.Field, Err: err}
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, agentResponse{Agent: a})
}

func (h *handlers) exportAgent(c echo.Context) error {
	out, err := h.agents.Export(c.Request().Context(), callerID(c), c.Param("id"), c.QueryParam("format"))
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderContentDisposition, `attachment; filename="`+out.Filename+`"`)
	return c.Blob(http.StatusOK, out.ContentType, out.Data)
}

func (h *handlers) putAvatar(c echo.Context) error {
	data, err := readUpload(c, "file")
	if err != nil {
		return err
	}
	a, err := h.agents.SetAvatar(c.Request().Context(), callerID(c), c.Param("id"), data)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, agentResponse{Agent: a})
}

func (h *handlers) getAvatar(c echo.Context) error {
	png, err := h.agents.Avatar(c.Request().Context(), callerID(c), c.Param("id"))
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "private, max-age=3600")
	return c.Blob(http.StatusOK, "image/png", png)
}
