package asr

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/timbre-ai/timbre/voice/asr/asrtest"
	"github.com/timbre-ai/timbre/voice/audio"
)

// openOpenAITest is a client of srv with cfg's other settings.
func openOpenAITest(t *testing.T, srv *asrtest.Server, cfg Config) Recognizer {
	t.Helper()
	cfg.Provider = ProviderOpenAI
	if cfg.BaseURL == "" {
		cfg.BaseURL = srv.URL()
	}
	r, err := Open(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// tone is d of a 440 Hz sine at rate.
func tone(rate int, d time.Duration) []float32 {
	n := audio.Format{SampleRate: rate, Channels: 1}.Frames(d)
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(0.5 * math.Sin(2*math.Pi*440*float64(i)/float64(rate)))
	}
	return out
}

func TestOpenAITranscribes(t *testing.T) {
	srv := asrtest.New(t)
	srv.RequireKey("sk-test")
	srv.SetTranscriber(func(r asrtest.Request) string {
		return fmt.Sprintf("  %d samples at %d Hz\n", r.Audio.Len(), r.Audio.SampleRate)
	})
	r := openOpenAITest(t, srv, Config{APIKey: "sk-test", Model: "whisper-large-v3", Language: "en"})
	if r.Name() != "openai/whisper-large-v3" {
		t.Errorf("Name = %q", r.Name())
	}
	in := tone(48000, 1500*time.Millisecond)
	res, err := r.Transcribe(context.Background(), in, 48000)
	if err != nil {
		t.Fatal(err)
	}
	// The audio goes as 16 kHz: 1.5 s is 24000 samples.
	if want := "24000 samples at 16000 Hz"; res.Text != want {
		t.Errorf("Text = %q, want %q (trimmed)", res.Text, want)
	}
	if res.Audio != 1500*time.Millisecond {
		t.Errorf("Audio = %s", res.Audio)
	}
	reqs := srv.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	q := reqs[0]
	if q.Model != "whisper-large-v3" || q.ResponseFormat != "json" || q.Language != "en" || q.Authorization != "Bearer sk-test" ||
		q.Filename != "audio.wav" || q.ContentType != "audio/wav" || q.Audio.Channels != 1 || q.Duration() != 1500*time.Millisecond {
		t.Errorf("request %+v", q)
	}
	// The server hears the tone, not noise: 16-bit PCM of the resampled
	// sine, level and all.
	if rms := audio.RMS(q.Audio.Samples); math.Abs(rms-0.5/math.Sqrt2) > 0.01 {
		t.Errorf("the server received audio of RMS %.3f, want %.3f", rms, 0.5/math.Sqrt2)
	}
}

func TestOpenAIDefaults(t *testing.T) {
	srv := asrtest.New(t)
	srv.SetText("hello")
	r := openOpenAITest(t, srv, Config{})
	if r.Name() != "openai/whisper-1" {
		t.Errorf("Name = %q", r.Name())
	}
	if _, err := r.Transcribe(context.Background(), tone(16000, time.Second), 16000); err != nil {
		t.Fatal(err)
	}
	q := srv.Requests()[0]
	if q.Model != "whisper-1" || q.Authorization != "" || q.Language != "" {
		t.Errorf("request %+v: want model whisper-1, no key, no language", q)
	}
	// Nothing to transcribe: no request at all.
	res, err := r.Transcribe(context.Background(), nil, 16000)
	if err != nil || res.Text != "" || len(srv.Requests()) != 1 {
		t.Errorf("empty audio: %+v, %v, %d requests", res, err, len(srv.Requests()))
	}
}

func TestOpenAIErrors(t *testing.T) {
	in := tone(16000, time.Second)
	for _, c := range []struct {
		name        string
		fault       asrtest.Fault
		key         string // the server requires it; the client sends "sk-wrong"
		unavailable bool
		status      int    // of the ServerError; 0 for none
		want        string // in the message
	}{
		{name: "bad key", key: "sk-right", status: 401, want: "Incorrect API key provided"},
		{name: "400", fault: asrtest.Fault{Status: 400, Message: "Audio file is too short."}, status: 400, want: "Audio file is too short."},
		{name: "404 model", fault: asrtest.Fault{Status: 404}, status: 404, want: "model does not exist"},
		{name: "429", fault: asrtest.Fault{Status: 429}, unavailable: true, status: 429, want: "Rate limit"},
		{name: "500", fault: asrtest.Fault{Status: 500}, unavailable: true, status: 500, want: "server had an error"},
		{name: "503 with FastAPI's body", fault: asrtest.Fault{Status: 503, Body: `{"detail":"model is loading"}`}, unavailable: true, status: 503, want: "model is loading"},
		{name: "502 with HTML", fault: asrtest.Fault{Status: 502, Body: "<html><body>\nBad Gateway\n</body></html>"}, unavailable: true, status: 502, want: "<html><body> Bad Gateway"},
		{name: "bad JSON", fault: asrtest.Fault{Body: `{"text": `}, unavailable: true, want: "without a JSON"},
		{name: "JSON without text", fault: asrtest.Fault{Body: `{"transcript": "hi"}`}, unavailable: true, want: "without a JSON"},
		{name: "huge reply", fault: asrtest.Fault{Body: `{"text": "` + strings.Repeat("a", maxReply) + `"}`}, unavailable: true, want: "larger than"},
		{name: "dropped connection", fault: asrtest.Fault{Drop: true}, unavailable: true, want: "asr: openai"},
		{name: "slow server", fault: asrtest.Fault{Delay: 5 * time.Second}, unavailable: true, want: "no answer from"},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := asrtest.New(t)
			srv.SetText("should not be seen")
			if c.key != "" {
				srv.RequireKey(c.key)
			}
			srv.SetFault(c.fault)
			r := openOpenAITest(t, srv, Config{APIKey: "sk-wrong", Timeout: 200 * time.Millisecond})
			res, err := r.Transcribe(context.Background(), in, 16000)
			if err == nil {
				t.Fatalf("no error; got %+v", res)
			}
			if errors.Is(err, ErrUnavailable) != c.unavailable {
				t.Errorf("errors.Is(ErrUnavailable) = %v, want %v: %v", !c.unavailable, c.unavailable, err)
			}
			var se *ServerError
			if got := errors.As(err, &se); got != (c.status != 0) || (got && se.StatusCode != c.status) {
				t.Errorf("ServerError %+v, want status %d: %v", se, c.status, err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not say %q", err, c.want)
			}
			if strings.Contains(err.Error(), "sk-wrong") {
				t.Errorf("the error shows the API key: %v", err)
			}
			if len(err.Error()) > 600 {
				t.Errorf("error of %d bytes: the server's message is not cut short", len(err.Error()))
			}
		})
	}
}

