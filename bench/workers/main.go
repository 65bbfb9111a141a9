// Command workers benchmarks Timbre's voice worker pool (voice/worker) with
// real `timbre worker` processes: how many concurrent speech streams a
// machine sustains faster than real time, how the pool scales from one
// worker process to two, and what a client sees when a worker dies.
//
// It builds ./cmd/timbre, opens an embedded NATS that accepts TCP clients
// on a loopback port (bus.Config.Listen), starts `timbre worker` processes
// joined to it (TIMBRE_NATS_URL, TIMBRE_DATA_DIR, TIMBRE_TTS_SLOTS,
// TIMBRE_TTS_THREADS, TIMBRE_METRICS_ADDR), and drives them through a
// worker.Client in this process, the same client `timbre serve` uses:
//
//	load    for every setup (processes × slots × threads) and every number
//	        of streams, closed-loop streams each send a 3-sentence text
//	        again as soon as its reply ends; first audio, real-time factor,
//	        speech per second, failures, and the Prometheus series an
//	        autoscaler would watch (the client's queue depth and retries,
//	        the workers' synthesis latency)
//	loss    two workers under load; one is killed with SIGKILL mid-stream,
//	        and the bench reports which requests failed, which were sent
//	        again, and how long the client took to say so
//
// It needs the voices `make setup` prepares ($TIMBRE_DATA_DIR/voices). See
// bench/README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/timbre-ai/timbre/bus"
	"github.com/timbre-ai/timbre/voice/worker"

	"github.com/timbre-ai/timbre/bench/machine"
)

// text is what every stream speaks: bench/tts's 3-sentence agent reply,
// about 8 s of speech with jenny.
const text = "Good morning, and thanks for calling. " +
	"Your order left our warehouse this morning and should reach you on Thursday. " +
	"Is there anything else I can help you with today?"

type options struct {
	bin, dataDir, voice   string
	procs, slots, threads []int
	streams               []int
	// setups, when -setups is given, replaces the combinations of procs,
	// slots and threads.
	setups                 []setup
	perLevel               time.Duration
	loss                   lossOptions
	killSlots, killThreads int
}

