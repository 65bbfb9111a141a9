package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/timbre-ai/timbre/bench/machine"
	"github.com/timbre-ai/timbre/voice"
	"github.com/timbre-ai/timbre/voice/audio"
)

// Report is a run's figures. Times are in milliseconds unless named
// otherwise.
type Report struct {
	Command    string    `json:"command"`
	Started    time.Time `json:"started"`
	Host       string    `json:"host"`
	CPUs       int       `json:"cpus"`
	GOMAXPROCS int       `json:"gomaxprocs"`
	GoVersion  string    `json:"go_version"`
	LoadBefore string    `json:"load_before"`
	LoadAfter  string    `json:"load_after"`
	Seconds    float64   `json:"seconds"`
	Setup      setup     `json:"setup"`

	Modes    []modeReport    `json:"modes"`
	Idle     *idleReport     `json:"idle,omitempty"`
	Speaking []speakingLevel `json:"speaking,omitempty"`
	// LargestSpeaking is the most calls speaking at once with at most 1%
	// of frames late and no failed reply, among the levels run (0: none).
	LargestSpeaking int `json:"largest_speaking"`

	// Warnings counts the server's warnings and errors, PionWarnings
	// those of pion by message; FirstWarnings are the first few of the
	// others.
	Warnings      int            `json:"warnings"`
	PionWarnings  map[string]int `json:"pion_warnings,omitempty"`
	FirstWarnings []string       `json:"first_warnings,omitempty"`
}

type setup struct {
	TTFTMS          float64  `json:"ttft_ms"`
	TokenIntervalMS float64  `json:"token_interval_ms"`
	SilenceMS       float64  `json:"silence_ms"`
	TTS             string   `json:"tts"`
	TTSSlots        int      `json:"tts_slots"`
	TTSThreads      int      `json:"tts_threads"`
	ASRDecoders     int      `json:"asr_decoders"`
	Clients         string   `json:"clients"`
	Questions       []string `json:"questions"`
	Reply           string   `json:"reply"`
	StorySeconds    float64  `json:"story_seconds"`
}

// modeReport is the latency phase and the stages alone, for one mode.
type modeReport struct {
	Mode     string   `json:"mode"`
	Turns    int      `json:"turns"`
	Failed   int      `json:"failed"`
	Failures []string `json:"failures,omitempty"`
	// Heard is a few of the final transcripts, to judge recognition by.
	Heard  []string   `json:"heard,omitempty"`
	Stages []stageRow `json:"stages"`
	// Total is the turns' total_ms: the end of the user's speech (as the
	// detector dated it) → the reply's first frame sent.
	Total quant `json:"total"`
	// Client is the client's last speech packet sent → its first audible
	// reply packet received.
	Client quant `json:"client"`
	// AloneSum adds the stages' p50s timed alone; Ratio is Total's p50
	// over it.
	AloneSum float64 `json:"alone_sum"`
	Ratio    float64 `json:"ratio"`
	// WorkerFirstAudio is Piper's first audio of the first sentence alone
	// through the voice worker on the bus (empty with -tts direct).
	WorkerFirstAudio quant `json:"worker_first_audio"`
	// LeadingQuiet is how long the first sentence's audio stays below
	// −40 dBFS before it is heard; SpeechEndLag how much later than the
	// question's last sample above −40 dBFS the detector dates the end of
	// speech (negative: earlier). With the network they make the client's
	// figure differ from total_ms.
	LeadingQuiet quant `json:"leading_quiet"`
	SpeechEndLag quant `json:"speech_end_lag"`
}

// stageRow is one stage in the pipeline and alone.
type stageRow struct {
	Stage    string `json:"stage"`
	Pipeline quant  `json:"pipeline"`
	// AloneWhat says what was timed alone.
	AloneWhat string `json:"alone_what"`
	Alone     quant  `json:"alone"`
}

