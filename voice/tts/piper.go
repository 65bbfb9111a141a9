package tts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	sherpa "github.com/k2-fsa/sherpa-onnx-go-linux"

	"github.com/timbre-ai/timbre/agents/sentence"
)

// PiperConfig tunes the Piper engine.
type PiperConfig struct {
	// Dir holds one folder per voice, as scripts/setup-voices prepares
	// them ($TIMBRE_DATA_DIR/voices).
	Dir string
	// Threads is the ONNX Runtime threads per synthesis (default 1).
	Threads int
	// Provider is the ONNX Runtime execution provider: cpu or cuda.
	Provider string
	// Slots bounds the syntheses one voice runs at once (default 2).
	Slots int
}

// piperVoice is a prepared voice, loaded on first use.
type piperVoice struct {
	voice   Voice
	config  sherpa.OfflineTtsConfig
	speaker int
	slots   chan struct{}

	once sync.Once
	tts  *sherpa.OfflineTts
	err  error
	load time.Duration
}

// Piper speaks the voices prepared under a directory with sherpa-onnx: the
// embedded Piper VITS voices, and any VITS, Matcha, Kokoro or Kitten model
// an operator adds as a folder with a manifest.json naming its files.
type Piper struct {
	voices map[string]*piperVoice
	list   []Voice
}

// OpenPiper reads the prepared voices in cfg.Dir. Models load on first use
// (or with Preload); a folder that is not a complete voice is an error
// that names it.
func OpenPiper(cfg PiperConfig) (*Piper, error) {
	if cfg.Threads <= 0 {
		cfg.Threads = 1
	}
	if cfg.Slots <= 0 {
		cfg.Slots = 2
	}
	if cfg.Provider == "" {
		cfg.Provider = "cpu"
	}
	if cfg.Provider != "cpu" && cfg.Provider != "cuda" {
		return nil, fmt.Errorf("tts: provider %q: must be cpu or cuda", cfg.Provider)
	}
	entries, err := os.ReadDir(cfg.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("tts: no voices in %s: run `make setup` (scripts/setup-voices) to prepare them", cfg.Dir)
	}
	if err != nil {
		return nil, fmt.Errorf("tts: read voices: %w", err)
	}
	p := &Piper{voices: map[string]*piperVoice{}}
	for _, e := range entries {
		if !e.IsDir() || e.Name()[0] == '.' {
			continue
		}
		v, err := readPiperVoice(filepath.Join(cfg.Dir, e.Name()), cfg)
		if err != nil {
			return nil, err
		}
		p.voices[v.voice.ID] = v
		p.list = append(p.list, v.voice)
	}
	if len(p.list) == 0 {
		return nil, fmt.Errorf("tts: no voices in %s: run `make setup` (scripts/setup-voices) to prepare them", cfg.Dir)
	}
	sort.Slice(p.list, func(i, j int) bool { return p.list[i].ID < p.list[j].ID })
	return p, nil
}

// manifest is the manifest.json beside a voice: scripts/piperprep writes
// one for each built-in Piper voice, and an operator writes one to add a
// sherpa-onnx model from a path. Relative paths are relative to the
// voice's folder.
type manifest struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Language   string `json:"language"`
	Gender     string `json:"gender"`
	SampleRate int    `json:"sample_rate"`
	// Type is the model family: vits (Piper and other VITS models, the
	// default), matcha, kokoro or kitten.
	Type string `json:"type"`
	// Speaker is the speaker id in a multi-speaker model (default 0).
	Speaker int `json:"speaker"`
	// Model is the model file (matcha: the acoustic model).
	Model string `json:"model"`
	// Vocoder is matcha's vocoder; Voices is kokoro's and kitten's
	// voices.bin; Lexicon and Lang are optional.
	Vocoder     string  `json:"vocoder"`
	Voices      string  `json:"voices"`
	Lexicon     string  `json:"lexicon"`
	Lang        string  `json:"lang"`
	Tokens      string  `json:"tokens"`
	EspeakData  string  `json:"espeak_data"`
	NoiseScale  float32 `json:"noise_scale"`
	NoiseW      float32 `json:"noise_w"`
	LengthScale float32 `json:"length_scale"`
}

// Model families a manifest may name.
const (
	typeVITS   = "vits"
	typeMatcha = "matcha"
	typeKokoro = "kokoro"
	typeKitten = "kitten"
)

