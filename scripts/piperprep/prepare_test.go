package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./scripts/piperprep -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

// fakeEspeakData makes a directory that passes for espeak-ng data, for
// tests that only record its path.
func fakeEspeakData(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range espeakFiles {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestShippedVoiceAssets(t *testing.T) {
	t.Parallel()
	for _, v := range shippedVoices {
		t.Run(v.ID, func(t *testing.T) {
			t.Parallel()
			if v.Asset.Name != v.ID {
				t.Errorf("asset name %q, voice id %q", v.Asset.Name, v.ID)
			}
			dist, err := readDist(v.Asset.FS)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := parsePiperConfig(dist.config)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Audio.SampleRate != 22050 || cfg.Language.Code != "en_GB" || cfg.NumSpeakers != 1 {
				t.Errorf("config: %d Hz, %s, %d speakers; want 22050 Hz, en_GB, 1 speaker",
					cfg.Audio.SampleRate, cfg.Language.Code, cfg.NumSpeakers)
			}
			tokens, _, err := tokensText(cfg.PhonemeIDMap)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, v.ID+".tokens.txt", []byte(tokens))

			// The shipped model has no metadata of its own; if a new
			// version brings some, the keys it shares with sherpa-onnx's
			// are replaced, which this test wants to hear about.
			before, err := readMetadata(dist.model)
			if err != nil {
				t.Fatal(err)
			}
			if len(before) != 0 {
				t.Errorf("the shipped model already has metadata: %v", before)
			}
		})
	}
}

func TestPrepareVoice(t *testing.T) {
	t.Parallel()
	v := shippedVoices[0]
	p := prepareParams{Dir: filepath.Join(t.TempDir(), "voices"), EspeakData: fakeEspeakData(t)}
	res, err := prepareVoice(v, p)
	if err != nil {
		t.Fatal(err)
	}
	if res.Skipped {
		t.Fatal("the first run skipped the voice")
	}
	dir := filepath.Join(p.Dir, v.ID)

	entries, err := os.ReadDir(p.Dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if diff := cmp.Diff([]string{v.ID}, names); diff != "" {
		t.Errorf("voices directory (-want +got):\n%s", diff)
	}
	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	names = names[:0]
	for _, f := range files {
		names = append(names, f.Name())
	}
	wantFiles := []string{cardFile, manifestFile, modelFile, stampFile, tokensFile, configFile}
	slices.Sort(wantFiles)
	if diff := cmp.Diff(wantFiles, names); diff != "" {
		t.Errorf("voice files (-want +got):\n%s", diff)
	}

	raw, err := os.ReadFile(filepath.Join(dir, manifestFile))
	if err != nil {
		t.Fatal(err)
	}
	var m voiceManifest
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(res.Manifest, m); diff != "" {
		t.Errorf("manifest.json differs from the result (-result +file):\n%s", diff)
	}
	// The golden manifest holds no machine's paths or build's version.
	m.EspeakData, m.Source.Version = "ESPEAK_DATA", "VERSION"
	normalized, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, v.ID+".manifest.json", append(normalized, '\n'))
	if res.Manifest.EspeakData != p.EspeakData {
		t.Errorf("espeak_data = %q, want %q", res.Manifest.EspeakData, p.EspeakData)
	}

	model, err := os.ReadFile(filepath.Join(dir, modelFile))
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(model); hex.EncodeToString(sum[:]) != res.Manifest.ModelSHA256 {
		t.Errorf("model_sha256 %s does not match model.onnx", res.Manifest.ModelSHA256)
	}
	props, err := readMetadata(model)
	if err != nil {
		t.Fatal(err)
	}
	want := []metadataProp{
		{"model_type", "vits"}, {"comment", "piper"}, {"language", "English"}, {"voice", "en-gb-x-rp"},
		{"has_espeak", "1"}, {"n_speakers", "1"}, {"sample_rate", "22050"},
	}
	if diff := cmp.Diff(want, props); diff != "" {
		t.Errorf("model.onnx metadata (-want +got):\n%s", diff)
	}
	config, err := os.ReadFile(filepath.Join(dir, configFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(config, []byte(`"phoneme_id_map"`)) {
		t.Errorf("voice.json is not the Piper config: %.80q", config)
	}

	t.Run("second run skips", func(t *testing.T) {
		res, err := prepareVoice(v, p)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Skipped {
			t.Error("the second run prepared the voice again")
		}
	})

	for _, tt := range []struct {
		name  string
		stamp func(string) string
		force bool
	}{
		{"older format", func(s string) string { return strings.Replace(s, "format 1", "format 0", 1) }, false},
		{"other asset", func(s string) string { return strings.Replace(s, "hash ", "hash x", 1) }, false},
		{"forced", func(s string) string { return s }, true},
	} {
		t.Run("redone: "+tt.name, func(t *testing.T) {
			stampPath := filepath.Join(dir, stampFile)
			old, err := os.ReadFile(stampPath)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(stampPath, []byte(tt.stamp(string(old))), 0o644); err != nil {
				t.Fatal(err)
			}
			// A file of the old voice that the new one does not have shows
			// whether the directory was replaced rather than written into.
			marker := filepath.Join(dir, "left-behind")
			if err := os.WriteFile(marker, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			q := p
			q.Force = tt.force
			res, err := prepareVoice(v, q)
			if err != nil {
				t.Fatal(err)
			}
			if res.Skipped {
				t.Fatal("a stale voice was skipped")
			}
			if _, err := os.Stat(marker); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the old directory survived: %s is still there (%v)", marker, err)
			}
			if got, _ := os.ReadFile(stampPath); !bytes.Equal(got, old) {
				t.Errorf("stamp after redoing = %q, want %q", got, old)
			}
			if left, _ := filepath.Glob(filepath.Join(p.Dir, ".*")); len(left) > 0 {
				t.Errorf("temporary directories left behind: %v", left)
			}
		})
	}
}

func TestVoiceReadyNeedsFiles(t *testing.T) {
	t.Parallel()
	const stamp = "format 1\n"
	for _, missing := range []string{stampFile, modelFile, tokensFile, manifestFile} {
		t.Run(missing, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for _, f := range []string{stampFile, modelFile, tokensFile, manifestFile} {
				if f == missing {
					continue
				}
				content := "x"
				if f == stampFile {
					content = stamp
				}
				if err := os.WriteFile(filepath.Join(dir, f), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if voiceReady(dir, stamp) {
				t.Errorf("a voice without %s is ready", missing)
			}
		})
	}
}

func TestRunRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want error
	}{
		{"unknown voice", []string{"-dir", t.TempDir(), "-espeak-data", fakeEspeakData(t), "bob"}, errUnknownVoice},
		{"espeak-ng data elsewhere", []string{"-dir", t.TempDir(), "-espeak-data", t.TempDir(), "jenny"}, errNoEspeakData},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			err := run(context.Background(), tt.args, &out)
			if !errors.Is(err, tt.want) {
				t.Errorf("run error = %v, want %v", err, tt.want)
			}
			if out.Len() > 0 {
				t.Errorf("run printed %q on failure", out.String())
			}
		})
	}
}

