package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/timbre-ai/timbre/voice/talk"
)

// request is a command to a set of clients; in a child process, one JSON
// object a line on its stdin, answered by one response a line on stdout.
type request struct {
	// Op is dial (N more calls), text (every call types Text and waits
	// for its reply, at most Timeout) or close (hang every call up).
	Op      string        `json:"op"`
	N       int           `json:"n,omitempty"`
	Text    string        `json:"text,omitempty"`
	Timeout time.Duration `json:"timeout,omitempty"`
}

type response struct {
	// Clients is the number of calls open after the command.
	Clients int          `json:"clients"`
	Speak   *speakReport `json:"speak,omitempty"`
	Error   string       `json:"error,omitempty"`
}

func (p *pool) do(ctx context.Context, req request) response {
	var resp response
	switch req.Op {
	case "dial":
		if err := p.dial(ctx, req.N); err != nil {
			resp.Error = err.Error()
		}
	case "text":
		r := p.speakText(ctx, req.Text, req.Timeout)
		resp.Speak = &r
	case "close":
		p.close()
	default:
		resp.Error = fmt.Sprintf("unknown op %q", req.Op)
	}
	resp.Clients = len(p.clients)
	return resp
}

// childMain is the client process: calls answered by the signalling URL,
// driven by requests on in.
func childMain(url string, in io.Reader, out io.Writer) int {
	ctx := context.Background()
	p := &pool{signal: httpSignal(url)}
	defer p.close()
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	enc := json.NewEncoder(out)
	for sc.Scan() {
		var req request
		resp := response{Error: "bad request"}
		if err := json.Unmarshal(sc.Bytes(), &req); err == nil {
			resp = p.do(ctx, req)
		}
		if err := enc.Encode(resp); err != nil {
			fmt.Fprintln(os.Stderr, "voicechat clients:", err)
			return 1
		}
	}
	return 0
}

// httpSignal posts an offer to url and returns the answer.
func httpSignal(url string) func(context.Context, string) (string, error) {
	client := &http.Client{Timeout: 60 * time.Second}
	return func(ctx context.Context, offer string) (string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(offer))
		if err != nil {
			return "", err
		}
		resp, err := client.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if err != nil {
			return "", err
		}
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("signalling: %s: %s", resp.Status, b)
		}
		return string(b), nil
	}
}

// signaling answers offers with calls of one manager, in process or over
// HTTP, and remembers the sessions it opened.
type signaling struct {
	s   *server
	mgr *talk.Manager
	srv *httptest.Server

	mu     sync.Mutex
	opened []talk.Opened
}

func newSignaling(s *server, mgr *talk.Manager) *signaling {
	g := &signaling{s: s, mgr: mgr}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		offer, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		if err != nil || r.Method != http.MethodPost {
			http.Error(w, "POST an SDP offer", http.StatusBadRequest)
			return
		}
		answer, err := g.answer(r.Context(), string(offer))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, answer)
	}))
	return g
}

func (g *signaling) answer(ctx context.Context, offer string) (string, error) {
	o, err := g.mgr.Open(context.WithoutCancel(ctx), talk.OpenRequest{UserID: g.s.user.ID, UserName: g.s.user.DisplayName,
		AgentID: g.s.agent.ID, SDP: offer})
	if err != nil {
		return "", err
	}
	g.mu.Lock()
	g.opened = append(g.opened, o)
	g.mu.Unlock()
	return o.SDP, nil
}

// mark is the number of sessions opened so far; since(mark) the sessions
// opened after it.
func (g *signaling) mark() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.opened)
}

func (g *signaling) since(mark int) []talk.Opened {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]talk.Opened(nil), g.opened[mark:]...)
}

func (g *signaling) close() { g.srv.Close() }

// clients is a pool in this process or in a child process.
type clients interface {
	do(ctx context.Context, req request) (response, error)
	// pid is the process holding the clients; 0 for this one.
	pid() int
	stop()
}

type localClients struct{ p *pool }

func (l localClients) do(ctx context.Context, req request) (response, error) {
	r := l.p.do(ctx, req)
	if r.Error != "" {
		return r, errors.New(r.Error)
	}
	return r, nil
}

func (localClients) pid() int { return 0 }

func (l localClients) stop() { l.p.close() }

// childClients is a pool in a child process: this program again, with
// childEnv set.
type childClients struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Scanner
	stderr *tailBuffer
}

func startChild(url string) (*childClients, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), childEnv+"="+url)
	c := &childClients{cmd: cmd, stderr: &tailBuffer{max: 4096}}
	cmd.Stderr = c.stderr
	if c.in, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	c.out = bufio.NewScanner(stdout)
	c.out.Buffer(make([]byte, 64<<10), 16<<20)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the client process: %w", err)
	}
	return c, nil
}

func (c *childClients) do(ctx context.Context, req request) (response, error) {
	b, _ := json.Marshal(req)
	if _, err := c.in.Write(append(b, '\n')); err != nil {
		return response{}, fmt.Errorf("client process: %w (its stderr: %s)", err, c.stderr)
	}
	got := make(chan error, 1)
	var resp response
	go func() {
		if !c.out.Scan() {
			got <- fmt.Errorf("client process ended (its stderr: %s)", c.stderr)
			return
		}
		got <- json.Unmarshal(c.out.Bytes(), &resp)
	}()
	select {
	case err := <-got:
		if err != nil {
			return resp, err
		}
	case <-ctx.Done():
		_ = c.cmd.Process.Kill()
		return resp, ctx.Err()
	}
	if resp.Error != "" {
		return resp, errors.New(resp.Error)
	}
	return resp, nil
}

func (c *childClients) pid() int { return c.cmd.Process.Pid }

func (c *childClients) stop() {
	_ = c.in.Close() // the child hangs up and exits at EOF
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
	}
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append([]byte(nil), t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.b))
}
