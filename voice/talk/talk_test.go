package talk_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/timbre-ai/timbre/agents/chat"
	"github.com/timbre-ai/timbre/agents/sentence"
	"github.com/timbre-ai/timbre/voice/audio"
	"github.com/timbre-ai/timbre/voice/rtc"
	"github.com/timbre-ai/timbre/voice/rtc/rtctest"
	"github.com/timbre-ai/timbre/voice/talk"
)

const (
	question  = "What time does the boat leave in the morning?"
	ferryInfo = "The ferry leaves the harbour at nine in the morning. It crosses to the island in forty minutes. " +
		"Bring a warm coat, because the wind is cold on the deck."
	longStory = "Long ago the island had no harbour at all. Fishermen pulled their boats onto the sand every evening. " +
		"One winter a storm broke half of the boats on the rocks. The village decided to build a stone wall into the sea. " +
		"It took eleven summers to finish the wall. Children carried small stones and their parents carried the large ones. " +
		"When it was done the whole village held a feast on the beach. The wall still stands, and the ferry ties up behind it every day."
)

// TestVoiceTurn speaks a question into a call and checks the whole turn:
// the server transcribes it, the model gets the transcript, the reply's
// text and sentences come over the data channel, its audio arrives and
// says the reply (transcribed back), and the turn is stored and metered.
func TestVoiceTurn(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{reply: ferryInfo})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c, opened := e.call(ctx, talk.OpenRequest{})
	wait(t, ctx, c, 0, "the session message", func(m msg) bool { return m.Type == "session" })

	if err := c.Speak(speech(t, question), 22050); err != nil {
		t.Fatal(err)
	}
	turn := wait(t, ctx, c, 0, "the turn's end", func(m msg) bool { return m.Type == "turn" })
	all := messages(t, c)

	var final string
	var states, deltas, sentences []string
	for _, m := range all[:turn.index] {
		switch m.Type {
		case "user":
			if m.Final {
				final = m.Text
			}
		case "state":
			states = append(states, m.State)
		case "agent":
			deltas = append(deltas, m.Delta)
		case "sentence":
			sentences = append(sentences, m.Text)
		}
	}
	if got := overlap(question, final); got < 0.5 {
		t.Errorf("final transcript %q holds %.0f%% of the question's words, want at least half", final, got*100)
	}
	reqs := e.model.Requests()
	if len(reqs) != 1 {
		t.Fatalf("the model got %d requests, want 1", len(reqs))
	}
	if last := reqs[0].Messages[len(reqs[0].Messages)-1]; last.Content != final {
		t.Errorf("the model was asked %q, want the transcript %q", last.Content, final)
	}
	if got := strings.Join(deltas, ""); got != ferryInfo {
		t.Errorf("reply deltas %q, want %q", got, ferryInfo)
	}
	if want := sentence.Split(ferryInfo); strings.Join(sentences, "|") != strings.Join(want, "|") {
		t.Errorf("sentences played %q, want %q", sentences, want)
	}
	for _, want := range []string{talk.StateHearing, talk.StateThinking, talk.StateSpeaking} {
		if !contains(states, want) {
			t.Errorf("states %v never went %s", states, want)
		}
	}
	if turn.Interrupted || turn.Said != strings.Join(sentence.Split(ferryInfo), " ") {
		t.Errorf("turn = interrupted %v, said %q; want the whole reply said", turn.Interrupted, turn.Said)
	}
	for _, k := range []string{"end_of_turn_ms", "transcript_ms", "first_token_ms", "first_sentence_ms", "first_synth_ms", "first_audio_ms", "total_ms"} {
		if _, ok := turn.Latency[k]; !ok {
			t.Errorf("latency lacks %s: %v", k, turn.Latency)
		}
	}
	if eot := turn.Latency["end_of_turn_ms"]; eot < 450 || eot > 700 {
		t.Errorf("end of turn decided %d ms after the speech ended, want the 500 ms silence (in whole VAD windows)", eot)
	}
	t.Logf("latency: %v", turn.Latency)

	// The reply's audio: as long as Jenny takes to say it, and it says it.
	wait(t, ctx, c, turn.index, "listening again", func(m msg) bool { return m.Type == "state" && m.State == talk.StateListening })
	time.Sleep(300 * time.Millisecond) // the last packets in flight
	got := c.Received()
	if d := loud(got); d < 4*time.Second {
		t.Fatalf("received %v of audio above −40 dBFS, want the reply's ~7 s", d)
	}
	back, err := recognizer(t).Transcribe(ctx, got.Samples, got.SampleRate)
	if err != nil {
		t.Fatal(err)
	}
	if ov := overlap(ferryInfo, back.Text); ov < 0.4 {
		t.Errorf("the received audio transcribes as %q: %.0f%% of the reply's words, want at least 40%%", back.Text, ov*100)
	}

	// Stored and metered.
	var input, transcript, said, latency string
	var interrupted bool
	var userMS, replyMS int
	err = e.pool.QueryRow(ctx, `SELECT input, transcript, said, interrupted, user_audio_ms, reply_audio_ms, latency::text
		FROM voice_turns WHERE conversation_id = $1`, opened.ConversationID).
		Scan(&input, &transcript, &said, &interrupted, &userMS, &replyMS, &latency)
	if err != nil {
		t.Fatalf("voice turn row: %v", err)
	}
	if input != chat.InputVoice || transcript != final || said != turn.Said || interrupted || userMS < 2000 || replyMS < 4000 || !strings.Contains(latency, "total_ms") {
		t.Errorf("stored turn: input %s, transcript %q, said %q, interrupted %v, user %d ms, reply %d ms, latency %s",
			input, transcript, said, interrupted, userMS, replyMS, latency)
	}
	var status, content string
	if err := e.pool.QueryRow(ctx, `SELECT status, content FROM messages WHERE id = $1`, turn.MessageID).Scan(&status, &content); err != nil {
		t.Fatal(err)
	}
	if status != chat.StatusComplete || content != ferryInfo {
		t.Errorf("stored reply: %s %q", status, content)
	}
	usage := map[string]float64{}
	rows, err := e.pool.Query(ctx, `SELECT source, audio_seconds FROM usage_events WHERE conversation_id = $1`, opened.ConversationID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var src string
		var secs float64
		if err := rows.Scan(&src, &secs); err != nil {
			t.Fatal(err)
		}
		usage[src] += secs
	}
	if usage["asr"] < 2 || usage["tts"] < 4 {
		t.Errorf("metered audio seconds %v, want asr ≥ 2 (the question) and tts ≥ 4 (the reply)", usage)
	}
	if _, ok := usage["chat"]; !ok {
		t.Errorf("the model's usage is not metered: %v", usage)
	}
}

