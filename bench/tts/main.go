// Command tts benchmarks Timbre's speech synthesis (voice/tts: Piper VITS
// voices on sherpa-onnx) against the piper program those voices were made
// for, on the same voice files, and prints a comparison:
//
//	timbre      per voice and text, syntheses one at a time through
//	            tts.Piper.Stream with the model loaded: time to the first
//	            sentence's audio, total time, real-time factor, CPU used,
//	            for each -threads value
//	piper cold  the piper CLI (unpacked from the Go module
//	            github.com/amitybell/piper-bin-linux in the module cache)
//	            started once per utterance: what a user of the CLI waits,
//	            model load included
//	piper warm  one piper process fed one line at a time on stdin: its
//	            time per utterance with the model already loaded
//	concurrent  1, 2, 4, 8, 16 synthesis loops in one process, Slots set
//	            to match, and the real-time factor each loop sees
//
// The engines take turns within each repetition, so that load from other
// work on the machine falls on all of them alike. It needs the voices
// `make setup` prepares ($TIMBRE_DATA_DIR/voices). See bench/README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/timbre-ai/timbre/bench/machine"
)

// The texts every engine speaks. The short one is a typical agent reply;
// its first sentence is short, as replies' usually are.
const (
	shortText = "Good morning, and thanks for calling. " +
		"Your order left our warehouse this morning and should reach you on Thursday. " +
		"Is there anything else I can help you with today?"
	paragraphText = "The lighthouse has stood at the edge of the cliff for more than a century. " +
		"Every evening its keeper climbed the narrow stairs, trimmed the wick and polished the great lens until it shone. " +
		"Ships passing in the dark counted its flashes to learn where they were. " +
		"When storms came in from the west, he stayed awake until dawn and watched the beam sweep across the waves. " +
		"Nobody remembers his name now, but the light still turns. " +
		"It runs on electricity today, and no one has to climb the stairs."
)

type options struct {
	voicesDir     string
	voices        []string
	threads       []int
	n, nLong      int
	piper         bool
	piperOneCPU   bool
	streams       []int
	streamVoice   string
	streamThreads int
	streamFor     time.Duration
}

func main() {
	var o options
	var voices, threads, streams string
	flag.StringVar(&o.voicesDir, "voices-dir", defaultVoicesDir(), "prepared voices (make setup)")
	flag.StringVar(&voices, "voices", "jenny,alan", "voices to measure, comma-separated")
	flag.StringVar(&threads, "threads", "1,2", "ONNX Runtime threads per synthesis to measure Timbre with, comma-separated")
	flag.IntVar(&o.n, "n", 5, "measured syntheses of the 3-sentence text, per voice and engine")
	flag.IntVar(&o.nLong, "n-long", 2, "measured syntheses of the paragraph, per voice and engine (0: skip it)")
	flag.BoolVar(&o.piper, "piper", true, "compare with the piper CLI")
	flag.BoolVar(&o.piperOneCPU, "piper-1cpu", false, "also run a warm piper with all its threads moved onto CPU 0 (needs taskset)")
	flag.StringVar(&streams, "streams", "1,2,4,8,16", "concurrent synthesis loops to run, comma-separated (empty: skip)")
	flag.StringVar(&o.streamVoice, "stream-voice", "jenny", "voice of the concurrent loops")
	flag.IntVar(&o.streamThreads, "stream-threads", 1, "ONNX Runtime threads per synthesis in the concurrent loops")
	flag.DurationVar(&o.streamFor, "stream-for", 6*time.Second, "how long each concurrency level starts new syntheses")
	flag.Parse()

	var err error
	o.voices = splitList(voices)
	if o.threads, err = intList(threads); err == nil {
		o.streams, err = intList(streams)
	}
	if err == nil && (len(o.voices) == 0 || len(o.threads) == 0 || o.n < 1 || o.nLong < 0) {
		err = errors.New("need at least one voice, one -threads value and -n ≥ 1")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tts bench:", err)
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := benchmark(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "tts bench:", err)
		os.Exit(1)
	}
}

func benchmark(ctx context.Context, o options) error {
	started := time.Now()
	texts := []script{{"3 sentences", shortText, o.n}}
	if o.nLong > 0 {
		texts = append(texts, script{"paragraph", paragraphText, o.nLong})
	}
	fmt.Printf("tts bench: %d CPUs, GOMAXPROCS %d, %s, load average %s\n",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), machine.LoadAverage())
	fmt.Printf("voices from %s: %s\n\n", o.voicesDir, strings.Join(o.voices, ", "))

	res, piperNote, err := measure(ctx, o, texts)
	if err != nil {
		return err
	}
	printSeries(res, o.voices, texts)
	if piperNote == "" {
		printComparison(res, o, texts)
	} else {
		fmt.Printf("piper CLI %s: no comparison.\n\n", piperNote)
	}

	if len(o.streams) > 0 {
		var loads []streamLoad
		for _, n := range o.streams {
			l, err := concurrentRuns(ctx, o.voicesDir, o.streamThreads, n, o.streamVoice, shortText, o.streamFor)
			if err != nil {
				return err
			}
			loads = append(loads, l)
		}
		printLoads(loads, o)
	}
	fmt.Printf("done in %s; load average %s\n", time.Since(started).Round(time.Second), machine.LoadAverage())
	return nil
}

