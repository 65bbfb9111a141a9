// Package asrtest is a fake OpenAI-compatible transcription server for
// tests: an httptest.Server answering POST /v1/audio/transcriptions as
// OpenAI does. It parses the multipart request strictly (the same 400s as
// OpenAI for a missing file or model, an unknown field, a file that is not
// audio), decodes the WAV it is sent, records every request, answers a
// configured text or a function of the audio, and injects faults: an
// error status, a delay, a malformed reply, a dropped connection.
//
// It decodes WAV only (what Timbre sends); OpenAI also takes mp3, ogg and
// others, which this fake answers with OpenAI's 400 for unsupported files.
package asrtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/timbre-ai/timbre/voice/audio"
)

// Limits of the fake, as OpenAI's.
const (
	// MaxFileBytes is the largest upload accepted (OpenAI: 25 MB); a
	// larger request gets 413.
	MaxFileBytes = 25 << 20
	// maxFieldBytes bounds a text field.
	maxFieldBytes = 64 << 10
	// Path is the endpoint, under the server's root.
	Path = "/v1/audio/transcriptions"
)

// Request is one request the server received, as far as it could parse
// it.
type Request struct {
	// Status is the HTTP status the server answered with (0 for a
	// dropped connection).
	Status int
	// Authorization is the request's Authorization header.
	Authorization  string
	Model          string
	Language       string
	Prompt         string
	ResponseFormat string
	// Filename and ContentType are the file part's.
	Filename    string
	ContentType string
	// Audio is the decoded file: its format and samples.
	Audio audio.Frame
}

// Duration is how long the request's audio lasts.
func (r Request) Duration() time.Duration { return r.Audio.Duration() }

// Fault is a failure the server injects instead of a transcription.
type Fault struct {
	// Status, when set, is answered with an OpenAI error body carrying
	// Message (a default message per status when empty).
	Status  int
	Message string
	// Body, when set, is answered as it is, with Status or 200 and
	// Content-Type application/json: a malformed reply.
	Body string
	// Delay holds the answer back this long, or until the client gives
	// up; the answer is then the fault's, or the transcription when the
	// fault sets nothing else.
	Delay time.Duration
	// Drop closes the connection without an answer.
	Drop bool
	// Times is how many requests the fault applies to; 0 means every
	// request until ClearFault.
	Times int
}

// Server is the fake transcription server. Its methods are safe for
// concurrent use.
type Server struct {
	srv  *httptest.Server
	stop chan struct{} // closed when the test ends: delays end

	mu         sync.Mutex
	apiKey     string
	transcribe func(Request) string
	fault      *Fault
	faultLeft  int
	requests   []Request
}

// New starts a server that answers every request with an empty
// transcription until told otherwise. It stops when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{stop: make(chan struct{}), transcribe: func(Request) string { return "" }}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(func() {
		close(s.stop)
		s.srv.Close()
	})
	return s
}

// URL is the API root to configure a client with: the server's address
// and /v1.
func (s *Server) URL() string { return s.srv.URL + "/v1" }

// SetText makes every transcription text.
func (s *Server) SetText(text string) {
	s.SetTranscriber(func(Request) string { return text })
}

// SetTranscriber makes every transcription f's answer for the request.
func (s *Server) SetTranscriber(f func(Request) string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.transcribe = f
}

// RequireKey makes the server answer 401, as OpenAI does, unless the
// request carries "Authorization: Bearer key".
func (s *Server) RequireKey(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apiKey = key
}

// SetFault injects f into the next requests (f.Times of them, or all).
func (s *Server) SetFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault, s.faultLeft = &f, f.Times
}

// ClearFault stops injecting faults.
func (s *Server) ClearFault() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = nil
}

// Requests returns the requests received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// takeFault returns the fault for this request, counting it down.
func (s *Server) takeFault() *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.fault
	if f != nil && f.Times > 0 {
		s.faultLeft--
		if s.faultLeft <= 0 {
			s.fault = nil
		}
	}
	return f
}

