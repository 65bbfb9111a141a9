package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// prepFormat numbers the layout piperprep writes. Raise it whenever what
// it writes changes, so that scripts/setup-voices (whose PREP_FORMAT must
// equal it; a test checks) prepares every voice again.
const prepFormat = 1

// The files of a prepared voice, in $TIMBRE_DATA_DIR/voices/<id>/.
const (
	modelFile    = "model.onnx"     // the Piper model with sherpa-onnx's metadata added
	tokensFile   = "tokens.txt"     // phoneme symbol → id, for sherpa-onnx
	configFile   = "voice.json"     // the Piper config, as shipped
	cardFile     = "MODEL_CARD.txt" // the Piper model card, as shipped
	manifestFile = "manifest.json"  // what the TTS engine reads (voiceManifest)
	// stampFile is written last: a directory with a current stamp is a
	// complete voice. scripts/setup-voices reads it to skip work.
	stampFile = "piperprep.stamp"
)

// voiceManifest is manifest.json: everything the TTS engine needs to list
// and load a prepared voice without reading the Piper config. Paths are
// relative to the voice's directory, except EspeakData.
type voiceManifest struct {
	Format       int    `json:"format"`
	ID           string `json:"id"`
	Name         string `json:"name"`
	Language     string `json:"language"`      // Piper's code, e.g. en_GB
	LanguageName string `json:"language_name"` // e.g. English
	Gender       string `json:"gender"`
	Quality      string `json:"quality,omitempty"`
	SampleRate   int    `json:"sample_rate"`
	NSpeakers    int    `json:"n_speakers"`

	Model       string `json:"model"`
	ModelSHA256 string `json:"model_sha256"`
	Tokens      string `json:"tokens"`
	Config      string `json:"config"`
	ModelCard   string `json:"model_card"`

	// EspeakData is the espeak-ng data directory (absolute) sherpa-onnx
	// phonemizes with; EspeakVoice the espeak-ng voice.
	EspeakData  string `json:"espeak_data"`
	EspeakVoice string `json:"espeak_voice"`

	// The synthesis defaults of the Piper config.
	NoiseScale  float32 `json:"noise_scale"`
	NoiseW      float32 `json:"noise_w"`
	LengthScale float32 `json:"length_scale"`

	// License is the model card's License line, verbatim; DatasetURL its
	// URL line.
	License    string `json:"license"`
	DatasetURL string `json:"dataset_url,omitempty"`
	Dataset    string `json:"dataset,omitempty"`

	Source voiceSource `json:"source"`
}

// voiceSource says where a prepared voice came from.
type voiceSource struct {
	Module  string `json:"module"`
	Version string `json:"version,omitempty"`
	// Hash is the module's hash.txt, the checksum of its dist.tar.zst.
	Hash string `json:"hash"`
}

// stampText is the stamp of a voice prepared by this piperprep from the
// asset of module at version, whose hash.txt says hash, against the
// espeak-ng data in espeakDir. Four lines, which scripts/setup-voices reads
// to skip work without building piperprep:
//
//	format 1
//	module github.com/amitybell/piper-voice-jenny@v0.0.0-20231030195502-2afb5ebf3c45
//	hash xxh3-b64 3v0uEpOUyOA=
//	espeak-ng-data /usr/lib/x86_64-linux-gnu/espeak-ng-data
func stampText(module, version, hash, espeakDir string) string {
	return fmt.Sprintf("format %d\nmodule %s@%s\nhash %s\nespeak-ng-data %s\n", prepFormat, module, version, hash, espeakDir)
}

// voiceReady says whether dir holds a complete voice with the stamp want.
func voiceReady(dir, want string) bool {
	got, err := os.ReadFile(filepath.Join(dir, stampFile))
	if err != nil || string(got) != want {
		return false
	}
	for _, f := range []string{modelFile, tokensFile, manifestFile} {
		info, err := os.Stat(filepath.Join(dir, f))
		if err != nil || !info.Mode().IsRegular() || info.Size() == 0 {
			return false
		}
	}
	return true
}

// sourceHash reads a Piper asset's hash.txt into one line.
func sourceHash(raw []byte) (string, error) {
	h := strings.TrimSpace(string(raw))
	if h == "" || strings.ContainsAny(h, "\n\r") {
		return "", fmt.Errorf("hash.txt is not one line: %q", raw)
	}
	return h, nil
}
