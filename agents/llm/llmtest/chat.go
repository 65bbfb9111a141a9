package llmtest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/timbre-ai/timbre/tokens"
)

// Split cuts a reply into the pieces the server streams, one chunk each: a
// word with the whitespace before it ("Hello, world." is "Hello," and
// " world."). Joined, the pieces are the reply.
func Split(reply string) []string {
	var pieces []string
	start := 0
	inWord := false
	for i, r := range reply {
		space := unicode.IsSpace(r)
		if space && inWord {
			pieces = append(pieces, reply[start:i])
			start = i
		}
		inWord = !space
	}
	if start < len(reply) {
		pieces = append(pieces, reply[start:])
	}
	return pieces
}

// ending is why a reply ended.
type ending int

const (
	endTurn   ending = iota // the model finished
	endStop                 // a stop sequence cut the reply
	endLength               // MaxTokens cut the reply
)

// cut applies the request's stop sequences and token limit to a reply, as
// real servers do: the reply ends before the first stop sequence, and after
// MaxTokens pieces. It returns the pieces to stream, why the reply ended
// and which stop sequence ended it.
func cut(reply string, stop []string, maxTokens int) ([]string, ending, string) {
	end, seq := endTurn, ""
	at := -1
	for _, s := range stop {
		if s == "" {
			continue
		}
		if i := strings.Index(reply, s); i >= 0 && (at < 0 || i < at) {
			at, seq = i, s
		}
	}
	if at >= 0 {
		reply, end = reply[:at], endStop
	}
	pieces := Split(reply)
	if maxTokens > 0 && len(pieces) > maxTokens {
		pieces, end, seq = pieces[:maxTokens], endLength, ""
	}
	return pieces, end, seq
}

// usage is what the server reports: the prompt counted the way OpenAI
// counts chat prompts (3 tokens of framing per message and 3 to prime the
// reply, around the tokens package's count of each content) and one token
// per streamed piece.
type usage struct {
	prompt, completion int
}

func countUsage(msgs []Message, pieces []string) usage {
	u := usage{prompt: 3, completion: len(pieces)}
	for _, m := range msgs {
		u.prompt += 3 + tokens.Count(m.Content)
	}
	return u
}

// dialect writes one provider's wire format for one request.
type dialect interface {
	// streamType is the Content-Type of a stream.
	streamType() string
	// start is what precedes the first text chunk.
	start(b *bytes.Buffer, u usage)
	// chunk is one piece of reply text; the payload is returned so that a
	// malformed copy can be framed instead.
	chunk(text string) (event string, payload []byte)
	// frame writes one event or line around a payload.
	frame(b *bytes.Buffer, event string, payload []byte)
	// errorEvent is the mid-stream error and whatever follows it.
	errorEvent(b *bytes.Buffer, msg string)
	// finish ends the stream with its end marker.
	finish(b *bytes.Buffer, end ending, seq string, u usage)
	// whole is the non-streamed response body.
	whole(text string, end ending, seq string, u usage) []byte
	// errorBody is the provider's error body for an HTTP status; msg may be
	// empty for the provider's usual message.
	errorBody(status int, msg string) []byte
	// missingModel is the provider's 404 message for an unknown model.
	missingModel(model string) string
	// authorized checks the request's credentials against key.
	authorized(h http.Header, key string) bool
}

func newDialect(rec *Received, omitUsage bool, now time.Time) dialect {
	switch rec.Provider {
	case Ollama:
		return &ollamaDialect{model: rec.Model, now: now, omitUsage: omitUsage}
	case Anthropic:
		return &anthropicDialect{id: msgID(rec.id), model: rec.Model}
	}
	return &openaiDialect{id: chatID(rec.id), created: now.Unix(), model: rec.Model,
		includeUsage: rec.IncludeUsage && rec.Stream, omitUsage: omitUsage}
}

// chat handles a chat request for one provider.
func (s *Server) chat(provider string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rec := &Received{Provider: provider, Path: r.URL.Path, Header: r.Header.Clone()}
		body, readErr := io.ReadAll(http.MaxBytesReader(w, r.Body, 16<<20))
		rec.Body = body
		parseErr := readErr
		if parseErr == nil {
			parseErr = rec.parse(body)
		}
		// From here on other goroutines read rec; it changes only through
		// s.update.
		fault := s.begin(rec)
		defer s.end()

		d := newDialect(rec, s.cfg.OmitUsage, time.Now())
		switch {
		case parseErr != nil:
			s.fail(w, rec, d, http.StatusBadRequest, "invalid request body: "+parseErr.Error(), "")
			return
		case s.cfg.APIKey != "" && !d.authorized(r.Header, s.cfg.APIKey):
			s.fail(w, rec, d, http.StatusUnauthorized, "", "")
			return
		case fault.Status != 0:
			s.fail(w, rec, d, fault.Status, fault.Message, fault.RetryAfter)
			return
		case rec.Model == "":
			s.fail(w, rec, d, http.StatusBadRequest, "model is required", "")
			return
		case !s.knows(rec.Model):
			s.fail(w, rec, d, http.StatusNotFound, d.missingModel(rec.Model), "")
			return
		case provider == Anthropic && rec.MaxTokens <= 0:
			s.fail(w, rec, d, http.StatusBadRequest, "max_tokens: Field required", "")
			return
		}
		if fault.Break != None && fault.After < 0 {
			s.breakEarly(w, r.Context(), rec, fault.Break)
			return
		}

		reply := DefaultReply
		if s.cfg.Reply != nil {
			reply = s.cfg.Reply(s.snapshot(rec))
		}
		pieces, end, seq := cut(reply, rec.Stop, rec.MaxTokens)
		u := countUsage(rec.Messages, pieces)
		s.update(rec, func(rec *Received) {
			rec.Reply = strings.Join(pieces, "")
			if !s.cfg.OmitUsage || provider == Anthropic {
				rec.PromptTokens, rec.CompletionTokens = u.prompt, u.completion
			}
		})
		if rec.Stream {
			s.stream(w, r.Context(), rec, d, pieces, end, seq, u, fault)
		} else {
			s.answer(w, r.Context(), rec, d, pieces, end, seq, u, fault)
		}
	}
}

