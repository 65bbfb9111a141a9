package llm_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/timbre-ai/timbre/agents/llm"
	"github.com/timbre-ai/timbre/agents/llm/llmtest"
)

// TestNoGoroutineLeft runs every way a stream can end and checks that no
// goroutine outlives it: langchaingo's readers run on their own goroutines
// and some of them block forever on a second error. It is not parallel, so
// that the goroutine count is this test's alone.
func TestNoGoroutineLeft(t *testing.T) {
	baseline := runtime.NumGoroutine()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	faults := []llmtest.Fault{
		{},
		llmtest.Status(500, 0),
		llmtest.Status(404, 0),
		llmtest.FailAfter(-1, llmtest.Drop),
		llmtest.FailAfter(2, llmtest.ErrorEvent),
		llmtest.FailAfter(0, llmtest.ErrorEvent),
		llmtest.FailAfter(2, llmtest.Malformed),
		llmtest.FailAfter(2, llmtest.Drop),
		llmtest.FailAfter(2, llmtest.Truncate),
		llmtest.FailAfter(2, llmtest.Stall),
	}
	errStop := errors.New("stop")
	for _, kind := range providers {
		s := llmtest.NewServer(nil, llmtest.Config{Reply: replyFunc})
		p := newProvider(t, s, kind, llm.Config{Timeout: 100 * time.Millisecond, Retries: -1,
			HTTPClient: &http.Client{Transport: tr}})
		for _, f := range faults {
			s.Push(f)
			stream(t.Context(), p, prompt()) //nolint:errcheck // only the goroutines matter here
		}
		// onDelta failing, and the caller cancelling.
		p.Stream(t.Context(), prompt(), func(string) error { return errStop }) //nolint:errcheck
		ctx, cancel := context.WithCancel(t.Context())
		p.Stream(ctx, prompt(), func(string) error { cancel(); return nil }) //nolint:errcheck
		s.Close()
	}
	tr.CloseIdleConnections()

	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > baseline && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > baseline {
		pprof.Lookup("goroutine").WriteTo(os.Stderr, 1) //nolint:errcheck
		t.Errorf("%d goroutines left running, %d before the streams", n, baseline)
	}
}
