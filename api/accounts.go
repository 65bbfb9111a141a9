package api

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/timbre-ai/timbre/accounts"
	"github.com/timbre-ai/timbre/db"
)

type userResponse struct {
	User accounts.User `json:"user"`
}

func meta(c echo.Context) accounts.SessionMeta {
	return accounts.SessionMeta{UserAgent: c.Request().UserAgent(), IP: c.RealIP()}
}

func (h *handlers) signup(c echo.Context) error {
	if err := h.rateLimited(c); err != nil {
		return err
	}
	var in accounts.SignupInput
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	user, sess, err := h.accounts.Signup(c.Request().Context(), in, meta(c))
	if err != nil {
		return err
	}
	h.setSessionCookie(c, sess)
	return c.JSON(http.StatusCreated, userResponse{User: user})
}

func (h *handlers) login(c echo.Context) error {
	if err := h.rateLimited(c); err != nil {
		return err
	}
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	if in.Email == "" {
		return fieldError("email", "is required")
	}
	if in.Password == "" {
		return fieldError("password", "is required")
	}
	user, sess, err := h.accounts.Login(c.Request().Context(), in.Email, in.Password, meta(c))
	if err != nil {
		return err
	}
	h.setSessionCookie(c, sess)
	return c.JSON(http.StatusOK, userResponse{User: user})
}

func (h *handlers) logout(c echo.Context) error {
	if ck, err := c.Cookie(sessionCookie); err == nil && ck.Value != "" {
		if err := h.accounts.Logout(c.Request().Context(), ck.Value); err != nil {
			return err
		}
	}
	h.clearSessionCookie(c)
	return c.NoContent(http.StatusNoContent)
}

func (h *handlers) logoutEverywhere(c echo.Context) error {
	n, err := h.accounts.LogoutEverywhere(c.Request().Context(), callerID(c))
	if err != nil {
		return err
	}
	h.clearSessionCookie(c)
	return c.JSON(http.StatusOK, map[string]int64{"revoked_sessions": n})
}

func (h *handlers) me(c echo.Context) error {
	id := identityOf(c)
	resp := map[string]any{"user": id.user}
	if id.session != nil {
		resp["csrf_token"] = id.session.CSRFToken
	}
	return c.JSON(http.StatusOK, resp)
}

func (h *handlers) createKey(c echo.Context) error {
	var in struct {
		Name string `json:"name"`
	}
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	k, secret, err := h.accounts.CreateKey(c.Request().Context(), callerID(c), in.Name)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]any{
		"id": k.ID, "name": k.Name, "prefix": k.Prefix, "created_at": k.CreatedAt, "key": secret,
	})
}

func (h *handlers) listKeys(c echo.Context) error {
	keys, err := h.accounts.Keys(c.Request().Context(), callerID(c))
	if err != nil {
		return err
	}
	if keys == nil {
		keys = []accounts.APIKey{}
	}
	return c.JSON(http.StatusOK, map[string]any{"items": keys})
}

func (h *handlers) deleteKey(c echo.Context) error {
	id := c.Param("id")
	if !db.ValidID("key", id) {
		return newError(http.StatusNotFound, "key_not_found", "No API key with this id.")
	}
	if err := h.accounts.RevokeKey(c.Request().Context(), callerID(c), id); err != nil {
		if errors.Is(err, accounts.ErrNotFound) {
			return newError(http.StatusNotFound, "key_not_found", "No API key with this id.")
		}
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