// TestSetupScriptAgrees checks that scripts/setup-voices, which decides
// without building piperprep whether a voice is current, knows the same
// voices, modules and layout version as piperprep.
func TestSetupScriptAgrees(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join("..", "setup-voices"))
	if err != nil {
		t.Fatal(err)
	}
	script := string(raw)
	field := func(re string) string {
		m := regexp.MustCompile(re).FindStringSubmatch(script)
		if m == nil {
			t.Fatalf("scripts/setup-voices has no line matching %s", re)
		}
		return m[1]
	}
	if got, want := field(`(?m)^readonly PREP_FORMAT=(\d+)`), strconv.Itoa(prepFormat); got != want {
		t.Errorf("PREP_FORMAT=%s in scripts/setup-voices, prepFormat = %s in piperprep", got, want)
	}
	prefix := field(`(?m)^readonly MODULE_PREFIX=(\S+)`)
	var ids, modules []string
	for _, v := range shippedVoices {
		ids = append(ids, v.ID)
		modules = append(modules, v.Module)
	}
	scriptIDs := strings.Fields(field(`(?m)^readonly VOICES=\(([^)]*)\)`))
	if diff := cmp.Diff(ids, scriptIDs); diff != "" {
		t.Errorf("voices (-piperprep +scripts/setup-voices):\n%s", diff)
	}
	var scriptModules []string
	for _, id := range scriptIDs {
		scriptModules = append(scriptModules, prefix+id)
	}
	if diff := cmp.Diff(modules, scriptModules); diff != "" {
		t.Errorf("modules (-piperprep +scripts/setup-voices):\n%s", diff)
	}
}