// TestBargeIn talks over a long reply: the agent's audio pauses as soon
// as the user starts, the reply is cut (model and speech cancelled), it is
// stored as interrupted with only what was said, and the new utterance
// gets its own reply.
func TestBargeIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{replies: []string{longStory, "The lighthouse is on the north cape."}})
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	c, _ := e.call(ctx, talk.OpenRequest{})
	if err := c.Speak(speech(t, question), 22050); err != nil {
		t.Fatal(err)
	}
	first := wait(t, ctx, c, 0, "the reply's first sentence", func(m msg) bool { return m.Type == "sentence" })
	wait(t, ctx, c, first.index, "the reply's second sentence", func(m msg) bool { return m.Type == "sentence" && m.Index == 1 })
	if err := c.Speak(speech(t, "Wait, stop. Tell me about the lighthouse instead."), 22050); err != nil {
		t.Fatal(err)
	}
	paused := wait(t, ctx, c, first.index, "the agent pausing", func(m msg) bool { return m.Type == "state" && m.State == talk.StatePaused })
	cut := wait(t, ctx, c, first.index, "the turn's end", func(m msg) bool { return m.Type == "turn" })
	if !cut.Interrupted {
		t.Fatalf("the first turn ended uninterrupted: %+v", cut)
	}
	if cut.Said == "" || len(cut.Said) >= len(longStory)/2 || !strings.HasPrefix(longStory, strings.TrimSuffix(strings.Fields(cut.Said)[0], "…")) {
		t.Errorf("said %q: want the beginning of the story, well short of all of it", cut.Said)
	}
	second := wait(t, ctx, c, cut.index+1, "the second turn's end", func(m msg) bool { return m.Type == "turn" })
	if second.Interrupted {
		t.Errorf("the second turn was interrupted")
	}
	if ov := overlap("stop tell me about the lighthouse instead", messageText(t, c, cut.index, second.index)); ov < 0.5 {
		t.Errorf("the interruption transcribed poorly: %q", messageText(t, c, cut.index, second.index))
	}

	// No loud audio from the pause until the next reply starts.
	next := wait(t, ctx, c, cut.index, "the next reply's first sentence", func(m msg) bool { return m.Type == "sentence" })
	var loudAfterPause int
	for _, a := range c.Arrivals() {
		if a.At.After(paused.at.Add(100*time.Millisecond)) && a.At.Before(next.at) && a.RMS > 0.01 {
			loudAfterPause++
		}
	}
	if loudAfterPause > 0 {
		t.Errorf("%d loud packets arrived after the agent paused and before its next reply", loudAfterPause)
	}

	// Every pause is measured from the start of the user's speech.
	if n, sum := e.histogram("timbre_voice_barge_in_stop_seconds"); n < 1 {
		t.Errorf("no barge-in stop time was recorded")
	} else {
		t.Logf("speech over the agent → its audio stopped: %d pauses, mean %.0f ms", n, sum/float64(n)*1000)
	}
	var status, content string
	if err := e.pool.QueryRow(ctx, `SELECT status, content FROM messages WHERE id = $1`, cut.MessageID).Scan(&status, &content); err != nil {
		t.Fatal(err)
	}
	if status != chat.StatusInterrupted || content != cut.Said {
		t.Errorf("stored reply %s %q, want interrupted %q", status, content, cut.Said)
	}
	var interrupted bool
	var replyMS int
	if err := e.pool.QueryRow(ctx, `SELECT interrupted, reply_audio_ms FROM voice_turns WHERE reply_message_id = $1`, cut.MessageID).Scan(&interrupted, &replyMS); err != nil {
		t.Fatal(err)
	}
	if !interrupted || replyMS <= 0 {
		t.Errorf("voice turn interrupted=%v reply_audio_ms=%d", interrupted, replyMS)
	}
}

