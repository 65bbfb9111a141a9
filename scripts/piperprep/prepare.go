package main

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"
)

// maxDistFile bounds one file read out of a voice tarball, so a damaged
// header cannot ask for an absurd allocation. Piper models are 5–120 MB.
const maxDistFile = 1 << 30

// prepareParams says where and how to prepare voices.
type prepareParams struct {
	// Dir is the voices directory ($TIMBRE_DATA_DIR/voices).
	Dir string
	// EspeakData is the espeak-ng data directory, absolute.
	EspeakData string
	// Force prepares a voice again even when its stamp is current.
	Force bool
}

// prepareResult reports one voice.
type prepareResult struct {
	// Skipped is true when the voice was already prepared.
	Skipped  bool
	Manifest voiceManifest
	Tokens   int
	Took     time.Duration
}

// distFiles are the files of a voice tarball piperprep uses.
type distFiles struct {
	model  []byte // *.onnx
	config []byte // voice.json or *.onnx.json
	card   []byte // MODEL_CARD, when the tarball has one
}

// prepareVoice writes the voice v into p.Dir/<v.ID>/ unless it is already
// there, prepared by this piperprep from the same asset against the same
// espeak-ng data. The files are written into a temporary directory beside
// the destination and renamed into place, so an interrupted run leaves the
// previous voice (or none), never half of one.
func prepareVoice(v shippedVoice, p prepareParams) (res prepareResult, err error) {
	start := time.Now()
	dest := filepath.Join(p.Dir, v.ID)

	rawHash, err := fs.ReadFile(v.Asset.FS, "hash.txt")
	if err != nil {
		return res, fmt.Errorf("voice %s: hash.txt %w: %w", v.ID, errMissingFile, err)
	}
	hash, err := sourceHash(rawHash)
	if err != nil {
		return res, fmt.Errorf("voice %s: %w", v.ID, err)
	}
	version := moduleVersion(v.Module)
	stamp := stampText(v.Module, version, hash, p.EspeakData)
	if !p.Force && voiceReady(dest, stamp) {
		res.Skipped = true
		res.Took = time.Since(start)
		return res, nil
	}

	dist, err := readDist(v.Asset.FS)
	if err != nil {
		return res, fmt.Errorf("voice %s: %w", v.ID, err)
	}
	cfg, err := parsePiperConfig(dist.config)
	if err != nil {
		return res, fmt.Errorf("voice %s: %w", v.ID, err)
	}
	tokens, n, err := tokensText(cfg.PhonemeIDMap)
	if err != nil {
		return res, fmt.Errorf("voice %s: tokens: %w", v.ID, err)
	}
	model, err := setMetadata(dist.model, cfg.sherpaMetadata())
	if err != nil {
		return res, fmt.Errorf("voice %s: add metadata: %w", v.ID, err)
	}
	dist.model = nil // 60 MB the rest of the run has no use for
	if err := checkMetadata(model, cfg.sherpaMetadata()); err != nil {
		return res, fmt.Errorf("voice %s: %w", v.ID, err)
	}
	card, err := fs.ReadFile(v.Asset.FS, "MODEL_CARD.txt")
	if err != nil {
		card = dist.card
	}
	if card == nil {
		return res, fmt.Errorf("voice %s: MODEL_CARD.txt %w", v.ID, errMissingFile)
	}

	sum := sha256.Sum256(model)
	mc := parseModelCard(string(card))
	m := voiceManifest{
		Format:       prepFormat,
		ID:           v.ID,
		Name:         v.Name,
		Language:     cfg.Language.Code,
		LanguageName: cfg.languageName(),
		Gender:       v.Gender,
		Quality:      cfg.Audio.Quality,
		SampleRate:   cfg.Audio.SampleRate,
		NSpeakers:    cfg.NumSpeakers,
		Model:        modelFile,
		ModelSHA256:  hex.EncodeToString(sum[:]),
		Tokens:       tokensFile,
		Config:       configFile,
		ModelCard:    cardFile,
		EspeakData:   p.EspeakData,
		EspeakVoice:  cfg.Espeak.Voice,
		NoiseScale:   cfg.Inference.NoiseScale,
		NoiseW:       cfg.Inference.NoiseW,
		LengthScale:  cfg.Inference.LengthScale,
		License:      mc.License,
		DatasetURL:   mc.DatasetURL,
		Dataset:      cfg.Dataset,
		Source:       voiceSource{Module: v.Module, Version: version, Hash: hash},
	}
	manifest, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return res, fmt.Errorf("voice %s: manifest: %w", v.ID, err)
	}

	if err := os.MkdirAll(p.Dir, 0o755); err != nil {
		return res, fmt.Errorf("voice %s: %w", v.ID, err)
	}
	removeLeftovers(p.Dir, v.ID)
	tmp, err := os.MkdirTemp(p.Dir, "."+v.ID+".tmp-")
	if err != nil {
		return res, fmt.Errorf("voice %s: %w", v.ID, err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	files := []struct {
		name string
		data []byte
	}{
		{modelFile, model},
		{tokensFile, []byte(tokens)},
		{configFile, dist.config},
		{cardFile, card},
		{manifestFile, append(manifest, '\n')},
		{stampFile, []byte(stamp)}, // last: it says the rest is complete
	}
	for _, f := range files {
		if err := writeSynced(filepath.Join(tmp, f.name), f.data); err != nil {
			return res, fmt.Errorf("voice %s: %w", v.ID, err)
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return res, fmt.Errorf("voice %s: %w", v.ID, err)
	}
	if err := replaceDir(tmp, dest); err != nil {
		return res, fmt.Errorf("voice %s: %w", v.ID, err)
	}
	res.Manifest, res.Tokens, res.Took = m, n, time.Since(start)
	return res, nil
}

// readDist reads the model, its config and its card out of the asset's
// dist.tar.zst.
func readDist(fsys fs.FS) (distFiles, error) {
	f, err := fsys.Open("dist.tar.zst")
	if err != nil {
		return distFiles{}, fmt.Errorf("dist.tar.zst %w: %w", errMissingFile, err)
	}
	defer f.Close()
	dec, err := zstd.NewReader(f)
	if err != nil {
		return distFiles{}, fmt.Errorf("dist.tar.zst: %w", err)
	}
	defer dec.Close()

	var d distFiles
	tr := tar.NewReader(dec)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return distFiles{}, fmt.Errorf("dist.tar.zst: %w", err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		var slot *[]byte
		switch name := path.Base(h.Name); {
		case strings.HasSuffix(name, ".onnx"):
			slot = &d.model
		case name == "voice.json" || strings.HasSuffix(name, ".onnx.json"):
			slot = &d.config
		case name == "MODEL_CARD" || name == "MODEL_CARD.txt":
			slot = &d.card
		default:
			continue
		}
		if *slot != nil {
			return distFiles{}, fmt.Errorf("dist.tar.zst: more than one file like %s", h.Name)
		}
		if h.Size < 0 || h.Size > maxDistFile {
			return distFiles{}, fmt.Errorf("dist.tar.zst: %s is %d bytes", h.Name, h.Size)
		}
		buf := make([]byte, h.Size)
		if _, err := io.ReadFull(tr, buf); err != nil {
			return distFiles{}, fmt.Errorf("dist.tar.zst: read %s: %w", h.Name, err)
		}
		*slot = buf
	}
	if d.model == nil {
		return distFiles{}, fmt.Errorf("dist.tar.zst: *.onnx %w", errMissingFile)
	}
	if d.config == nil {
		return distFiles{}, fmt.Errorf("dist.tar.zst: voice.json %w", errMissingFile)
	}
	return d, nil
}

// checkMetadata reads the metadata back out of model and checks that each
// of want is there with its value, so a model that would not load is never
// written.
func checkMetadata(model []byte, want []metadataProp) error {
	got, err := readMetadata(model)
	if err != nil {
		return fmt.Errorf("read back metadata: %w", err)
	}
	for _, w := range want {
		if v, ok := metadataValue(got, w.Key); !ok || v != w.Value {
			return fmt.Errorf("read back metadata: %s is %q, want %q", w.Key, v, w.Value)
		}
	}
	return nil
}

// moduleVersion is the version of module this binary was built with, or ""
// when the build does not record it.
func moduleVersion(module string) string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, d := range info.Deps {
		if d.Path == module {
			if d.Replace != nil {
				return d.Replace.Version
			}
			return d.Version
		}
	}
	return ""
}

// writeSynced writes data to the new file name and flushes it to disk
// before the directory holding it is renamed into place.
func writeSynced(name string, data []byte) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// replaceDir puts the directory tmp where dest is. os.Rename never
// replaces a directory, so a dest already there is first renamed aside to
// a fresh name and removed after; if tmp cannot take its place, it is put
// back.
func replaceDir(tmp, dest string) error {
	parent := filepath.Dir(dest)
	old := ""
	if _, err := os.Lstat(dest); err == nil {
		// MkdirTemp picks a name no other run holds; the directory itself
		// goes so that the rename can take the name.
		aside, err := os.MkdirTemp(parent, "."+filepath.Base(dest)+".old-")
		if err != nil {
			return err
		}
		if err := os.Remove(aside); err != nil {
			return err
		}
		if err := os.Rename(dest, aside); err != nil {
			return fmt.Errorf("move the previous voice aside: %w", err)
		}
		old = aside
	}
	if err := os.Rename(tmp, dest); err != nil {
		if old != "" {
			_ = os.Rename(old, dest) // best effort: the error below is what matters
		}
		return err
	}
	if d, err := os.Open(parent); err == nil {
		// Make the renames durable; a failure here loses nothing a rerun
		// would not redo.
		_ = d.Sync()
		d.Close()
	}
	if old != "" {
		return os.RemoveAll(old)
	}
	return nil
}

// leftoverAge is how old a temporary directory of an earlier run must be
// before it is removed; younger ones may belong to a run still going.
const leftoverAge = time.Hour

// removeLeftovers removes the temporary directories of interrupted runs
// for the voice id.
func removeLeftovers(dir, id string) {
	for _, pattern := range []string{"." + id + ".tmp-*", "." + id + ".old-*"} {
		matches, _ := filepath.Glob(filepath.Join(dir, pattern)) // the patterns are valid
		for _, m := range matches {
			if info, err := os.Stat(m); err == nil && time.Since(info.ModTime()) > leftoverAge {
				os.RemoveAll(m)
			}
		}
	}
}
