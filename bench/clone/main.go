// Command clone benchmarks Timbre's voice cloning (voice/clone) the way the
// platform clones a voice (voice/clones.go), on reference recordings of
// speakers made with other engines and voices, and prints every figure:
//
//	references   each speaker (espeak-ng, festival, Piper voices pitch-shifted
//	             by sox) reads text A; the recording is decoded, mixed to mono
//	             and analysed as an upload is (clone.Analyze with the upload
//	             limits and the Silero VAD), and clone.Nearest picks the
//	             built-in voice to convert from
//	similarity   the base voice reads other texts (B), unconverted and
//	             converted (one clone.Converter streamed over the sentence
//	             chunks, then Flush, as voice.Service.Speak does); the F0
//	             median distance (semitones) and the mean MFCC distance of
//	             each output to the reference's profile, base against clone
//	             (target: both at least halved)
//	intelligibility  pocketsphinx (Debian's 0.8, en-us) transcribes the
//	             outputs; the word error rate against the text, clone against
//	             base (target: the clone's within 10 points of the base's),
//	             and on the references themselves for context
//
// It needs the voices and the VAD model `make setup` prepares
// ($TIMBRE_DATA_DIR) and a few Debian packages (bench/clone/setup installs
// them). See bench/README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/timbre-ai/timbre/bench/machine"
)

// textA is what every reference speaker reads: the opening of the Rainbow
// Passage, the classic reading text of speech science (about 15–20 s).
const textA = "When the sunlight strikes raindrops in the air, they act as a prism and form a rainbow. " +
	"The rainbow is a division of white light into many beautiful colors. " +
	"These take the shape of a long round arch, with its path high above, and its two ends apparently beyond the horizon. " +
	"There is, according to legend, a boiling pot of gold at one end."

// textsB are what the base voice says, unconverted and cloned: several
// sentences each (about 12–15 s), of common words, so that pocketsphinx's
// general language model has a chance, and no word of textA's rarer ones.
func textsB() []string {
	return []string{
		"I will meet you at the station at nine in the morning. " +
			"Bring a warm coat, because the weather is going to be cold. " +
			"We can have breakfast at the small cafe near the park, and then we will take the train to the city.",
		"My brother works in a hospital in the north of the country. " +
			"He starts very early and comes home late at night. " +
			"On the weekend he likes to play football with his friends and cook dinner for the whole family.",
		"Please read the letter before you sign it. " +
			"If you have any questions, call the office and ask for help. " +
			"The people there are friendly, and they will answer you as soon as they can.",
	}
}

type options struct {
	dataDir  string
	speakers []speaker
	runs     int
	texts    int
	out      string
	asr      bool
	parts    bool
	jobs     int
	verbose  bool
}

func main() {
	var o options
	var names string
	flag.StringVar(&o.dataDir, "data-dir", defaultDataDir(), "Timbre's data directory: voices/ and models/silero_vad.onnx (make setup)")
	flag.StringVar(&names, "speakers", "all", "reference speakers, comma-separated, or all: "+strings.Join(speakerNames(knownSpeakers()), ", "))
	flag.IntVar(&o.runs, "runs", 3, "syntheses of each text B per base voice (Piper is random: figures are medians over runs × texts)")
	flag.IntVar(&o.texts, "texts", len(textsB()), "how many of the texts B to speak (1–3)")
	flag.StringVar(&o.out, "out", "", "keep every recording, output and transcript in this directory (default: a temporary one, removed)")
	flag.BoolVar(&o.asr, "asr", true, "measure intelligibility with pocketsphinx")
	flag.BoolVar(&o.parts, "parts", false, "also convert pitch only, timbre only and equaliser only, to see which part costs what (4× the conversions and transcriptions)")
	flag.IntVar(&o.jobs, "jobs", runtime.NumCPU(), "pocketsphinx processes run at once")
	flag.BoolVar(&o.verbose, "v", false, "print every output's figures and every transcript")
	flag.Parse()

	var err error
	o.speakers, err = selectSpeakers(splitList(names))
	if err == nil && (o.runs < 1 || o.texts < 1 || o.texts > len(textsB()) || o.jobs < 1) {
		err = fmt.Errorf("need -runs ≥ 1, -jobs ≥ 1 and -texts from 1 to %d", len(textsB()))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "clone bench:", err)
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := benchmark(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "clone bench:", err)
		os.Exit(1)
	}
}

func benchmark(ctx context.Context, o options) error {
	var needs []tool
	for _, s := range o.speakers {
		needs = append(needs, s.tools()...)
	}
	if o.asr {
		needs = append(needs, toolPocketsphinx, toolASRModel)
	}
	if missing := missingTools(needs); len(missing) > 0 {
		return missingError(missing)
	}

	dir := o.out
	if dir == "" {
		tmp, err := os.MkdirTemp("", "timbre-clone-bench-")
		if err != nil {
			return fmt.Errorf("work directory: %w", err)
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("-out: %w", err)
	}

	started := time.Now()
	fmt.Printf("clone bench: %d CPUs, %s, load average %s, %s\n",
		runtime.NumCPU(), runtime.Version(), machine.LoadAverage(), started.Format("2006-01-02 15:04 MST"))
	fmt.Printf("data from %s; %d run(s) × %d text(s) B per speaker\n\n", o.dataDir, o.runs, o.texts)

	res, err := measure(ctx, o, dir)
	if err != nil {
		return err
	}
	report(os.Stdout, res, o)
	if o.out != "" {
		fmt.Printf("recordings, outputs and transcripts kept in %s\n", o.out)
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

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
