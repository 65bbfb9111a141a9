package tts_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/timbre-ai/timbre/voice/tts"
	"github.com/timbre-ai/timbre/voice/tts/ttstest"
)

// piper is the shared engine on the prepared voices.
func piper(t testing.TB) *tts.Piper { return ttstest.Piper(t) }

func rms(s []float32) float64 {
	var sum float64
	for _, v := range s {
		sum += float64(v) * float64(v)
	}
	return math.Sqrt(sum / float64(max(len(s), 1)))
}

func TestPiperStreamsSentenceBySentence(t *testing.T) {
	p := piper(t)
	ids := map[string]bool{}
	for _, v := range p.Voices() {
		ids[v.ID] = true
		if v.SampleRate != 22050 || v.Kind != tts.KindBuiltin || v.Language == "" || v.Gender == "" {
			t.Errorf("voice %+v", v)
		}
	}
	if !ids["jenny"] || !ids["alan"] {
		t.Fatalf("voices = %v, want jenny and alan", ids)
	}
	text := "Good evening. The lighthouse has stood here since 1852! Shall we climb the stairs?"
	for _, voice := range []string{"jenny", "alan"} {
		t.Run(voice, func(t *testing.T) {
			var chunks []tts.Chunk
			start := time.Now()
			var first time.Duration
			err := p.Stream(context.Background(), tts.Request{Voice: voice, Text: text}, func(c tts.Chunk) error {
				if first == 0 {
					first = time.Since(start)
				}
				chunks = append(chunks, c)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(chunks) != 3 {
				t.Fatalf("%d chunks, want one per sentence (3)", len(chunks))
			}
			var total int
			for i, c := range chunks {
				d := float64(len(c.Samples)) / float64(c.SampleRate)
				if c.Seq != i || c.SampleRate != 22050 || d < 0.3 || d > 6 || rms(c.Samples) < 0.01 {
					t.Errorf("chunk %d (%q): seq %d, %d Hz, %.2f s, rms %.4f", i, c.Text, c.Seq, c.SampleRate, d, rms(c.Samples))
				}
				total += len(c.Samples)
			}
			audio := time.Duration(float64(total) / 22050 * float64(time.Second))
			t.Logf("%s: first audio after %s, %s of audio in %s (RTF %.2f)", voice, first.Round(time.Millisecond),
				audio.Round(time.Millisecond), time.Since(start).Round(time.Millisecond), time.Since(start).Seconds()/audio.Seconds())
		})
	}
}

func TestPiperSpeedChangesDuration(t *testing.T) {
	p := piper(t)
	length := func(speed float64) int {
		n := 0
		if err := p.Stream(context.Background(), tts.Request{Voice: "jenny", Text: "A steady voice reads this sentence aloud.", Speed: speed},
			func(c tts.Chunk) error { n += len(c.Samples); return nil }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	normal, fast := length(1), length(2)
	if r := float64(fast) / float64(normal); r < 0.35 || r > 0.7 {
		t.Fatalf("speed 2 gives %.2f of the normal length, want about half", r)
	}
}

func TestPiperRefusesBadRequests(t *testing.T) {
	p := piper(t)
	never := func(tts.Chunk) error { t.Error("a refused request produced audio"); return nil }
	cases := []struct {
		name string
		req  tts.Request
		want error
	}{
		{"unknown voice", tts.Request{Voice: "nobody", Text: "hi"}, tts.ErrUnknownVoice},
		{"empty", tts.Request{Voice: "jenny", Text: ""}, tts.ErrNoText},
		{"only emoji and markup", tts.Request{Voice: "jenny", Text: "😀 **  ** 🎉"}, tts.ErrNoText},
		{"speed too high", tts.Request{Voice: "jenny", Text: "hi", Speed: 5}, tts.ErrBadSpeed},
		{"speed too low", tts.Request{Voice: "jenny", Text: "hi", Speed: 0.1}, tts.ErrBadSpeed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := p.Stream(context.Background(), tc.req, never); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestPiperStopsBetweenSentences(t *testing.T) {
	p := piper(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	text := strings.Repeat("This sentence is one of many. ", 10)
	n := 0
	err := p.Stream(ctx, tts.Request{Voice: "alan", Text: text}, func(tts.Chunk) error {
		n++
		cancel() // barge-in after the first sentence
		return nil
	})
	if !errors.Is(err, context.Canceled) || n != 1 {
		t.Fatalf("err %v after %d chunks, want canceled after 1", err, n)
	}
	stop := errors.New("client gone")
	n = 0
	err = p.Stream(context.Background(), tts.Request{Voice: "alan", Text: text}, func(tts.Chunk) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("err %v after %d chunks, want the sink's error after 1", err, n)
	}
}
