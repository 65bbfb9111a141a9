package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/timbre-ai/timbre/voice/audio"
	"github.com/timbre-ai/timbre/voice/tts"
)

// Engines a reference speaker is made with.
const (
	engineEspeak   = "espeak-ng"
	engineFestival = "festival"
	enginePiper    = "piper"
)

// speaker is one reference voice: an engine and voice reading textA,
// optionally pitch-shifted afterwards by sox (which moves the formants with
// the pitch, as a faster playback would, unlike Timbre's converter).
type speaker struct {
	name string
	// engine is engineEspeak, engineFestival or enginePiper; voice is the
	// engine's voice: espeak-ng's -v argument, a festival voice procedure
	// without "voice_", or a prepared Piper voice's id.
	engine, voice string
	// espeakPitch is espeak-ng's -p (0–99, 50 is its default); 0 leaves it.
	espeakPitch int
	// cents is the sox pitch shift applied afterwards; 0 applies none.
	cents int
}

// knownSpeakers are the reference voices the bench knows, in report order.
func knownSpeakers() []speaker {
	return []speaker{
		{name: "espeak-us", engine: engineEspeak, voice: "en-us"},
		{name: "espeak-f3", engine: engineEspeak, voice: "en-us+f3"},
		{name: "kal", engine: engineFestival, voice: "kal_diphone"},
		{name: "jenny-3st", engine: enginePiper, voice: "jenny", cents: -300},
		{name: "alan+4st", engine: enginePiper, voice: "alan", cents: 400},
		{name: "espeak-deep", engine: engineEspeak, voice: "en-us", espeakPitch: 25, cents: -300},
		{name: "kal+5st", engine: engineFestival, voice: "kal_diphone", cents: 500},
	}
}

// describe says how the speaker's reference is made, as a command line.
func (s speaker) describe() string {
	var b strings.Builder
	switch s.engine {
	case engineEspeak:
		b.WriteString("espeak-ng -v " + s.voice)
		if s.espeakPitch != 0 {
			fmt.Fprintf(&b, " -p %d", s.espeakPitch)
		}
	case engineFestival:
		b.WriteString("text2wave (festival " + s.voice + ")")
	case enginePiper:
		b.WriteString("Piper " + s.voice + " (Timbre's engine)")
	}
	if s.cents != 0 {
		fmt.Fprintf(&b, " | sox pitch %+d", s.cents)
	}
	return b.String()
}

// tools are the programs (and the Debian packages that hold them) making
// s's reference needs.
func (s speaker) tools() []tool {
	var t []tool
	switch s.engine {
	case engineEspeak:
		t = append(t, toolEspeak)
	case engineFestival:
		t = append(t, toolText2wave, toolKal)
	}
	if s.cents != 0 {
		t = append(t, toolSox)
	}
	return t
}

// selectSpeakers returns the speakers named in names ("all": every one),
// in the order given.
func selectSpeakers(names []string) ([]speaker, error) {
	speakers := knownSpeakers()
	if len(names) == 1 && names[0] == "all" {
		return speakers, nil
	}
	var out []speaker
	seen := map[string]bool{}
	for _, n := range names {
		i := -1
		for j, s := range speakers {
			if s.name == n {
				i = j
			}
		}
		if i < 0 {
			return nil, fmt.Errorf("unknown speaker %q (known: %s)", n, strings.Join(speakerNames(speakers), ", "))
		}
		if !seen[n] {
			out = append(out, speakers[i])
			seen[n] = true
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no speakers selected")
	}
	return out, nil
}

func speakerNames(speakers []speaker) []string {
	var out []string
	for _, s := range speakers {
		out = append(out, s.name)
	}
	return out
}

// makeReference records s reading text into dir and returns the WAV file's
// path, dir/<name>-reference.wav: what a creator would upload.
func makeReference(ctx context.Context, s speaker, engine tts.Engine, text, dir string) (string, error) {
	final := filepath.Join(dir, s.name+"-reference.wav")
	raw := final
	if s.cents != 0 {
		raw = filepath.Join(dir, s.name+"-unshifted.wav")
	}
	var err error
	switch s.engine {
	case engineEspeak:
		args := []string{"-v", s.voice}
		if s.espeakPitch != 0 {
			args = append(args, "-p", strconv.Itoa(s.espeakPitch))
		}
		err = run(ctx, "espeak-ng", append(args, "-w", raw, text)...)
	case engineFestival:
		txt := filepath.Join(dir, s.name+".txt")
		if err = os.WriteFile(txt, []byte(text+"\n"), 0o644); err == nil {
			err = run(ctx, "text2wave", "-eval", "(voice_"+s.voice+")", "-o", raw, txt)
		}
	case enginePiper:
		err = synthesiseToWAV(ctx, engine, s.voice, text, raw)
	default:
		err = fmt.Errorf("unknown engine %q", s.engine)
	}
	if err != nil {
		return "", fmt.Errorf("reference %s: %w", s.name, err)
	}
	if s.cents != 0 {
		if err := run(ctx, "sox", raw, final, "pitch", strconv.Itoa(s.cents)); err != nil {
			return "", fmt.Errorf("reference %s: %w", s.name, err)
		}
	}
	return final, nil
}

// synthesiseToWAV has the engine read text in voice and writes the audio to
// path as 16-bit WAV at the voice's rate.
func synthesiseToWAV(ctx context.Context, engine tts.Engine, voice, text, path string) error {
	var samples []float32
	rate := 0
	err := engine.Stream(ctx, tts.Request{Voice: voice, Text: text}, func(c tts.Chunk) error {
		samples = append(samples, c.Samples...)
		rate = c.SampleRate
		return nil
	})
	if err != nil {
		return fmt.Errorf("synthesise with %s: %w", voice, err)
	}
	return writeWAV(path, samples, rate)
}

// writeWAV writes mono samples at rate to path as 16-bit PCM WAV (samples
// beyond ±1 clip).
func writeWAV(path string, samples []float32, rate int) error {
	var b bytes.Buffer
	if _, err := audio.EncodeWAV(&b, audio.Frame{Format: audio.Format{SampleRate: rate, Channels: 1}, Samples: samples}); err != nil {
		return fmt.Errorf("encode %s: %w", filepath.Base(path), err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write WAV: %w", err)
	}
	return nil
}

// run runs a program and returns its standard error's tail in the error
// when it fails.
func run(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w: %s", name, err, tail(stderr.String(), 400))
	}
	return nil
}

// tail is the last n bytes of s, trimmed.
func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return s
}
