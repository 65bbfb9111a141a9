package rtc_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/timbre-ai/timbre/voice/rtc"
	"github.com/timbre-ai/timbre/voice/rtc/rtctest"
)

// TestDataChannel sends JSON both ways: messages the server sends before
// the channel opens arrive first, in order; the browser's messages reach
// the Message handler after Open.
func TestDataChannel(t *testing.T) {
	t.Parallel()
	tr := newTransport(t, rtc.Config{})
	rec := newRecorder()
	peer, c := dial(t, tr, rec.handlers(), func(p *rtc.Peer) {
		for i := range 3 {
			if err := p.Send(map[string]any{"type": "early", "n": i}); err != nil {
				t.Errorf("Send before open: %v", err)
			}
		}
		if err := p.Send(func() {}); err == nil {
			t.Error("Send(func) = nil, want a marshalling error")
		}
	})
	ctx := testContext(t)
	if err := peer.Send(map[string]any{"type": "late"}); err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{`{"n":0,"type":"early"}`, `{"n":1,"type":"early"}`, `{"n":2,"type":"early"}`, `{"type":"late"}`} {
		m, _, err := c.WaitMessage(ctx, i, nil)
		if err != nil {
			t.Fatal(err)
		}
		if string(m.Data) != want {
			t.Errorf("message %d = %s, want %s", i, m.Data, want)
		}
	}
	if m := c.Messages(); m[3].Type != "late" {
		t.Errorf("message 3 has type %q", m[3].Type)
	}

	for _, v := range []any{map[string]string{"type": "text", "text": "hello"}, map[string]string{"type": "hangup"}} {
		if err := c.Send(v); err != nil {
			t.Fatal(err)
		}
	}
	rec.wait(t, "two messages", func() bool { return len(rec.messages) == 2 })
	rec.mu.Lock()
	if want := []string{"open", "message", "message"}; fmt.Sprint(rec.calls) != fmt.Sprint(want) {
		t.Errorf("handler calls %v, want %v", rec.calls, want)
	}
	if rec.messages[0] != `{"text":"hello","type":"text"}` || rec.messages[1] != `{"type":"hangup"}` {
		t.Errorf("messages %q", rec.messages)
	}
	rec.mu.Unlock()
	if s := peer.Stats(); s.MessagesIn != 2 || s.MessagesOut != 4 || s.MessagesDropped != 0 {
		t.Errorf("stats: %d in, %d out, %d dropped; want 2, 4, 0", s.MessagesIn, s.MessagesOut, s.MessagesDropped)
	}
}

// TestSendQueueBound checks that Send before open queues at most 64
// messages, and that those arrive.
func TestSendQueueBound(t *testing.T) {
	t.Parallel()
	tr := newTransport(t, rtc.Config{})
	_, c := dial(t, tr, rtc.Handlers{}, func(p *rtc.Peer) {
		for i := range 64 {
			if err := p.Send(i); err != nil {
				t.Fatalf("Send %d: %v", i, err)
			}
		}
		if err := p.Send(64); !errors.Is(err, rtc.ErrSendQueueFull) {
			t.Errorf("Send 65 before open = %v, want ErrSendQueueFull", err)
		}
	})
	m, _, err := c.WaitMessage(testContext(t), 63, nil)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := json.Unmarshal(m.Data, &n); err != nil || n != 63 {
		t.Errorf("message 63 = %s", m.Data)
	}
}

// closedOnce waits for the peer to finish and checks that Closed was
// called once, last, with a reason that is want.
func closedOnce(t *testing.T, rec *recorder, peer *rtc.Peer, want error) {
	t.Helper()
	select {
	case <-peer.Done():
	case <-time.After(testTimeout):
		t.Fatal("the peer did not close")
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.reasons) != 1 || !errors.Is(rec.reasons[0], want) {
		t.Fatalf("Closed called with %v, want once with %v", rec.reasons, want)
	}
	if last := rec.calls[len(rec.calls)-1]; last != "closed" {
		t.Errorf("handler calls %v: Closed is not last", rec.calls)
	}
	if err := peer.Send("x"); !errors.Is(err, rtc.ErrClosed) {
		t.Errorf("Send after the call closed = %v, want ErrClosed", err)
	}
}

