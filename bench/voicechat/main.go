// Command voicechat benchmarks Timbre's real-time voice calls (voice/talk)
// end to end on one machine. It builds the server the way `timbre serve`
// wires it, in this process: a fresh PostgreSQL database, the roleplay
// engine (agents/chat), Piper voices behind a voice worker on the embedded
// NATS bus, pocketsphinx, Silero VAD and pion; the language model is the
// fake OpenAI server of agents/llm/llmtest. Browsers are played by
// rtctest clients. It runs, in one go:
//
//	latency     -turns spoken questions per mode, one after another: the
//	            stage timings of every turn's "turn" message, and what the
//	            client saw (its last speech packet sent → the first audible
//	            packet of the reply); modes are llm (the fake model, first
//	            token after -ttft) and offline (no model: the agent quotes
//	            its card)
//	stages      the same stages timed alone on the same inputs (VAD
//	            decision delay, pocketsphinx's final pass, the model's first
//	            token, the segmenter's first sentence, Piper's first audio,
//	            one Opus frame) and the pipeline's overhead over their sum
//	idle        N calls whose clients send silence: CPU and memory of the
//	            server and of the clients, and a probe turn on one more call
//	speaking    N calls each answering a typed message with ~20 s of speech
//	            at once: late outbound frames, delay variation at the
//	            clients, first audio and stretched replies
//
// The clients of the idle and speaking phases run in a child process (this
// program again, with TIMBRE_VOICECHAT_CLIENTS set), so that their CPU is
// counted apart from the server's. The database is dropped at the end. See
// bench/README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const defaultAdminURL = "postgres://timbre:timbre@127.0.0.1:5432/timbre?sslmode=disable"

// childEnv, when set to the parent's signalling URL, makes the program a
// pool of WebRTC clients driven over stdin and stdout (child.go).
const childEnv = "TIMBRE_VOICECHAT_CLIENTS"

// Modes of the latency phase.
const (
	modeLLM     = "llm"
	modeOffline = "offline"
)

// Where the clients of the load phases run.
const (
	clientsProcess   = "process"
	clientsInProcess = "inprocess"
)

// Paths speech takes from a session to Piper.
const (
	ttsWorker = "worker"
	ttsDirect = "direct"
)

type options struct {
	adminURL, dataDir string
	turns, warmup     int
	ttft, tokenEvery  time.Duration
	modes             []string
	idle, speaking    []int
	window            time.Duration
	silence           time.Duration
	ttsPath           string
	ttsSlots          int
	ttsThreads        int
	asrDecoders       int
	clients           string
	json, quick       bool
	cpuProfile        string
	command           string
}

const usageText = `Usage: go run ./bench/voicechat [flags]

Benchmarks voice calls end to end in one process (see bench/README.md): the
latency of spoken turns stage by stage, the stages alone, idle calls and
agents speaking at once. It needs the PostgreSQL, voices, VAD model and
pocketsphinx that ` + "`make setup`" + ` installs.

`

