package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"unicode"

	"github.com/timbre-ai/timbre/voice/audio"
)

// asrRate is the rate pocketsphinx's en-us model was trained at.
const asrRate = 16000

// transcribe runs pocketsphinx 0.8 (Debian's pocketsphinx_continuous, with
// the en-us acoustic model, language model and dictionary it was built to
// find) on a 16 kHz mono 16-bit WAV file and returns what it heard: one
// line per utterance its own endpointer found, joined with spaces.
func transcribe(ctx context.Context, wav string) (string, error) {
	cmd := exec.CommandContext(ctx, "pocketsphinx_continuous", "-infile", wav, "-logfn", "/dev/null")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("pocketsphinx_continuous %s: %w: %s", wav, err, tail(stderr.String(), 400))
	}
	return strings.Join(strings.Fields(stdout.String()), " "), nil
}

// writeASRWAV writes mono samples at rate as pocketsphinx wants them: 16 kHz
// mono 16-bit PCM WAV (samples beyond ±1 clip).
func writeASRWAV(path string, samples []float32, rate int) error {
	f := audio.Frame{Format: audio.Format{SampleRate: rate, Channels: 1}, Samples: samples}
	if rate != asrRate {
		var err error
		if f, err = audio.Resample(f, asrRate, audio.QualityDefault); err != nil {
			return fmt.Errorf("resample for ASR: %w", err)
		}
	}
	return writeWAV(path, f.Samples, asrRate)
}

// wordErrors counts word errors: the edits (substitutions, insertions and
// deletions) that turn the reference's words into the hypothesis's, and the
// reference's word count.
type wordErrors struct {
	edits, words int
}

func (w wordErrors) add(o wordErrors) wordErrors {
	return wordErrors{edits: w.edits + o.edits, words: w.words + o.words}
}

// rate is the word error rate in percent.
func (w wordErrors) rate() float64 {
	if w.words == 0 {
		return 0
	}
	return 100 * float64(w.edits) / float64(w.words)
}

// countWordErrors compares a hypothesis with the reference text, both
// normalised (normaliseWords), by Levenshtein distance over words.
func countWordErrors(reference, hypothesis string) wordErrors {
	ref, hyp := normaliseWords(reference), normaliseWords(hypothesis)
	return wordErrors{edits: editDistance(ref, hyp), words: len(ref)}
}

// normaliseWords lower-cases s and splits it into words of letters, digits
// and inner apostrophes ("it's"); everything else separates words, so
// punctuation, hyphens and pocketsphinx's spelled letters ("m.") drop out.
func normaliseWords(s string) []string {
	rs := []rune(strings.ToLower(s))
	var b strings.Builder
	for i, r := range rs {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		case (r == '\'' || r == '’') && i > 0 && i+1 < len(rs) && unicode.IsLetter(rs[i-1]) && unicode.IsLetter(rs[i+1]):
			b.WriteRune('\'')
		default:
			b.WriteRune(' ')
		}
	}
	return strings.Fields(b.String())
}

// editDistance is the Levenshtein distance between two word sequences, each
// substitution, insertion and deletion costing 1.
func editDistance(a, b []string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			sub := prev[j-1]
			if a[i-1] != b[j-1] {
				sub++
			}
			cur[j] = min(sub, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// tool is a program a reference speaker or the ASR needs (looked up in
// PATH), or a data file (an absolute path, which must exist).
type tool string

// The tools of the bench; bench/clone/setup installs their packages.
const (
	toolEspeak       tool = "espeak-ng"
	toolSox          tool = "sox"
	toolText2wave    tool = "text2wave"
	toolKal          tool = "/usr/share/festival/voices/english/kal_diphone"
	toolPocketsphinx tool = "pocketsphinx_continuous"
	toolASRModel     tool = "/usr/share/pocketsphinx/model/en-us/en-us"
)

// pkg is the Debian package that provides t.
func (t tool) pkg() string {
	switch t {
	case toolText2wave:
		return "festival"
	case toolKal:
		return "festvox-kallpc16k"
	case toolPocketsphinx:
		return "pocketsphinx"
	case toolASRModel:
		return "pocketsphinx-en-us"
	}
	return string(t) // espeak-ng, sox
}

// installed reports whether t is on PATH or, for a path, exists.
func (t tool) installed() bool {
	var err error
	if strings.HasPrefix(string(t), "/") {
		_, err = os.Stat(string(t))
	} else {
		_, err = exec.LookPath(string(t))
	}
	return err == nil
}

// missingTools returns the tools of ts that are not installed, once each.
func missingTools(ts []tool) []tool {
	var out []tool
	seen := map[tool]bool{}
	for _, t := range ts {
		if !seen[t] && !t.installed() {
			out = append(out, t)
		}
		seen[t] = true
	}
	return out
}

// missingError says which tools are missing and how to install them.
func missingError(missing []tool) error {
	var names, pkgs []string
	for _, t := range missing {
		names = append(names, string(t))
		if p := t.pkg(); !slices.Contains(pkgs, p) {
			pkgs = append(pkgs, p)
		}
	}
	return fmt.Errorf("missing %s (Debian packages %s): run bench/clone/setup (as root) to install them",
		strings.Join(names, ", "), strings.Join(pkgs, " "))
}
