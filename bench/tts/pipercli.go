package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/timbre-ai/timbre/voice/audio"
)

// piperModule is the Go module that embeds the piper CLI for Linux amd64
// (piper 2023.11.14-2 with its ONNX Runtime 1.14.1, piper-phonemize and
// espeak-ng, and espeak-ng-data) as dist.tzst. It is not in go.mod: the
// bench only reads the archive from the module cache.
const piperModule = "github.com/amitybell/piper-bin-linux@v0.0.0-20231118093037-92b3de178ad8"

// piperCLI is the piper program unpacked into a temporary folder.
type piperCLI struct {
	dir string
}

func (c *piperCLI) bin() string    { return filepath.Join(c.dir, "piper") }
func (c *piperCLI) espeak() string { return filepath.Join(c.dir, "espeak-ng-data") }

// unpackPiper fetches piperModule into the module cache (or finds it
// there) with `go mod download` and unpacks its archive into a new folder
// under tmp.
func unpackPiper(ctx context.Context, tmp string) (*piperCLI, error) {
	modDir, err := downloadModule(ctx, piperModule, tmp)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(modDir, "dist.tzst"))
	if err != nil {
		return nil, fmt.Errorf("piper archive: %w", err)
	}
	defer f.Close()
	dir := filepath.Join(tmp, "piper")
	if err := untarZstd(f, dir); err != nil {
		return nil, fmt.Errorf("unpack %s: %w", f.Name(), err)
	}
	c := &piperCLI{dir: dir}
	if _, err := os.Stat(c.bin()); err != nil {
		return nil, fmt.Errorf("piper archive has no piper program: %w", err)
	}
	return c, nil
}

// downloadModule runs `go mod download -json mod@version` and returns the
// module's folder in the cache. It runs in dir, outside Timbre's module,
// so that go.mod and go.sum are not touched.
func downloadModule(ctx context.Context, mod, dir string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", mod)
	cmd.Dir = dir
	// Outside a module, -mod flags in GOFLAGS are an error and a go.work
	// would pull the call back into one.
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var info struct {
		Dir   string
		Error string
	}
	// On failure go still prints the JSON, with Error saying why.
	if jerr := json.Unmarshal(out, &info); jerr == nil && info.Error != "" {
		return "", fmt.Errorf("go mod download %s: %s", mod, info.Error)
	}
	if err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			err = fmt.Errorf("%w: %s", err, msg)
		}
		return "", fmt.Errorf("go mod download %s: %w", mod, err)
	}
	if info.Dir == "" {
		return "", fmt.Errorf("go mod download %s: no Dir in %q", mod, out)
	}
	return info.Dir, nil
}

// untarZstd unpacks a zstd-compressed tar into dir: regular files (with
// their mode), folders and symbolic links (piper's libraries are linked
// by soname). Every name and link target must stay inside dir.
func untarZstd(r io.Reader, dir string) error {
	zr, err := zstd.NewReader(r)
	if err != nil {
		return err
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if !filepath.IsLocal(h.Name) {
			return fmt.Errorf("entry %q leaves the folder", h.Name)
		}
		path := filepath.Join(dir, h.Name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(path, 0o755); err != nil {
				return err
			}
		case tar.TypeSymlink:
			if filepath.IsAbs(h.Linkname) || !filepath.IsLocal(filepath.Join(filepath.Dir(h.Name), h.Linkname)) {
				return fmt.Errorf("link %q → %q leaves the folder", h.Name, h.Linkname)
			}
			if err := os.Symlink(h.Linkname, path); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := writeFile(path, tr, h.FileInfo().Mode().Perm()|0o600); err != nil {
				return err
			}
		default:
			return fmt.Errorf("entry %q: unexpected type %q", h.Name, h.Typeflag)
		}
	}
}

