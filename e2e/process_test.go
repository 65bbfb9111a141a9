package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// timbreBin is the timbre binary TestMain builds.
var timbreBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "timbre-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	timbreBin = filepath.Join(dir, "timbre")
	build := exec.Command("go", "build", "-o", timbreBin, "./cmd/timbre")
	build.Dir = ".."
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: build timbre:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// process is a running `timbre serve`.
type process struct {
	cmd  *exec.Cmd
	url  string
	mu   sync.Mutex
	logs strings.Builder
	done chan error
}

var urlLine = regexp.MustCompile(`open (http://\S+)`)

// timbre runs the binary to completion and returns its exit code and output.
func timbre(t *testing.T, dbURL string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(timbreBin, args...)
	cmd.Env = append(os.Environ(), "TIMBRE_DATABASE_URL="+dbURL, "TIMBRE_DATA_DIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, string(out)
}

// serve starts `timbre serve` on a free port and waits until it prints its
// URL. dataDir keeps the embedded NATS store across restarts.
func serve(t *testing.T, dbURL, dataDir string, extraEnv ...string) *process {
	t.Helper()
	cmd := exec.Command(timbreBin, "serve")
	cmd.Env = append(os.Environ(),
		"TIMBRE_DATABASE_URL="+dbURL, "TIMBRE_DATA_DIR="+dataDir, "TIMBRE_ADDR=127.0.0.1:0",
		"TIMBRE_AUTH_RATE_PER_MINUTE=1000")
	cmd.Env = append(cmd.Env, extraEnv...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, done: make(chan error, 1)}
	cmd.Stderr = writerFunc(func(b []byte) { p.mu.Lock(); p.logs.Write(b); p.mu.Unlock() })
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := urlLine.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	go func() { p.done <- cmd.Wait() }()
	select {
	case p.url = <-found:
	case err := <-p.done:
		t.Fatalf("timbre serve exited before serving (%v):\n%s", err, p.output())
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("timbre serve printed no URL in 60 s:\n%s", p.output())
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
		}
	})
	return p
}

func (p *process) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

// stop sends SIGTERM and checks the process shuts down cleanly.
func (p *process) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("timbre serve exited with %v after SIGTERM:\n%s", err, p.output())
		}
	case <-ctx.Done():
		t.Fatalf("timbre serve did not stop within 30 s of SIGTERM:\n%s", p.output())
	}
	if !strings.Contains(p.output(), "http server stopped") {
		t.Fatalf("no orderly shutdown in the log:\n%s", p.output())
	}
}

type writerFunc func([]byte)

func (f writerFunc) Write(b []byte) (int, error) { f(b); return len(b), nil }

var _ io.Writer = writerFunc(nil)
