package api

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/timbre-ai/timbre/agents"
	"github.com/timbre-ai/timbre/knowledge"
)

type baseResponse struct {
	KnowledgeBase knowledge.Base `json:"knowledge_base"`
}

type documentResponse struct {
	Document knowledge.Document `json:"document"`
	// Duplicate is true when the same content was already in the knowledge
	// base: the existing document is returned and nothing new is stored.
	Duplicate bool `json:"duplicate,omitempty"`
}

// sseHeartbeat keeps idle event streams open through proxies.
const sseHeartbeat = 15 * time.Second

func (h *handlers) createBase(c echo.Context) error {
	var in knowledge.BaseInput
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	b, err := h.knowledge.Create(c.Request().Context(), callerID(c), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, baseResponse{KnowledgeBase: b})
}

func (h *handlers) listBases(c echo.Context) error {
	list, err := h.knowledge.Bases(c.Request().Context(), callerID(c))
	if err != nil {
		return err
	}
	if list == nil {
		list = []knowledge.Base{}
	}
	return c.JSON(http.StatusOK, map[string]any{"items": list})
}

func (h *handlers) getBase(c echo.Context) error {
	b, err := h.knowledge.Base(c.Request().Context(), callerID(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, baseResponse{KnowledgeBase: b})
}

func (h *handlers) updateBase(c echo.Context) error {
	var in knowledge.BaseInput
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	b, err := h.knowledge.Update(c.Request().Context(), callerID(c), c.Param("id"), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, baseResponse{KnowledgeBase: b})
}

func (h *handlers) deleteBase(c echo.Context) error {
	if err := h.knowledge.Delete(c.Request().Context(), callerID(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h *handlers) listEmbedders(c echo.Context) error {
	names := h.knowledge.Embedders()
	return c.JSON(http.StatusOK, map[string]any{"items": names, "default": names[0]})
}

// addDocument takes a multipart file or a JSON {url}.
func (h *handlers) addDocument(c echo.Context) error {
	ctx := c.Request().Context()
	mt, _, _ := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	if mt == echo.MIMEApplicationJSON {
		var in struct {
			URL *string `json:"url"`
		}
		if err := bindJSON(c, &in); err != nil {
			return err
		}
		if in.URL == nil || *in.URL == "" {
			return fieldError("url", "is required (or upload a file as multipart/form-data in the field 'file')")
		}
		d, err := h.knowledge.AddURL(ctx, callerID(c), c.Param("id"), *in.URL)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusAccepted, documentResponse{Document: d})
	}
	data, fh, err := readUploadFile(c, "file")
	if err != nil {
		return err
	}
	up := knowledge.Upload{Data: data, Filename: fh.Filename, ContentType: fh.Header.Get(echo.HeaderContentType)}
	d, created, err := h.knowledge.AddFile(ctx, callerID(c), c.Param("id"), up)
	if err != nil {
		return err
	}
	if !created {
		return c.JSON(http.StatusOK, documentResponse{Document: d, Duplicate: true})
	}
	return c.JSON(http.StatusAccepted, documentResponse{Document: d})
}

func (h *handlers) listDocuments(c echo.Context) error {
	list, err := h.knowledge.Documents(c.Request().Context(), callerID(c), c.Param("id"))
	if err != nil {
		return err
	}
	if list == nil {
		list = []knowledge.Document{}
	}
	return c.JSON(http.StatusOK, map[string]any{"items": list})
}

func (h *handlers) getDocument(c echo.Context) error {
	d, err := h.knowledge.Document(c.Request().Context(), callerID(c), c.Param("id"), c.Param("doc_id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, documentResponse{Document: d})
}

func (h *handlers) deleteDocument(c echo.Context) error {
	if err := h.knowledge.DeleteDocument(c.Request().Context(), callerID(c), c.Param("id"), c.Param("doc_id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h *handlers) searchBase(c echo.Context) error {
	q := knowledge.Query{Text: c.QueryParam("q"), Mode: c.QueryParam("mode")}
	var err error
	if q.K, err = intParam(c, "k", 1, knowledge.MaxK); err != nil {
		return err
	}
	if q.EfSearch, err = intParam(c, "ef_search", 1, 1000); err != nil {
		return err
	}
	res, err := h.knowledge.Search(c.Request().Context(), callerID(c), c.Param("id"), q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}

// intParam reads an optional integer query parameter; 0 when absent.
func intParam(c echo.Context, name string, lo, hi int) (int, error) {
	s := c.QueryParam(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, fieldError(name, fmt.Sprintf("must be a number from %d to %d", lo, hi))
	}
	return n, nil
}

// baseEvents streams a knowledge base's progress as server-sent events: a
// "document" event with the current state of each unfinished document, then
// "progress" events as workers go, until the client leaves.
func (h *handlers) baseEvents(c echo.Context) error {
	ctx := c.Request().Context()
	kbID := c.Param("id")
	if _, err := h.knowledge.Base(ctx, callerID(c), kbID); err != nil {
		return err
	}
	// Subscribe before the snapshot so nothing between them is missed.
	events, cancel := h.knowledge.Subscribe(kbID)
	defer cancel()
	docs, err := h.knowledge.Documents(ctx, callerID(c), kbID)
	if err != nil {
		return err
	}
	w := c.Response()
	w.Header().Set(echo.HeaderContentType, "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	for _, d := range docs {
		if d.Status == knowledge.StatusQueued || d.Status == knowledge.StatusProcessing {
			if err := writeSSE(w, "document", d); err != nil {
				return nil
			}
		}
	}
	w.Flush()
	heartbeat := time.NewTicker(sseHeartbeat)
	defer heartbeat.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-heartbeat.C:
			if _, err := w.Write([]byte(": heartbeat\n\n")); err != nil {
				return nil
			}
		case e := <-events:
			if err := writeSSE(w, "progress", e); err != nil {
				return nil
			}
		}
		w.Flush()
	}
}

// writeSSE writes one server-sent event with a JSON payload.
func writeSSE(w http.ResponseWriter, event string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, data)
	return err
}

// ownedAgent checks that the caller owns an agent.
func (h *handlers) ownedAgent(c echo.Context) (agents.Agent, error) {
	a, err := h.agents.Agent(c.Request().Context(), callerID(c), c.Param("id"))
	if err != nil {
		return agents.Agent{}, err
	}
	if a.OwnerID != callerID(c) {
		return agents.Agent{}, agents.ErrForbidden
	}
	return a, nil
}

func (h *handlers) attachBase(c echo.Context) error {
	a, err := h.ownedAgent(c)
	if err != nil {
		return err
	}
	if err := h.knowledge.Attach(c.Request().Context(), callerID(c), a.ID, c.Param("kb_id")); err != nil {
		return err
	}
	return h.agentBases(c)
}

func (h *handlers) detachBase(c echo.Context) error {
	a, err := h.ownedAgent(c)
	if err != nil {
		return err
	}
	if err := h.knowledge.Detach(c.Request().Context(), callerID(c), a.ID, c.Param("kb_id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// agentBases lists the knowledge bases attached to an agent the caller owns.
func (h *handlers) agentBases(c echo.Context) error {
	a, err := h.ownedAgent(c)
	if err != nil {
		return err
	}
	items, err := h.knowledge.AgentBases(c.Request().Context(), a.ID)
	if err != nil {
		return err
	}
	if items == nil {
		items = []knowledge.Base{}
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items})
}
