package e2e

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/timbre-ai/timbre/db/dbtest"
	"github.com/timbre-ai/timbre/voice/audio"
)

// workerProcess is a running `timbre worker`.
type workerProcess struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	logs strings.Builder
	done chan error
}

func (w *workerProcess) output() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.logs.String()
}

// startWorker runs `timbre worker` on natsURL with the prepared voices and
// waits until it says it is ready.
func startWorker(t *testing.T, natsURL, dataDir string) *workerProcess {
	t.Helper()
	cmd := exec.Command(timbreBin, "worker")
	cmd.Env = append(os.Environ(), "TIMBRE_NATS_URL="+natsURL, "TIMBRE_DATA_DIR="+dataDir, "TIMBRE_TTS_SLOTS=2")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	w := &workerProcess{cmd: cmd, done: make(chan error, 1)}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		once := sync.Once{}
		for sc.Scan() {
			w.mu.Lock()
			w.logs.WriteString(sc.Text() + "\n")
			w.mu.Unlock()
			if strings.Contains(sc.Text(), `msg="worker ready"`) {
				once.Do(func() { close(ready) })
			}
		}
	}()
	go func() { w.done <- cmd.Wait() }()
	select {
	case <-ready:
	case err := <-w.done:
		t.Fatalf("timbre worker exited before it was ready (%v):\n%s", err, w.output())
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("timbre worker not ready in 60 s:\n%s", w.output())
	}
	t.Cleanup(func() {
		if w.cmd.ProcessState == nil {
			_ = w.cmd.Process.Kill()
		}
	})
	return w
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// metric reads one unlabelled metric of a Prometheus text exposition.
func metric(t *testing.T, url, name string) float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %q", name, line)
			}
			return f
		}
	}
	return -1
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 30 s for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestVoiceWorkerProcesses scales speech out: serve runs no voice worker of
// its own and takes `timbre worker` processes on its embedded NATS. Speech
// works once one joins, a second one shares the load, and when one is
// killed the other answers what comes next.
func TestVoiceWorkerProcesses(t *testing.T) {
	t.Parallel()
	_, dbURL := dbtest.NewWithURL(t)
	natsURL := "nats://127.0.0.1:" + freePort(t)
	srv := serve(t, dbURL, t.TempDir(), "TIMBRE_VOICE_WORKER=false", "TIMBRE_NATS_LISTEN="+strings.TrimPrefix(natsURL, "nats://"))
	voices := voiceDataDir(t)

	u := newUser(t, srv.url)
	u.call("POST", "/api/auth/signup", `{"email":"w@example.com","password":"a long passphrase","display_name":"W"}`, 201)
	u.csrf = u.call("GET", "/api/me", "", 200)["csrf_token"].(string)
	u.bearer = u.call("POST", "/api/keys", `{"name":"e2e"}`, 201)["key"].(string)
	speak := func(status int) []byte {
		return u.send("POST", "/v1/audio/speech", "application/json",
			strings.NewReader(`{"input":"The lighthouse keeper waved. The boat turned for home.","voice":"jenny"}`), status)
	}

	// No worker yet: not ready, and speech says why.
	get(t, http.DefaultClient, srv.url+"/readyz", 503)
	if b := speak(503); !bytes.Contains(b, []byte("voice_workers_unavailable")) && !bytes.Contains(b, []byte("voices_unavailable")) {
		t.Fatalf("speech without workers: %s", b)
	}

	w1 := startWorker(t, natsURL, voices)
	waitFor(t, "serve to see the first worker", func() bool { return metric(t, srv.url+"/metrics", "timbre_tts_workers") == 1 })
	get(t, http.DefaultClient, srv.url+"/readyz", 200)
	wav, err := audio.DecodeWAV(bytes.NewReader(speak(200)), audio.WAVLimits{MaxDuration: time.Minute})
	if err != nil || wav.Duration() < time.Second {
		t.Fatalf("speech through the worker process: %v, %v", wav.Duration(), err)
	}

	w2 := startWorker(t, natsURL, voices)
	waitFor(t, "serve to see two workers", func() bool { return metric(t, srv.url+"/metrics", "timbre_tts_workers") == 2 })
	// Adverts are periodic: a slot freed since the last one shows in the next.
	waitFor(t, "2 workers × 2 free slots", func() bool { return metric(t, srv.url+"/metrics", "timbre_tts_free_slots") == 4 })

	// Kill one without warning: the next requests find the other.
	if err := w1.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-w1.done
	for range 3 {
		speak(200)
	}
	waitFor(t, "serve to forget the killed worker", func() bool { return metric(t, srv.url+"/metrics", "timbre_tts_workers") == 1 })

	// The survivor stops cleanly on SIGTERM, and serve is left without voices.
	if err := w2.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	select {
	case err := <-w2.done:
		if err != nil {
			t.Fatalf("worker exited with %v after SIGTERM:\n%s", err, w2.output())
		}
	case <-ctx.Done():
		t.Fatalf("worker did not stop within 30 s of SIGTERM:\n%s", w2.output())
	}
	waitFor(t, "serve to see the worker leave", func() bool { return metric(t, srv.url+"/metrics", "timbre_tts_workers") == 0 })
	get(t, http.DefaultClient, srv.url+"/readyz", 503)
	srv.stop(t)
}
