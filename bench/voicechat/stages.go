package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/timbre-ai/timbre/agents/llm"
	"github.com/timbre-ai/timbre/agents/sentence"
	"github.com/timbre-ai/timbre/voice"
	"github.com/timbre-ai/timbre/voice/asr"
	"github.com/timbre-ai/timbre/voice/audio"
	"github.com/timbre-ai/timbre/voice/codec"
	"github.com/timbre-ai/timbre/voice/listen"
)

// standalone is each stage of a turn timed alone, in ms, one value per
// repetition (opus: one per frame).
type standalone struct {
	vad, asr, ttft, segment, piper, worker, opus []float64
	// lead is the first sentence's audio below −40 dBFS before it is
	// heard; endLag the detector's end of speech minus the question's last
	// sample above −40 dBFS (both ms).
	lead, endLag []float64
}

// errEnough stops a stream once what was wanted of it has come.
var errEnough = errors.New("enough")

// hearRate is the rate voice/rtc decodes a call's audio to, and the
// detector and recogniser take.
const hearRate = 16000

// measureStages times, n times over the questions, each stage of a turn
// on its own: the detector's decision delay and pocketsphinx's final pass
// on what the server hears of the question; the model's first token and
// the segmenter's first sentence (fed the model's stream as it comes, or,
// offline, the whole reply at once); Piper's first audio of the reply's
// first sentence at 48 kHz, in this process and through the voice worker;
// the Opus encoding of its frames.
func (s *server) measureStages(ctx context.Context, mode string, qs []question, n int, reply string) (standalone, error) {
	var st standalone
	det, err := listen.NewDetector(s.vadModel, listen.Config{Silence: s.o.silence})
	if err != nil {
		return st, err
	}
	defer det.Close()
	enc, err := codec.NewOpusEncoder(48000, 1)
	if err != nil {
		return st, err
	}
	first := sentence.Split(reply)
	if len(first) == 0 {
		return st, fmt.Errorf("the reply %q has no sentence", reply)
	}
	for i := range n {
		q := qs[i%len(qs)]
		vad, fin, lag, err := s.hearAlone(ctx, det, q)
		if err != nil {
			return st, err
		}
		st.vad = append(st.vad, vad)
		st.asr = append(st.asr, fin)
		st.endLag = append(st.endLag, lag)

		if mode == modeLLM {
			ttft, seg, err := s.modelAlone(ctx, q.text)
			if err != nil {
				return st, err
			}
			st.ttft = append(st.ttft, ttft)
			st.segment = append(st.segment, seg)
		} else {
			st.ttft = append(st.ttft, 0) // no model
			st.segment = append(st.segment, segmentAlone(reply))
		}

		var pcm []float32
		ms, err := firstAudio(ctx, s.direct, first[0], s.user.ID, &pcm)
		if err != nil {
			return st, err
		}
		st.piper = append(st.piper, ms)
		st.lead = append(st.lead, float64(leadingSilence(pcm, 48000).Microseconds())/1000)
		if s.speaker != s.direct {
			ms, err := firstAudio(ctx, s.speaker, first[0], s.user.ID, nil)
			if err != nil {
				return st, err
			}
			st.worker = append(st.worker, ms)
		}
		for j := 0; j+frame48 <= len(pcm) && j < 50*frame48; j += frame48 {
			t0 := time.Now()
			if _, err := enc.Encode(nil, pcm[j:j+frame48]); err != nil {
				return st, err
			}
			st.opus = append(st.opus, msSince(t0))
		}
	}
	return st, nil
}

