package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// validConfig is the smallest Piper config sherpa-onnx can use.
const validConfig = `{
  "audio": {"sample_rate": 16000, "quality": "low"},
  "espeak": {"voice": "en-us"},
  "inference": {"noise_scale": 0.5, "length_scale": 1.1, "noise_w": 0.7},
  "phoneme_type": "espeak",
  "phoneme_id_map": {"_": [0], "^": [1], "$": [2], " ": [3], "a": [4]},
  "num_speakers": 2,
  "language": {"code": "en_US", "name_english": "English"},
  "dataset": "test"
}`

func TestParsePiperConfig(t *testing.T) {
	t.Parallel()
	c, err := parsePiperConfig([]byte(validConfig))
	if err != nil {
		t.Fatal(err)
	}
	want := []metadataProp{
		{"model_type", "vits"},
		{"comment", "piper"},
		{"language", "English"},
		{"voice", "en-us"},
		{"has_espeak", "1"},
		{"n_speakers", "2"},
		{"sample_rate", "16000"},
	}
	if diff := cmp.Diff(want, c.sherpaMetadata()); diff != "" {
		t.Errorf("sherpaMetadata (-want +got):\n%s", diff)
	}
	if c.Inference.NoiseScale != 0.5 || c.Inference.LengthScale != 1.1 || c.Inference.NoiseW != 0.7 {
		t.Errorf("inference = %+v, want 0.5, 1.1, 0.7", c.Inference)
	}
}

func TestParsePiperConfigRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		edit    func(string) string
		problem string
	}{
		{"not JSON", func(string) string { return "{" }, "unexpected end"},
		{"no sample rate", func(s string) string { return strings.Replace(s, `"sample_rate": 16000`, `"sample_rate": 0`, 1) }, "audio.sample_rate"},
		{"text phonemes", func(s string) string {
			return strings.Replace(s, `"phoneme_type": "espeak"`, `"phoneme_type": "text"`, 1)
		}, "phoneme_type"},
		{"no espeak voice", func(s string) string { return strings.Replace(s, `"voice": "en-us"`, `"voice": ""`, 1) }, "espeak.voice"},
		{"no speakers", func(s string) string { return strings.Replace(s, `"num_speakers": 2`, `"num_speakers": 0`, 1) }, "num_speakers"},
		{"no language code", func(s string) string { return strings.Replace(s, `"code": "en_US"`, `"code": ""`, 1) }, "language.code"},
		{"no pad symbol", func(s string) string { return strings.Replace(s, `"_": [0], `, ``, 1) }, `no "_"`},
		{"no end symbol", func(s string) string { return strings.Replace(s, `"$": [2], `, ``, 1) }, `no "$"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			raw := tt.edit(validConfig)
			if raw == validConfig {
				t.Fatal("the edit changed nothing")
			}
			_, err := parsePiperConfig([]byte(raw))
			if !errors.Is(err, errBadConfig) || !strings.Contains(err.Error(), tt.problem) {
				t.Errorf("parsePiperConfig error = %v, want errBadConfig about %q", err, tt.problem)
			}
		})
	}
}

func TestParseModelCard(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		card string
		want modelCard
	}{
		{
			name: "piper card",
			card: "# Model card for alan (medium)\n\n* Language: en_GB\n\n## Dataset\n\n* URL: https://example.org/alan\n* License: See URL\n",
			want: modelCard{License: "See URL", DatasetURL: "https://example.org/alan"},
		},
		{
			name: "first lines win, spacing ignored",
			card: "*   License:   CC-BY-4.0  \n* License: other\n",
			want: modelCard{License: "CC-BY-4.0"},
		},
		{name: "nothing to find", card: "# Model card\n", want: modelCard{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, parseModelCard(tt.card)); diff != "" {
				t.Errorf("parseModelCard (-want +got):\n%s", diff)
			}
		})
	}
}
