package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/timbre-ai/timbre/voice/tts"
)

// script is one of the texts, with the label the report gives it and its
// measured repetitions.
type script struct {
	label, body string
	n           int
}

// series is the runs of one engine setting on one voice and text.
type series struct {
	voice, text, engine string
	runs                []run
}

// results holds every series, in the order first seen.
type results struct{ all []series }

func (r *results) add(voice, text, engine string, runs ...run) {
	for i := range r.all {
		if s := &r.all[i]; s.voice == voice && s.text == text && s.engine == engine {
			s.runs = append(s.runs, runs...)
			return
		}
	}
	r.all = append(r.all, series{voice: voice, text: text, engine: engine, runs: runs})
}

func (r *results) find(voice, text, engine string) (summary, bool) {
	for _, s := range r.all {
		if s.voice == voice && s.text == text && s.engine == engine {
			return summarise(s.runs), true
		}
	}
	return summary{}, false
}

// Engine labels of the piper CLI rows.
const (
	piperCold   = "piper CLI, process per utterance"
	piperWarm   = "piper CLI, warm process"
	piperPinned = "piper CLI, warm process on 1 CPU"
	piperInfer  = "piper CLI, its logged inference"
)

func timbreLabel(threads int) string {
	if threads == 1 {
		return "timbre, 1 thread"
	}
	return fmt.Sprintf("timbre, %d threads", threads)
}

// timbreEngine is the voices opened with one thread count.
type timbreEngine struct {
	label string
	p     *tts.Piper
}

// piperSetup is the piper CLI ready to measure: unpacked, and one process
// per voice left running with its model loaded, and, with -piper-1cpu,
// another with all its threads moved onto one CPU.
type piperSetup struct {
	cli            *piperCLI
	outDir         string
	warm, pinned   map[string]*piperProcess
	said           []string // the labels of the texts every process was given, in order
	loads          map[string]time.Duration
	pinnedSkipNote string
}

// measure runs every engine on every voice and text. The engines take
// turns within each repetition, so that whatever else the shared machine
// is doing falls on all of them alike rather than on whichever ran while
// it happened. A piper CLI that cannot run is reported in the returned
// note, and the Timbre figures are still measured.
func measure(ctx context.Context, o options, texts []script) (*results, string, error) {
	var engines []timbreEngine
	defer func() {
		for _, e := range engines {
			e.p.Close()
		}
	}()
	for _, threads := range o.threads {
		p, err := tts.OpenPiper(tts.PiperConfig{Dir: o.voicesDir, Threads: threads})
		if err != nil {
			return nil, "", err
		}
		e := timbreEngine{label: timbreLabel(threads), p: p}
		engines = append(engines, e)
		loads, err := p.Preload()
		if err != nil {
			return nil, "", err
		}
		for _, v := range o.voices {
			if _, ok := loads[v]; !ok {
				return nil, "", fmt.Errorf("voice %q is not in %s", v, o.voicesDir)
			}
			// An ONNX session's first run plans and allocates, which a
			// server pays once, not per request.
			if _, err := synthesise(ctx, p, v, shortText, false); err != nil {
				return nil, "", err
			}
			fmt.Printf("%s: %s loaded in %s\n", e.label, v, loads[v].Round(time.Millisecond))
		}
	}

	var piper *piperSetup
	note := "skipped (-piper=false)"
	if o.piper {
		tmp, err := os.MkdirTemp("", "timbre-bench-tts-")
		if err != nil {
			return nil, "", err
		}
		defer os.RemoveAll(tmp)
		pctx, cancel := context.WithCancel(ctx)
		// Ends the piper processes still running if measuring fails.
		defer cancel()
		piper, err = setUpPiper(pctx, o, tmp)
		if err != nil {
			if ctx.Err() != nil {
				return nil, "", ctx.Err()
			}
			note = "could not run: " + err.Error()
			fmt.Printf("piper CLI %s\n", note)
			piper = nil
		} else {
			note = ""
			for _, v := range o.voices {
				fmt.Printf("piper CLI: %s loaded in %s (its own log, cold start)\n", v, piper.loads[v].Round(time.Millisecond))
			}
			if piper.pinnedSkipNote != "" {
				fmt.Println("piper CLI on 1 CPU:", piper.pinnedSkipNote)
			}
		}
	}
	fmt.Println()

	res := &results{}
	reps := 0
	for _, t := range texts {
		reps = max(reps, t.n)
	}
	cold := 0
	for rep := range reps {
		for _, t := range texts {
			if rep >= t.n {
				continue
			}
			for _, v := range o.voices {
				for _, e := range engines {
					r, err := synthesise(ctx, e.p, v, t.body, true)
					if err != nil {
						return nil, "", err
					}
					res.add(v, t.label, e.label, r)
				}
				if piper == nil {
					continue
				}
				model, config := voiceFiles(o.voicesDir, v)
				cold++
				r, _, err := piper.cli.coldRun(ctx, model, config, t.body, filepath.Join(piper.outDir, fmt.Sprintf("cold-%d.wav", cold)))
				if err != nil {
					return nil, "", fmt.Errorf("%s, %s: %w", v, t.label, err)
				}
				res.add(v, t.label, piperCold, r)
				for _, procs := range []map[string]*piperProcess{piper.warm, piper.pinned} {
					if p := procs[v]; p != nil {
						if err := p.say(t.body); err != nil {
							return nil, "", fmt.Errorf("%s, %s: %w", v, t.label, err)
						}
					}
				}
			}
			if piper != nil {
				piper.said = append(piper.said, t.label)
			}
		}
	}
	if piper != nil {
		if err := piper.finish(res, o.voices); err != nil {
			return nil, "", err
		}
	}
	return res, note, nil
}

