package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/timbre-ai/timbre/voice"
	"github.com/timbre-ai/timbre/voice/audio"
	"github.com/timbre-ai/timbre/voice/clone"
	"github.com/timbre-ai/timbre/voice/codec"
	"github.com/timbre-ai/timbre/voice/tts"
)

// base is a built-in voice and the profile the platform measures for it.
type base struct {
	voice   tts.Voice
	profile clone.Profile
}

// reference is one speaker's recording as the platform analysed it.
type reference struct {
	speaker speaker
	file    string // the recording, as uploaded
	// rejected is why clone.Analyze refused the recording (a
	// *clone.RejectError); nothing else is measured then.
	rejected error
	clip     clone.Clip
	base     int // index in results.bases
	// shift (semitones) and warp are what the converter applies.
	shift, warp float64
	// outputs holds one entry per run and text B.
	outputs []output
	// asrRef is pocketsphinx on the recording against textA; asrClone on
	// the cloned outputs against their texts, pooled.
	asrRef, asrClone wordErrors
	// parts are the pitch-only, timbre-only and equaliser-only conversions
	// (-parts).
	parts []*part
}

// output is what one text B, in one run, measured for one speaker: the base
// voice's speech unconverted and converted, each against the reference.
type output struct {
	text, run                  int
	baseF0, cloneF0            float64 // median F0, Hz
	f0Base, f0Clone            float64 // F0MedianDistance to the reference, semitones
	mfccBase, mfccClone        float64 // MFCCDistance to the reference
	cloneClipped, cloneSamples int     // converted samples beyond ±1, and all
}

// results is everything one run of the bench measured.
type results struct {
	bases []base
	refs  []*reference
	// asrBase pools pocketsphinx's word errors over each base voice's
	// unconverted outputs, by voice id.
	asrBase map[string]wordErrors
	// transcripts, in the order they were made, for -v and the -out file.
	transcripts []*asrJob
	synthTime   time.Duration
}

// asrJob is one recording for pocketsphinx and what it heard.
type asrJob struct {
	label, wav, text string
	hyp              string
	errs             wordErrors
	// add receives the word errors once transcribed.
	add func(wordErrors)
}

// measurer holds what one run of the bench works with.
type measurer struct {
	o           options
	dir, asrDir string
	engine      tts.Engine
	vad         *clone.VAD
	res         *results
	jobs        []*asrJob
}

