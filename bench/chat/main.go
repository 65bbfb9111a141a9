// Command chat benchmarks Timbre's streaming chat against a fake language
// model that emits tokens at a fixed rate (agents/llm/llmtest, speaking
// OpenAI's wire format). It builds and starts the real `timbre serve` on a
// fresh database, then runs, in one go:
//
//	direct     a client streams straight from the fake model: the baseline
//	           cost of loopback HTTP and SSE with no Timbre in between
//	added      one chat turn at a time through Timbre: the time from the
//	           model's first token leaving the fake server to the first
//	           delta byte reaching the client, minus nothing (the fake and
//	           the client share this process's clock)
//	concurrent N chat turns streaming at once (default 500): turns and
//	           tokens per second, first-byte and first-delta latency, and
//	           the server's memory per open stream (from its /metrics, at
//	           the moment every stream is open, against the idle server)
//
// The database is dropped at the end. See bench/README.md.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/timbre-ai/timbre/agents/llm/llmtest"
	"github.com/timbre-ai/timbre/bench/benchdb"
)

const defaultAdminURL = "postgres://timbre:timbre@127.0.0.1:5432/timbre?sslmode=disable"

type options struct {
	adminURL   string
	streams    int
	turns      int
	interval   time.Duration
	words      int
	dbConns    int
	keepBinary bool
}

