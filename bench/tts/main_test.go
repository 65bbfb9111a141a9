package main

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/zstd"
)

func TestSummarise(t *testing.T) {
	t.Parallel()
	runs := []run{
		{firstAudio: 100 * time.Millisecond, total: 400 * time.Millisecond, audio: 4 * time.Second, cpu: 400 * time.Millisecond},
		{firstAudio: 300 * time.Millisecond, total: 1200 * time.Millisecond, audio: 4 * time.Second, cpu: 1200 * time.Millisecond},
		{firstAudio: 200 * time.Millisecond, total: 800 * time.Millisecond, audio: 4 * time.Second, cpu: 800 * time.Millisecond},
	}
	got := summarise(runs)
	want := summary{
		n: 3, first50: 200 * time.Millisecond, first90: 300 * time.Millisecond,
		total50: 800 * time.Millisecond, total90: 1200 * time.Millisecond, audio50: 4 * time.Second,
		rtf50: 0.2, rtf90: 0.3, cores: 1, cpuPerAudio: 0.2, firstKnown: true, cpuSet: true,
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(summary{}), cmp.Comparer(func(a, b float64) bool {
		return a-b < 1e-9 && b-a < 1e-9
	})); diff != "" {
		t.Errorf("summarise (-want +got):\n%s", diff)
	}

	// The piper CLI gives no first audio and no CPU of its inference alone.
	bare := summarise([]run{{total: time.Second, audio: 2 * time.Second}})
	if bare.firstKnown || bare.cpuSet || bare.rtf50 != 0.5 {
		t.Errorf("summarise without first audio or CPU = %+v, want firstKnown and cpuSet false, rtf50 0.5", bare)
	}
}

func TestParsePiperLog(t *testing.T) {
	t.Parallel()
	// The shape of piper 2023.11.14's log for three lines in one process:
	// "infer" and "audio" are running totals.
	const stderr = `[2026-11-24 21:20:44.017] [piper] [info] Loaded voice in 0.296749208 second(s)
[2026-11-24 21:20:44.019] [piper] [info] Initialized piper
[2026-11-24 21:20:44.019] [piper] [info] Output directory: /tmp/pb/wo
[2026-11-24 21:20:45.682] [piper] [info] Real-time factor: 0.1937169544438295 (infer=1.5 sec, audio=8.44 sec)
[2026-11-24 21:20:47.022] [piper] [info] Real-time factor: 0.17728895453769716 (infer=2.25 sec, audio=16.74 sec)
[2026-11-24 21:20:47.726] [piper] [info] Real-time factor: 0.14824468990511816 (infer=2.875 sec, audio=24.68 sec)
[2026-11-24 21:20:48.455] [piper] [info] Terminated piper
`
	got, err := parsePiperLog(stderr)
	if err != nil {
		t.Fatal(err)
	}
	want := piperLog{
		load:  296749208 * time.Nanosecond,
		infer: []time.Duration{1500 * time.Millisecond, 750 * time.Millisecond, 625 * time.Millisecond},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(piperLog{})); diff != "" {
		t.Errorf("parsePiperLog (-want +got):\n%s", diff)
	}

	empty, err := parsePiperLog("piper: error while loading shared libraries\n")
	if err != nil || empty.load != 0 || empty.infer != nil {
		t.Errorf("parsePiperLog of a failure = %+v, %v; want nothing and no error", empty, err)
	}
}

func TestStatCPU(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		stat    string
		want    time.Duration
		wantErr bool
	}{
		{"plain", "4242 (piper) S 1 4242 4242 0 -1 4194560 100 0 0 0 150 25 0 0 20 0 3 0", 1750 * time.Millisecond, false},
		{"name with spaces and parentheses", "7 (a (b) c) R 1 7 7 0 -1 0 0 0 0 0 3 4 0 0", 70 * time.Millisecond, false},
		{"no name", "7 R 1 7", 0, true},
		{"too short", "7 (x) R 1 7", 0, true},
		{"not a number", "7 (x) R 1 7 7 0 -1 0 0 0 0 0 x 4 0 0", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := statCPU(tt.stat)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("statCPU = %v, %v; want %v, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// entry is one member of a test archive.
type entry struct {
	name, body, link string
	dir              bool
	mode             int64
}

func archive(t *testing.T, entries []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := zstd.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: e.mode, Typeflag: tar.TypeReg, Size: int64(len(e.body))}
		switch {
		case e.dir:
			h.Typeflag, h.Size = tar.TypeDir, 0
		case e.link != "":
			h.Typeflag, h.Linkname, h.Size = tar.TypeSymlink, e.link, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestUntarZstd(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := archive(t, []entry{
		{name: "piper", body: "#!/bin/sh\n", mode: 0o755},
		{name: "libx.so.1.2", body: "lib", mode: 0o644},
		{name: "libx.so.1", link: "libx.so.1.2"},
		{name: "espeak-ng-data/", dir: true, mode: 0o755},
		{name: "espeak-ng-data/voices/en", body: "voice", mode: 0o644},
	})
	if err := untarZstd(bytes.NewReader(data), dir); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(dir, "piper"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm()&0o100 == 0 {
		t.Errorf("piper mode %v: not executable", info.Mode())
	}
	lib, err := os.ReadFile(filepath.Join(dir, "libx.so.1")) // through the link
	if err != nil || string(lib) != "lib" {
		t.Errorf("libx.so.1 = %q, %v; want %q through the link", lib, err, "lib")
	}
	voice, err := os.ReadFile(filepath.Join(dir, "espeak-ng-data", "voices", "en"))
	if err != nil || string(voice) != "voice" {
		t.Errorf("espeak-ng-data/voices/en = %q, %v; want %q", voice, err, "voice")
	}
}

func TestUntarZstdRefusesEscapes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		e    entry
	}{
		{"parent path", entry{name: "../evil", body: "x", mode: 0o644}},
		{"absolute path", entry{name: "/tmp/evil", body: "x", mode: 0o644}},
		{"link out", entry{name: "lib.so", link: "../../etc/passwd"}},
		{"absolute link", entry{name: "lib.so", link: "/etc/passwd"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			parent := t.TempDir()
			dir := filepath.Join(parent, "out")
			if err := untarZstd(bytes.NewReader(archive(t, []entry{tt.e})), dir); err == nil {
				t.Fatal("untarZstd accepted an entry that leaves the folder")
			}
			if _, err := os.Lstat(filepath.Join(parent, "evil")); err == nil {
				t.Error("a file was written outside the folder")
			}
		})
	}
}

func TestIntList(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    []int
		wantErr bool
	}{
		{"1,2,4,8", []int{1, 2, 4, 8}, false},
		{" 1 , 16 ", []int{1, 16}, false},
		{"", nil, false},
		{"1,x", nil, true},
		{"0", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := intList(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("intList(%q) error %v, want error %v", tt.in, err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("intList(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}
