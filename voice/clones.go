package voice

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/timbre-ai/timbre/db"
	"github.com/timbre-ai/timbre/voice/audio"
	"github.com/timbre-ai/timbre/voice/clone"
	"github.com/timbre-ai/timbre/voice/codec"
	"github.com/timbre-ai/timbre/voice/tts"
	"github.com/timbre-ai/timbre/voice/worker"
)

// Cloning limits.
const (
	// MaxCloneSeconds is the longest recording accepted. A second over the
	// 30 s the API promises absorbs a recorder's stop latency.
	MaxCloneSeconds = 31
	// MaxCloneBytes bounds an upload: 31 s of 48 kHz stereo 32-bit WAV fits.
	MaxCloneBytes = 12 << 20
	// clonedPrefix starts the id of every cloned voice.
	clonedPrefix = "vc"
)

// ConsentText is the statement a person agrees to when they clone a voice;
// it is stored with each cloned voice, with who agreed and when.
const ConsentText = "This is my own voice, or I have the speaker's permission to clone it. " +
	"Timbre stores the recording and who gave consent and when."

// ProfileText is what a built-in voice reads to measure its profile: about
// fifteen seconds of varied English.
const ProfileText = "The quick brown fox jumps over the lazy dog. " +
	"She sells sea shells by the sea shore, and the shells she sells are surely seashells. " +
	"How much wood would a woodchuck chuck, if a woodchuck could chuck wood? " +
	"Peter Piper picked a peck of pickled peppers. Is this the right way to the old harbour?"

// Info is a voice of the catalog as the API shows it: a built-in voice, or
// a cloned one with what was measured and agreed.
type Info struct {
	tts.Voice
	// BaseVoice is the built-in voice a cloned voice is synthesised from.
	BaseVoice   string         `json:"base_voice,omitempty"`
	ClipSeconds float64        `json:"clip_seconds,omitempty"`
	CreatedAt   *time.Time     `json:"created_at,omitempty"`
	ConsentAt   *time.Time     `json:"consent_at,omitempty"`
	Profile     *ProfileDigest `json:"profile,omitempty"`
}

// ProfileDigest is what a person can read of a voice profile.
type ProfileDigest struct {
	F0MedianHz       float64    `json:"f0_median_hz"`
	F0RangeSemitones float64    `json:"f0_range_semitones"`
	VoicedFraction   float64    `json:"voiced_fraction"`
	FormantsHz       [3]float64 `json:"formants_hz"`
}

func digest(p clone.Profile) *ProfileDigest {
	d := &ProfileDigest{F0MedianHz: round1(p.F0Median), VoicedFraction: math.Round(p.VoicedFraction*1000) / 1000}
	if p.F0P10 > 0 && p.F0P90 > 0 {
		d.F0RangeSemitones = round1(12 * math.Log2(p.F0P90/p.F0P10))
	}
	for i, f := range p.Formants {
		d.FormantsHz[i] = math.Round(f)
	}
	return d
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }

// cloned is a cloned voice with its decoded profile.
type cloned struct {
	clonedRow
	profile clone.Profile
}

func (c cloned) info(base tts.Voice) Info {
	created, consent := c.CreatedAt, c.ConsentAt
	return Info{
		Voice: tts.Voice{ID: c.ID, Name: c.Name, Language: c.Language, Kind: tts.KindCloned,
			SampleRate: base.SampleRate, Engine: base.Engine},
		BaseVoice: c.BaseVoice, ClipSeconds: round1(c.ClipSeconds), CreatedAt: &created, ConsentAt: &consent,
		Profile: digest(c.profile),
	}
}

func decodeCloned(r clonedRow) (cloned, error) {
	c := cloned{clonedRow: r}
	if err := json.Unmarshal(r.Profile, &c.profile); err != nil {
		return cloned{}, fmt.Errorf("voice: profile of %s: %w", r.ID, err)
	}
	return c, nil
}

// isCloned reports whether id names a cloned voice.
func isCloned(id string) bool { return strings.HasPrefix(id, clonedPrefix+"_") }

// CloneRequest is a recording to clone a voice from.
type CloneRequest struct {
	OwnerID  string
	Name     string
	Language string
	// Consent is the person's explicit agreement to ConsentText.
	Consent bool
	// IP is where the consent came from.
	IP    string
	Audio []byte
}

