package codec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/timbre-ai/timbre/voice/audio"
)

// TestDecodeFixtures decodes files made by other implementations: opusenc
// (libopusenc), ffmpeg's WebM muxer with libopus, and Chrome's
// MediaRecorder. The lengths are ffmpeg's own decoded sample counts for
// the same files, so pre-skip and end trimming are checked to the sample.
func TestDecodeFixtures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file       string
		container  string
		channels   int
		sourceRate int
		frames     int       // at 48 kHz, as ffmpeg decodes the file
		freqs      []float64 // per channel
		amps       []float64 // sine amplitude per channel
		aligned    bool      // the source sine starts at phase 0 at the first sample
	}{
		{"opusenc_mono16k.opus", ContainerOgg, 1, 16000, 48000, []float64{440}, []float64{1.0 / 16}, true},
		{"ffmpeg_stereo48k.webm", ContainerWebM, 2, 48000, 48000, []float64{440, 660}, []float64{1.0 / 16, 1.0 / 16}, true},
		{"ffmpeg_live.webm", ContainerWebM, 2, 48000, 48000, []float64{440, 660}, []float64{1.0 / 16, 1.0 / 16}, true},
		// Chrome 156's MediaRecorder, recording a WebAudio graph: 440 Hz
		// at 0.5 left, 660 Hz at 0.25 right. Segment and Clusters of
		// unknown size, SimpleBlocks, OpusHead with pre-skip 0.
		{"chrome_mediarecorder.webm", ContainerWebM, 2, 48000, 69120, []float64{440, 660}, []float64{0.5, 0.25}, false},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			d, err := Decode(readFixture(t, tt.file), Limits{MaxDuration: 10 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if d.Container != tt.container || d.Codec != CodecOpus {
				t.Errorf("container/codec = %s/%s, want %s/opus", d.Container, d.Codec, tt.container)
			}
			if d.Audio.SampleRate != OpusRate || d.Audio.Channels != tt.channels || d.SourceChannels != tt.channels || d.SourceRate != tt.sourceRate {
				t.Errorf("format %v, source %d Hz %d ch; want 48000 Hz %d ch, source %d Hz", d.Audio.Format, d.SourceRate, d.SourceChannels, tt.channels, tt.sourceRate)
			}
			if err := d.Audio.Validate(); err != nil {
				t.Fatal(err)
			}
			if got := d.Audio.Len(); got != tt.frames {
				t.Errorf("decoded %d frames, ffmpeg decodes %d", got, tt.frames)
			}
			for c := range tt.channels {
				x := channel(d.Audio.Samples, tt.channels, c)
				if f := zeroCrossFreq(middle(x), OpusRate); math.Abs(f-tt.freqs[c]) > 1 {
					t.Errorf("channel %d: tone at %.2f Hz, want %v", c, f, tt.freqs[c])
				}
				wantRMS := tt.amps[c] / math.Sqrt2
				if rms := audio.RMS(middle(x)); math.Abs(audio.DBFS(rms/wantRMS)) > 1 {
					t.Errorf("channel %d: RMS %.4f, want %.4f ±1 dB", c, rms, wantRMS)
				}
				if tt.aligned {
					// A pre-skip off by even a few samples shows here; the
					// codec's own phase shift is a few samples at most.
					if lag, corr := bestLag(x, OpusRate, tt.freqs[c], 40); abs(lag) > 8 || corr < 0.99 {
						t.Errorf("channel %d: best match with the source at lag %d (corr %.4f), want |lag| ≤ 8", c, lag, corr)
					}
				}
			}
		})
	}
}

func abs(x int) int { return max(x, -x) }