func (s *Server) record(r Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r)
}

// apiError is OpenAI's error body.
type apiError struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, status int, message, typ, param, code string) {
	var e apiError
	e.Error.Message, e.Error.Type = message, typ
	if param != "" {
		e.Error.Param = &param
	}
	if code != "" {
		e.Error.Code = &code
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(e)
}

// defaultMessages are OpenAI's messages for the statuses a Fault may set.
var defaultMessages = map[int][3]string{ // message, type, code
	http.StatusBadRequest:          {"Invalid file format.", "invalid_request_error", ""},
	http.StatusUnauthorized:        {"Incorrect API key provided.", "invalid_request_error", "invalid_api_key"},
	http.StatusNotFound:            {"The model does not exist or you do not have access to it.", "invalid_request_error", "model_not_found"},
	http.StatusTooManyRequests:     {"Rate limit reached for requests.", "requests", "rate_limit_exceeded"},
	http.StatusInternalServerError: {"The server had an error while processing your request. Sorry about that!", "server_error", ""},
	http.StatusServiceUnavailable:  {"The engine is currently overloaded, please try again later.", "server_error", ""},
}

// fields are the form fields OpenAI's endpoint takes.
var fields = map[string]bool{
	"file": true, "model": true, "language": true, "prompt": true, "response_format": true,
	"temperature": true, "timestamp_granularities[]": true, "chunking_strategy": true, "include[]": true, "stream": true,
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != Path {
		writeError(w, http.StatusNotFound, fmt.Sprintf("Invalid URL (%s %s)", r.Method, r.URL.Path), "invalid_request_error", "", "")
		return
	}
	if r.Method != http.MethodPost {
		writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("Invalid method for URL (%s %s)", r.Method, r.URL.Path), "invalid_request_error", "", "")
		return
	}
	req := Request{Authorization: r.Header.Get("Authorization")}
	status, message, param := s.parse(w, r, &req)
	if status == 0 {
		s.mu.Lock()
		key := s.apiKey
		s.mu.Unlock()
		if key != "" && req.Authorization != "Bearer "+key {
			status, message = http.StatusUnauthorized, defaultMessages[http.StatusUnauthorized][0]
		}
	}
	if status != 0 {
		req.Status = status
		s.record(req)
		code := ""
		if status == http.StatusUnauthorized {
			code = "invalid_api_key"
		}
		writeError(w, status, message, "invalid_request_error", param, code)
		return
	}
	s.answer(w, r, req)
}

// parse reads the multipart form into req. It returns 0 when the request is
// well formed, else the status, message and parameter of OpenAI's error.
func (s *Server) parse(w http.ResponseWriter, r *http.Request, req *Request) (int, string, string) {
	mediaType, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/form-data" || params["boundary"] == "" {
		return http.StatusBadRequest, "Invalid Content-Type header (" + r.Header.Get("Content-Type") + "), expected multipart/form-data.", ""
	}
	body := http.MaxBytesReader(w, r.Body, MaxFileBytes+1<<20)
	mr := multipart.NewReader(body, params["boundary"])
	seen := map[string]bool{}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if tooLarge(err) {
				return http.StatusRequestEntityTooLarge, fmt.Sprintf("Maximum content size limit (%d) exceeded.", MaxFileBytes), ""
			}
			return http.StatusBadRequest, "Could not parse multipart form: " + err.Error(), ""
		}
		name := part.FormName()
		if !fields[name] {
			return http.StatusBadRequest, fmt.Sprintf("Unrecognized request argument supplied: %s", name), name
		}
		if seen[name] && !strings.HasSuffix(name, "[]") {
			return http.StatusBadRequest, fmt.Sprintf("Duplicate parameter: %s", name), name
		}
		seen[name] = true
		if name == "file" {
			if st, msg := s.readFile(part, req); st != 0 {
				return st, msg, "file"
			}
			continue
		}
		v, err := io.ReadAll(io.LimitReader(part, maxFieldBytes+1))
		if err != nil {
			return http.StatusBadRequest, "Could not parse multipart form: " + err.Error(), ""
		}
		if len(v) > maxFieldBytes {
			return http.StatusBadRequest, fmt.Sprintf("%s is too long.", name), name
		}
		switch name {
		case "model":
			req.Model = string(v)
		case "language":
			req.Language = string(v)
		case "prompt":
			req.Prompt = string(v)
		case "response_format":
			req.ResponseFormat = string(v)
		}
	}
	switch {
	case !seen["file"]:
		return http.StatusBadRequest, "you must provide a file", "file"
	case req.Model == "":
		return http.StatusBadRequest, "you must provide a model parameter", "model"
	}
	switch req.ResponseFormat {
	case "", "json", "text", "verbose_json":
	default:
		return http.StatusBadRequest, fmt.Sprintf("'%s' is not one of ['json', 'text', 'verbose_json'] - 'response_format'", req.ResponseFormat), "response_format"
	}
	return 0, "", ""
}