func TestClosedReasons(t *testing.T) {
	t.Parallel()
	t.Run("browser hangs up", func(t *testing.T) {
		t.Parallel()
		tr := newTransport(t, rtc.Config{})
		rec := newRecorder()
		peer, c := dial(t, tr, rec.handlers(), nil)
		rec.wait(t, "Open", func() bool { return len(rec.calls) > 0 })
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		closedOnce(t, rec, peer, rtc.ErrHangup)
		if n := tr.Peers(); n != 0 {
			t.Errorf("Peers() = %d after hang-up", n)
		}
		if err := peer.Close(); err != nil {
			t.Errorf("Close after hang-up = %v", err)
		}
	})
	t.Run("server closes", func(t *testing.T) {
		t.Parallel()
		tr := newTransport(t, rtc.Config{})
		rec := newRecorder()
		peer, c := dial(t, tr, rec.handlers(), nil)
		if err := peer.Close(); err != nil {
			t.Fatal(err)
		}
		if err := peer.Close(); err != nil {
			t.Errorf("second Close = %v", err)
		}
		closedOnce(t, rec, peer, rtc.ErrClosed)
		select {
		case <-c.Closed():
		case <-time.After(testTimeout):
			t.Error("the client did not see the connection close")
		}
	})
	t.Run("transport shuts down", func(t *testing.T) {
		t.Parallel()
		tr := newTransport(t, rtc.Config{})
		recs := []*recorder{newRecorder(), newRecorder()}
		var peers []*rtc.Peer
		for _, rec := range recs {
			p, _ := dial(t, tr, rec.handlers(), nil)
			peers = append(peers, p)
		}
		if err := tr.Close(); err != nil {
			t.Fatal(err)
		}
		for i, p := range peers {
			closedOnce(t, recs[i], p, rtc.ErrShutdown)
		}
		_, err := rtctest.Dial(testContext(t), func(offer string) (string, error) {
			_, answer, err := tr.Accept(testContext(t), offer, rtc.Handlers{})
			return answer, err
		})
		if !errors.Is(err, rtc.ErrShutdown) {
			t.Errorf("Accept after Close = %v, want ErrShutdown", err)
		}
	})
	t.Run("browser vanishes", func(t *testing.T) {
		t.Parallel()
		// ICE reports disconnected after 3 s without a packet; the call
		// fails DisconnectTimeout later.
		tr := newTransport(t, rtc.Config{DisconnectTimeout: 300 * time.Millisecond})
		rec := newRecorder()
		peer, c := dial(t, tr, rec.handlers(), nil)
		waitFor(t, "audio from the client", func() bool { return peer.Stats().FramesIn > 5 })
		if err := c.Abandon(); err != nil {
			t.Fatal(err)
		}
		closedOnce(t, rec, peer, rtc.ErrICEFailed)
		rec.mu.Lock()
		defer rec.mu.Unlock()
		for _, call := range rec.calls {
			if call == "audio" {
				t.Error("Audio called after Closed")
			}
		}
	})
}

// TestCloseDeliversLastMessages sends a burst of messages and closes at
// once: Close waits for the data channel to deliver them, so a "bye" sent
// right before hanging up reaches the browser.
func TestCloseDeliversLastMessages(t *testing.T) {
	t.Parallel()
	tr := newTransport(t, rtc.Config{})
	rec := newRecorder()
	peer, c := dial(t, tr, rec.handlers(), nil)
	ctx := testContext(t)
	const n = 50
	for i := range n {
		if err := peer.Send(map[string]any{"type": "burst", "n": i, "pad": fmt.Sprintf("%0500d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := peer.Send(map[string]string{"type": "bye"}); err != nil {
		t.Fatal(err)
	}
	if err := peer.Close(); err != nil {
		t.Fatal(err)
	}
	m, i, err := c.WaitMessage(ctx, 0, func(m rtctest.Message) bool { return m.Type == "bye" })
	if err != nil {
		t.Fatalf("the last message before Close was lost: %v (%d of %d arrived)", err, len(c.Messages()), n+1)
	}
	if i != n {
		t.Errorf("bye arrived as message %d, want %d (after the burst): %s", i, n, m.Data)
	}
}