// Clone checks a recording, measures its voice profile and stores it as a
// new voice of the owner's. A recording that cannot be used is a
// *clone.RejectError saying why; a format that cannot be read is a codec
// error. Nothing is stored unless everything succeeds.
func (s *Service) Clone(ctx context.Context, req CloneRequest) (Info, error) {
	if s.store == nil || s.vad == nil {
		return Info{}, ErrCloningUnavailable
	}
	if !req.Consent {
		return Info{}, ErrConsentRequired
	}
	name := strings.TrimSpace(req.Name)
	switch {
	case name == "":
		return Info{}, &InputError{Field: "name", Message: "is required"}
	case !utf8.ValidString(name) || strings.ContainsFunc(name, isControl):
		return Info{}, &InputError{Field: "name", Message: "must be plain text"}
	case utf8.RuneCountInString(name) > 100:
		return Info{}, &InputError{Field: "name", Message: "must be at most 100 characters"}
	}
	lang := strings.TrimSpace(req.Language)
	if lang == "" {
		lang = "en"
	}
	if len(lang) > 16 || strings.ContainsFunc(lang, func(r rune) bool { return !isTagRune(r) }) {
		return Info{}, &InputError{Field: "language", Message: "must be a language tag such as en or en_GB"}
	}
	if len(req.Audio) == 0 {
		return Info{}, &InputError{Field: "audio", Message: "is required: a recording of 3 to 30 seconds of speech"}
	}
	dec, err := codec.Decode(req.Audio, codec.Limits{MaxBytes: MaxCloneBytes, MaxDuration: MaxCloneSeconds * time.Second})
	if err != nil {
		return Info{}, err
	}
	samples := mono(dec.Audio)
	clip, err := s.analyze(samples, dec.Audio.SampleRate)
	if err != nil {
		return Info{}, err
	}
	bases, err := s.baseProfiles(ctx)
	if err != nil {
		return Info{}, err
	}
	profiles := make([]clone.Profile, len(bases))
	for i, b := range bases {
		profiles[i] = b.profile
	}
	nearest := clone.Nearest(clip.Profile, profiles)
	if nearest < 0 {
		return Info{}, fmt.Errorf("voice: no built-in voice to clone from: %w", ErrNoVoices)
	}
	var wav bytes.Buffer
	if _, err := audio.EncodeWAV(&wav, audio.Frame{Format: audio.Format{SampleRate: clip.Rate, Channels: 1}, Samples: clip.Samples}); err != nil {
		return Info{}, fmt.Errorf("voice: encode clip: %w", err)
	}
	profileJSON, err := json.Marshal(clip.Profile)
	if err != nil {
		return Info{}, fmt.Errorf("voice: encode profile: %w", err)
	}
	sum := sha256.Sum256(req.Audio)
	c := cloned{clonedRow: clonedRow{
		ID: db.NewID(clonedPrefix), OwnerID: req.OwnerID, Name: name, Language: lang,
		BaseVoice: bases[nearest].voice.ID, ConsentText: ConsentText, ConsentBy: req.OwnerID,
		ConsentAt: time.Now().UTC(), ConsentIP: req.IP, Format: dec.Container + "/" + dec.Codec,
		ClipSeconds: clip.Speech.Seconds(), Profile: profileJSON,
	}, profile: clip.Profile}
	if err := ctx.Err(); err != nil {
		return Info{}, err // the client left: store nothing it will not hear of
	}
	created, err := s.store.insert(ctx, newClone{clonedRow: c.clonedRow, Upload: req.Audio,
		UploadSHA256: hex.EncodeToString(sum[:]), Clip: wav.Bytes(), Embedding: clip.Profile.Vector()})
	if err != nil {
		return Info{}, err
	}
	c.CreatedAt = created
	s.logger.Info("voice cloned", "voice_id", c.ID, "owner_id", c.OwnerID, "format", c.Format,
		"speech_s", round1(clip.Speech.Seconds()), "snr_db", round1(clip.SNR), "f0_median_hz", round1(clip.Profile.F0Median),
		"base_voice", c.BaseVoice)
	return c.info(bases[nearest].voice), nil
}

