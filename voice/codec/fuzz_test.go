package codec

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/timbre-ai/timbre/voice/audio"
)

// FuzzDecode feeds Decode arbitrary bytes, seeded with every fixture, a
// stream of our own writer, a constructed WebM and a WAV. Decode must not
// panic, must classify every failure under one of the package's errors,
// and must return valid audio within the limit when it succeeds.
func FuzzDecode(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.*"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/3])
	}
	var ogg bytes.Buffer
	w, err := NewOggOpusWriter(&ogg, 16000, OggOpusOptions{Serial: 1})
	if err != nil {
		f.Fatal(err)
	}
	if err := w.Write(sine(3200, 16000, 440, 0.5)); err != nil {
		f.Fatal(err)
	}
	if err := w.Close(); err != nil {
		f.Fatal(err)
	}
	f.Add(ogg.Bytes())
	packets := opusPackets(f, sine(4800, OpusRate, 440, 0.5), OpusRate, 1, 0)
	f.Add(chromeStyleWebM(packets, 2))
	var wav bytes.Buffer
	if _, err := audio.EncodeWAV(&wav, audio.Frame{Format: audio.Format{SampleRate: 8000, Channels: 1}, Samples: sine(400, 8000, 440, 0.5)}); err != nil {
		f.Fatal(err)
	}
	f.Add(wav.Bytes())

	lim := Limits{MaxBytes: 1 << 20, MaxDuration: 3 * time.Second}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Decode(data, lim)
		if err != nil {
			for _, kind := range []error{ErrUnsupportedFormat, ErrUnsupportedCodec, ErrCorrupt, ErrTooLong, ErrEmpty} {
				if errors.Is(err, kind) {
					return
				}
			}
			t.Fatalf("unclassified error: %v", err)
		}
		if err := d.Audio.Validate(); err != nil {
			t.Fatalf("invalid audio: %v", err)
		}
		if d.Audio.Len() == 0 || d.Audio.Duration() > lim.MaxDuration {
			t.Fatalf("%d frames (%v) against a %v limit", d.Audio.Len(), d.Audio.Duration(), lim.MaxDuration)
		}
		if d.Container == "" || d.Codec == "" {
			t.Fatalf("container %q codec %q", d.Container, d.Codec)
		}
	})
}
