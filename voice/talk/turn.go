package talk

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/timbre-ai/timbre/agents/chat"
	"github.com/timbre-ai/timbre/agents/sentence"
	"github.com/timbre-ai/timbre/voice"
	"github.com/timbre-ai/timbre/voice/audio"
	"github.com/timbre-ai/timbre/voice/rtc"
	"github.com/timbre-ai/timbre/voice/tts"
)

// outRate is the rate the agent's voice is synthesised at: the call's.
const outRate = 48000

// turn is one exchange: the user's utterance (or typed text, or nothing
// for a greeting) and the agent's spoken reply.
type turn struct {
	id         string
	input      string
	transcript string
	userAudio  time.Duration
	// Wall times of the user's side: speech ended, the detector decided,
	// the final transcript was ready.
	speechEnd, decided, transcribed time.Time

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{} // closed when respond returns

	// Owned by run.
	paused   bool
	finished bool

	mu            sync.Mutex
	started       time.Time
	userMsgID     string
	replyMsgID    string
	sentences     []spoken
	firstToken    time.Time
	firstSentence time.Time
	firstSynth    time.Time
	firstAudio    time.Time
}

// spoken is a sentence of the reply and its audio.
type spoken struct {
	text string
	tag  int
	// audio is the sentence's audio enqueued so far; complete once its
	// synthesis ended.
	audio    time.Duration
	complete bool
}

func (t *turn) ids() (string, string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.userMsgID, t.replyMsgID
}

func (t *turn) audioStarted() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return !t.firstAudio.IsZero()
}

// sentence finds the sentence played under tag.
func (t *turn) sentence(tag int) (spoken, int, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, sp := range t.sentences {
		if sp.tag == tag {
			return sp, i, true
		}
	}
	return spoken{}, 0, false
}

// spoken is what the reply said aloud: every sentence whose audio was all
// sent, and, when cut, the words of the sentence under way in proportion
// to its audio sent. It also returns the audio sent and synthesised.
func (t *turn) spoken(p *rtc.Player, cut bool) (said string, played, synthesized time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var parts []string
	partial := false
	for _, sp := range t.sentences {
		synthesized += sp.audio
		if partial {
			continue
		}
		got := p.Played(sp.tag)
		played += got
		switch {
		case !cut || got >= sp.audio && sp.complete:
			parts = append(parts, sp.text)
		case got > 0 && sp.audio > 0:
			words := strings.Fields(sp.text)
			n := int(float64(len(words))*float64(got)/float64(sp.audio) + 0.5)
			if n > 0 {
				parts = append(parts, strings.Join(words[:min(n, len(words))], " ")+"…")
			}
			partial = true
		default:
			partial = true
		}
	}
	return strings.Join(parts, " "), played, synthesized
}

// latency is the turn's stage timings in milliseconds: from the end of the
// user's speech to the detector's decision, to the final transcript, to
// the model's first token, to the first sentence, to its first audio
// synthesised, to its first frame sent; total_ms spans them all.
func (t *turn) latency() map[string]int {
	t.mu.Lock()
	defer t.mu.Unlock()
	l := map[string]int{}
	put := func(k string, a, b time.Time) {
		if !a.IsZero() && !b.IsZero() {
			l[k] = msBetween(a, b)
		}
	}
	put("end_of_turn_ms", t.speechEnd, t.decided)
	put("transcript_ms", t.decided, t.transcribed)
	start := t.transcribed
	if start.IsZero() {
		start = t.started
	}
	put("first_token_ms", start, t.firstToken)
	if t.firstToken.IsZero() {
		put("first_sentence_ms", start, t.firstSentence)
	} else {
		put("first_sentence_ms", t.firstToken, t.firstSentence)
	}
	put("first_synth_ms", t.firstSentence, t.firstSynth)
	put("first_audio_ms", t.firstSynth, t.firstAudio)
	if t.speechEnd.IsZero() {
		put("total_ms", t.started, t.firstAudio)
	} else {
		put("total_ms", t.speechEnd, t.firstAudio)
	}
	return l
}

// respond makes the turn's reply and speaks it: the model's text is cut
// into sentences as it streams and each is synthesised and enqueued on
// the call while the next is being written.
func (s *Session) respond(t *turn) {
	defer close(t.done)
	t.mu.Lock()
	t.started = time.Now()
	t.mu.Unlock()

	queue := make(chan string, 64)
	synthErr := make(chan error, 1)
	go func() { synthErr <- s.synthesize(t, queue) }()
	enqueue := func(texts []string) {
		for _, x := range texts {
			t.mu.Lock()
			if t.firstSentence.IsZero() {
				t.firstSentence = time.Now()
			}
			t.mu.Unlock()
			select {
			case queue <- x:
			case <-t.ctx.Done():
				return
			}
		}
	}

	var err error
	if t.input == chat.InputGreeting {
		enqueue(sentence.Split(t.transcript))
	} else {
		seg := sentence.New(sentence.Options{})
		_, err = s.m.p.Chat.Send(t.ctx, s.req.UserID, s.req.UserName, s.conv.ID, t.transcript, chat.Sink{
			Start: func(user *chat.Message, reply chat.Message) error {
				t.mu.Lock()
				if user != nil {
					t.userMsgID = user.ID
				}
				t.replyMsgID = reply.ID
				t.mu.Unlock()
				return nil
			},
			Delta: func(d string) error {
				t.mu.Lock()
				if t.firstToken.IsZero() {
					t.firstToken = time.Now()
				}
				t.mu.Unlock()
				s.send(map[string]any{"type": "agent", "turn_id": t.id, "delta": d})
				enqueue(seg.Push(d))
				return nil
			},
		})
		enqueue(seg.Flush())
	}
	close(queue)
	serr := <-synthErr
	if t.ctx.Err() != nil {
		err = nil // cut by the user or the session's end: not a failure
	} else if err == nil {
		err = serr
	}
	if err != nil {
		s.m.logger.Warn("voice turn failed", "session_id", s.id, "turn_id", t.id, "error", err)
	}
	s.post(evReplyDone{t: t, err: err})
}

// synthesize speaks each sentence from queue in the agent's voice and
// enqueues its audio on the call, under a tag of its own.
func (s *Session) synthesize(t *turn, queue <-chan string) error {
	var failed error
	for text := range queue {
		if failed != nil || t.ctx.Err() != nil {
			continue // drain, so respond never blocks
		}
		t.mu.Lock()
		s.nextTagMu.Lock()
		tag := s.nextTagN
		s.nextTagN++
		s.nextTagMu.Unlock()
		idx := len(t.sentences)
		t.sentences = append(t.sentences, spoken{text: text, tag: tag})
		t.mu.Unlock()
		err := s.m.p.Voice.Speak(t.ctx, voice.Speech{Voice: s.voiceID, Owner: s.agent.OwnerID, Text: text, SampleRate: outRate},
			func(f audio.Frame) error {
				t.mu.Lock()
				if t.firstSynth.IsZero() {
					t.firstSynth = time.Now()
				}
				t.sentences[idx].audio += f.Duration()
				t.mu.Unlock()
				return s.player.Enqueue(f, tag)
			})
		t.mu.Lock()
		t.sentences[idx].complete = err == nil
		t.mu.Unlock()
		switch {
		case err == nil, t.ctx.Err() != nil:
		case errors.Is(err, tts.ErrNoText):
			// Nothing speakable in it (an emoji, a symbol): skip it.
		default:
			failed = err
		}
	}
	return failed
}