func readPiperVoice(dir string, cfg PiperConfig) (*piperVoice, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, fmt.Errorf("tts: voice %s is incomplete (run `make setup`): %w", dir, err)
	}
	var m manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("tts: voice %s: bad manifest.json: %w", dir, err)
	}
	if m.ID == "" || m.SampleRate <= 0 || m.Speaker < 0 {
		return nil, fmt.Errorf("tts: voice %s: manifest.json needs an id, a sample_rate and a speaker of 0 or more", dir)
	}
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	var c sherpa.OfflineTtsConfig
	var required []string
	engine := "piper"
	switch m.Type {
	case "", typeVITS:
		c.Model.Vits = sherpa.OfflineTtsVitsModelConfig{Model: abs(m.Model), Tokens: abs(m.Tokens), DataDir: m.EspeakData,
			Lexicon: abs(m.Lexicon), NoiseScale: or(m.NoiseScale, 0.667), NoiseScaleW: or(m.NoiseW, 0.8), LengthScale: or(m.LengthScale, 1)}
		required = []string{abs(m.Model), abs(m.Tokens)}
		if m.Type == typeVITS {
			engine = typeVITS
		}
	case typeMatcha:
		c.Model.Matcha = sherpa.OfflineTtsMatchaModelConfig{AcousticModel: abs(m.Model), Vocoder: abs(m.Vocoder), Tokens: abs(m.Tokens),
			DataDir: m.EspeakData, Lexicon: abs(m.Lexicon), NoiseScale: or(m.NoiseScale, 0.667), LengthScale: or(m.LengthScale, 1)}
		required, engine = []string{abs(m.Model), abs(m.Vocoder), abs(m.Tokens)}, typeMatcha
	case typeKokoro:
		c.Model.Kokoro = sherpa.OfflineTtsKokoroModelConfig{Model: abs(m.Model), Voices: abs(m.Voices), Tokens: abs(m.Tokens),
			DataDir: m.EspeakData, Lexicon: abs(m.Lexicon), Lang: m.Lang, LengthScale: or(m.LengthScale, 1)}
		required, engine = []string{abs(m.Model), abs(m.Voices), abs(m.Tokens)}, typeKokoro
	case typeKitten:
		c.Model.Kitten = sherpa.OfflineTtsKittenModelConfig{Model: abs(m.Model), Voices: abs(m.Voices), Tokens: abs(m.Tokens),
			DataDir: m.EspeakData, LengthScale: or(m.LengthScale, 1)}
		required, engine = []string{abs(m.Model), abs(m.Voices), abs(m.Tokens)}, typeKitten
	default:
		return nil, fmt.Errorf("tts: voice %s: model type %q is not one of vits, matcha, kokoro, kitten", m.ID, m.Type)
	}
	if m.EspeakData != "" {
		required = append(required, m.EspeakData)
	}
	for _, f := range required {
		if f == "" {
			return nil, fmt.Errorf("tts: voice %s: manifest.json lacks a file its %s model needs (model, tokens, vocoder or voices)", m.ID, or2(m.Type, typeVITS))
		}
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("tts: voice %s is incomplete (run `make setup`, or fix its manifest.json): %w", m.ID, err)
		}
	}
	c.Model.NumThreads, c.Model.Provider = cfg.Threads, cfg.Provider
	c.MaxNumSentences = 1
	return &piperVoice{
		voice: Voice{ID: m.ID, Name: or2(m.Name, m.ID), Language: m.Language, Gender: m.Gender, Kind: KindBuiltin,
			SampleRate: m.SampleRate, Engine: engine},
		config:  c,
		speaker: m.Speaker,
		slots:   make(chan struct{}, cfg.Slots),
	}, nil
}

func or2(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func or(v, def float32) float32 {
	if v == 0 {
		return def
	}
	return v
}

// Voices implements Engine.
func (p *Piper) Voices() []Voice { return p.list }

// Preload loads every voice's model now, returning how long each took.
func (p *Piper) Preload() (map[string]time.Duration, error) {
	out := map[string]time.Duration{}
	for id, v := range p.voices {
		if _, err := v.model(); err != nil {
			return out, err
		}
		out[id] = v.load
	}
	return out, nil
}

func (v *piperVoice) model() (*sherpa.OfflineTts, error) {
	v.once.Do(func() {
		start := time.Now()
		v.tts = sherpa.NewOfflineTts(&v.config)
		v.load = time.Since(start)
		if v.tts == nil {
			v.err = fmt.Errorf("%w: voice %s (%s) did not load: see the log above for sherpa-onnx's reason", ErrEngine, v.voice.ID, v.voice.Engine)
		}
	})
	return v.tts, v.err
}

// Stream implements Engine.
func (p *Piper) Stream(ctx context.Context, req Request, onChunk func(Chunk) error) error {
	v, ok := p.voices[req.Voice]
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownVoice, req.Voice)
	}
	speed := req.Speed
	if speed == 0 {
		speed = 1
	}
	if speed < 0.25 || speed > 4 {
		return ErrBadSpeed
	}
	sentences := sentence.Split(req.Text)
	if len(sentences) == 0 {
		return ErrNoText
	}
	tts, err := v.model()
	if err != nil {
		return err
	}
	seq := 0
	for _, s := range sentences {
		select {
		case v.slots <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		audio := tts.Generate(s, v.speaker, float32(speed))
		<-v.slots
		if err := ctx.Err(); err != nil {
			return err
		}
		if audio == nil || len(audio.Samples) == 0 {
			continue // nothing the voice could say (punctuation, symbols)
		}
		if err := onChunk(Chunk{Seq: seq, Text: s, Samples: audio.Samples, SampleRate: audio.SampleRate}); err != nil {
			return err
		}
		seq++
	}
	return nil
}

// Close frees the loaded models. No Stream may run during or after it.
func (p *Piper) Close() error {
	for _, v := range p.voices {
		if v.tts != nil {
			sherpa.DeleteOfflineTts(v.tts)
			v.tts = nil
		}
	}
	return nil
}
