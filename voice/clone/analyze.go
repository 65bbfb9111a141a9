package clone

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/timbre-ai/timbre/voice/audio"
)

// Codes of a RejectError: stable, for clients to branch on.
const (
	// RejectTooShort is less than Limits.MinSpeech of speech.
	RejectTooShort = "too_short"
	// RejectTooLong is a recording longer than Limits.MaxInput.
	RejectTooLong = "too_long"
	// RejectClipping is a recording distorted by clipping: too many samples
	// at its peak level.
	RejectClipping = "clipping"
	// RejectTooNoisy is speech whose estimated signal-to-noise ratio is
	// below Limits.MinSNR.
	RejectTooNoisy = "too_noisy"
	// RejectNotSpeech is a recording in which the VAD finds (almost) no
	// speech, or whose "speech" is hardly voiced: silence, noise, music.
	RejectNotSpeech = "not_speech"
)

// RejectError is a recording that cannot be cloned from, with a code (one of
// the Reject constants) and a message for the person who recorded it, which
// says what was found and what to do.
type RejectError struct {
	Code    string
	Message string
}

// Error is the code and the message, for logs; clients get Code and
// Message apart.
func (e *RejectError) Error() string {
	return "clone: recording rejected (" + e.Code + "): " + e.Message
}

func reject(code, format string, args ...any) *RejectError {
	return &RejectError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Limits are the checks Analyze applies to a recording. A zero field takes
// its value from DefaultLimits (a negative MinSNR accepts any noise).
type Limits struct {
	// MinSpeech is the least speech the VAD must find.
	MinSpeech time.Duration
	// MaxInput is the longest recording accepted, silence included.
	MaxInput time.Duration
	// MaxClipping is the largest fraction of samples that may sit at the
	// recording's peak level (within 0.1%).
	MaxClipping float64
	// MinSNR is the lowest signal-to-noise ratio, in dB, estimated from the
	// power of speech frames against that of the quietest frames.
	MinSNR float64
	// MinVoiced is the smallest fraction of the speech's frames with signal
	// that must be voiced (periodic, with a pitch).
	MinVoiced float64
}

// DefaultLimits are the checks of an upload: 3 s of speech in a recording of
// at most 30 s, at most 0.1% of samples at the peak, at least 15 dB SNR and
// at least 30% of frames voiced. Clean speech (read text, Piper or espeak-ng
// output) gives 25 dB or more and 50–80% voiced; white noise, silence, a
// ×10 hard-clipped clip and speech in noise at 0 dB SNR fail.
func DefaultLimits() Limits {
	return Limits{MinSpeech: 3 * time.Second, MaxInput: 30 * time.Second, MaxClipping: 0.001, MinSNR: 15, MinVoiced: 0.3}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MinSpeech <= 0 {
		l.MinSpeech = d.MinSpeech
	}
	if l.MaxInput <= 0 {
		l.MaxInput = d.MaxInput
	}
	if l.MaxClipping <= 0 {
		l.MaxClipping = d.MaxClipping
	}
	if l.MinSNR == 0 {
		l.MinSNR = d.MinSNR
	}
	if l.MinVoiced <= 0 {
		l.MinVoiced = d.MinVoiced
	}
	return l
}

// Trimming and measuring.
const (
	trimPad       = 100 * time.Millisecond // kept either side of each speech segment
	trimCrossfade = 10 * time.Millisecond  // between joined segments
	minAnySpeech  = 500 * time.Millisecond // less is "no speech", not "too short"
	// minGrossVoiced is the voiced fraction below which "speech" the VAD
	// found is taken for noise or music rather than noisy speech.
	minGrossVoiced = 0.05
	snrFrame       = AnalysisRate / 50 // 20 ms
	snrNoisePct    = 0.1               // the quietest 10% of frames are the noise floor
	snrMax         = 99.0              // dB: digital silence between words
)

// Clip is a recording that passed Analyze: its speech, trimmed and
// normalised, and what was measured.
type Clip struct {
	// Samples is the speech at Rate: the VAD's segments with 100 ms either
	// side, joined by 10 ms crossfades, normalised to −20 dBFS gated RMS
	// (less where the peak would pass −1 dBFS, and by at most 40 dB).
	Samples []float32
	Rate    int
	// Input is the recording's duration and Speech the speech the VAD
	// found in it (segments without padding).
	Input, Speech time.Duration
	// SNR is the estimated signal-to-noise ratio in dB (99 for digital
	// silence between words).
	SNR float64
	// Clipping is the fraction of samples at the recording's peak level.
	Clipping float64
	// Gain is the gain normalisation applied, in dB.
	Gain    float64
	Profile Profile
}

// Analyze checks a recording for cloning and measures its voice: samples is
// mono audio at rate Hz (decoded by the caller), vad finds the speech, lim
// says what is acceptable. An unusable recording is a *RejectError; an
// invalid rate or non-finite samples are other errors. Analyze does not
// modify samples.
func Analyze(samples []float32, rate int, vad *VAD, lim Limits) (Clip, error) {
	if vad == nil {
		return Clip{}, fmt.Errorf("clone: analyze: %w", ErrClosed)
	}
	lim = lim.withDefaults()
	format := audio.Format{SampleRate: rate, Channels: 1}
	if err := format.Validate(); err != nil {
		return Clip{}, fmt.Errorf("clone: analyze: %w", err)
	}
	for i, v := range samples {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return Clip{}, fmt.Errorf("%w: sample %d is %v", ErrInput, i, v)
		}
	}
	input := format.Duration(len(samples))
	if input > lim.MaxInput {
		return Clip{}, reject(RejectTooLong, "The recording is %s long; at most %s is accepted. Record a shorter clip.", secs(input), secs(lim.MaxInput))
	}
	if input < lim.MinSpeech {
		return Clip{}, reject(RejectTooShort, "The recording is %s long; at least %s of speech is needed.", secs(input), secs(lim.MinSpeech))
	}
	clipping := clippedFraction(samples)
	if clipping > lim.MaxClipping {
		return Clip{}, reject(RejectClipping, "%.1f%% of the samples are at the peak level: the recording is distorted by clipping. Lower the microphone gain or move back, and record again.", 100*clipping)
	}

	x16, err := audio.Resample(audio.Frame{Format: format, Samples: samples}, vadRate, audio.QualityDefault)
	if err != nil {
		return Clip{}, fmt.Errorf("clone: analyze: %w", err)
	}
	// At speech level for the VAD (Silero misses very quiet speech) and the
	// pitch tracker (whose gate is absolute); the SNR does not care.
	if _, err := audio.Normalize(x16, cloneNormalization()); err != nil {
		return Clip{}, fmt.Errorf("clone: analyze: %w", err)
	}
	segs16, err := vad.speech16k(x16.Samples)
	if err != nil {
		return Clip{}, fmt.Errorf("clone: analyze: %w", err)
	}
	var speech16 int
	for _, s := range segs16 {
		speech16 += s.End - s.Start
	}
	speech := audio.Format{SampleRate: vadRate, Channels: 1}.Duration(speech16)
	if speech < minAnySpeech {
		return Clip{}, reject(RejectNotSpeech, "No speech was found in the recording. Record yourself reading a few sentences aloud.")
	}
	if speech < lim.MinSpeech {
		return Clip{}, reject(RejectTooShort, "Only %s of speech was found; at least %s is needed. Read a few sentences aloud.", secs(speech), secs(lim.MinSpeech))
	}

	// The speech alone, as the profile will hear it, says whether this is a
	// voice at all before its noise is judged.
	x := make([]float64, len(x16.Samples))
	for i, v := range x16.Samples {
		x[i] = float64(v)
	}
	var voiced, active int
	for _, s := range segs16 {
		for _, f := range trackPitch(x[s.Start:s.End], AnalysisRate, analysisHop) {
			if f.power >= yinGate {
				active++
			}
			if f.f0 > 0 {
				voiced++
			}
		}
	}
	voicedFrac := float64(voiced) / float64(max(active, 1))
	if voicedFrac < minGrossVoiced {
		return Clip{}, reject(RejectNotSpeech, "Hardly any voiced speech was found (%.0f%% of the sound is voiced): the recording sounds like noise or music. Record yourself reading aloud in a quiet room.", 100*voicedFrac)
	}
	snr := estimateSNR(x, segs16)
	if snr < lim.MinSNR {
		return Clip{}, reject(RejectTooNoisy, "The background noise is too loud (speech is about %.0f dB above it; %.0f dB is needed). Record in a quieter room, closer to the microphone.", snr, lim.MinSNR)
	}
	if voicedFrac < lim.MinVoiced {
		return Clip{}, reject(RejectNotSpeech, "Only %.0f%% of the speech is voiced: whispering, noise or music? Record yourself reading aloud in your normal voice.", 100*voicedFrac)
	}

	trimmed := trim(samples, rate, segs16)
	gain, err := audio.Normalize(audio.Frame{Format: format, Samples: trimmed}, cloneNormalization())
	if err != nil {
		return Clip{}, fmt.Errorf("clone: analyze: %w", err)
	}
	a, err := toAnalysisRate(trimmed, rate)
	if err != nil {
		return Clip{}, err
	}
	profile, err := profileOf(a, nil)
	if err != nil {
		return Clip{}, reject(RejectNotSpeech, "Too little voiced speech was found to measure the voice. Record yourself reading aloud in your normal voice.")
	}
	return Clip{
		Samples: trimmed, Rate: rate,
		Input: input, Speech: speech,
		SNR: snr, Clipping: clipping, Gain: gain,
		Profile: profile,
	}, nil
}