// analyze runs the clip checks, one at a time: the VAD and the analysis
// are CPU-bound and a burst of uploads must not starve synthesis.
func (s *Service) analyze(samples []float32, rate int) (clone.Clip, error) {
	s.analyzing.Lock()
	defer s.analyzing.Unlock()
	lim := clone.DefaultLimits()
	lim.MaxInput = MaxCloneSeconds * time.Second
	return clone.Analyze(samples, rate, s.vad, lim)
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

func isTagRune(r rune) bool {
	return r == '-' || r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
}

// mono mixes f's channels down to one.
func mono(f audio.Frame) []float32 {
	if f.Channels <= 1 {
		return f.Samples
	}
	n := len(f.Samples) / f.Channels
	out := make([]float32, n)
	for i := range n {
		var sum float32
		for ch := range f.Channels {
			sum += f.Samples[i*f.Channels+ch]
		}
		out[i] = sum / float32(f.Channels)
	}
	return out
}

// base is a built-in voice with its measured profile.
type base struct {
	voice   tts.Voice
	profile clone.Profile
}

// baseProfiles measures each built-in voice's profile once, by having it
// read ProfileText.
func (s *Service) baseProfiles(ctx context.Context) ([]base, error) {
	s.basesMu.Lock()
	defer s.basesMu.Unlock()
	var out []base
	for _, v := range s.builtin() {
		p, ok := s.bases[v.ID]
		if !ok {
			var samples []float32
			err := s.engine.Stream(ctx, tts.Request{Voice: v.ID, Text: ProfileText}, func(c tts.Chunk) error {
				samples = append(samples, c.Samples...)
				return nil
			})
			if err != nil {
				return nil, fmt.Errorf("voice: measure %s: %w", v.ID, err)
			}
			if p, err = clone.NewProfile(samples, v.SampleRate); err != nil {
				return nil, fmt.Errorf("voice: measure %s: %w", v.ID, err)
			}
			s.bases[v.ID] = p
		}
		out = append(out, base{voice: v, profile: p})
	}
	return out, nil
}

// Warm measures the built-in voices' profiles now, so that the first clone
// does not wait for them; it is for a background goroutine at start-up.
func (s *Service) Warm(ctx context.Context) error {
	if !s.CanClone() {
		return nil
	}
	start := time.Now()
	bases, err := s.baseProfiles(ctx)
	if err != nil {
		return err
	}
	s.logger.Info("built-in voice profiles measured", "voices", len(bases), "duration_ms", time.Since(start).Milliseconds())
	return nil
}

// baseProfile is one built-in voice's profile.
func (s *Service) baseProfile(ctx context.Context, id string) (base, error) {
	bases, err := s.baseProfiles(ctx)
	if err != nil {
		return base{}, err
	}
	for _, b := range bases {
		if b.voice.ID == id {
			return b, nil
		}
	}
	return base{}, fmt.Errorf("%w: the base voice %q is not installed", ErrNoVoices, id)
}

// builtin lists the engine's voices.
func (s *Service) builtin() []tts.Voice {
	if s.engine == nil {
		return nil
	}
	return s.engine.Voices()
}

// ownedCloned returns the caller's cloned voice id.
func (s *Service) ownedCloned(ctx context.Context, ownerID, id string) (cloned, error) {
	if s.store == nil || ownerID == "" || !isCloned(id) {
		return cloned{}, ErrNotFound
	}
	r, err := s.store.cloned(ctx, id)
	if err != nil {
		return cloned{}, err
	}
	if r.OwnerID != ownerID {
		return cloned{}, ErrNotFound
	}
	return decodeCloned(r)
}

// Catalog lists the built-in voices and, for a signed-in caller, their
// cloned voices (newest first).
func (s *Service) Catalog(ctx context.Context, callerID string) ([]Info, error) {
	out := []Info{}
	byID := map[string]tts.Voice{}
	for _, v := range s.builtin() {
		out = append(out, Info{Voice: v})
		byID[v.ID] = v
	}
	if s.store == nil || callerID == "" {
		return out, nil
	}
	rows, err := s.store.owned(ctx, callerID)
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		c, err := decodeCloned(r)
		if err != nil {
			return nil, err
		}
		out = append(out, c.info(byID[c.BaseVoice]))
	}
	return out, nil
}