// TestDecodeWAV checks that WAV goes through audio.DecodeWAV.
func TestDecodeWAV(t *testing.T) {
	t.Parallel()
	in := audio.Frame{Format: audio.Format{SampleRate: 16000, Channels: 1}, Samples: sine(8000, 16000, 440, 0.5)}
	var buf bytes.Buffer
	if _, err := audio.EncodeWAV(&buf, in); err != nil {
		t.Fatal(err)
	}
	d, err := Decode(buf.Bytes(), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Container != ContainerWAV || d.Codec != CodecPCM || d.Audio.Format != in.Format || d.SourceRate != 16000 || d.SourceChannels != 1 {
		t.Errorf("got %s/%s %v source %d/%d", d.Container, d.Codec, d.Audio.Format, d.SourceRate, d.SourceChannels)
	}
	if d.Audio.Len() != in.Len() {
		t.Errorf("%d frames, want %d", d.Audio.Len(), in.Len())
	}
}

// TestDecodeRejects checks the error kind and message for inputs Decode
// refuses.
func TestDecodeRejects(t *testing.T) {
	t.Parallel()
	ogg := readFixture(t, "opusenc_mono16k.opus")
	webm := readFixture(t, "ffmpeg_stereo48k.webm")
	chrome := readFixture(t, "chrome_mediarecorder.webm")
	pages := splitOggPages(t, ogg)

	flipped := bytes.Clone(ogg)
	flipped[pages[3].offset+pages[3].size()/2] ^= 0x10

	gluedWAV := func(payload []byte) []byte {
		h := []byte("RIFF\x00\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x80\x3e\x00\x00\x00\x7d\x00\x00\x02\x00\x10\x00data")
		h = binary.LittleEndian.AppendUint32(h, uint32(len(payload)))
		binary.LittleEndian.PutUint32(h[4:], uint32(len(h)-8+len(payload)))
		return append(h, payload...)
	}

	missingPage := append(bytes.Clone(ogg[:pages[3].offset]), ogg[pages[4].offset:]...)

	tests := []struct {
		name string
		data []byte
		want error
		msg  string // in the message
	}{
		{"empty", nil, ErrEmpty, "empty"},
		{"mp3", readFixture(t, "tone.mp3"), ErrUnsupportedFormat, "MP3"},
		{"mp3 without ID3", []byte{0xff, 0xfb, 0x90, 0x64, 0, 0, 0, 0}, ErrUnsupportedFormat, "MP3"},
		{"flac", readFixture(t, "tone.flac"), ErrUnsupportedFormat, "FLAC"},
		{"png", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), ErrUnsupportedFormat, "PNG"},
		{"text", []byte("this is not audio, it is a note\n"), ErrUnsupportedFormat, "text"},
		{"mp4", []byte("\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00"), ErrUnsupportedFormat, "MP4"},
		{"garbage", []byte{0x00, 0x01, 0x02, 0x03, 0xfe}, ErrUnsupportedFormat, "unrecognised"},
		{"ogg vorbis", readFixture(t, "vorbis.ogg"), ErrUnsupportedCodec, "Vorbis"},
		{"webm vorbis", readFixture(t, "vorbis.webm"), ErrUnsupportedCodec, "Vorbis"},
		{"ogg truncated", ogg[:len(ogg)*2/3], ErrCorrupt, "truncated"},
		{"ogg headers only", ogg[:pages[2].offset], ErrEmpty, "no audio"},
		{"ogg flipped byte", flipped, ErrCorrupt, "checksum"},
		{"ogg missing page", missingPage, ErrCorrupt, "missing"},
		{"webm truncated", webm[:len(webm)/2], ErrCorrupt, "truncated"},
		{"chrome webm truncated in a block", chrome[:len(chrome)-100], ErrCorrupt, "truncated"},
		{"webm header only", webm[:40], ErrCorrupt, ""},
		{"ebml doctype", append(ebmlHeader("mkvx"), elUnknown(idSegment)...), ErrUnsupportedFormat, "mkvx"},
		{"wav header on ogg", gluedWAV(ogg), ErrCorrupt, "Ogg"},
		{"wav header on webm", gluedWAV(webm), ErrCorrupt, "WebM"},
		{"wav lying size", gluedWAV(make([]byte, 100))[:80], ErrCorrupt, ""},
		{"wav adpcm", func() []byte {
			w := gluedWAV(make([]byte, 64))
			w[20] = 0x11 // IMA ADPCM
			return w
		}(), ErrUnsupportedCodec, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Decode(tt.data, Limits{})
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not mention %q", err, tt.msg)
			}
		})
	}
}
