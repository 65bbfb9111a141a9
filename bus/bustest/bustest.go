// Package bustest gives a test its own embedded NATS bus, and its broadcast
// channels, closed when the test ends.
package bustest

import (
	"context"
	"log/slog"
	"testing"

	"github.com/timbre-ai/timbre/bus"
)

// New opens an embedded bus with its store in a temporary directory.
func New(t testing.TB) *bus.Bus {
	t.Helper()
	b, err := bus.Open(context.Background(), bus.Config{DataDir: t.TempDir()}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("bustest: open embedded bus: %v", err)
	}
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	return b
}

// Broadcast opens a new bus and returns its broadcast channel on subject.
func Broadcast(t testing.TB, subject string) *bus.Broadcast {
	t.Helper()
	c, err := New(t).Broadcast(subject)
	if err != nil {
		t.Fatalf("bustest: broadcast %s: %v", subject, err)
	}
	return c
}