func parseFlags(args []string, lookupEnv func(string) (string, bool), stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("bench/voicechat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usageText)
		fs.PrintDefaults()
	}
	var o options
	var modes, idle, speaking string
	// The default is not shown in --help: it may hold a password.
	fs.StringVar(&o.adminURL, "admin-url", "", "PostgreSQL `URL` of a role with CREATEDB (default $TIMBRE_TEST_DATABASE_URL, else "+
		"the local database `make setup` creates)")
	fs.StringVar(&o.dataDir, "data-dir", "", "data dir holding voices/ and the VAD model (default $TIMBRE_DATA_DIR, else .data)")
	fs.IntVar(&o.turns, "turns", 30, "measured spoken turns per mode")
	fs.IntVar(&o.warmup, "warmup", 1, "unmeasured turns per mode before the measured ones")
	fs.DurationVar(&o.ttft, "ttft", 200*time.Millisecond, "the fake model's time to first token (from the request to its first chunk)")
	fs.DurationVar(&o.tokenEvery, "token-interval", 20*time.Millisecond, "the fake model's pause between chunks (a word each) after the first")
	fs.StringVar(&modes, "mode", "both", "latency modes: llm, offline, both, or none (skip the latency phase)")
	fs.StringVar(&idle, "idle", "10,25,50,100", "idle calls to hold, comma-separated, ascending (empty: skip)")
	fs.StringVar(&speaking, "speaking", "5,10,20,30", "calls speaking at once, comma-separated (empty: skip)")
	fs.DurationVar(&o.window, "window", 10*time.Second, "how long CPU is measured at each idle level")
	fs.DurationVar(&o.silence, "silence", 500*time.Millisecond, "silence that ends the user's turn (TIMBRE_TURN_SILENCE)")
	fs.StringVar(&o.ttsPath, "tts", ttsWorker, "how sessions reach Piper: worker (a voice worker on the embedded bus, as `timbre serve`) or direct")
	fs.IntVar(&o.ttsSlots, "tts-slots", 2, "syntheses run at once (TIMBRE_TTS_SLOTS)")
	fs.IntVar(&o.ttsThreads, "tts-threads", 2, "ONNX Runtime threads per synthesis (TIMBRE_TTS_THREADS)")
	fs.IntVar(&o.asrDecoders, "asr-decoders", 2, "pocketsphinx decoders (TIMBRE_ASR_DECODERS)")
	fs.StringVar(&o.clients, "clients", clientsProcess, "where the idle and speaking phases' clients run: process (a child process) or inprocess")
	fs.BoolVar(&o.json, "json", false, "print the report as JSON")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of this process during the idle and speaking phases to `file`")
	fs.BoolVar(&o.quick, "quick", false, "a tiny run (1 turn per mode, 2 idle and 2 speaking calls, short replies) for the smoke test")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if o.quick {
		if !set["turns"] {
			o.turns = 1
		}
		if !set["warmup"] {
			o.warmup = 0
		}
		if !set["idle"] {
			idle = "2"
		}
		if !set["speaking"] {
			speaking = "2"
		}
		if !set["window"] {
			o.window = time.Second
		}
	}
	if o.adminURL == "" {
		o.adminURL = defaultAdminURL
		if v, ok := lookupEnv("TIMBRE_TEST_DATABASE_URL"); ok && v != "" {
			o.adminURL = v
		}
	}
	if o.dataDir == "" {
		o.dataDir = ".data"
		if v, ok := lookupEnv("TIMBRE_DATA_DIR"); ok && v != "" {
			o.dataDir = v
		}
	}
	switch modes {
	case "both":
		o.modes = []string{modeLLM, modeOffline}
	case modeLLM, modeOffline:
		o.modes = []string{modes}
	case "none":
	default:
		return options{}, fmt.Errorf("-mode %q: want llm, offline, both or none", modes)
	}
	var err error
	if o.idle, err = intList(idle); err != nil {
		return options{}, fmt.Errorf("-idle %w", err)
	}
	if !slices.IsSorted(o.idle) {
		return options{}, errors.New("-idle: the levels must ascend (calls are added to reach each one)")
	}
	if o.speaking, err = intList(speaking); err != nil {
		return options{}, fmt.Errorf("-speaking %w", err)
	}
	switch {
	case o.turns < 1 || o.turns > 10000:
		return options{}, errors.New("-turns must be from 1 to 10000")
	case o.warmup < 0:
		return options{}, errors.New("-warmup must not be negative")
	case o.ttft < 0 || o.tokenEvery < 0:
		return options{}, errors.New("-ttft and -token-interval must not be negative")
	case o.window <= 0:
		return options{}, errors.New("-window must be positive")
	case o.silence < 100*time.Millisecond || o.silence > 5*time.Second:
		return options{}, errors.New("-silence must be from 100ms to 5s")
	case o.ttsPath != ttsWorker && o.ttsPath != ttsDirect:
		return options{}, fmt.Errorf("-tts %q: want worker or direct", o.ttsPath)
	case o.ttsSlots < 1 || o.ttsThreads < 1 || o.asrDecoders < 1:
		return options{}, errors.New("-tts-slots, -tts-threads and -asr-decoders must be positive")
	case o.clients != clientsProcess && o.clients != clientsInProcess:
		return options{}, fmt.Errorf("-clients %q: want process or inprocess", o.clients)
	case len(o.idle) > 0 && o.idle[len(o.idle)-1] > 1000, len(o.speaking) > 0 && slices.Max(o.speaking) > 1000:
		return options{}, errors.New("-idle and -speaking levels must be at most 1000")
	}
	abs, err := filepath.Abs(o.dataDir)
	if err != nil {
		return options{}, fmt.Errorf("-data-dir: %w", err)
	}
	o.dataDir = abs
	o.command = strings.TrimSpace("go run ./bench/voicechat " + strings.Join(args, " "))
	return o, nil
}

// intList parses "10,25, 50" into positive numbers; "" is none.
func intList(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q: want positive whole numbers, comma-separated", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func main() {
	if url := os.Getenv(childEnv); url != "" {
		os.Exit(childMain(url, os.Stdin, os.Stdout))
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, os.LookupEnv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "bench/voicechat: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := benchmark(ctx, o, stderr)
	if err != nil && ctx.Err() != nil {
		fmt.Fprintln(stderr, "bench/voicechat: interrupted")
		return 130
	}
	if err != nil {
		fmt.Fprintf(stderr, "bench/voicechat: %v\n", err)
		return 1
	}
	if o.json {
		err = writeJSON(stdout, rep)
	} else {
		err = writeText(stdout, rep)
	}
	if err != nil {
		fmt.Fprintf(stderr, "bench/voicechat: write report: %v\n", err)
		return 1
	}
	return 0
}