func main() {
	var o options
	var procs, slots, threads, streams, explicit string
	flag.StringVar(&o.bin, "bin", "", "timbre binary to run as workers (empty: go build ./cmd/timbre into a temporary folder)")
	flag.StringVar(&o.dataDir, "data-dir", defaultDataDir(), "data dir whose voices/ the workers speak with (TIMBRE_DATA_DIR)")
	flag.StringVar(&o.voice, "voice", "jenny", "voice every stream speaks with")
	flag.StringVar(&procs, "workers", "1,2", "worker processes per setup, comma-separated")
	flag.StringVar(&slots, "slots", "1,2", "TIMBRE_TTS_SLOTS per worker process, comma-separated (every combination with -workers and -threads is a setup)")
	flag.StringVar(&threads, "threads", "1", "TIMBRE_TTS_THREADS (ONNX Runtime threads per synthesis), comma-separated")
	flag.StringVar(&explicit, "setups", "", "setups as processes×slots×threads, comma-separated (\"1x16x1,2x8x1\"); replaces -workers, -slots and -threads")
	flag.StringVar(&streams, "streams", "1,2,4,8,16", "concurrent streams per level, comma-separated")
	flag.DurationVar(&o.perLevel, "d", 5*time.Second, "how long each level starts new requests (those under way then finish)")
	flag.IntVar(&o.loss.rounds, "kill-rounds", 3, "worker-loss rounds, each killing one of two workers with SIGKILL (0: skip)")
	flag.IntVar(&o.loss.streams, "kill-streams", 4, "concurrent streams during a worker-loss round")
	flag.IntVar(&o.killSlots, "kill-slots", 4, "TIMBRE_TTS_SLOTS of the two workers in the loss rounds")
	flag.IntVar(&o.killThreads, "kill-threads", 1, "TIMBRE_TTS_THREADS of the two workers in the loss rounds")
	flag.DurationVar(&o.loss.killAfter, "kill-after", 2*time.Second, "load start → the kill, in a loss round")
	flag.DurationVar(&o.loss.observe, "kill-observe", 4*time.Second, "the kill → the end of a loss round")
	flag.Parse()

	err := o.parse(procs, slots, threads, streams, explicit)
	if err != nil {
		fmt.Fprintln(os.Stderr, "workers bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := benchmark(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "workers bench:", err)
		os.Exit(1)
	}
}

func (o *options) parse(procs, slots, threads, streams, explicit string) error {
	var err error
	if explicit != "" {
		if o.setups, err = parseSetups(explicit); err != nil {
			return fmt.Errorf("-setups %w", err)
		}
		procs = ""
	}
	if o.procs, err = intList(procs); err != nil {
		return fmt.Errorf("-workers %w", err)
	}
	if o.slots, err = intList(slots); err != nil {
		return fmt.Errorf("-slots %w", err)
	}
	if o.threads, err = intList(threads); err != nil {
		return fmt.Errorf("-threads %w", err)
	}
	if o.streams, err = intList(streams); err != nil {
		return fmt.Errorf("-streams %w", err)
	}
	switch {
	case len(o.procs) == 0 && len(o.setups) == 0 && o.loss.rounds == 0:
		return errors.New("nothing to do: no setup and -kill-rounds is 0")
	case len(o.procs) > 0 && (len(o.slots) == 0 || len(o.threads) == 0):
		return errors.New("-slots and -threads need at least one value each")
	case (len(o.procs) > 0 || len(o.setups) > 0) && len(o.streams) == 0:
		return errors.New("-streams needs at least one value")
	case o.perLevel <= 0:
		return errors.New("-d must be positive")
	case o.loss.rounds < 0:
		return errors.New("-kill-rounds must not be negative")
	case o.loss.rounds > 0 && (o.loss.streams < 1 || o.killSlots < 1 || o.killThreads < 1 || o.loss.killAfter <= 0 || o.loss.observe <= 0):
		return errors.New("-kill-streams, -kill-slots, -kill-threads, -kill-after and -kill-observe must be positive")
	}
	o.loss.setup = setup{procs: 2, slots: o.killSlots, threads: o.killThreads}
	if o.setups == nil {
		o.setups = setups(o.procs, o.slots, o.threads)
	}
	abs, err := filepath.Abs(o.dataDir)
	if err != nil {
		return fmt.Errorf("-data-dir: %w", err)
	}
	o.dataDir = abs
	if _, err := os.Stat(filepath.Join(o.dataDir, "voices", o.voice)); err != nil {
		return fmt.Errorf("voice %s: %w (run `make setup`, or point -data-dir at the prepared data)", o.voice, err)
	}
	return nil
}

func benchmark(ctx context.Context, o options) error {
	started := time.Now()
	host, _ := os.Hostname()
	fmt.Printf("workers bench: %s, %s, %d CPUs, GOMAXPROCS %d, %s, load average %s\n",
		started.Format("2006-01-02 15:04 MST"), host, runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), machine.LoadAverage())
	tmp, err := os.MkdirTemp("", "timbre-bench-workers-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	if o.bin == "" {
		if o.bin, err = buildTimbre(ctx, tmp); err != nil {
			return err
		}
	} else if err := checkBinary(ctx, o.bin); err != nil {
		return err
	}
	b, err := bus.Open(ctx, bus.Config{DataDir: filepath.Join(tmp, "bus"), Listen: "127.0.0.1:0", Name: "bench-workers"}, nil)
	if err != nil {
		return fmt.Errorf("open the embedded bus: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = b.Close(cctx)
	}()
	reg := prometheus.NewRegistry()
	client, err := worker.NewClient(b, worker.ClientConfig{Registerer: reg}, nil)
	if err != nil {
		return err
	}
	defer client.Close()
	p := &pool{bin: o.bin, dataDir: o.dataDir, natsURL: b.ListenURL(), voice: o.voice, text: text, client: client}
	// Before the client and the bus close.
	defer p.stopAll()
	fmt.Printf("workers: %s worker, voices from %s, NATS %s; client: worker.ClientConfig defaults (%d attempts, backoff %s–%s)\n\n",
		o.bin, filepath.Join(o.dataDir, "voices"), b.ListenURL(), worker.DefaultMaxAttempts, worker.DefaultBackoff, worker.DefaultMaxBackoff)

	var levels []level
	for _, s := range o.setups {
		p.stopAll()
		fmt.Fprintf(os.Stderr, "setup %s: %s\n", s, s.describe())
		if _, err := p.start(ctx, s.procs, s); err != nil {
			return err
		}
		if err := p.warm(ctx, s.procs*s.slots); err != nil {
			return fmt.Errorf("setup %s: %w", s, err)
		}
		for _, n := range o.streams {
			// Let the adverts of the last requests settle.
			time.Sleep(300 * time.Millisecond)
			l, err := p.runLevel(ctx, reg, s, n, o.perLevel)
			if err != nil {
				return fmt.Errorf("setup %s, %d streams: %w", s, n, err)
			}
			fmt.Fprintf(os.Stderr, "  %2d streams: %d requests, %d failed, %.1f s of speech per s\n",
				n, l.sum.requests, l.sum.requests-l.sum.ok, l.sum.audioPerSec)
			levels = append(levels, l)
		}
	}
	if len(levels) > 0 {
		printLevels(os.Stdout, levels, o)
	}

	if o.loss.rounds > 0 {
		fmt.Fprintf(os.Stderr, "worker loss: %s, %d streams, %d rounds\n", o.loss.setup.describe(), o.loss.streams, o.loss.rounds)
		rounds, err := p.runLoss(ctx, reg, o.loss)
		if err != nil {
			return fmt.Errorf("worker loss: %w", err)
		}
		printLoss(os.Stdout, rounds, o.loss)
	}
	fmt.Printf("done in %s; load average %s\n", time.Since(started).Round(time.Second), machine.LoadAverage())
	return nil
}

func defaultDataDir() string {
	if d := os.Getenv("TIMBRE_DATA_DIR"); d != "" {
		return d
	}
	return ".data"
}

// parseSetups reads "1x2x1,2x1x1" (or with ×) as processes×slots×threads.
func parseSetups(s string) ([]setup, error) {
	var out []setup
	for _, p := range strings.Split(strings.ReplaceAll(s, "×", "x"), ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		f := strings.Split(p, "x")
		if len(f) != 3 {
			return nil, fmt.Errorf("%q: want processes×slots×threads, like 2x1x1", p)
		}
		n, err := intList(strings.Join(f, ","))
		if err != nil || len(n) != 3 {
			return nil, fmt.Errorf("%q: want three positive integers, like 2x1x1", p)
		}
		out = append(out, setup{procs: n[0], slots: n[1], threads: n[2]})
	}
	return out, nil
}

func intList(s string) ([]int, error) {
	var out []int
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q: want positive integers separated by commas", s)
		}
		out = append(out, n)
	}
	return out, nil
}