func TestOpenAIFaultsThenRecovers(t *testing.T) {
	srv := asrtest.New(t)
	srv.SetText("back again")
	srv.SetFault(asrtest.Fault{Status: 503, Times: 1})
	r := openOpenAITest(t, srv, Config{})
	in := tone(16000, time.Second)
	if _, err := r.Transcribe(context.Background(), in, 16000); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("first: %v, want ErrUnavailable", err)
	}
	res, err := r.Transcribe(context.Background(), in, 16000)
	if err != nil || res.Text != "back again" {
		t.Fatalf("second: %+v, %v", res, err)
	}
	if got := len(srv.Requests()); got != 2 {
		t.Errorf("%d requests, want 2", got)
	}
}

func TestOpenAICallerContext(t *testing.T) {
	srv := asrtest.New(t)
	srv.SetFault(asrtest.Fault{Delay: 10 * time.Second})
	r := openOpenAITest(t, srv, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := r.Transcribe(ctx, tone(16000, time.Second), 16000)
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrUnavailable) {
		t.Errorf("caller's deadline: %v, want context.DeadlineExceeded and not ErrUnavailable", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if _, err := r.Transcribe(ctx, tone(16000, time.Second), 16000); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled ctx: %v, want context.Canceled", err)
	}
}

func TestOpenAIUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	r, err := Open(Config{Provider: ProviderOpenAI, BaseURL: "http://" + addr + "/v1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Transcribe(context.Background(), tone(16000, time.Second), 16000); !errors.Is(err, ErrUnavailable) {
		t.Errorf("refused connection: %v, want ErrUnavailable", err)
	}
}

func TestOpenAIBadInput(t *testing.T) {
	srv := asrtest.New(t)
	r := openOpenAITest(t, srv, Config{})
	if _, err := r.Transcribe(context.Background(), []float32{0, float32(math.NaN())}, 16000); !errors.Is(err, ErrBadAudio) {
		t.Errorf("NaN: %v, want ErrBadAudio", err)
	}
	if _, err := r.Transcribe(context.Background(), tone(16000, time.Second), 4000); !errors.Is(err, ErrBadAudio) {
		t.Errorf("4 kHz: %v, want ErrBadAudio", err)
	}
	if len(srv.Requests()) != 0 {
		t.Errorf("bad audio reached the server")
	}
	r.Close()
	if _, err := r.Transcribe(context.Background(), tone(16000, time.Second), 16000); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}
	for _, base := range []string{"ftp://host/v1", "http://", "localhost:8000", "http://user:pw@host/v1", "http://host/v1?x=1", "http://[::1"} {
		if _, err := Open(Config{Provider: ProviderOpenAI, BaseURL: base}, nil); err == nil {
			t.Errorf("base URL %q accepted", base)
		}
	}
}