func writeFile(path string, r io.Reader, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// args are the piper flags common to both modes. Silence between
// sentences is off: Timbre adds none, and padding the audio would lower
// piper's real-time factor for no work.
func (c *piperCLI) args(model, config string) []string {
	return []string{"--model", model, "--config", config, "--espeak_data", c.espeak(), "--sentence_silence", "0"}
}

// piper's log lines (spdlog, on stderr) that the bench reads.
var (
	piperLoadLog  = regexp.MustCompile(`Loaded voice in ([0-9.e+-]+) second`)
	piperInferLog = regexp.MustCompile(`Real-time factor: [0-9.e+-]+ \(infer=([0-9.e+-]+) sec`)
)

// piperLog is what piper said about one process on stderr.
type piperLog struct {
	load  time.Duration   // model load, as piper timed it
	infer []time.Duration // per utterance: ONNX inference only, as piper timed it
}

func parsePiperLog(stderr string) (piperLog, error) {
	var l piperLog
	if m := piperLoadLog.FindStringSubmatch(stderr); m != nil {
		d, err := seconds(m[1])
		if err != nil {
			return l, err
		}
		l.load = d
	}
	// piper's "infer=" is a running total over the lines of one process
	// (its result is never reset), so each line's is the difference.
	var sum time.Duration
	for _, m := range piperInferLog.FindAllStringSubmatch(stderr, -1) {
		d, err := seconds(m[1])
		if err != nil {
			return l, err
		}
		l.infer = append(l.infer, d-sum)
		sum = d
	}
	return l, nil
}

func seconds(s string) (time.Duration, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("piper log: %q: %w", s, err)
	}
	return time.Duration(f * float64(time.Second)), nil
}

// coldRun starts piper for one utterance, as a user of the CLI does: the
// time runs from starting the process to its exit, model load included.
func (c *piperCLI) coldRun(ctx context.Context, model, config, text, out string) (run, piperLog, error) {
	cmd := exec.CommandContext(ctx, c.bin(), append(c.args(model, config), "--output_file", out)...)
	cmd.Stdin = strings.NewReader(text + "\n")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	r := run{total: time.Since(start)}
	if err != nil {
		return run{}, piperLog{}, fmt.Errorf("piper: %w: %s", err, lastLine(stderr.String()))
	}
	r.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	log, err := parsePiperLog(stderr.String())
	if err != nil {
		return run{}, piperLog{}, err
	}
	if r.audio, err = wavDuration(out); err != nil {
		return run{}, piperLog{}, err
	}
	return r, log, nil
}

// piperProcess is one piper program left running, writing a WAV per input
// line into a folder; it prints a file's path once it has synthesised it.
// The first line it is given is a warm-up that absorbs the model load and
// is left out of its runs.
type piperProcess struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout io.ReadCloser
	lines  *bufio.Scanner
	stderr bytes.Buffer
	runs   []run
	paths  []string
}

// start starts piper writing into outDir.
func (c *piperCLI) start(ctx context.Context, model, config, outDir string) (*piperProcess, error) {
	p := &piperProcess{cmd: exec.CommandContext(ctx, c.bin(), append(c.args(model, config), "--output_dir", outDir)...)}
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	if p.stdout, err = p.cmd.StdoutPipe(); err != nil {
		return nil, err
	}
	p.cmd.Stderr = &p.stderr
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("piper: %w", err)
	}
	p.lines = bufio.NewScanner(p.stdout)
	return p, nil
}

// pinToOneCPU moves every thread of the running piper onto CPU 0. piper has
// no flag for its thread count: ONNX Runtime starts one intra-op thread per
// core and pins each to its own core when the session is created, which
// overrides a `taskset -c 0 piper` around the start. So the threads are
// moved once they exist (after the warm-up line), with `taskset -a -p`,
// and the move is checked in /proc. Two threads then share one CPU, which
// is not the same as piper running one thread.
func (p *piperProcess) pinToOneCPU(ctx context.Context) error {
	pid := p.cmd.Process.Pid
	out, err := exec.CommandContext(ctx, "taskset", "-a", "-p", "-c", "0", strconv.Itoa(pid)).CombinedOutput()
	if err != nil {
		return fmt.Errorf("taskset: %w: %s", err, strings.TrimSpace(string(out)))
	}
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	if err != nil || len(tasks) == 0 {
		return fmt.Errorf("piper's threads: none found in /proc (%v)", err)
	}
	for _, t := range tasks {
		raw, err := os.ReadFile(t)
		if err != nil {
			return err
		}
		for _, line := range strings.Split(string(raw), "\n") {
			if v, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok && strings.TrimSpace(v) != "0" {
				return fmt.Errorf("piper thread %s still allowed on CPUs %s", t, strings.TrimSpace(v))
			}
		}
	}
	return nil
}