func benchmark(ctx context.Context, o options, progress io.Writer) (Report, error) {
	say := func(format string, args ...any) { fmt.Fprintf(progress, "bench/voicechat: "+format+"\n", args...) }
	sc := fullScript
	if o.quick {
		sc = quickScript
	}
	host, _ := os.Hostname()
	rep := Report{Command: o.command, Started: time.Now(), Host: host, CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0),
		GoVersion: runtime.Version(), LoadBefore: machine.LoadAverage(),
		Setup: setup{TTFTMS: ms(o.ttft), TokenIntervalMS: ms(o.tokenEvery), SilenceMS: ms(o.silence), TTS: o.ttsPath,
			TTSSlots: o.ttsSlots, TTSThreads: o.ttsThreads, ASRDecoders: o.asrDecoders, Clients: o.clients,
			Questions: sc.questions, Reply: sc.reply}}
	say("load average %s", rep.LoadBefore)

	s, err := startServer(ctx, o, sc, say)
	if err != nil {
		return rep, err
	}
	defer s.close()
	qs, err := synthesizeQuestions(ctx, s.piper, sc.questions)
	if err != nil {
		return rep, err
	}
	if rep.Setup.StorySeconds, err = s.warm(ctx, qs[0], sc.story); err != nil {
		return rep, err
	}

	for _, mode := range o.modes {
		say("%s: %d turns (+%d warm-up)", mode, o.turns, o.warmup)
		outs, err := s.runTurns(ctx, s.managers[mode], qs, o.turns, o.warmup, say)
		if err != nil {
			return rep, fmt.Errorf("%s turns: %w", mode, err)
		}
		reply := sc.reply
		if mode == modeOffline {
			reply = ""
			for _, t := range outs {
				if t.failure == "" && t.said != "" {
					reply = t.said
					break
				}
			}
			if reply == "" {
				return rep, fmt.Errorf("offline: no turn got a reply")
			}
		}
		say("%s: the stages alone", mode)
		st, err := s.measureStages(ctx, mode, qs, o.turns, reply)
		if err != nil {
			return rep, fmt.Errorf("%s stages alone: %w", mode, err)
		}
		rep.Modes = append(rep.Modes, summariseMode(mode, outs, st))
	}

	if len(o.idle) > 0 || len(o.speaking) > 0 {
		if o.cpuProfile != "" {
			stop, err := startProfile(o.cpuProfile)
			if err != nil {
				return rep, err
			}
			defer stop()
		}
		sig := newSignaling(s, s.managers[modeLLM])
		defer sig.close()
		var cl clients = localClients{&pool{signal: sig.answer}}
		if o.clients == clientsProcess {
			child, err := startChild(sig.srv.URL)
			if err != nil {
				return rep, err
			}
			cl = child
		}
		defer cl.stop()
		if len(o.idle) > 0 {
			idle, err := s.runIdle(ctx, cl, qs, o.idle, o.window, say)
			if err != nil {
				return rep, fmt.Errorf("idle calls: %w", err)
			}
			rep.Idle = &idle
		}
		if len(o.speaking) > 0 {
			if rep.Speaking, err = s.runSpeaking(ctx, cl, sig, sc.story, o.speaking, say); err != nil {
				return rep, fmt.Errorf("speaking calls: %w", err)
			}
			for _, l := range rep.Speaking {
				if l.LatePct <= 1 && l.Failed == 0 && l.Calls > rep.LargestSpeaking {
					rep.LargestSpeaking = l.Calls
				}
			}
		}
	}
	rep.PionWarnings, rep.Warnings, rep.FirstWarnings = s.logs.warnings()
	rep.LoadAfter = machine.LoadAverage()
	rep.Seconds = time.Since(rep.Started).Seconds()
	return rep, nil
}

// warm loads what the first turn would otherwise wait for (the agent's
// voice, the recogniser's decoders) and returns how long the story lasts
// spoken.
func (s *server) warm(ctx context.Context, q question, story string) (float64, error) {
	var storyAudio time.Duration
	err := s.speaker.Speak(ctx, voice.Speech{Voice: agentVoice, Owner: s.user.ID, Text: story, SampleRate: 48000}, func(f audio.Frame) error {
		storyAudio += f.Duration()
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("warm the agent's voice: %w", err)
	}
	for range s.o.asrDecoders {
		if _, err := s.rec.Transcribe(ctx, q.heard, hearRate); err != nil {
			return 0, fmt.Errorf("warm the recogniser: %w", err)
		}
	}
	return storyAudio.Seconds(), nil
}

// summariseMode turns a mode's turns and stages into its report.
func summariseMode(mode string, outs []turnOutcome, st standalone) modeReport {
	r := modeReport{Mode: mode, Turns: len(outs)}
	stage := map[string][]float64{}
	var total, client []float64
	for _, t := range outs {
		if t.failure != "" {
			r.Failed++
			if len(r.Failures) < 3 {
				r.Failures = append(r.Failures, fmt.Sprintf("%q: %s (heard %q)", t.question, t.failure, t.heard))
			}
			continue
		}
		if len(r.Heard) < 5 {
			r.Heard = append(r.Heard, fmt.Sprintf("%q → %q", t.question, t.heard))
		}
		for _, k := range stageKeys {
			if v, ok := t.latency[k]; ok {
				stage[k] = append(stage[k], float64(v))
			}
		}
		if v, ok := t.latency["total_ms"]; ok {
			total = append(total, float64(v))
		}
		if t.clientMS >= 0 {
			client = append(client, t.clientMS)
		}
	}
	alone := []struct {
		what string
		xs   []float64
	}{
		{"VAD: Decided − At of SpeechEnd", st.vad},
		{"pocketsphinx stream Finish", st.asr},
		{"fake model TTFT via llm client", st.ttft},
		{"segmenter: first piece → first sentence", st.segment},
		{"Piper first audio, 1st sentence, 48 kHz, in process", st.piper},
		{"Opus encode of one 20 ms frame", st.opus},
	}
	if mode == modeOffline {
		alone[2].what = "none (no model)"
		alone[3].what = "segmenter, offline reply pushed word by word"
	}
	for i, k := range stageKeys {
		row := stageRow{Stage: k, Pipeline: quantOf(stage[k]), AloneWhat: alone[i].what, Alone: quantOf(alone[i].xs)}
		r.Stages = append(r.Stages, row)
		r.AloneSum += row.Alone.P50
	}
	r.Total, r.Client = quantOf(total), quantOf(client)
	if r.AloneSum > 0 {
		r.Ratio = r.Total.P50 / r.AloneSum
	}
	r.WorkerFirstAudio = quantOf(st.worker)
	r.LeadingQuiet, r.SpeechEndLag = quantOf(st.lead), quantOf(st.endLag)
	return r
}

// startProfile starts a CPU profile into path; stop ends it.
func startProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
