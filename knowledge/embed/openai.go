package embed

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
)

// openAIMaxBatch is the most inputs sent in one request; OpenAI takes 2048,
// but smaller OpenAI-compatible servers choke long before that.
const openAIMaxBatch = 256

// OpenAI embeds through an OpenAI-compatible POST {BaseURL}/embeddings
// (OpenAI, vLLM, llama.cpp server, LM Studio, …). It is safe for concurrent
// use and does not retry: an *UnavailableError tells the caller when.
type OpenAI struct {
	remote
}

func newOpenAI(cfg Config, base *url.URL) *OpenAI {
	return &OpenAI{remote: newRemote(ProviderOpenAI, cfg, base)}
}

// MaxBatch returns 256.
func (*OpenAI) MaxBatch() int { return openAIMaxBatch }

// openAIRequest is the body of POST /embeddings.
type openAIRequest struct {
	Model          string   `json:"model"`
	Input          []string `json:"input"`
	EncodingFormat string   `json:"encoding_format"`
}

// openAIResponse is the part of the answer used: the vectors and their
// input positions.
type openAIResponse struct {
	Data []struct {
		Index     *int            `json:"index"`
		Embedding json.RawMessage `json:"embedding"`
	} `json:"data"`
}

// Embed sends texts in one request and returns their unit-length vectors in
// input order.
func (o *OpenAI) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if err := checkBatch(o.Name(), len(texts), openAIMaxBatch); err != nil {
		return nil, err
	}
	if len(texts) == 0 {
		return [][]float32{}, nil
	}
	rep, err := o.post(ctx, "embeddings", openAIRequest{Model: o.model, Input: texts, EncodingFormat: "float"})
	if err != nil {
		return nil, err
	}
	if rep.status/100 != 2 {
		return nil, o.statusError(rep, fmt.Sprintf("model %q not found, or %s is not the base of an OpenAI-compatible API (usually ending in /v1)", o.model, o.base.Redacted()))
	}
	var resp openAIResponse
	if err := o.decodeJSON(rep.body, &resp); err != nil {
		return nil, err
	}
	if resp.Data == nil {
		return nil, fmt.Errorf("embed: openai: answer has no \"data\": %w", ErrBadResponse)
	}
	if len(resp.Data) != len(texts) {
		return nil, fmt.Errorf("embed: openai: %d vectors for %d texts: %w", len(resp.Data), len(texts), ErrBadResponse)
	}
	out := make([][]float32, len(texts))
	for pos, d := range resp.Data {
		i := pos
		if d.Index != nil {
			i = *d.Index
		}
		if i < 0 || i >= len(texts) || out[i] != nil {
			return nil, fmt.Errorf("embed: openai: vector index %d out of range or repeated: %w", i, ErrBadResponse)
		}
		v, err := decodeEmbedding(d.Embedding)
		if err != nil {
			return nil, fmt.Errorf("embed: openai: vector %d: %w: %w", i, err, ErrBadResponse)
		}
		out[i] = v
	}
	return o.vectors(out, len(texts))
}

// decodeEmbedding reads an embedding given as a JSON array of numbers or,
// as some servers answer whatever was asked, as base64 of little-endian
// float32s.
func decodeEmbedding(raw json.RawMessage) ([]float32, error) {
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("base64: %w", err)
		}
		if len(b)%4 != 0 {
			return nil, fmt.Errorf("base64 holds %d bytes, not a whole number of float32s", len(b))
		}
		v := make([]float32, len(b)/4)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		return v, nil
	}
	var v []float32
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	if v == nil {
		return nil, fmt.Errorf("no numbers")
	}
	return v, nil
}