// measure makes the references, clones each and measures the outputs.
// Recordings, outputs and transcripts go to dir.
func measure(ctx context.Context, o options, dir string) (*results, error) {
	m := &measurer{o: o, dir: dir, asrDir: filepath.Join(dir, "asr16k"), res: &results{asrBase: map[string]wordErrors{}}}
	if err := os.MkdirAll(m.asrDir, 0o755); err != nil {
		return nil, fmt.Errorf("work directory: %w", err)
	}
	engine, err := tts.OpenPiper(tts.PiperConfig{Dir: filepath.Join(o.dataDir, "voices"), Threads: min(runtime.NumCPU(), 4)})
	if err != nil {
		return nil, err
	}
	defer engine.Close()
	m.engine = engine
	if m.vad, err = clone.OpenVAD(clone.VADModelPath(o.dataDir), 1); err != nil {
		return nil, err
	}
	defer m.vad.Close()

	progress("measuring the base voices' profiles (as the platform does: each reads a fixed text)")
	if err := m.measureBases(ctx); err != nil {
		return nil, err
	}
	for _, s := range o.speakers {
		progress("reference %s: %s", s.name, s.describe())
		if err := m.addReference(ctx, s); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	for run := range o.runs {
		for ti, text := range textsB()[:o.texts] {
			for bi := range m.res.bases {
				if err := m.speak(ctx, run, ti, text, bi); err != nil {
					return nil, err
				}
			}
		}
	}
	m.res.synthTime = time.Since(start)

	if len(m.jobs) > 0 {
		progress("transcribing %d recordings with pocketsphinx, %d at a time", len(m.jobs), o.jobs)
		if err := transcribeAll(ctx, m.jobs, o.jobs); err != nil {
			return nil, err
		}
		for _, j := range m.jobs {
			j.add(j.errs)
		}
		m.res.transcripts = m.jobs
		if o.out != "" {
			if err := writeTranscripts(filepath.Join(dir, "transcripts.tsv"), m.jobs); err != nil {
				return nil, err
			}
		}
	}
	return m.res, nil
}

// measureBases measures each built-in voice's profile as the platform does,
// from its reading of voice.ProfileText.
func (m *measurer) measureBases(ctx context.Context) error {
	for _, v := range m.engine.Voices() {
		_, samples, err := synthesise(ctx, m.engine, v.ID, voice.ProfileText)
		if err != nil {
			return err
		}
		p, err := clone.NewProfile(samples, v.SampleRate)
		if err != nil {
			return fmt.Errorf("measure %s: %w", v.ID, err)
		}
		m.res.bases = append(m.res.bases, base{voice: v, profile: p})
	}
	return nil
}

// addReference records and analyses s's reference, and queues its
// transcription.
func (m *measurer) addReference(ctx context.Context, s speaker) error {
	profiles := make([]clone.Profile, len(m.res.bases))
	for i, b := range m.res.bases {
		profiles[i] = b.profile
	}
	ref, err := analyseReference(ctx, s, m.engine, m.vad, profiles, m.dir)
	if err != nil {
		return err
	}
	m.res.refs = append(m.res.refs, ref)
	if ref.rejected != nil {
		return nil
	}
	b := m.res.bases[ref.base]
	conv, err := clone.NewConverter(b.profile, ref.clip.Profile, b.voice.SampleRate)
	if err != nil {
		return fmt.Errorf("%s: %w", s.name, err)
	}
	ref.shift, ref.warp = conv.PitchShift(), conv.Warp()
	if m.o.parts {
		ref.parts = newParts(b.profile, ref.clip.Profile)
	}
	if !m.o.asr {
		return nil
	}
	rec, err := decodeFile(ref.file)
	if err != nil {
		return err
	}
	wav := filepath.Join(m.asrDir, s.name+"-reference.wav")
	if err := writeASRWAV(wav, rec.samples, rec.rate); err != nil {
		return err
	}
	m.jobs = append(m.jobs, &asrJob{label: s.name + " reference, text A", wav: wav, text: textA,
		add: func(e wordErrors) { ref.asrRef = ref.asrRef.add(e) }})
	return nil
}

// speak has base voice bi read text B number ti once, and converts that
// speech toward every reference cloned from bi: the base's and the clones'
// distances to their references are measured and their transcriptions
// queued.
func (m *measurer) speak(ctx context.Context, run, ti int, text string, bi int) error {
	b := m.res.bases[bi]
	var users []*reference
	for _, r := range m.res.refs {
		if r.rejected == nil && r.base == bi {
			users = append(users, r)
		}
	}
	if len(users) == 0 {
		return nil
	}
	progress("run %d/%d, text B%d: %s, then %d conversion(s)", run+1, m.o.runs, ti+1, b.voice.ID, len(users))
	rate := b.voice.SampleRate
	suffix := fmt.Sprintf("B%d-run%d", ti+1, run+1)
	label := fmt.Sprintf("text B%d, run %d", ti+1, run+1)
	chunks, whole, err := synthesise(ctx, m.engine, b.voice.ID, text)
	if err != nil {
		return err
	}
	baseProfile, err := clone.NewProfile(whole, rate)
	if err != nil {
		return fmt.Errorf("%s reading text B%d: %w", b.voice.ID, ti+1, err)
	}
	id := b.voice.ID
	if err := m.keep("base-"+id+"-"+suffix, whole, rate, "base "+id+", "+label, text,
		func(e wordErrors) { m.res.asrBase[id] = m.res.asrBase[id].add(e) }); err != nil {
		return err
	}

	for _, r := range users {
		target := r.clip.Profile
		cloned, cloneProfile, err := convertMeasured(b, target, chunks)
		if err != nil {
			return fmt.Errorf("%s: %w", r.speaker.name, err)
		}
		r.outputs = append(r.outputs, output{
			text: ti, run: run,
			baseF0: baseProfile.F0Median, cloneF0: cloneProfile.F0Median,
			f0Base: clone.F0MedianDistance(baseProfile, target), f0Clone: clone.F0MedianDistance(cloneProfile, target),
			mfccBase: clone.MFCCDistance(baseProfile, target), mfccClone: clone.MFCCDistance(cloneProfile, target),
			cloneClipped: overOne(cloned), cloneSamples: len(cloned),
		})
		if err := m.keep(r.speaker.name+"-"+suffix, cloned, rate, r.speaker.name+" cloned, "+label, text,
			func(e wordErrors) { r.asrClone = r.asrClone.add(e) }); err != nil {
			return err
		}
		for pi, p := range r.parts {
			out, prof, err := convertMeasured(b, p.target, chunks)
			if err != nil {
				return fmt.Errorf("%s, %s: %w", r.speaker.name, p.name, err)
			}
			p.f0Dist = append(p.f0Dist, clone.F0MedianDistance(prof, target))
			p.mfccDist = append(p.mfccDist, clone.MFCCDistance(prof, target))
			if err := m.keep(fmt.Sprintf("%s-part%d-%s", r.speaker.name, pi+1, suffix), out, rate,
				r.speaker.name+" "+p.name+", "+label, text, func(e wordErrors) { p.asr = p.asr.add(e) }); err != nil {
				return err
			}
		}
	}
	return nil
}

// keep writes an output to the -out directory when there is one, and
// queues its transcription against text, whose word errors go to add.
func (m *measurer) keep(name string, samples []float32, rate int, label, text string, add func(wordErrors)) error {
	if m.o.out != "" {
		if err := writeWAV(filepath.Join(m.dir, name+".wav"), samples, rate); err != nil {
			return err
		}
	}
	if !m.o.asr {
		return nil
	}
	wav := filepath.Join(m.asrDir, name+".wav")
	if err := writeASRWAV(wav, samples, rate); err != nil {
		return err
	}
	m.jobs = append(m.jobs, &asrJob{label: label, wav: wav, text: text, add: add})
	return nil
}

// analyseReference makes s's recording and clones from it as
// voice.Service.Clone does: decode with the upload limits, mix to mono,
// clone.Analyze with the upload limits and the VAD, clone.Nearest among the
// base profiles. The trimmed clip the platform would store is written
// beside the recording.
func analyseReference(ctx context.Context, s speaker, engine tts.Engine, vad *clone.VAD, bases []clone.Profile, dir string) (*reference, error) {
	file, err := makeReference(ctx, s, engine, textA, dir)
	if err != nil {
		return nil, err
	}
	rec, err := decodeFile(file)
	if err != nil {
		return nil, err
	}
	lim := clone.DefaultLimits()
	lim.MaxInput = voice.MaxCloneSeconds * time.Second
	ref := &reference{speaker: s, file: file}
	ref.clip, err = clone.Analyze(rec.samples, rec.rate, vad, lim)
	var rejected *clone.RejectError
	if errors.As(err, &rejected) {
		ref.rejected = rejected
		return ref, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: analyse: %w", s.name, err)
	}
	if ref.base = clone.Nearest(ref.clip.Profile, bases); ref.base < 0 {
		return nil, fmt.Errorf("%s: no base voice to clone from", s.name)
	}
	if err := writeWAV(filepath.Join(dir, s.name+"-clip.wav"), ref.clip.Samples, ref.clip.Rate); err != nil {
		return nil, err
	}
	return ref, nil
}

// recording is a decoded upload, mixed to mono.
type recording struct {
	samples []float32
	rate    int
}

// decodeFile decodes a recording as the platform decodes an upload.
func decodeFile(path string) (recording, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return recording{}, fmt.Errorf("read recording: %w", err)
	}
	dec, err := codec.Decode(data, codec.Limits{MaxBytes: voice.MaxCloneBytes, MaxDuration: voice.MaxCloneSeconds * time.Second})
	if err != nil {
		return recording{}, fmt.Errorf("decode %s: %w", filepath.Base(path), err)
	}
	return recording{samples: audio.AppendMono(nil, dec.Audio.Samples, dec.Audio.Channels), rate: dec.Audio.SampleRate}, nil
}

