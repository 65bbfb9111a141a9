package asr

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// No sherpa-onnx ASR weights can be had on the machines these tests run
// on, so these tests cover the manifest checks, which decide what reaches
// sherpa-onnx, and stop short of loading a model: ONNX Runtime aborts the
// process on a file that only looks like a model.

// onnxLike starts as an ONNX file does (ModelProto.ir_version).
const onnxLike = "\x08\x08\x12\x07not really a model"

// sherpaDir is a model folder holding manifest and the files named, each
// with content onnxLike unless given.
func sherpaDir(t *testing.T, manifest string, files ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range files {
		name, content, ok := strings.Cut(f, "=")
		if !ok {
			content = onnxLike
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if manifest != "" {
		if err := os.WriteFile(filepath.Join(dir, SherpaManifestFile), []byte(manifest), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestSherpaManifestRejected(t *testing.T) {
	whisperFiles := []string{"enc.onnx", "dec.onnx", "tokens.txt=a 0\n"}
	const whisper = `{"type": "whisper", "encoder": "enc.onnx", "decoder": "dec.onnx", "tokens": "tokens.txt"}`
	for _, c := range []struct {
		name     string
		manifest string
		files    []string
		want     string // in the message, besides the folder
	}{
		{"no manifest", "", whisperFiles, "manifest.json: no such file"},
		{"not JSON", `type: whisper`, whisperFiles, "bad manifest.json"},
		{"two objects", whisper + whisper, whisperFiles, "data after the JSON object"},
		{"unknown key", `{"type": "whisper", "encoder": "enc.onnx", "decoder": "dec.onnx", "tokens": "tokens.txt", "joner": "j.onnx"}`, whisperFiles, `unknown field "joner"`},
		{"no type", `{"encoder": "enc.onnx", "decoder": "dec.onnx", "tokens": "tokens.txt"}`, whisperFiles, `no "type"`},
		{"unknown type", `{"type": "wav2vec", "model": "enc.onnx", "tokens": "tokens.txt"}`, whisperFiles, `type "wav2vec" in manifest.json is not one of whisper, transducer`},
		{"whisper without decoder", `{"type": "whisper", "encoder": "enc.onnx", "tokens": "tokens.txt"}`, whisperFiles, `lacks "decoder": a whisper model needs encoder, decoder, tokens`},
		{"whisper without tokens", `{"type": "whisper", "encoder": "enc.onnx", "decoder": "dec.onnx"}`, whisperFiles, `lacks "tokens"`},
		{"whisper decoder missing", whisper, []string{"enc.onnx", "tokens.txt=a 0\n"}, "decoder: open "},
		{"whisper with a joiner", `{"type": "whisper", "encoder": "enc.onnx", "decoder": "dec.onnx", "joiner": "enc.onnx", "tokens": "tokens.txt"}`, whisperFiles, `a whisper model takes no "joiner"`},
		{"transducer without joiner", `{"type": "transducer", "encoder": "enc.onnx", "decoder": "dec.onnx", "tokens": "tokens.txt"}`, whisperFiles, `lacks "joiner"`},
		{"transducer with a language", `{"type": "transducer", "encoder": "enc.onnx", "decoder": "dec.onnx", "joiner": "dec.onnx", "tokens": "tokens.txt", "language": "en"}`, whisperFiles, `takes no "language"`},
		{"paraformer without model", `{"type": "paraformer", "tokens": "tokens.txt"}`, whisperFiles, `lacks "model"`},
		{"paraformer with an encoder", `{"type": "paraformer", "model": "enc.onnx", "encoder": "enc.onnx", "tokens": "tokens.txt"}`, whisperFiles, `takes no "encoder"`},
		{"sense_voice model is a folder", `{"type": "sense_voice", "model": "sub", "tokens": "tokens.txt"}`, whisperFiles, "is not a regular file"},
		{"moonshine v1 without cached_decoder", `{"type": "moonshine", "preprocessor": "enc.onnx", "encoder": "enc.onnx", "uncached_decoder": "dec.onnx", "tokens": "tokens.txt"}`, whisperFiles, `lacks "cached_decoder"`},
		{"moonshine v2 with a preprocessor", `{"type": "moonshine", "preprocessor": "enc.onnx", "encoder": "enc.onnx", "merged_decoder": "dec.onnx", "tokens": "tokens.txt"}`, whisperFiles, `takes no "preprocessor"`},
		{"encoder is not ONNX", whisper, []string{"enc.onnx=<html>Not Found</html>", "dec.onnx", "tokens.txt=a 0\n"}, "enc.onnx is not an ONNX model"},
		{"encoder is empty", whisper, []string{"enc.onnx=", "dec.onnx", "tokens.txt=a 0\n"}, "enc.onnx is not an ONNX model"},
		{"decoder is a Git LFS pointer", whisper, []string{"enc.onnx", "dec.onnx=version https://git-lfs.github.com/spec/v1\noid sha256:00\n", "tokens.txt=a 0\n"}, "Git LFS pointer"},
		{"tokens escape to a missing file", `{"type": "whisper", "encoder": "enc.onnx", "decoder": "dec.onnx", "tokens": "../elsewhere/tokens.txt"}`, whisperFiles, "elsewhere/tokens.txt"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := sherpaDir(t, c.manifest, c.files...)
			if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
				t.Fatal(err)
			}
			_, err := readSherpaModel(dir, 1)
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, ErrNoModel) || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%v\nwant ErrNoModel naming %s and saying %q", err, dir, c.want)
			}
			// Open says the same, before sherpa-onnx sees anything.
			if _, err := Open(Config{Provider: ProviderSherpa, ModelDir: dir}, nil); !errors.Is(err, ErrNoModel) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Open: %v", err)
			}
		})
	}
	if _, err := Open(Config{Provider: ProviderSherpa}, nil); !errors.Is(err, ErrNoModel) {
		t.Errorf("Open without a model folder: %v, want ErrNoModel", err)
	}
}