// fail answers an error status with the provider's error body.
func (s *Server) fail(w http.ResponseWriter, rec *Received, d dialect, status int, msg, retryAfter string) {
	s.update(rec, func(rec *Received) { rec.Status = status })
	w.Header().Set("Content-Type", "application/json")
	if retryAfter != "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	w.WriteHeader(status)
	w.Write(d.errorBody(status, msg)) //nolint:errcheck // the client may be gone; nothing to do
}

// breakEarly breaks a request before any response is written.
func (s *Server) breakEarly(w http.ResponseWriter, ctx context.Context, rec *Received, b Break) {
	switch b {
	case Drop:
		s.drop(w)
	case Stall:
		s.stall(ctx, rec)
	default:
		// The other breaks need a stream to break; before the headers they
		// read as a connection the server gave up on.
		s.drop(w)
	}
}

// stream writes a streamed reply, applying fault.
func (s *Server) stream(w http.ResponseWriter, ctx context.Context, rec *Received, d dialect,
	pieces []string, end ending, seq string, u usage, fault Fault) {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", d.streamType())
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	s.update(rec, func(rec *Received) { rec.Status = http.StatusOK })

	var buf bytes.Buffer
	d.start(&buf, u)
	if !s.send(w, rc, &buf, rec) {
		return
	}
	breakAt := -1
	if fault.Break != None {
		breakAt = min(fault.After, len(pieces))
	}
	for i := 0; i <= len(pieces); i++ {
		if i == breakAt {
			switch fault.Break {
			case ErrorEvent:
				d.errorEvent(&buf, fault.Message)
				s.send(w, rc, &buf, rec)
				return
			case Truncate:
				return
			case Drop:
				s.drop(w)
				return
			case Stall:
				s.stall(ctx, rec)
				return
			case Malformed:
				text := ""
				if i < len(pieces) {
					text = pieces[i]
				}
				event, payload := d.chunk(text)
				d.frame(&buf, event, payload[:len(payload)/2])
				if !s.send(w, rc, &buf, rec) {
					return
				}
				continue // the broken chunk took this piece's place
			}
		}
		if i == len(pieces) {
			break
		}
		if !s.pause(ctx, s.cfg.Interval) {
			s.update(rec, func(rec *Received) { rec.Canceled = true })
			return
		}
		event, payload := d.chunk(pieces[i])
		d.frame(&buf, event, payload)
		if !s.send(w, rc, &buf, rec) {
			return
		}
		s.wrote(rec)
	}
	d.finish(&buf, end, seq, u)
	s.send(w, rc, &buf, rec)
}

// answer writes a reply that was not asked to stream, applying fault.
func (s *Server) answer(w http.ResponseWriter, ctx context.Context, rec *Received, d dialect,
	pieces []string, end ending, seq string, u usage, fault Fault) {
	switch fault.Break {
	case Drop:
		s.drop(w)
		return
	case Stall:
		s.stall(ctx, rec)
		return
	case ErrorEvent:
		s.fail(w, rec, d, http.StatusInternalServerError, fault.Message, "")
		return
	}
	if !s.pause(ctx, s.cfg.Interval) {
		s.update(rec, func(rec *Received) { rec.Canceled = true })
		return
	}
	body := d.whole(strings.Join(pieces, ""), end, seq, u)
	if fault.Break == Malformed || fault.Break == Truncate {
		body = body[:len(body)/2]
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	s.update(rec, func(rec *Received) { rec.Status = http.StatusOK })
	var buf bytes.Buffer
	buf.Write(body)
	if s.send(w, http.NewResponseController(w), &buf, rec) {
		s.wrote(rec)
	}
}

// send writes and flushes buf, and reports false (marking the request
// canceled) when the client is gone.
func (s *Server) send(w http.ResponseWriter, rc *http.ResponseController, buf *bytes.Buffer, rec *Received) bool {
	_, err := w.Write(buf.Bytes())
	buf.Reset()
	if err == nil {
		err = rc.Flush()
	}
	if err != nil {
		s.update(rec, func(rec *Received) { rec.Canceled = true })
		return false
	}
	return true
}

// wrote records a chunk of text written and flushed.
func (s *Server) wrote(rec *Received) {
	now := time.Now()
	first := false
	s.update(rec, func(rec *Received) {
		rec.Chunks++
		if rec.FirstChunkAt.IsZero() {
			rec.FirstChunkAt, first = now, true
		}
	})
	if first && s.cfg.OnFirstChunk != nil {
		s.cfg.OnFirstChunk(s.snapshot(rec), now)
	}
}

// drop takes over the connection and closes it, so the client sees the
// response cut wherever it was.
func (s *Server) drop(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Connections that cannot be taken over (HTTP/2) are reset instead.
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}

// stall holds the response until the client goes away or the server
// closes.
func (s *Server) stall(ctx context.Context, rec *Received) {
	select {
	case <-ctx.Done():
	case <-s.closing:
	}
	s.update(rec, func(rec *Received) { rec.Canceled = true })
}
