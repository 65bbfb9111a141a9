package asr

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	sherpa "github.com/k2-fsa/sherpa-onnx-go-linux"
)

// SherpaManifest is the manifest.json in a sherpa-onnx model folder. File
// paths are relative to the folder (absolute paths are taken as they are).
// Which files a model needs depends on its type:
//
//	whisper      encoder, decoder, tokens; language optional ("" detects it)
//	transducer   encoder, decoder, joiner, tokens (Zipformer and others)
//	paraformer   model, tokens
//	sense_voice  model, tokens; language optional (auto, zh, en, ja, ko, yue)
//	moonshine    tokens and either preprocessor, encoder, uncached_decoder,
//	             cached_decoder (v1) or encoder, merged_decoder (v2)
//
// A manifest that names a file its type does not use, or has a key not
// listed here, is rejected: it is probably a mistake.
//
// For example, for sherpa-onnx-whisper-tiny.en:
//
//	{"type": "whisper", "encoder": "tiny.en-encoder.int8.onnx",
//	 "decoder": "tiny.en-decoder.int8.onnx", "tokens": "tiny.en-tokens.txt",
//	 "language": "en"}
type SherpaManifest struct {
	Type            string `json:"type"`
	Encoder         string `json:"encoder,omitempty"`
	Decoder         string `json:"decoder,omitempty"`
	Joiner          string `json:"joiner,omitempty"`
	Model           string `json:"model,omitempty"`
	Preprocessor    string `json:"preprocessor,omitempty"`
	UncachedDecoder string `json:"uncached_decoder,omitempty"`
	CachedDecoder   string `json:"cached_decoder,omitempty"`
	MergedDecoder   string `json:"merged_decoder,omitempty"`
	Tokens          string `json:"tokens"`
	Language        string `json:"language,omitempty"`
}

// Model types a SherpaManifest may name.
const (
	SherpaWhisper    = "whisper"
	SherpaTransducer = "transducer"
	SherpaParaformer = "paraformer"
	SherpaSenseVoice = "sense_voice"
	SherpaMoonshine  = "moonshine"
)

// SherpaManifestFile is the manifest's name in a model folder.
const SherpaManifestFile = "manifest.json"

// maxManifest bounds the manifest read: it is a few hundred bytes.
const maxManifest = 64 << 10

// sherpaModel is a checked manifest: the recognizer's configuration.
type sherpaModel struct {
	typ    string
	config sherpa.OfflineRecognizerConfig
}

// readSherpaModel reads and checks dir's manifest: its JSON, its type, and
// that every file its type needs is named and is a readable file. Errors
// wrap ErrNoModel and name the folder and the file.
func readSherpaModel(dir string, threads int) (sherpaModel, error) {
	path := filepath.Join(dir, SherpaManifestFile)
	f, err := os.Open(path)
	if err != nil {
		return sherpaModel{}, fmt.Errorf("asr: sherpa-onnx model %s: %w: %w", dir, err, ErrNoModel)
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxManifest+1))
	if err != nil {
		return sherpaModel{}, fmt.Errorf("asr: sherpa-onnx model %s: read %s: %w: %w", dir, SherpaManifestFile, err, ErrNoModel)
	}
	if len(raw) > maxManifest {
		return sherpaModel{}, fmt.Errorf("asr: sherpa-onnx model %s: %s is larger than %d KiB: %w", dir, SherpaManifestFile, maxManifest>>10, ErrNoModel)
	}
	var m SherpaManifest
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return sherpaModel{}, fmt.Errorf("asr: sherpa-onnx model %s: bad %s: %w: %w", dir, SherpaManifestFile, err, ErrNoModel)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return sherpaModel{}, fmt.Errorf("asr: sherpa-onnx model %s: bad %s: data after the JSON object: %w", dir, SherpaManifestFile, ErrNoModel)
	}
	return m.check(dir, threads)
}

