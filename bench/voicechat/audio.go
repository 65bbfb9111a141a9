package main

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/timbre-ai/timbre/voice/audio"
	"github.com/timbre-ai/timbre/voice/codec"
	"github.com/timbre-ai/timbre/voice/rtc/rtctest"
	"github.com/timbre-ai/timbre/voice/tts"
)

// audibleRMS is the level above which audio counts as sound: −40 dBFS.
const audibleRMS = 0.01

// frame48 is one 20 ms frame at 48 kHz, what the clients send and receive.
const frame48 = 960

// question is a spoken question, as a client sends it.
type question struct {
	text    string
	samples []float32
	rate    int
	// trailing is the silence after the last audible 10 ms block.
	trailing time.Duration
	// n48 and end48 are the question's length and the end of its speech
	// once resampled to 48 kHz (what the client's microphone sends).
	n48, end48 int
	// heard is what the server hears: the question through Opus, decoded
	// at 16 kHz, as voice/rtc decodes a call's audio.
	heard []float32
}

// synthesizeQuestions speaks each text with the client's voice.
func synthesizeQuestions(ctx context.Context, engine tts.Engine, texts []string) ([]question, error) {
	var out []question
	for _, text := range texts {
		q := question{text: text}
		err := engine.Stream(ctx, tts.Request{Voice: clientVoice, Text: text}, func(c tts.Chunk) error {
			q.samples = append(q.samples, c.Samples...)
			q.rate = c.SampleRate
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("synthesise %q: %w", text, err)
		}
		q.trailing = trailingSilence(q.samples, q.rate)
		speech := len(q.samples) - int(q.trailing.Seconds()*float64(q.rate)+0.5)
		q.n48 = audio.ResampledLen(len(q.samples), q.rate, 48000)
		q.end48 = audio.ResampledLen(speech, q.rate, 48000)
		if q.heard, err = throughOpus(q.samples, q.rate); err != nil {
			return nil, err
		}
		out = append(out, q)
	}
	return out, nil
}

// trailingSilence is how long samples end in silence: the time after the
// last 10 ms block louder than audibleRMS.
func trailingSilence(samples []float32, rate int) time.Duration {
	block := rate / 100
	if block < 1 {
		return 0
	}
	end := len(samples)
	for end > 0 {
		start := max(0, end-block)
		if audio.RMS(samples[start:end]) > audibleRMS {
			break
		}
		end = start
	}
	return time.Duration(len(samples)-end) * time.Second / time.Duration(rate)
}

// leadingSilence is how long samples start in silence: the time before
// the first 10 ms block louder than audibleRMS.
func leadingSilence(samples []float32, rate int) time.Duration {
	block := rate / 100
	if block < 1 {
		return 0
	}
	start := 0
	for start < len(samples) {
		end := min(start+block, len(samples))
		if audio.RMS(samples[start:end]) > audibleRMS {
			break
		}
		start = end
	}
	return time.Duration(start) * time.Second / time.Duration(rate)
}

// throughOpus is samples as the server hears them: resampled to 48 kHz,
// encoded in 20 ms Opus frames as the client does, decoded at 16 kHz.
func throughOpus(samples []float32, rate int) ([]float32, error) {
	f, err := audio.Resample(audio.Frame{Format: audio.Format{SampleRate: rate, Channels: 1}, Samples: samples}, 48000, audio.QualityDefault)
	if err != nil {
		return nil, err
	}
	enc, err := codec.NewOpusEncoder(48000, 1)
	if err != nil {
		return nil, err
	}
	dec, err := codec.NewOpusDecoder(16000, 1)
	if err != nil {
		return nil, err
	}
	var out []float32
	pcm := make([]float32, frame48)
	for i := 0; i < len(f.Samples); i += frame48 {
		n := copy(pcm, f.Samples[i:])
		clear(pcm[n:])
		pkt, err := enc.Encode(nil, pcm)
		if err != nil {
			return nil, err
		}
		if out, err = dec.Decode(out, pkt); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// speechEndSent is when the client sent the packet holding the last
// speech sample of q, given when it sent the last packet of q (the
// microphone sends frame k of the queued audio 20 ms after frame k−1).
func speechEndSent(lastSent time.Time, q question) time.Time {
	frames := (q.n48 + frame48 - 1) / frame48
	speechFrame := max(q.end48-1, 0) / frame48
	return lastSent.Add(-time.Duration(frames-1-speechFrame) * 20 * time.Millisecond)
}

// firstAudible is the arrival time of the first packet after t whose audio
// is louder than audibleRMS.
func firstAudible(arr []rtctest.Arrival, t time.Time) (time.Time, bool) {
	for _, a := range arr {
		if a.At.After(t) && a.RMS > audibleRMS {
			return a.At, true
		}
	}
	return time.Time{}, false
}

// audibleSpan is the index range of arr from its first to its last
// audible packet; ok is false when none is audible.
func audibleSpan(arr []rtctest.Arrival) (first, last int, ok bool) {
	first, last = -1, -1
	for i, a := range arr {
		if a.RMS > audibleRMS {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	return first, last, first >= 0
}

// delayVariation is, for each packet of arr, how much later than the
// earliest of them (relative to its RTP timestamp) it arrived, in ms: the
// delay a jitter buffer must absorb to play them all on time.
func delayVariation(arr []rtctest.Arrival) []float64 {
	if len(arr) == 0 {
		return nil
	}
	transit := make([]float64, len(arr))
	lo := math.Inf(1)
	ts0 := arr[0].Timestamp
	t0 := arr[0].At
	for i, a := range arr {
		media := float64(int32(a.Timestamp-ts0)) / 48 // ms at 48 kHz
		transit[i] = float64(a.At.Sub(t0).Microseconds())/1000 - media
		lo = min(lo, transit[i])
	}
	for i := range transit {
		transit[i] -= lo
	}
	return transit
}
