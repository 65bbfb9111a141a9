package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// piperConfig is the part of a Piper voice config (voice.json, also
// published as MODEL.onnx.json) that preparing a voice for sherpa-onnx uses.
type piperConfig struct {
	Audio struct {
		SampleRate int    `json:"sample_rate"`
		Quality    string `json:"quality"`
	} `json:"audio"`
	Espeak struct {
		// Voice is the espeak-ng voice that phonemizes text, e.g. en-gb-x-rp.
		Voice string `json:"voice"`
	} `json:"espeak"`
	Inference struct {
		NoiseScale  float32 `json:"noise_scale"`
		LengthScale float32 `json:"length_scale"`
		NoiseW      float32 `json:"noise_w"`
	} `json:"inference"`
	PhonemeType string `json:"phoneme_type"`
	// PhonemeIDMap maps each phoneme symbol to the ids the model takes for
	// it; Piper's own voices give exactly one id per symbol.
	PhonemeIDMap map[string][]int `json:"phoneme_id_map"`
	NumSpeakers  int              `json:"num_speakers"`
	Language     struct {
		Code        string `json:"code"`
		NameEnglish string `json:"name_english"`
	} `json:"language"`
	Dataset string `json:"dataset"`
}

// sherpaRequiredSymbols are the symbols sherpa-onnx looks up
// unconditionally when it turns phonemes into ids (pad, begin, end); a
// tokens.txt without one of them aborts the process at the first synthesis.
var sherpaRequiredSymbols = []string{"_", "^", "$"}

// parsePiperConfig decodes a Piper voice config and checks that
// sherpa-onnx can run the voice it describes.
func parsePiperConfig(raw []byte) (*piperConfig, error) {
	var c piperConfig
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("%w: %w", errBadConfig, err)
	}
	var problems []string
	if c.Audio.SampleRate <= 0 {
		problems = append(problems, "audio.sample_rate is not positive")
	}
	// sherpa-onnx phonemizes Piper voices with espeak-ng only; Piper's
	// "text" voices take raw characters and would need another frontend.
	if c.PhonemeType != "espeak" {
		problems = append(problems, fmt.Sprintf("phoneme_type is %q, not espeak", c.PhonemeType))
	}
	if c.Espeak.Voice == "" {
		problems = append(problems, "espeak.voice is empty")
	}
	if c.NumSpeakers < 1 {
		problems = append(problems, "num_speakers is below 1")
	}
	if c.Language.Code == "" {
		problems = append(problems, "language.code is empty")
	}
	for _, s := range sherpaRequiredSymbols {
		if len(c.PhonemeIDMap[s]) == 0 {
			problems = append(problems, fmt.Sprintf("phoneme_id_map has no %q", s))
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%w: %s", errBadConfig, strings.Join(problems, "; "))
	}
	return &c, nil
}

// languageName is the language as sherpa-onnx's "language" metadata names
// it ("English"). The Piper frontend does not act on it, but sherpa-onnx
// refuses a model without it.
func (c *piperConfig) languageName() string {
	if c.Language.NameEnglish != "" {
		return c.Language.NameEnglish
	}
	return c.Language.Code
}

// sherpaMetadata is the ONNX metadata sherpa-onnx needs to load the voice
// as a Piper VITS model. sample_rate, n_speakers, language and comment are
// required (sherpa-onnx exits the process when one is missing); "piper" in
// comment selects Piper's input layout (input, input_lengths, scales[3],
// optional sid) and phoneme-to-id rules; voice is the espeak-ng voice the
// frontend phonemizes with. model_type and has_espeak are what the
// sherpa-onnx conversion scripts write; this sherpa-onnx version does not
// read them but other tools that inspect the model do. add_blank is left
// out: sherpa-onnx ignores it whenever espeak-ng data is given, and the
// Piper rules already put a pad id after each phoneme.
func (c *piperConfig) sherpaMetadata() []metadataProp {
	return []metadataProp{
		{"model_type", "vits"},
		{"comment", "piper"},
		{"language", c.languageName()},
		{"voice", c.Espeak.Voice},
		{"has_espeak", "1"},
		{"n_speakers", strconv.Itoa(c.NumSpeakers)},
		{"sample_rate", strconv.Itoa(c.Audio.SampleRate)},
	}
}

// modelCard is what a Piper MODEL_CARD says about the data behind a voice.
type modelCard struct {
	// License is the text of the card's License line, verbatim (Piper's
	// cards often say only "See URL").
	License string
	// DatasetURL is the card's URL line.
	DatasetURL string
}

// parseModelCard reads the "* License:" and "* URL:" lines of a Piper
// model card; either may be missing.
func parseModelCard(text string) modelCard {
	var mc modelCard
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		line = strings.TrimSpace(strings.TrimPrefix(line, "*"))
		if v, ok := strings.CutPrefix(line, "License:"); ok && mc.License == "" {
			mc.License = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(line, "URL:"); ok && mc.DatasetURL == "" {
			mc.DatasetURL = strings.TrimSpace(v)
		}
	}
	return mc
}
