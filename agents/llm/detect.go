package llm

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// detectTimeout bounds DetectOllama: at startup a missing Ollama must not
// hold the server up.
const detectTimeout = 2 * time.Second

// DetectOllama asks an Ollama server which models it has (GET
// {baseURL}/api/tags) and returns their names in the server's order. An
// empty baseURL means DefaultOllamaURL; a nil client, a plain one. It gives
// up after two seconds. When nothing answers, the error matches
// ErrUnreachable.
func DetectOllama(ctx context.Context, baseURL string, client *http.Client) ([]string, error) {
	if baseURL == "" {
		baseURL = DefaultOllamaURL
	}
	baseURL = strings.TrimRight(baseURL, "/")
	if client == nil {
		client = &http.Client{}
	}
	ctx, cancel := context.WithTimeout(ctx, detectTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/api/tags", nil)
	if err != nil {
		return nil, fmt.Errorf("%w: base URL %q: %w", ErrConfig, baseURL, err)
	}
	e := &Error{Provider: Ollama, URL: baseURL}
	resp, err := client.Do(req)
	if err != nil {
		e.Kind, e.Message, e.Err = ErrUnreachable, describeConnErr(err), err
		if ctx.Err() != nil {
			e.Message = fmt.Sprintf("no answer within %s", detectTimeout)
		}
		return nil, e
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		e.Kind, e.Message, e.Err = ErrInterrupted, "reading the model list: "+err.Error(), err
		return nil, e
	}
	if resp.StatusCode != http.StatusOK {
		e.Status, e.Message = resp.StatusCode, errorMessage(body)
		switch {
		case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
			e.Kind = ErrAuth
		case resp.StatusCode >= 500:
			e.Kind = ErrUnavailable
		default:
			// A 404 here is usually some other server on Ollama's port.
			e.Kind = ErrBadRequest
		}
		return nil, e
	}
	var tags struct {
		Models []struct {
			Name  string `json:"name"`
			Model string `json:"model"`
		} `json:"models"`
	}
	if err := json.Unmarshal(body, &tags); err != nil {
		e.Kind, e.Status, e.Err = ErrInterrupted, resp.StatusCode, err
		e.Message = "the answer to /api/tags is not Ollama's model list: " + err.Error()
		return nil, e
	}
	names := make([]string, 0, len(tags.Models))
	for _, m := range tags.Models {
		name := m.Name
		if name == "" {
			name = m.Model
		}
		names = append(names, name)
	}
	return names, nil
}