// check validates m, whose relative paths are relative to dir.
func (m SherpaManifest) check(dir string, threads int) (sherpaModel, error) {
	fail := func(format string, args ...any) (sherpaModel, error) {
		return sherpaModel{}, fmt.Errorf("asr: sherpa-onnx model %s: %s: %w", dir, fmt.Sprintf(format, args...), ErrNoModel)
	}
	files := map[string]string{
		"encoder": m.Encoder, "decoder": m.Decoder, "joiner": m.Joiner, "model": m.Model,
		"preprocessor": m.Preprocessor, "uncached_decoder": m.UncachedDecoder,
		"cached_decoder": m.CachedDecoder, "merged_decoder": m.MergedDecoder, "tokens": m.Tokens,
	}
	var need []string // the files this type needs, in the order they are checked
	language := false // whether the type takes a language
	switch m.Type {
	case SherpaWhisper:
		need, language = []string{"encoder", "decoder", "tokens"}, true
	case SherpaTransducer:
		need = []string{"encoder", "decoder", "joiner", "tokens"}
	case SherpaParaformer:
		need = []string{"model", "tokens"}
	case SherpaSenseVoice:
		need, language = []string{"model", "tokens"}, true
	case SherpaMoonshine:
		if m.MergedDecoder != "" {
			need = []string{"encoder", "merged_decoder", "tokens"}
		} else {
			need = []string{"preprocessor", "encoder", "uncached_decoder", "cached_decoder", "tokens"}
		}
	case "":
		return fail("%s has no \"type\" (one of %s)", SherpaManifestFile, sherpaTypes)
	default:
		return fail("type %q in %s is not one of %s", m.Type, SherpaManifestFile, sherpaTypes)
	}
	if m.Language != "" && !language {
		return fail("a %s model takes no \"language\"", m.Type)
	}
	for _, key := range slices.Sorted(maps.Keys(files)) {
		if files[key] != "" && !slices.Contains(need, key) {
			return fail("a %s model takes no %q (it needs %s)", m.Type, key, strings.Join(need, ", "))
		}
	}
	abs := map[string]string{}
	for _, key := range need {
		p := files[key]
		if p == "" {
			return fail("%s lacks %q: a %s model needs %s", SherpaManifestFile, key, m.Type, strings.Join(need, ", "))
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		head, err := readHead(p, len(lfsPointer))
		if err != nil {
			return fail("%s: %v", key, err)
		}
		if err := checkONNX(key, p, head); err != nil {
			return fail("%s: %v", key, err)
		}
		abs[key] = p
	}

	var c sherpa.OfflineRecognizerConfig
	c.FeatConfig = sherpa.FeatureConfig{SampleRate: modelRate, FeatureDim: 80}
	c.DecodingMethod = "greedy_search"
	c.ModelConfig.Tokens = abs["tokens"]
	c.ModelConfig.NumThreads = threads
	c.ModelConfig.Provider = "cpu"
	switch m.Type {
	case SherpaWhisper:
		c.ModelConfig.Whisper = sherpa.OfflineWhisperModelConfig{Encoder: abs["encoder"], Decoder: abs["decoder"],
			Language: m.Language, Task: "transcribe", TailPaddings: -1}
	case SherpaTransducer:
		c.ModelConfig.Transducer = sherpa.OfflineTransducerModelConfig{Encoder: abs["encoder"], Decoder: abs["decoder"], Joiner: abs["joiner"]}
	case SherpaParaformer:
		c.ModelConfig.Paraformer = sherpa.OfflineParaformerModelConfig{Model: abs["model"]}
	case SherpaSenseVoice:
		c.ModelConfig.SenseVoice = sherpa.OfflineSenseVoiceModelConfig{Model: abs["model"], Language: m.Language, UseInverseTextNormalization: 1}
	case SherpaMoonshine:
		c.ModelConfig.Moonshine = sherpa.OfflineMoonshineModelConfig{Preprocessor: abs["preprocessor"], Encoder: abs["encoder"],
			UncachedDecoder: abs["uncached_decoder"], CachedDecoder: abs["cached_decoder"], MergedDecoder: abs["merged_decoder"]}
	}
	return sherpaModel{typ: m.Type, config: c}, nil
}

// lfsPointer starts a Git LFS pointer file: what a model repository
// cloned without git-lfs holds instead of its models.
const lfsPointer = "version https://git-lfs"

// checkONNX rejects a model file (every key but tokens) that cannot be an
// ONNX model: ONNX Runtime aborts the process on those rather than fail
// the load. An ONNX file is a protobuf ModelProto whose first field is
// ir_version (field 1, varint): byte 0x08. A file truncated after that
// still gets through.
func checkONNX(key, path, head string) error {
	if key == "tokens" {
		if strings.HasPrefix(head, lfsPointer) {
			return fmt.Errorf("%s is a Git LFS pointer, not the file (run git lfs pull)", path)
		}
		return nil
	}
	switch {
	case strings.HasPrefix(head, lfsPointer):
		return fmt.Errorf("%s is a Git LFS pointer, not the model (run git lfs pull)", path)
	case len(head) == 0 || head[0] != 0x08:
		return fmt.Errorf("%s is not an ONNX model", path)
	}
	return nil
}

var sherpaTypes = strings.Join([]string{SherpaWhisper, SherpaTransducer, SherpaParaformer, SherpaSenseVoice, SherpaMoonshine}, ", ")

// sherpaRecognizer is the sherpa-onnx provider: one offline recognizer
// (the model is loaded once) decoding up to cap(slots) utterances at once,
// each in its own stream.
type sherpaRecognizer struct {
	name  string
	rec   *sherpa.OfflineRecognizer
	slots chan struct{} // a token per running decode

	mu     sync.Mutex
	closed bool
	done   chan struct{}
}

func openSherpa(cfg Config, logger *slog.Logger) (*sherpaRecognizer, error) {
	if cfg.ModelDir == "" {
		return nil, fmt.Errorf("asr: sherpa-onnx needs a model folder holding %s: %w", SherpaManifestFile, ErrNoModel)
	}
	threads := cfg.Threads
	if threads == 0 {
		threads = 1
	}
	m, err := readSherpaModel(cfg.ModelDir, threads)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	rec := sherpa.NewOfflineRecognizer(&m.config)
	if rec == nil {
		return nil, fmt.Errorf("asr: sherpa-onnx cannot load the %s model in %s (its log on stderr says why): %w", m.typ, cfg.ModelDir, ErrNoModel)
	}
	logger.Info("asr: sherpa-onnx model loaded", "model", cfg.ModelDir, "type", m.typ, "load_ms", time.Since(start).Milliseconds())
	return &sherpaRecognizer{
		name:  ProviderSherpa + "/" + m.typ,
		rec:   rec,
		slots: make(chan struct{}, cfg.Decoders),
		done:  make(chan struct{}),
	}, nil
}

// Name implements Recognizer.
func (r *sherpaRecognizer) Name() string { return r.name }

// Transcribe implements Recognizer. ctx bounds the wait for a free slot; a
// decode that has started runs to its end.
func (r *sherpaRecognizer) Transcribe(ctx context.Context, samples []float32, rate int) (Result, error) {
	if r.isClosed() {
		return Result{}, ErrClosed
	}
	in, err := prepare(samples, rate)
	if err != nil {
		return Result{}, err
	}
	res := Result{Audio: duration(len(samples), rate)}
	if len(in) == 0 {
		return res, nil
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	select {
	case r.slots <- struct{}{}:
	case <-ctx.Done():
		return Result{}, ctx.Err()
	case <-r.done:
		return Result{}, ErrClosed
	}
	defer func() { <-r.slots }()
	if r.isClosed() {
		return Result{}, ErrClosed
	}
	s := sherpa.NewOfflineStream(r.rec)
	defer sherpa.DeleteOfflineStream(s)
	s.AcceptWaveform(modelRate, in)
	r.rec.Decode(s)
	res.Text = strings.TrimSpace(s.GetResult().Text)
	return res, nil
}

func (r *sherpaRecognizer) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

// Close waits for the running decodes and frees the model.
func (r *sherpaRecognizer) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	close(r.done)
	r.mu.Unlock()
	for range cap(r.slots) {
		r.slots <- struct{}{}
	}
	sherpa.DeleteOfflineRecognizer(r.rec)
	return nil
}

var _ Recognizer = (*sherpaRecognizer)(nil)