// DeleteClone deletes the caller's cloned voice with its recording. Agents
// that used it fall silent: speech in it answers ErrUnknownVoice.
func (s *Service) DeleteClone(ctx context.Context, callerID, id string) error {
	if s.store == nil || !isCloned(id) {
		return ErrNotFound
	}
	return s.store.delete(ctx, callerID, id)
}

// Clip returns the trimmed, normalised recording of the caller's cloned
// voice, as WAV.
func (s *Service) Clip(ctx context.Context, callerID, id string) ([]byte, error) {
	if s.store == nil || !isCloned(id) {
		return nil, ErrNotFound
	}
	return s.store.clip(ctx, callerID, id)
}

// Similar is a voice near another, by profile.
type Similar struct {
	Voice Info `json:"voice"`
	// Distance is the cosine distance of the profile vectors: 0 the same,
	// 2 opposite.
	Distance float64 `json:"distance"`
}

// Similar lists the voices nearest to id (a built-in voice, or one of the
// caller's cloned voices) among the built-in voices and the caller's cloned
// voices, nearest first, without id itself.
func (s *Service) Similar(ctx context.Context, callerID, id string, limit int) ([]Similar, error) {
	var target clone.Profile
	if isCloned(id) {
		c, err := s.ownedCloned(ctx, callerID, id)
		if err != nil {
			return nil, err
		}
		target = c.profile
	} else {
		if _, err := s.Voice(id); err != nil {
			return nil, err
		}
		b, err := s.baseProfile(ctx, id)
		if err != nil {
			return nil, err
		}
		target = b.profile
	}
	vec := target.Vector()
	bases, err := s.baseProfiles(ctx)
	if err != nil {
		return nil, err
	}
	out := []Similar{}
	byID := map[string]tts.Voice{}
	for _, b := range bases {
		byID[b.voice.ID] = b.voice
		if b.voice.ID != id {
			out = append(out, Similar{Voice: Info{Voice: b.voice}, Distance: cosineDistance(vec, b.profile.Vector())})
		}
	}
	if s.store != nil && callerID != "" {
		rows, dists, err := s.store.similarTo(ctx, callerID, id, vec, limit)
		if err != nil {
			return nil, err
		}
		for i, r := range rows {
			c, err := decodeCloned(r)
			if err != nil {
				return nil, err
			}
			out = append(out, Similar{Voice: c.info(byID[c.BaseVoice]), Distance: dists[i]})
		}
	}
	slices.SortStableFunc(out, func(a, b Similar) int { return cmpFloat(a.Distance, b.Distance) })
	for i := range out {
		out[i].Distance = math.Round(out[i].Distance*1e4) / 1e4
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// cosineDistance is 1 − cos(a, b), as pgvector's <=> computes it.
func cosineDistance(a, b []float32) float64 {
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	if na == 0 || nb == 0 {
		return 1
	}
	return 1 - dot/math.Sqrt(na*nb)
}

// speaker is how a Speech request sounds: the built-in voice that
// synthesises it and, for a cloned voice, the conversion toward it.
type speaker struct {
	voice tts.Voice
	// name is the voice's name: the cloned voice's, or the built-in one's.
	name       string
	conversion *worker.Conversion
}

// speakerFor resolves a voice id for sp: a built-in voice, or a cloned
// voice of sp.Owner's.
func (s *Service) speakerFor(ctx context.Context, sp Speech) (speaker, error) {
	if !isCloned(sp.Voice) {
		v, err := s.Voice(sp.Voice)
		return speaker{voice: v, name: v.Name}, err
	}
	c, err := s.ownedCloned(ctx, sp.Owner, sp.Voice)
	if errors.Is(err, ErrNotFound) {
		return speaker{}, fmt.Errorf("%w: %q", tts.ErrUnknownVoice, sp.Voice)
	}
	if err != nil {
		return speaker{}, err
	}
	b, err := s.baseProfile(ctx, c.BaseVoice)
	if err != nil {
		return speaker{}, err
	}
	return speaker{voice: b.voice, name: c.Name, conversion: &worker.Conversion{From: b.profile, To: c.profile}}, nil
}
