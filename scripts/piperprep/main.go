// Command piperprep prepares the Piper voices Timbre ships as Go modules
// (github.com/amitybell/piper-voice-jenny and -alan) for sherpa-onnx, which
// loads a Piper model as a VITS voice only when the model carries
// sherpa-onnx's metadata and a tokens.txt sits beside it.
// scripts/setup-voices runs it when a voice is missing or stale.
//
// For each voice it writes, into DIR/<id>/: model.onnx (the Piper model
// with ONNX metadata_props added), tokens.txt (from the config's
// phoneme_id_map), voice.json (the Piper config), MODEL_CARD.txt,
// manifest.json (what voice/tts reads: language, sample rate, gender,
// license, espeak-ng data directory, model checksum…) and piperprep.stamp,
// which says which asset and espeak-ng data it was prepared from, so that a
// second run skips it. A voice appears whole or not at all: it is written
// into a temporary directory and renamed into place.
//
//	go run ./scripts/piperprep [-dir DIR] [-espeak-data DIR] [-force] [-v] [VOICE...]
//
// DIR defaults to $TIMBRE_DATA_DIR/voices ($TIMBRE_DATA_DIR defaults to
// .data); the espeak-ng data directory is found where Debian's
// espeak-ng-data package puts it unless -espeak-data names one. It prints
// nothing on success unless -v.
//
// piperprep may import the standard library, the voice modules, piper-asset
// and klauspost/compress/zstd, and nothing of Timbre; its tests also load
// the voices with sherpa-onnx.
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
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2) // the flag package has printed the usage
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "piperprep: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("piperprep", flag.ContinueOnError)
	dir := fs.String("dir", "", "voices directory (default $TIMBRE_DATA_DIR/voices)")
	espeak := fs.String("espeak-data", "", "espeak-ng data directory (default: found where espeak-ng-data installs it)")
	force := fs.Bool("force", false, "prepare voices again even when they are current")
	verbose := fs.Bool("v", false, "print a line per voice")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: piperprep [flags] [VOICE...]   (voices: %s)\n", voiceIDs(shippedVoices))
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	voices, err := selectVoices(fs.Args())
	if err != nil {
		return err
	}
	if *dir == "" {
		data := os.Getenv("TIMBRE_DATA_DIR")
		if data == "" {
			data = ".data"
		}
		*dir = filepath.Join(data, "voices")
	}
	out, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	espeakDir, err := findEspeakData(ctx, *espeak)
	if err != nil {
		return err
	}

	p := prepareParams{Dir: out, EspeakData: espeakDir, Force: *force}
	for _, v := range voices {
		if err := ctx.Err(); err != nil {
			return err
		}
		res, err := prepareVoice(v, p)
		if err != nil {
			return err
		}
		if !*verbose {
			continue
		}
		if res.Skipped {
			fmt.Fprintf(stdout, "piperprep: %s: already prepared\n", v.ID)
			continue
		}
		fmt.Fprintf(stdout, "piperprep: %s: %s %s, %d Hz, %d tokens, in %.1f s: %s\n",
			v.ID, res.Manifest.Language, res.Manifest.Gender, res.Manifest.SampleRate, res.Tokens,
			res.Took.Seconds(), filepath.Join(out, v.ID))
	}
	return nil
}