// voiceFiles are the files the piper CLI reads for voice v: the prepared
// model.onnx, which differs from the voice module's voice.onnx only by the
// ONNX metadata sherpa-onnx needs (piper ignores it), and the module's
// voice.json, copied unchanged.
func voiceFiles(dir, v string) (model, config string) {
	return filepath.Join(dir, v, "model.onnx"), filepath.Join(dir, v, "voice.json")
}

// setUpPiper unpacks the piper CLI into tmp, makes one unmeasured cold run
// per voice (bringing the program and model into the page cache, and
// reading piper's load time from its log), and starts the warm processes,
// each given its warm-up line.
func setUpPiper(ctx context.Context, o options, tmp string) (*piperSetup, error) {
	cli, err := unpackPiper(ctx, tmp)
	if err != nil {
		return nil, err
	}
	s := &piperSetup{cli: cli, outDir: filepath.Join(tmp, "out"), warm: map[string]*piperProcess{},
		pinned: map[string]*piperProcess{}, loads: map[string]time.Duration{}}
	if err := os.Mkdir(s.outDir, 0o755); err != nil {
		return nil, err
	}
	pin := o.piperOneCPU
	if _, err := exec.LookPath("taskset"); pin && err != nil {
		pin, s.pinnedSkipNote = false, "skipped: no taskset (util-linux) on PATH"
	}
	for _, v := range o.voices {
		model, config := voiceFiles(o.voicesDir, v)
		_, log, err := cli.coldRun(ctx, model, config, shortText, filepath.Join(s.outDir, v+"-first.wav"))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", v, err)
		}
		s.loads[v] = log.load
		for _, pinned := range []bool{false, true} {
			if pinned && !pin {
				continue
			}
			dir, err := os.MkdirTemp(s.outDir, v+"-")
			if err != nil {
				return nil, err
			}
			p, err := cli.start(ctx, model, config, dir)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", v, err)
			}
			if err := p.say(shortText); err != nil {
				return nil, fmt.Errorf("%s: %w", v, err)
			}
			if !pinned {
				s.warm[v] = p
				continue
			}
			if err := p.pinToOneCPU(ctx); err != nil {
				// The unpinned figures stand without these.
				s.pinnedSkipNote = "skipped: " + err.Error()
				pin = false
				if _, _, err := p.finish(); err != nil {
					return nil, fmt.Errorf("%s: %w", v, err)
				}
				continue
			}
			s.pinned[v] = p
		}
	}
	return s, nil
}

// finish ends the warm processes and files their runs, which are in the
// order s.said records, and piper's logged inference time of each.
func (s *piperSetup) finish(res *results, voices []string) error {
	for _, v := range voices {
		for _, w := range []struct {
			p     *piperProcess
			label string
		}{{s.warm[v], piperWarm}, {s.pinned[v], piperPinned}} {
			if w.p == nil {
				continue
			}
			runs, log, err := w.p.finish()
			if err != nil {
				return fmt.Errorf("%s: %w", v, err)
			}
			if len(runs) != len(s.said) {
				return fmt.Errorf("%s: piper answered %d lines of %d", v, len(runs), len(s.said))
			}
			for i, r := range runs {
				res.add(v, s.said[i], w.label, r)
				if w.label == piperWarm && log.infer != nil {
					res.add(v, s.said[i], piperInfer, run{total: log.infer[i], audio: r.audio})
				}
			}
		}
	}
	return nil
}