// synthesise has the engine read text and returns its sentence chunks and
// the whole.
func synthesise(ctx context.Context, engine tts.Engine, voiceID, text string) (chunks [][]float32, whole []float32, err error) {
	err = engine.Stream(ctx, tts.Request{Voice: voiceID, Text: text}, func(c tts.Chunk) error {
		chunks = append(chunks, c.Samples)
		whole = append(whole, c.Samples...)
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("synthesise with %s: %w", voiceID, err)
	}
	return chunks, whole, nil
}

// convertMeasured converts the base voice's sentence chunks toward target
// as the platform does (one Converter over the whole request, each chunk
// through Process as it arrives, then Flush) and measures the result's
// profile.
func convertMeasured(b base, target clone.Profile, chunks [][]float32) ([]float32, clone.Profile, error) {
	conv, err := clone.NewConverter(b.profile, target, b.voice.SampleRate)
	if err != nil {
		return nil, clone.Profile{}, err
	}
	var out []float32
	for _, c := range chunks {
		out = conv.Process(out, c)
	}
	out = conv.Flush(out)
	p, err := clone.NewProfile(out, b.voice.SampleRate)
	if err != nil {
		return nil, clone.Profile{}, fmt.Errorf("converted speech: %w", err)
	}
	return out, p, nil
}

// overOne counts the samples beyond ±1, which a 16-bit encoder clips.
func overOne(samples []float32) int {
	n := 0
	for _, v := range samples {
		if v > 1 || v < -1 {
			n++
		}
	}
	return n
}

// transcribeAll runs pocketsphinx on every job, parallel at once, and fills
// in each job's transcript and word errors.
func transcribeAll(ctx context.Context, jobs []*asrJob, parallel int) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan *asrJob)
	errs := make(chan error, parallel)
	var wg sync.WaitGroup
	for range parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				hyp, err := transcribe(ctx, j.wav)
				if err != nil {
					errs <- err
					cancel()
					return
				}
				j.hyp, j.errs = hyp, countWordErrors(j.text, hyp)
			}
		}()
	}
feed:
	for _, j := range jobs {
		select {
		case next <- j:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
	}
	return ctx.Err()
}

// writeTranscripts writes what pocketsphinx heard, one recording a line:
// label, word error rate, edits, words, transcript.
func writeTranscripts(path string, jobs []*asrJob) error {
	var b []byte
	b = append(b, "recording\tWER %\tedits\twords\ttranscript\n"...)
	for _, j := range jobs {
		b = fmt.Appendf(b, "%s\t%.1f\t%d\t%d\t%s\n", j.label, j.errs.rate(), j.errs.edits, j.errs.words, j.hyp)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("write transcripts: %w", err)
	}
	return nil
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "· "+format+"\n", args...)
}
