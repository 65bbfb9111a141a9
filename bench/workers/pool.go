package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/timbre-ai/timbre/voice/tts"
	"github.com/timbre-ai/timbre/voice/worker"
)

// Limits of the pool's waits; reaching one fails the bench.
const (
	// joinTimeout bounds a worker process's start, from exec to its first
	// advert reaching the client.
	joinTimeout = 60 * time.Second
	// stopTimeout bounds a graceful stop (SIGTERM, the worker drains).
	stopTimeout = 20 * time.Second
)

// buildTimbre builds ./cmd/timbre into dir and checks that the binary
// starts: the speech engine's shared libraries are found through the rpath
// plain `go build` records (the Go module cache).
func buildTimbre(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "timbre")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/timbre")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("build timbre (run from the repository root): %w", err)
	}
	return bin, checkBinary(ctx, bin)
}

// checkBinary runs `bin version`, which fails when the dynamic linker
// cannot find the engine's libraries.
func checkBinary(ctx context.Context, bin string) error {
	out, err := exec.CommandContext(ctx, bin, "version").CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s does not run (%w): %s; try `make build` and -bin bin/timbre",
			bin, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// setup is one pool configuration: processes × slots × ONNX threads.
type setup struct {
	procs, slots, threads int
}

func (s setup) String() string {
	return fmt.Sprintf("%d×%d×%d", s.procs, s.slots, s.threads)
}

// describe spells the setup out for headings.
func (s setup) describe() string {
	return fmt.Sprintf("%s, TIMBRE_TTS_SLOTS=%d, TIMBRE_TTS_THREADS=%d (%s in all)",
		plural(s.procs, "worker process", "worker processes"), s.slots, s.threads, plural(s.procs*s.slots, "slot", "slots"))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// setups is every combination of the lists, processes outermost.
func setups(procs, slots, threads []int) []setup {
	var out []setup
	for _, p := range procs {
		for _, s := range slots {
			for _, t := range threads {
				out = append(out, setup{p, s, t})
			}
		}
	}
	return out
}

// proc is one `timbre worker` process.
type proc struct {
	id          string
	cmd         *exec.Cmd
	metricsAddr string
	logs        *tailBuffer
	exited      chan struct{}
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// stop asks the worker to drain and exit (SIGTERM), and kills it when it
// takes longer than stopTimeout.
func (p *proc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(stopTimeout):
		p.kill()
	}
}

// kill ends the worker at once (SIGKILL: no leaving advert, no drain) and
// reaps it.
func (p *proc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// pool runs the worker processes and the client that uses them.
type pool struct {
	bin, dataDir, natsURL string
	voice, text           string
	client                *worker.Client
	procs                 []*proc
}

// start launches n worker processes with setup s and waits until the
// client sees each one.
func (p *pool) start(ctx context.Context, n int, s setup) ([]*proc, error) {
	var started []*proc
	for range n {
		pr, err := p.launch(s)
		if err != nil {
			return started, err
		}
		p.procs = append(p.procs, pr)
		started = append(started, pr)
	}
	deadline := time.Now().Add(joinTimeout)
	for _, pr := range started {
		if err := p.awaitJoin(ctx, pr, deadline); err != nil {
			return started, err
		}
	}
	return started, nil
}

func (p *pool) launch(s setup) (*proc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(p.bin, "worker")
	// Later entries win over the inherited environment.
	cmd.Env = append(os.Environ(),
		"TIMBRE_NATS_URL="+p.natsURL,
		"TIMBRE_DATA_DIR="+p.dataDir,
		"TIMBRE_TTS_PROVIDER=cpu",
		"TIMBRE_TTS_SLOTS="+strconv.Itoa(s.slots),
		"TIMBRE_TTS_THREADS="+strconv.Itoa(s.threads),
		"TIMBRE_METRICS_ADDR="+addr,
		"TIMBRE_LOG_LEVEL=warn",
	)
	logs := &tailBuffer{max: 16 << 10}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s worker: %w", p.bin, err)
	}
	pr := &proc{cmd: cmd, metricsAddr: addr, logs: logs, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(pr.exited)
	}()
	return pr, nil
}

// awaitJoin waits for the advert of pr: a worker's default ID holds its
// process ID ("host-<pid>-<random>").
func (p *pool) awaitJoin(ctx context.Context, pr *proc, deadline time.Time) error {
	mark := "-" + strconv.Itoa(pr.pid()) + "-"
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		for _, w := range p.client.Workers() {
			if strings.Contains(w.ID, mark) {
				pr.id = w.ID
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("worker process %d did not join within %s; its log:\n%s", pr.pid(), joinTimeout, pr.logs)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-pr.exited:
			return fmt.Errorf("worker process %d exited before joining (%s); its log:\n%s", pr.pid(), pr.cmd.ProcessState, pr.logs)
		case <-t.C:
		}
	}
}

// byID is the process of worker id, or nil.
func (p *pool) byID(id string) *proc {
	for _, pr := range p.procs {
		if pr.id == id {
			return pr
		}
	}
	return nil
}

// remove forgets pr, which has exited.
func (p *pool) remove(pr *proc) {
	for i, q := range p.procs {
		if q == pr {
			p.procs = append(p.procs[:i], p.procs[i+1:]...)
			return
		}
	}
}

// stopAll stops every worker process, all at once, and waits until the
// client no longer lists any.
func (p *pool) stopAll() {
	var wg sync.WaitGroup
	for _, pr := range p.procs {
		wg.Go(pr.stop)
	}
	wg.Wait()
	p.procs = nil
	deadline := time.Now().Add(stopTimeout)
	for len(p.client.Workers()) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
}

// warm sends n requests at once, twice over, and needs them all to
// succeed: every worker loads the voice's model on its first request, and
// an ONNX session's first runs plan and allocate, which the measurements
// must not include.
func (p *pool) warm(ctx context.Context, n int) error {
	for round := range 2 {
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				errs[i] = p.client.Stream(ctx, tts.Request{Voice: p.voice, Text: p.text}, func(tts.Chunk) error { return nil })
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return fmt.Errorf("warm-up round %d, %d requests at once: %w", round+1, n, err)
		}
	}
	return nil
}

// pids lists the running worker processes' IDs.
func (p *pool) pids() []int {
	out := make([]int, 0, len(p.procs))
	for _, pr := range p.procs {
		out = append(out, pr.pid())
	}
	return out
}

// freeAddr is a loopback address with a port that was free a moment ago.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	return addr, nil
}

// tailBuffer keeps the last max bytes written to it: a worker's log.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf bytes.Buffer
}

func (t *tailBuffer) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(b)
	if extra := t.buf.Len() - t.max; extra > 0 {
		t.buf.Next(extra)
	}
	return len(b), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.buf.String()
}