// messageText is the final user transcript between two message indexes.
func messageText(t *testing.T, c *rtctest.Client, from, to int) string {
	for _, m := range messages(t, c)[from:to] {
		if m.Type == "user" && m.Final {
			return m.Text
		}
	}
	return ""
}

// TestBackchannel says "okay" while the agent speaks: it pauses for it,
// then goes on, and the reply completes unbroken.
func TestBackchannel(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{reply: longStory})
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	c, _ := e.call(ctx, talk.OpenRequest{})
	if err := c.Speak(speech(t, question), 22050); err != nil {
		t.Fatal(err)
	}
	first := wait(t, ctx, c, 0, "the reply's first sentence", func(m msg) bool { return m.Type == "sentence" })
	if err := c.Speak(speech(t, "Okay."), 22050); err != nil {
		t.Fatal(err)
	}
	bc := wait(t, ctx, c, first.index, "a backchannel or the turn's end", func(m msg) bool { return m.Type == "backchannel" || m.Type == "turn" })
	if bc.Type != "backchannel" {
		t.Fatalf("the turn ended before the backchannel was heard: %+v", bc)
	}
	turn := wait(t, ctx, c, bc.index, "the turn's end", func(m msg) bool { return m.Type == "turn" })
	if turn.Interrupted || turn.Said != strings.Join(sentence.Split(longStory), " ") {
		t.Errorf("after a backchannel the turn ended interrupted=%v said %q; want the whole story", turn.Interrupted, turn.Said)
	}
	if n := len(e.model.Requests()); n != 1 {
		t.Errorf("the model got %d requests, want 1: a backchannel is not a turn", n)
	}
}