func main() {
	var o options
	flag.StringVar(&o.adminURL, "admin-url", envOr("TIMBRE_DATABASE_URL", defaultAdminURL), "PostgreSQL URL of a role that may create databases")
	flag.IntVar(&o.streams, "streams", 500, "concurrent streaming chats in the concurrent phase")
	flag.IntVar(&o.turns, "turns", 200, "sequential turns measured in the added-latency phase")
	flag.DurationVar(&o.interval, "interval", 20*time.Millisecond, "the fake model's pause before each token")
	flag.IntVar(&o.words, "words", 60, "tokens (words) per reply")
	flag.IntVar(&o.dbConns, "db-conns", 16, "TIMBRE_DB_MAX_CONNS of the server")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench/chat:", err)
		os.Exit(1)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// firsts records when the fake model flushed each request's first token,
// keyed by the request's tag (a word in the user's message).
type firsts struct {
	mu sync.Mutex
	at map[string]time.Time
}

func (f *firsts) record(r llmtest.Received, at time.Time) {
	n := len(r.Messages)
	if n == 0 {
		return
	}
	tag := tagOf(r.Messages[n-1].Content)
	f.mu.Lock()
	f.at[tag] = at
	f.mu.Unlock()
}

func (f *firsts) get(tag string) (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.at[tag]
	return t, ok
}

func tagOf(s string) string {
	i := strings.Index(s, "tag-")
	if i < 0 {
		return ""
	}
	end := i + 4
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	return s[i:end]
}

func run(o options) error {
	ctx := context.Background()
	words := make([]string, o.words)
	for i := range words {
		words[i] = "word" + strconv.Itoa(i)
	}
	reply := strings.Join(words, " ") + "."
	// Sequential turns only need their first token; a short reply keeps the
	// run short.
	short := strings.Join(words[:min(8, len(words))], " ") + "."
	rec := &firsts{at: map[string]time.Time{}}
	fake := llmtest.NewServer(nil, llmtest.Config{
		Reply: func(r llmtest.Received) string {
			if n := len(r.Messages); n > 0 && strings.Contains(r.Messages[n-1].Content, "tag-3") {
				return reply
			}
			return short
		},
		Interval:     o.interval,
		OnFirstChunk: rec.record,
	})
	defer fake.Close()

	name := fmt.Sprintf("timbre_bench_chat_%d", time.Now().UnixNano())
	dbURL, err := benchdb.Create(ctx, o.adminURL, name)
	if err != nil {
		return err
	}
	defer func() {
		if err := benchdb.Drop(o.adminURL, name); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}()
	if err := benchdb.Migrate(ctx, dbURL); err != nil {
		return err
	}
	srv, err := startServer(ctx, o, dbURL, fake.OpenAIURL())
	if err != nil {
		return err
	}
	defer srv.stop()

	fmt.Printf("bench/chat: %s, %d CPUs; fake model: a token every %s; %d tokens per reply (%d in the sequential phases)\n\n",
		runtime.Version(), runtime.NumCPU(), o.interval, len(llmtest.Split(reply)), len(llmtest.Split(short)))

	// direct: the fake model straight to a client.
	direct := make([]time.Duration, 0, o.turns)
	for i := range o.turns {
		tag := fmt.Sprintf("tag-%d", 1_000_000+i)
		first, err := directTurn(ctx, fake.OpenAIURL(), tag)
		if err != nil {
			return fmt.Errorf("direct turn: %w", err)
		}
		at, ok := rec.get(tag)
		if !ok {
			return errors.New("direct turn: the fake model recorded no first chunk")
		}
		direct = append(direct, first.Sub(at))
	}

	// added: sequential turns through Timbre.
	u, err := newUser(srv.url)
	if err != nil {
		return err
	}
	agentID, err := u.agent()
	if err != nil {
		return err
	}
	added := make([]time.Duration, 0, o.turns)
	conv, err := u.conversation(agentID)
	if err != nil {
		return err
	}
	for i := range o.turns {
		tag := fmt.Sprintf("tag-%d", 2_000_000+i)
		if i%20 == 0 && i > 0 { // keep the history short: a new conversation every 20 turns
			if conv, err = u.conversation(agentID); err != nil {
				return err
			}
		}
		res, err := u.turn(ctx, conv, tag)
		if err != nil {
			return fmt.Errorf("turn %d: %w", i, err)
		}
		at, ok := rec.get(tag)
		if !ok {
			return errors.New("the fake model recorded no first chunk")
		}
		added = append(added, res.firstDelta.Sub(at))
	}
	fmt.Println("added latency: model's first token flushed → client's first delta byte")
	fmt.Printf("  %-28s %s\n", "direct (no Timbre, baseline)", percentiles(direct))
	fmt.Printf("  %-28s %s\n", "through Timbre", percentiles(added))
	fmt.Printf("  %-28s p50 %.2f ms, p99 %.2f ms (target: p99 < 5 ms)\n\n", "Timbre's share",
		ms(pct(added, 50)-pct(direct, 50)), ms(pct(added, 99)-pct(direct, 99)))

	// concurrent: N turns at once, each in its own conversation.
	convs := make([]string, o.streams)
	for i := range convs {
		if convs[i], err = u.conversation(agentID); err != nil {
			return err
		}
	}
	runtime.GC()
	idle, err := srv.memory()
	if err != nil {
		return err
	}
	results := make([]turnResult, o.streams)
	errs := make([]error, o.streams)
	var open sync.WaitGroup
	open.Add(o.streams)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range o.streams {
		wg.Go(func() {
			tag := fmt.Sprintf("tag-%d", 3_000_000+i)
			results[i], errs[i] = u.turnNotify(ctx, convs[i], tag, open.Done)
			if errs[i] != nil {
				open.Done()
			}
		})
	}
	open.Wait() // every stream has its first delta: all are open
	peak, err := srv.memory()
	if err != nil {
		return err
	}
	wg.Wait()
	elapsed := time.Since(start)
	var firstByte, firstDelta, addedC []time.Duration
	failed := 0
	tokens := 0
	for i, r := range results {
		if errs[i] != nil {
			failed++
			if failed <= 3 {
				fmt.Fprintln(os.Stderr, "turn failed:", errs[i])
			}
			continue
		}
		tokens += r.deltas
		firstByte = append(firstByte, r.firstByte.Sub(r.sent))
		firstDelta = append(firstDelta, r.firstDelta.Sub(r.sent))
		if at, ok := rec.get(fmt.Sprintf("tag-%d", 3_000_000+i)); ok {
			addedC = append(addedC, r.firstDelta.Sub(at))
		}
	}
	fmt.Printf("concurrent: %d streaming chats at once (%d failed), %s until the last finished\n", o.streams, failed, elapsed.Round(time.Millisecond))
	fmt.Printf("  %-28s %.0f turns/s, %.0f tokens/s delivered\n", "throughput", float64(o.streams-failed)/elapsed.Seconds(), float64(tokens)/elapsed.Seconds())
	fmt.Printf("  %-28s %s\n", "request → first byte", percentiles(firstByte))
	fmt.Printf("  %-28s %s\n", "request → first delta", percentiles(firstDelta))
	fmt.Printf("  %-28s %s\n", "model token → client (added)", percentiles(addedC))
	fmt.Printf("  %-28s idle: RSS %.1f MiB, heap %.1f MiB, stacks %.1f MiB, %d goroutines\n", "server memory",
		mib(idle.rss), mib(idle.heap), mib(idle.stacks), idle.goroutines)
	fmt.Printf("  %-28s all open: RSS %.1f MiB, heap %.1f MiB, stacks %.1f MiB, %d goroutines\n", "",
		mib(peak.rss), mib(peak.heap), mib(peak.stacks), peak.goroutines)
	n := float64(o.streams)
	fmt.Printf("  %-28s %.1f KiB (Go heap %.1f + stacks %.1f), %.1f goroutines; whole process RSS at peak / streams: %.1f KiB\n",
		"per open stream", (peak.heap+peak.stacks-idle.heap-idle.stacks)/1024/n, (peak.heap-idle.heap)/1024/n,
		(peak.stacks-idle.stacks)/1024/n, float64(peak.goroutines-idle.goroutines)/n, peak.rss/1024/n)
	if failed > 0 {
		return fmt.Errorf("%d of %d concurrent turns failed", failed, o.streams)
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
func mib(b float64) float64      { return b / (1 << 20) }

func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p / 100)
	return s[i]
}

func percentiles(ds []time.Duration) string {
	return fmt.Sprintf("p50 %6.2f ms  p90 %6.2f ms  p99 %6.2f ms  max %6.2f ms  (n=%d)",
		ms(pct(ds, 50)), ms(pct(ds, 90)), ms(pct(ds, 99)), ms(pct(ds, 100)), len(ds))
}

// directTurn streams a completion from the fake model and returns when its
// first content byte arrived.
func directTurn(ctx context.Context, baseURL, tag string) (time.Time, error) {
	body := fmt.Sprintf(`{"model":"fake-model","stream":true,"messages":[{"role":"user","content":"hello %s"}]}`, tag)
	resp, err := http.Post(baseURL+"/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		return time.Time{}, err
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	var first time.Time
	for {
		line, err := r.ReadString('\n')
		if strings.Contains(line, `"content":"word`) && first.IsZero() {
			first = time.Now()
		}
		if err != nil {
			if errors.Is(err, io.EOF) && !first.IsZero() {
				return first, nil
			}
			return time.Time{}, fmt.Errorf("read: %w", err)
		}
	}
}

// server is a running `timbre serve`.
type server struct {
	url  string
	cmd  *exec.Cmd
	dir  string
	http *http.Client
}

func startServer(ctx context.Context, o options, dbURL, llmURL string) (*server, error) {
	dir, err := os.MkdirTemp("", "timbre-bench-chat-")
	if err != nil {
		return nil, err
	}
	bin := filepath.Join(dir, "timbre")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/timbre")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return nil, fmt.Errorf("build timbre (run from the repository root): %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(),
		"TIMBRE_ADDR="+addr, "TIMBRE_DATABASE_URL="+dbURL, "TIMBRE_DATA_DIR="+filepath.Join(dir, "data"),
		"TIMBRE_LLM_PROVIDER=openai", "TIMBRE_LLM_BASE_URL="+llmURL, "TIMBRE_LLM_MODEL=fake-model",
		"TIMBRE_DB_MAX_CONNS="+strconv.Itoa(o.dbConns), "TIMBRE_AUTH_RATE_PER_MINUTE=100000", "TIMBRE_LOG_LEVEL=warn")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &logs
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{url: "http://" + addr, cmd: cmd, dir: dir, http: &http.Client{}}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s, nil
			}
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("timbre serve did not become ready: %s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *server) stop() {
	_ = s.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
	os.RemoveAll(s.dir)
}

type memory struct {
	rss, heap, stacks float64
	goroutines        int
}

// memory reads the server's resident memory, Go heap in use and goroutine
// count from its Prometheus metrics.
func (s *server) memory() (memory, error) {
	resp, err := http.Get(s.url + "/metrics")
	if err != nil {
		return memory{}, err
	}
	defer resp.Body.Close()
	var m memory
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			continue
		}
		switch name {
		case "process_resident_memory_bytes":
			m.rss = v
		case "go_memstats_heap_inuse_bytes":
			m.heap = v
		case "go_memstats_stack_inuse_bytes":
			m.stacks = v
		case "go_goroutines":
			m.goroutines = int(v)
		}
	}
	if m.rss == 0 {
		return m, errors.New("the server's /metrics has no process_resident_memory_bytes")
	}
	return m, sc.Err()
}