// hearAlone runs the detector over what the server hears of q, then 1.5 s
// of silence, in 20 ms pushes, and feeds a pocketsphinx stream the way a
// session does (the SpeechStart's audio, then every later push up to the
// SpeechEnd). It returns the detector's decision delay (Decided − At of
// the SpeechEnd), the time Finish took, and how much later than the last
// sample above −40 dBFS the detector dated the end of speech.
func (s *server) hearAlone(ctx context.Context, det *listen.Detector, q question) (vad, finish, lag float64, err error) {
	det.Reset()
	streamer, ok := s.rec.(asr.Streamer)
	if !ok {
		return 0, 0, 0, errors.New("the recogniser does not stream")
	}
	loudEnd := time.Duration(len(q.heard))*time.Second/hearRate - trailingSilence(q.heard, hearRate)
	x := append(append([]float32(nil), q.heard...), make([]float32, hearRate*3/2)...)
	var stream asr.Stream
	defer func() {
		if stream != nil {
			_ = stream.Close()
		}
	}()
	const push = hearRate / 50
	for i := 0; i < len(x); i += push {
		chunk := x[i:min(i+push, len(x))]
		fed := false
		for _, ev := range det.Push(chunk) {
			switch ev.Kind {
			case listen.SpeechStart:
				if stream != nil {
					_ = stream.Close()
				}
				if stream, err = streamer.NewStream(ctx, hearRate); err != nil {
					return 0, 0, 0, err
				}
				if err := stream.Write(ev.Audio); err != nil {
					return 0, 0, 0, err
				}
				fed = true
			case listen.SpeechEnd:
				if stream == nil {
					return 0, 0, 0, errors.New("speech ended before it started")
				}
				t0 := time.Now()
				if _, err := stream.Finish(); err != nil {
					return 0, 0, 0, err
				}
				finish := msSince(t0)
				stream = nil
				return float64((ev.Decided - ev.At).Microseconds()) / 1000, finish, float64((ev.At - loudEnd).Microseconds()) / 1000, nil
			case listen.SpeechDiscarded:
				if stream != nil {
					_ = stream.Close()
					stream = nil
				}
			}
		}
		if stream != nil && !fed {
			if err := stream.Write(chunk); err != nil {
				return 0, 0, 0, err
			}
		}
	}
	return 0, 0, 0, fmt.Errorf("the detector found no end of turn in %q", q.text)
}

// modelAlone streams an answer to text from the fake model (through the
// same proxy the sessions use) and returns the time to its first token and
// from there to the segmenter's first sentence.
func (s *server) modelAlone(ctx context.Context, text string) (ttft, seg float64, err error) {
	g := sentence.New(sentence.Options{})
	var firstToken time.Time
	t0 := time.Now()
	_, err = s.llm.Stream(ctx, llm.Request{Messages: []llm.Message{
		{Role: "system", Content: "You are Rowan, the captain of the island ferry."},
		{Role: "user", Content: text},
	}}, func(d string) error {
		if firstToken.IsZero() {
			firstToken = time.Now()
			ttft = float64(firstToken.Sub(t0).Microseconds()) / 1000
		}
		if len(g.Push(d)) > 0 {
			seg = msSince(firstToken)
			return errEnough
		}
		return nil
	})
	switch {
	case err != nil && !errors.Is(err, errEnough):
		return 0, 0, fmt.Errorf("the fake model: %w", err)
	case firstToken.IsZero():
		return 0, 0, errors.New("the fake model sent no token")
	case seg == 0 && len(g.Flush()) > 0:
		seg = msSince(firstToken)
	}
	return ttft, seg, nil
}

// segmentAlone is the time the segmenter takes to give the first sentence
// of reply, fed the way offline mode streams it (a word at a time, at
// once).
func segmentAlone(reply string) float64 {
	g := sentence.New(sentence.Options{})
	t0 := time.Now()
	for _, w := range words(reply) {
		if len(g.Push(w)) > 0 {
			return msSince(t0)
		}
	}
	g.Flush()
	return msSince(t0)
}

// words splits text into words with their following space, as offline
// replies stream.
func words(text string) []string {
	var out []string
	start := 0
	for i := 1; i < len(text); i++ {
		if text[i-1] == ' ' && text[i] != ' ' {
			out = append(out, text[start:i])
			start = i
		}
	}
	if start < len(text) {
		out = append(out, text[start:])
	}
	return out
}

// firstAudio speaks text with the agent's voice at 48 kHz through svc and
// returns the time to the first audio; pcm, when not nil, receives that
// audio.
func firstAudio(ctx context.Context, svc *voice.Service, text, owner string, pcm *[]float32) (float64, error) {
	var ms float64
	t0 := time.Now()
	err := svc.Speak(ctx, voice.Speech{Voice: agentVoice, Owner: owner, Text: text, SampleRate: 48000}, func(f audio.Frame) error {
		ms = msSince(t0)
		if pcm != nil {
			*pcm = append((*pcm)[:0], f.Samples...)
		}
		return errEnough
	})
	if err != nil && !errors.Is(err, errEnough) {
		return 0, fmt.Errorf("speak %q: %w", text, err)
	}
	if ms == 0 {
		return 0, fmt.Errorf("speak %q: no audio", text)
	}
	return ms, nil
}

func msSince(t time.Time) float64 { return float64(time.Since(t).Microseconds()) / 1000 }