// cloneNormalization is audio.VoiceNormalization with up to 40 dB of gain
// rather than 30: a quiet recording that passed the noise check is worth
// raising all the way.
func cloneNormalization() audio.Normalization {
	n := audio.VoiceNormalization()
	n.MaxGain = 40
	return n
}

// secs formats d as seconds with one decimal, "2.4 s".
func secs(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }

// clippedFraction is the fraction of samples within 0.1% of the peak
// magnitude. A clean recording reaches its peak once or twice; a clipped
// one sits there for runs of samples, however it was scaled afterwards.
func clippedFraction(x []float32) float64 {
	peak := audio.Peak(x)
	if peak == 0 {
		return 0
	}
	return audio.ClipFraction(x, float32(peak*0.999))
}

// estimateSNR compares the mean power of 20 ms frames inside the speech
// segments with the noise floor: the mean power of the quietest 10% of all
// frames (the pauses, or the gaps between words when the speech fills the
// recording). The result is in dB, snrMax at most.
func estimateSNR(x []float64, segs []Segment) float64 {
	var all []float64
	var speechSum float64
	speechN := 0
	seg := 0
	for start := 0; start+snrFrame <= len(x); start += snrFrame {
		var p float64
		for _, v := range x[start : start+snrFrame] {
			p += v * v
		}
		p /= snrFrame
		all = append(all, p)
		centre := start + snrFrame/2
		for seg < len(segs) && segs[seg].End <= centre {
			seg++
		}
		if seg < len(segs) && segs[seg].Start <= centre {
			speechSum += p
			speechN++
		}
	}
	if speechN == 0 || len(all) == 0 {
		return 0
	}
	slices.Sort(all)
	n := max(1, int(float64(len(all))*snrNoisePct))
	var noise float64
	for _, p := range all[:n] {
		noise += p
	}
	noise /= float64(n)
	signal := speechSum/float64(speechN) - noise
	if signal <= 0 {
		return 0
	}
	if noise <= signal*math.Pow(10, -snrMax/10) {
		return snrMax
	}
	return 10 * math.Log10(signal/noise)
}

// trim returns the speech of samples (at rate): the segments (at vadRate)
// mapped to rate, widened by trimPad, merged where they meet, and joined
// with trimCrossfade crossfades.
func trim(samples []float32, rate int, segs16 []Segment) []float32 {
	f := audio.Format{SampleRate: rate, Channels: 1}
	pad := f.Frames(trimPad)
	var segs []Segment
	for _, s := range segs16 {
		segs = append(segs, Segment{
			Start: max(0, int(int64(s.Start)*int64(rate)/vadRate)-pad),
			End:   min(len(samples), int((int64(s.End)*int64(rate)+vadRate-1)/vadRate)+pad),
		})
	}
	segs = mergeSegments(segs, 0)
	fade := f.Frames(trimCrossfade)
	var out []float32
	for i, s := range segs {
		part := samples[s.Start:s.End]
		if i == 0 {
			out = append(out, part...)
			continue
		}
		// The crossfade rewrites out's tail, so it is joined into a new
		// slice; a clip has a handful of segments.
		out = audio.AppendCrossfade(make([]float32, 0, len(out)+len(part)), out, part, 1, fade)
	}
	audio.FadeIn(out, 1, fade)
	audio.FadeOut(out, 1, fade)
	return out
}
