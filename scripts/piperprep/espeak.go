package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// espeakCandidates are where espeak-ng data is installed: Debian's
// espeak-ng-data package puts it under the multiarch library directory
// (/usr/lib/x86_64-linux-gnu/espeak-ng-data), other distributions and
// source builds under share.
var espeakCandidates = []string{
	"/usr/lib/*/espeak-ng-data",
	"/usr/lib/espeak-ng-data",
	"/usr/lib64/espeak-ng-data",
	"/usr/share/espeak-ng-data",
	"/usr/local/share/espeak-ng-data",
}

// espeakFiles are the files espeak-ng cannot start without (its phoneme
// tables) and the English dictionary every shipped voice speaks with.
var espeakFiles = []string{"phontab", "phonindex", "phondata", "en_dict"}

// findEspeakData returns the espeak-ng data directory to give sherpa-onnx:
// dir when it is set (it must hold the data), else the first complete one
// among the usual places, else the one the espeak-ng-data package lists.
func findEspeakData(ctx context.Context, dir string) (string, error) {
	if dir != "" {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return "", fmt.Errorf("%w: %w", errNoEspeakData, err)
		}
		if err := checkEspeakData(abs); err != nil {
			return "", err
		}
		return abs, nil
	}
	for _, pattern := range espeakCandidates {
		matches, _ := filepath.Glob(pattern) // the patterns are valid
		for _, m := range matches {
			if checkEspeakData(m) == nil {
				return m, nil
			}
		}
	}
	if d, ok := espeakFromDpkg(ctx); ok {
		return d, nil
	}
	return "", fmt.Errorf("%w in %s: install the Debian package espeak-ng-data (run `make setup`) or pass -espeak-data",
		errNoEspeakData, strings.Join(espeakCandidates, ", "))
}

// espeakFromDpkg asks dpkg where the espeak-ng-data package put its data.
func espeakFromDpkg(ctx context.Context) (string, bool) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "dpkg", "-L", "espeak-ng-data").Output()
	if err != nil {
		return "", false
	}
	for line := range strings.Lines(string(out)) {
		line = strings.TrimSpace(line)
		if filepath.Base(line) == "espeak-ng-data" && checkEspeakData(line) == nil {
			return line, true
		}
	}
	return "", false
}

// checkEspeakData says what dir lacks to be espeak-ng data, if anything.
func checkEspeakData(dir string) error {
	for _, f := range espeakFiles {
		info, err := os.Stat(filepath.Join(dir, f))
		if err != nil || !info.Mode().IsRegular() {
			return fmt.Errorf("%w: %s has no %s", errNoEspeakData, dir, f)
		}
	}
	return nil
}
