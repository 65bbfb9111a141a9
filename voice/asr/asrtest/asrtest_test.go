package asrtest

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/timbre-ai/timbre/voice/audio"
)

// wav is d of silence as a 16 kHz mono WAV.
func wav(t *testing.T, d time.Duration) []byte {
	t.Helper()
	f := audio.Frame{Format: audio.Format{SampleRate: 16000, Channels: 1}}
	f.Samples = make([]float32, f.Frames(d))
	var b bytes.Buffer
	if _, err := audio.EncodeWAV(&b, f); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// post sends a multipart form of fields and, when file is not nil, a file
// part, and returns the status and body.
func post(t *testing.T, url string, fields [][2]string, file []byte) (int, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, f := range fields {
		w.WriteField(f[0], f[1])
	}
	if file != nil {
		p, _ := w.CreateFormFile("file", "a.wav")
		p.Write(file)
	}
	w.Close()
	resp, err := http.Post(url, w.FormDataContentType(), &b)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestServerRejectsBadRequests(t *testing.T) {
	s := New(t)
	url := s.URL() + "/audio/transcriptions"
	model := [][2]string{{"model", "whisper-1"}}
	for _, c := range []struct {
		name   string
		fields [][2]string
		file   []byte
		status int
		param  string
		want   string
	}{
		{"no file", model, nil, 400, "file", "you must provide a file"},
		{"no model", nil, wav(t, time.Second), 400, "model", "you must provide a model parameter"},
		{"not audio", model, []byte("ID3 this is an mp3, honest"), 400, "file", "Invalid file format"},
		{"unknown field", append(model, [2]string{"modle", "x"}), wav(t, time.Second), 400, "modle", "Unrecognized request argument supplied: modle"},
		{"duplicate model", append(model, model...), wav(t, time.Second), 400, "model", "Duplicate parameter"},
		{"bad response_format", append(model, [2]string{"response_format", "xml"}), wav(t, time.Second), 400, "response_format", "'xml' is not one of"},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, body := post(t, url, c.fields, c.file)
			var e apiError
			if err := json.Unmarshal([]byte(body), &e); err != nil {
				t.Fatalf("body %q is not an OpenAI error: %v", body, err)
			}
			if status != c.status || !strings.Contains(e.Error.Message, c.want) || e.Error.Type != "invalid_request_error" ||
				e.Error.Param == nil || *e.Error.Param != c.param {
				t.Errorf("%d %s; want %d with %q on param %q", status, body, c.status, c.want, c.param)
			}
		})
	}
	reqs := s.Requests()
	if len(reqs) != 6 || reqs[0].Status != 400 {
		t.Errorf("recorded %d requests (%+v), want the 6 refused ones", len(reqs), reqs)
	}

	resp, err := http.Post(url, "application/json", strings.NewReader(`{"model":"whisper-1"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("JSON body: %d, want 400", resp.StatusCode)
	}
	for path, want := range map[string]int{"/v1/audio/translations": 404, "/v1/audio/transcriptions": 405} {
		resp, err := http.Get(s.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
}

func TestServerAnswersInEachFormat(t *testing.T) {
	s := New(t)
	s.SetTranscriber(func(r Request) string { return r.Duration().String() })
	url := s.URL() + "/audio/transcriptions"
	for format, want := range map[string]string{
		"":             `"text":"1.5s"`,
		"json":         `"text":"1.5s"`,
		"text":         "1.5s\n",
		"verbose_json": `"duration":1.5`,
	} {
		fields := [][2]string{{"model", "m"}}
		if format != "" {
			fields = append(fields, [2]string{"response_format", format})
		}
		status, body := post(t, url, fields, wav(t, 1500*time.Millisecond))
		if status != 200 || !strings.Contains(body, want) {
			t.Errorf("format %q: %d %q, want %q in it", format, status, body, want)
		}
	}
	if r := s.Requests()[0]; r.Model != "m" || r.Filename != "a.wav" || r.Audio.SampleRate != 16000 || r.Status != 200 {
		t.Errorf("recorded %+v", r)
	}
}

func TestServerFaultCountsDown(t *testing.T) {
	s := New(t)
	s.SetText("ok")
	s.SetFault(Fault{Status: 500, Times: 2})
	url := s.URL() + "/audio/transcriptions"
	var got []int
	for range 3 {
		status, _ := post(t, url, [][2]string{{"model", "m"}}, wav(t, time.Second))
		got = append(got, status)
	}
	if got[0] != 500 || got[1] != 500 || got[2] != 200 {
		t.Errorf("statuses %v, want 500 500 200", got)
	}
}