func TestSherpaManifestAccepted(t *testing.T) {
	abs := sherpaDir(t, "", "elsewhere.onnx")
	for _, c := range []struct {
		name     string
		manifest string
		files    []string
		check    func(t *testing.T, dir string, m sherpaModel)
	}{
		{"whisper", `{"type": "whisper", "encoder": "e.onnx", "decoder": "d.onnx", "tokens": "t.txt", "language": "en"}`,
			[]string{"e.onnx", "d.onnx", "t.txt=a 0\n"}, func(t *testing.T, dir string, m sherpaModel) {
				w := m.config.ModelConfig.Whisper
				if w.Encoder != filepath.Join(dir, "e.onnx") || w.Decoder != filepath.Join(dir, "d.onnx") || w.Language != "en" || w.Task != "transcribe" {
					t.Errorf("whisper config %+v", w)
				}
			}},
		{"transducer with an absolute encoder", `{"type": "transducer", "encoder": "` + filepath.Join(abs, "elsewhere.onnx") + `", "decoder": "d.onnx", "joiner": "j.onnx", "tokens": "t.txt"}`,
			[]string{"d.onnx", "j.onnx", "t.txt=a 0\n"}, func(t *testing.T, dir string, m sherpaModel) {
				tr := m.config.ModelConfig.Transducer
				if tr.Encoder != filepath.Join(abs, "elsewhere.onnx") || tr.Joiner != filepath.Join(dir, "j.onnx") {
					t.Errorf("transducer config %+v", tr)
				}
			}},
		{"paraformer", `{"type": "paraformer", "model": "m.onnx", "tokens": "t.txt"}`,
			[]string{"m.onnx", "t.txt=a 0\n"}, func(t *testing.T, dir string, m sherpaModel) {
				if m.config.ModelConfig.Paraformer.Model != filepath.Join(dir, "m.onnx") {
					t.Errorf("paraformer config %+v", m.config.ModelConfig.Paraformer)
				}
			}},
		{"sense_voice", `{"type": "sense_voice", "model": "m.onnx", "tokens": "t.txt", "language": "auto"}`,
			[]string{"m.onnx", "t.txt=a 0\n"}, func(t *testing.T, dir string, m sherpaModel) {
				if sv := m.config.ModelConfig.SenseVoice; sv.Model != filepath.Join(dir, "m.onnx") || sv.Language != "auto" {
					t.Errorf("sense_voice config %+v", sv)
				}
			}},
		{"moonshine v1", `{"type": "moonshine", "preprocessor": "p.onnx", "encoder": "e.onnx", "uncached_decoder": "u.onnx", "cached_decoder": "c.onnx", "tokens": "t.txt"}`,
			[]string{"p.onnx", "e.onnx", "u.onnx", "c.onnx", "t.txt=a 0\n"}, func(t *testing.T, dir string, m sherpaModel) {
				if mo := m.config.ModelConfig.Moonshine; mo.CachedDecoder != filepath.Join(dir, "c.onnx") || mo.MergedDecoder != "" {
					t.Errorf("moonshine config %+v", mo)
				}
			}},
		{"moonshine v2", `{"type": "moonshine", "encoder": "e.onnx", "merged_decoder": "m.onnx", "tokens": "t.txt"}`,
			[]string{"e.onnx", "m.onnx", "t.txt=a 0\n"}, func(t *testing.T, dir string, m sherpaModel) {
				if mo := m.config.ModelConfig.Moonshine; mo.MergedDecoder != filepath.Join(dir, "m.onnx") || mo.Preprocessor != "" {
					t.Errorf("moonshine config %+v", mo)
				}
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := sherpaDir(t, c.manifest, c.files...)
			m, err := readSherpaModel(dir, 3)
			if err != nil {
				t.Fatal(err)
			}
			mc := m.config.ModelConfig
			if mc.Tokens != filepath.Join(dir, "t.txt") || mc.NumThreads != 3 || mc.Provider != "cpu" ||
				m.config.FeatConfig.SampleRate != modelRate || m.config.DecodingMethod != "greedy_search" {
				t.Errorf("common config: tokens %q, threads %d, provider %q, feat %+v, decoding %q",
					mc.Tokens, mc.NumThreads, mc.Provider, m.config.FeatConfig, m.config.DecodingMethod)
			}
			c.check(t, dir, m)
		})
	}
}
