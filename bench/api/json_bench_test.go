package main

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/timbre-ai/timbre/agents"
)

// These benchmarks isolate the per-agent JSON work of GET /api/agents/{id}
// (and, twenty times over, of a search page) from the database and HTTP:
// decoding the stored card as agents' store does, and encoding the response
// as Echo's c.JSON does. They use the cards the load benchmark seeds.

func benchCards(b *testing.B, withBook bool) (agents.Card, []byte) {
	b.Helper()
	c := newCardGen(1).card()
	if !withBook {
		c.CharacterBook = nil
	}
	c.Normalize()
	raw, err := json.Marshal(c)
	if err != nil {
		b.Fatal(err)
	}
	return c, raw
}

// BenchmarkCardDecode is scanAgent's work on the card column: json.Unmarshal
// into agents.Card, then Normalize.
func BenchmarkCardDecode(b *testing.B) {
	for _, tc := range []struct {
		name string
		book bool
	}{{"with-lorebook", true}, {"without-lorebook", false}} {
		b.Run(tc.name, func(b *testing.B) {
			_, raw := benchCards(b, tc.book)
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				var c agents.Card
				if err := json.Unmarshal(raw, &c); err != nil {
					b.Fatal(err)
				}
				c.Normalize()
			}
		})
	}
}

// BenchmarkAgentResponse is getAgent's c.JSON: a json.Encoder writing
// {"agent": …} through Agent.MarshalJSON.
func BenchmarkAgentResponse(b *testing.B) {
	card, _ := benchCards(b, true)
	a := agents.Agent{
		ID: "agt_0123456789abcdefghijklmn", OwnerID: "usr_0123456789abcdefghijklmn", Card: card,
		Visibility: agents.Public, CreatedAt: time.Now(), UpdatedAt: time.Now(), LatestVersion: 1,
	}
	resp := struct {
		Agent agents.Agent `json:"agent"`
	}{a}
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(resp); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	for b.Loop() {
		if err := json.NewEncoder(io.Discard).Encode(resp); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBlobCopy is the floor: what the bare handler does with the same
// bytes.
func BenchmarkBlobCopy(b *testing.B) {
	_, raw := benchCards(b, true)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		_, _ = io.Copy(io.Discard, bytes.NewReader(raw))
	}
}