// readFile decodes the file part as WAV.
func (s *Server) readFile(part *multipart.Part, req *Request) (int, string) {
	req.Filename = part.FileName()
	req.ContentType = part.Header.Get("Content-Type")
	if req.Filename == "" {
		return http.StatusBadRequest, "file must be a file upload with a filename"
	}
	f, err := audio.DecodeWAV(part, audio.WAVLimits{MaxDuration: time.Hour, MaxBytes: MaxFileBytes})
	if tooLarge(err) || errors.Is(err, audio.ErrTooLong) {
		return http.StatusRequestEntityTooLarge, fmt.Sprintf("Maximum content size limit (%d) exceeded.", MaxFileBytes)
	}
	if err != nil {
		return http.StatusBadRequest, "Invalid file format. Supported formats: ['flac', 'm4a', 'mp3', 'mp4', 'mpeg', 'mpga', 'oga', 'ogg', 'wav', 'webm'] (" + err.Error() + ")"
	}
	// Whatever follows the data chunk must still be read for the next part.
	if _, err := io.Copy(io.Discard, part); err != nil {
		return http.StatusBadRequest, "Could not parse multipart form: " + err.Error()
	}
	req.Audio = f
	return 0, ""
}

func tooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}

// answer applies the fault, if any, or transcribes.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, req Request) {
	f := s.takeFault()
	if f != nil && f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			req.Status = 0
			s.record(req)
			return
		case <-s.stop:
		}
	}
	switch {
	case f != nil && f.Drop:
		s.record(req)
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler) // net/http drops the connection
	case f != nil && f.Body != "":
		req.Status = f.Status
		if req.Status == 0 {
			req.Status = http.StatusOK
		}
		s.record(req)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(req.Status)
		io.WriteString(w, f.Body)
		return
	case f != nil && f.Status != 0:
		req.Status = f.Status
		s.record(req)
		d, ok := defaultMessages[f.Status]
		if !ok {
			d = [3]string{http.StatusText(f.Status), "server_error", ""}
		}
		msg := f.Message
		if msg == "" {
			msg = d[0]
		}
		writeError(w, f.Status, msg, d[1], "", d[2])
		return
	}

	s.mu.Lock()
	transcribe := s.transcribe
	s.mu.Unlock()
	text := transcribe(req)
	req.Status = http.StatusOK
	s.record(req)
	switch req.ResponseFormat {
	case "text":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, text+"\n")
	case "verbose_json":
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"task": "transcribe", "language": "english", "duration": req.Duration().Seconds(), "text": text, "segments": []any{},
		})
	default:
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"text": text, "usage": map[string]any{"type": "duration", "seconds": int(req.Duration().Seconds() + 0.999)}})
	}
}