// say writes text as one line and waits for its file. The time runs from
// writing the line to reading the path, so it holds phonemisation,
// inference and writing the WAV, and no model load after the first line.
func (p *piperProcess) say(text string) error {
	cpu0 := childCPU(p.cmd.Process.Pid)
	start := time.Now()
	if _, err := io.WriteString(p.stdin, text+"\n"); err != nil {
		return p.fail(err)
	}
	if !p.lines.Scan() {
		return p.fail(errors.New("piper stopped answering"))
	}
	p.runs = append(p.runs, run{total: time.Since(start), cpu: childCPU(p.cmd.Process.Pid) - cpu0})
	p.paths = append(p.paths, strings.TrimSpace(p.lines.Text()))
	return nil
}

func (p *piperProcess) fail(err error) error {
	p.stdin.Close()
	_ = p.cmd.Wait()
	return fmt.Errorf("piper: %w: %s", err, lastLine(p.stderr.String()))
}

// finish ends the process and returns the runs after the warm-up, each with
// its audio's duration, and what piper logged of each (inference time).
func (p *piperProcess) finish() ([]run, piperLog, error) {
	p.stdin.Close()
	_, _ = io.Copy(io.Discard, p.stdout)
	if err := p.cmd.Wait(); err != nil {
		return nil, piperLog{}, fmt.Errorf("piper: %w: %s", err, lastLine(p.stderr.String()))
	}
	log, err := parsePiperLog(p.stderr.String())
	if err != nil {
		return nil, piperLog{}, err
	}
	// piper prints the path before its file stream is closed, so the WAVs
	// are read only once it has exited.
	for i, path := range p.paths {
		if p.runs[i].audio, err = wavDuration(path); err != nil {
			return nil, piperLog{}, err
		}
	}
	if len(log.infer) != len(p.runs) {
		log.infer = nil
	}
	if len(p.runs) == 0 {
		return nil, log, nil
	}
	if log.infer != nil {
		log.infer = log.infer[1:]
	}
	return p.runs[1:], log, nil
}

// childCPU is the CPU time (user + system) of process pid so far, from
// /proc/pid/stat; 0 if it cannot be read.
func childCPU(pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	d, _ := statCPU(string(raw))
	return d
}

// statCPU reads utime + stime from a /proc/pid/stat line. They are in
// clock ticks, USER_HZ, which is 100 on Linux: 10 ms each.
func statCPU(stat string) (time.Duration, error) {
	// The command name in parentheses may hold spaces and parentheses;
	// fields count from after its last ")": state is field 3, utime 14,
	// stime 15.
	end := strings.LastIndexByte(stat, ')')
	if end < 0 {
		return 0, fmt.Errorf("stat %q: no command name", stat)
	}
	fields := strings.Fields(stat[end+1:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("stat %q: %d fields after the name", stat, len(fields))
	}
	utime, err := strconv.ParseInt(fields[11], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stat utime: %w", err)
	}
	stime, err := strconv.ParseInt(fields[12], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stat stime: %w", err)
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

// wavDuration is how long the WAV file at path lasts.
func wavDuration(path string) (time.Duration, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("piper output: %w", err)
	}
	defer f.Close()
	fr, err := audio.DecodeWAV(bufio.NewReader(f), audio.WAVLimits{MaxDuration: 10 * time.Minute})
	if err != nil {
		return 0, fmt.Errorf("piper output %s: %w", path, err)
	}
	return fr.Duration(), nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