func printSeries(res *results, voices []string, texts []script) {
	fmt.Println("Per utterance (median / p90 of the measured runs; RTF = synthesis time ÷ audio duration;")
	fmt.Println("CPU cores = CPU time ÷ synthesis time; CPU/audio = CPU seconds per second of speech):")
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "voice\ttext\tengine\tn\tfirst audio\ttotal\taudio\tRTF\tCPU cores\tCPU/audio\t")
	for _, v := range voices {
		for _, t := range texts {
			for _, s := range res.all {
				if s.voice != v || s.text != t.label {
					continue
				}
				m := summarise(s.runs)
				first, cores, cpuAudio := "—", "—", "—"
				if m.firstKnown {
					first = fmt.Sprintf("%s / %s", msec(m.first50), msec(m.first90))
				}
				if m.cpuSet {
					cores = fmt.Sprintf("%.2f", m.cores)
					cpuAudio = fmt.Sprintf("%.3f", m.cpuPerAudio)
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\t%s / %s\t%.2f s\t%.3f / %.3f\t%s\t%s\t\n",
					v, t.label, s.engine, m.n, first, msec(m.total50), msec(m.total90),
					m.audio50.Seconds(), m.rtf50, m.rtf90, cores, cpuAudio)
			}
		}
	}
	w.Flush()
	fmt.Println()
}

// printComparison sets Timbre's medians against piper's: the real-time
// factor against the warm piper process (both with the model loaded;
// target ≤ 1.1×), the CPU each spends on a second of speech, and Timbre's
// first audio against piper's whole utterance (target ≤ 40% of the cold
// CLI's, for the 3-sentence text).
func printComparison(res *results, o options, texts []script) {
	fmt.Println("Timbre against the piper CLI (ratios of medians):")
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "voice\ttext\tTimbre\tRTF ÷ piper warm RTF (≤ 1.10)\tCPU/audio ÷ piper warm's\tfirst audio ÷ piper cold total (≤ 0.40)\tfirst audio ÷ piper warm total\t")
	for _, v := range o.voices {
		for _, t := range texts {
			cold, okC := res.find(v, t.label, piperCold)
			warm, okW := res.find(v, t.label, piperWarm)
			if !okC || !okW {
				continue
			}
			for _, threads := range o.threads {
				tm, ok := res.find(v, t.label, timbreLabel(threads))
				if !ok {
					continue
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%.2f\t%s\t%.2f\t\n", v, t.label, timbreLabel(threads),
					verdict(tm.rtf50/warm.rtf50, 1.10),
					tm.cpuPerAudio/warm.cpuPerAudio,
					verdict(tm.first50.Seconds()/cold.total50.Seconds(), 0.40),
					tm.first50.Seconds()/warm.total50.Seconds())
			}
		}
	}
	w.Flush()
	fmt.Println()
}

func verdict(ratio, target float64) string {
	if ratio <= target {
		return fmt.Sprintf("%.2f  met", ratio)
	}
	return fmt.Sprintf("%.2f  MISSED", ratio)
}

func printLoads(loads []streamLoad, o options) {
	fmt.Printf("Concurrent streams (%s, 3-sentence text back to back for %s per level, %d ONNX thread(s) each, Slots = streams):\n",
		o.streamVoice, o.streamFor, o.streamThreads)
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "streams\tsyntheses\twall\taudio/s\tRTF per stream median\tworst\tfirst audio p50 / p90\treal time\t")
	for _, l := range loads {
		var rtfs []float64
		var firsts []time.Duration
		var audio time.Duration
		count := 0
		for _, runs := range l.perStream {
			var busy, heard time.Duration
			for _, r := range runs {
				busy += r.total
				heard += r.audio
				firsts = append(firsts, r.firstAudio)
			}
			count += len(runs)
			audio += heard
			if heard > 0 {
				rtfs = append(rtfs, busy.Seconds()/heard.Seconds())
			}
		}
		worst := machine.Quantile(rtfs, 1)
		ok := "yes"
		if worst >= 1 {
			ok = "no"
		}
		fmt.Fprintf(w, "%d\t%d\t%.1f s\t%.2f\t%.3f\t%.3f\t%s / %s\t%s\t\n", l.streams, count, l.wall.Seconds(),
			audio.Seconds()/l.wall.Seconds(), machine.Quantile(rtfs, 0.5), worst,
			msec(machine.Quantile(firsts, 0.5)), msec(machine.Quantile(firsts, 0.9)), ok)
	}
	w.Flush()
	fmt.Println("(audio/s: seconds of speech the process made per second of wall time, all streams together)")
	fmt.Println()
}

func msec(d time.Duration) string {
	return strconv.FormatInt(d.Milliseconds(), 10) + " ms"
}

func defaultVoicesDir() string {
	if d := os.Getenv("TIMBRE_DATA_DIR"); d != "" {
		return d + "/voices"
	}
	return ".data/voices"
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func intList(s string) ([]int, error) {
	var out []int
	for _, p := range splitList(s) {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q: want positive integers separated by commas", s)
		}
		out = append(out, n)
	}
	return out, nil
}