// TestTypedTurnAndHangup types into a call, then hangs up on the data
// channel: the session says bye and is gone.
func TestTypedTurnAndHangup(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{reply: "Nine o'clock."})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, opened := e.call(ctx, talk.OpenRequest{})
	for _, bad := range []string{`{"type":"text","text":"   "}`, `{"type":"dance"}`, `"just a string"`} {
		if err := c.Send(rawJSON(bad)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Send(map[string]string{"type": "text", "text": "When does the ferry leave?"}); err != nil {
		t.Fatal(err)
	}
	turn := wait(t, ctx, c, 0, "the typed turn's end", func(m msg) bool { return m.Type == "turn" })
	var errs int
	for _, m := range messages(t, c)[:turn.index] {
		if m.Type == "error" && m.Code == "bad_message" {
			errs++
		}
	}
	if errs != 3 {
		t.Errorf("%d bad_message errors for 3 bad messages", errs)
	}
	if turn.Said != "Nine o'clock." || turn.Interrupted {
		t.Errorf("typed turn: %+v", turn)
	}
	var input string
	if err := e.pool.QueryRow(ctx, `SELECT input FROM voice_turns WHERE conversation_id = $1`, opened.ConversationID).Scan(&input); err != nil || input != chat.InputText {
		t.Errorf("stored input %q, %v", input, err)
	}
	if err := c.Send(map[string]string{"type": "hangup"}); err != nil {
		t.Fatal(err)
	}
	bye := wait(t, ctx, c, turn.index, "bye", func(m msg) bool { return m.Type == "bye" })
	if bye.Reason != "hangup" {
		t.Errorf("bye reason %q", bye.Reason)
	}
	select {
	case <-c.Closed():
	case <-ctx.Done():
		t.Fatal("the server did not close the connection after hangup")
	}
	for e.mgr.Count() != 0 {
		select {
		case <-ctx.Done():
			t.Fatal("the session is still open after hangup")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

type rawJSON string

func (r rawJSON) MarshalJSON() ([]byte, error) { return []byte(r), nil }

// TestOpenRefusals: bad offers, limits, other users' conversations and
// unknown sessions are refused, and leave nothing behind.
func TestOpenRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{reply: "Hello.", talk: talk.Config{MaxPerUser: 1, IdleTimeout: 2 * time.Second}})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conversations := func() int {
		var n int
		if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM conversations`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	base := talk.OpenRequest{UserID: e.user.ID, UserName: "Tess", AgentID: e.agent.ID}
	for _, tc := range []struct {
		name string
		sdp  string
		want error
	}{
		{"garbage", "hello", rtc.ErrBadOffer},
		{"video only", "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:96 VP8/90000\r\n", nil},
	} {
		req := base
		req.SDP = tc.sdp
		_, err := e.mgr.Open(ctx, req)
		if err == nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s offer: err = %v, want %v", tc.name, err, tc.want)
		}
	}
	if n := conversations(); n != 0 {
		t.Errorf("refused offers left %d conversations", n)
	}
	req := base
	req.ConversationID = "cnv_nope"
	req.SDP = "x"
	if _, err := e.mgr.Open(ctx, req); !errors.Is(err, chat.ErrNotFound) {
		t.Errorf("unknown conversation: %v", err)
	}

	c, _ := e.call(ctx, talk.OpenRequest{})
	if _, err := e.mgr.Open(ctx, talk.OpenRequest{UserID: e.user.ID, AgentID: e.agent.ID, SDP: "x"}); !errors.Is(err, talk.ErrTooManySessions) {
		t.Errorf("second session: err = %v, want ErrTooManySessions", err)
	}
	if err := e.mgr.Hangup(ctx, "usr_other", "rtc_whatever"); !errors.Is(err, talk.ErrNotFound) {
		t.Errorf("hangup of an unknown session: %v", err)
	}
	// Nobody speaks: the idle timeout ends the call, and the slot is free.
	bye := wait(t, ctx, c, 0, "bye", func(m msg) bool { return m.Type == "bye" })
	if bye.Reason != "idle" {
		t.Errorf("bye %q, want idle", bye.Reason)
	}
	for e.mgr.Count() != 0 {
		select {
		case <-ctx.Done():
			t.Fatal("the idle session is still open")
		case <-time.After(20 * time.Millisecond):
		}
	}
	c2, _ := e.call(ctx, talk.OpenRequest{})
	_ = c2
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

var _ = audio.Frame{}