// user is a signed-in browser session.
type user struct {
	base string
	http *http.Client
	csrf string
}

func newUser(base string) (*user, error) {
	jar, _ := cookiejar.New(nil)
	u := &user{base: base, http: &http.Client{Jar: jar, Transport: &http.Transport{MaxIdleConnsPerHost: 1024}}}
	if _, err := u.post("/api/auth/signup", `{"email":"bench@example.com","password":"bench-password","display_name":"Bench"}`, 201); err != nil {
		return nil, err
	}
	resp, err := u.http.Get(base + "/api/me")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var me struct {
		CSRF string `json:"csrf_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&me); err != nil {
		return nil, err
	}
	u.csrf = me.CSRF
	return u, nil
}

func (u *user) post(path, body string, want int) (map[string]any, error) {
	req, _ := http.NewRequest("POST", u.base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", u.csrf)
	resp, err := u.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return nil, fmt.Errorf("POST %s: %d %s", path, resp.StatusCode, b)
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m, nil
}

func (u *user) agent() (string, error) {
	m, err := u.post("/api/agents", `{"name":"Bench","description":"{{char}} answers benchmarks.","first_mes":"Hello."}`, 201)
	if err != nil {
		return "", err
	}
	return m["agent"].(map[string]any)["id"].(string), nil
}

func (u *user) conversation(agentID string) (string, error) {
	m, err := u.post("/api/agents/"+agentID+"/conversations", ``, 201)
	if err != nil {
		return "", err
	}
	return m["conversation"].(map[string]any)["id"].(string), nil
}

type turnResult struct {
	sent, firstByte, firstDelta time.Time
	deltas                      int
}

func (u *user) turn(ctx context.Context, conv, tag string) (turnResult, error) {
	return u.turnNotify(ctx, conv, tag, nil)
}

// turnNotify sends a message and reads the reply's events; onFirstDelta is
// called once the first delta arrived.
func (u *user) turnNotify(ctx context.Context, conv, tag string, onFirstDelta func()) (turnResult, error) {
	req, _ := http.NewRequestWithContext(ctx, "POST", u.base+"/api/conversations/"+conv+"/messages",
		strings.NewReader(`{"content":"Tell me something, `+tag+`."}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("X-CSRF-Token", u.csrf)
	var r turnResult
	r.sent = time.Now()
	resp, err := u.http.Do(req)
	if err != nil {
		return r, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		return r, fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	br := bufio.NewReaderSize(resp.Body, 4096)
	var event string
	for {
		line, err := br.ReadString('\n')
		if r.firstByte.IsZero() && len(line) > 0 {
			r.firstByte = time.Now()
		}
		switch {
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimSpace(line[7:])
			if event == "delta" {
				if r.firstDelta.IsZero() {
					r.firstDelta = time.Now()
					if onFirstDelta != nil {
						onFirstDelta()
					}
				}
				r.deltas++
			}
		case strings.HasPrefix(line, "data: ") && event == "error":
			return r, fmt.Errorf("error event: %s", line)
		}
		if err != nil {
			if errors.Is(err, io.EOF) && event == "done" {
				return r, nil
			}
			return r, fmt.Errorf("stream ended after event %q: %v", event, err)
		}
	}
}
