package main

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/timbre-ai/timbre/agents/llm/llmtest"
)

// fakeModel is the language model of a run: two llmtest servers behind a
// proxy of this program's own. The paced one answers the latency phase
// with script.reply, a word every tokenEvery; the proxy holds each request
// ttft−tokenEvery before passing it on, so that the first word leaves at
// ttft (llmtest pauses Interval before every chunk, the first included,
// and has no first-token delay of its own). The instant one answers the
// speaking phase with script.story at once. Both speak OpenAI's streaming
// wire format (SSE chunks); the proxy flushes each as it comes.
type fakeModel struct {
	paced, instant *llmtest.Server
	srv            *httptest.Server
	hold           time.Duration
	useInstant     atomic.Bool
}

func newFakeModel(ttft, tokenEvery time.Duration, reply, story string) (*fakeModel, error) {
	f := &fakeModel{
		paced:   llmtest.NewServer(nil, llmtest.Config{Interval: tokenEvery, Reply: func(llmtest.Received) string { return reply }}),
		instant: llmtest.NewServer(nil, llmtest.Config{Reply: func(llmtest.Received) string { return story }}),
		hold:    max(0, ttft-tokenEvery),
	}
	paced, err := proxyTo(f.paced.URL())
	if err != nil {
		f.close()
		return nil, err
	}
	instant, err := proxyTo(f.instant.URL())
	if err != nil {
		f.close()
		return nil, err
	}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.useInstant.Load() {
			instant.ServeHTTP(w, r)
			return
		}
		if f.hold > 0 {
			t := time.NewTimer(f.hold)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		paced.ServeHTTP(w, r)
	}))
	return f, nil
}

func proxyTo(raw string) (*httputil.ReverseProxy, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	p := httputil.NewSingleHostReverseProxy(u)
	p.FlushInterval = -1 // every chunk as it comes
	return p, nil
}

// OpenAIURL is the base URL an OpenAI client takes.
func (f *fakeModel) OpenAIURL() string { return f.srv.URL + "/v1" }

func (f *fakeModel) close() {
	if f.srv != nil {
		f.srv.Close()
	}
	f.paced.Close()
	f.instant.Close()
}
