package rtc_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"

	"github.com/timbre-ai/timbre/voice/rtc"
)

// makeOffer returns the offer of a pion peer with the codecs registered
// by register and the transceivers and channels added by setup.
func makeOffer(t *testing.T, register func(*webrtc.MediaEngine) error, setup func(*webrtc.PeerConnection) error) string {
	t.Helper()
	m := &webrtc.MediaEngine{}
	if err := register(m); err != nil {
		t.Fatal(err)
	}
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(m)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if err := setup(pc); err != nil {
		t.Fatal(err)
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	return offer.SDP
}

func audioTransceiver(dir webrtc.RTPTransceiverDirection) func(*webrtc.PeerConnection) error {
	return func(pc *webrtc.PeerConnection) error {
		_, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: dir})
		return err
	}
}

func dataChannel(pc *webrtc.PeerConnection) error {
	_, err := pc.CreateDataChannel(rtc.DataChannelLabel, nil)
	return err
}

func all(steps ...func(*webrtc.PeerConnection) error) func(*webrtc.PeerConnection) error {
	return func(pc *webrtc.PeerConnection) error {
		for _, s := range steps {
			if err := s(pc); err != nil {
				return err
			}
		}
		return nil
	}
}

func registerCodec(mime string, rate uint32, channels uint16, pt webrtc.PayloadType, kind webrtc.RTPCodecType) func(*webrtc.MediaEngine) error {
	return func(m *webrtc.MediaEngine) error {
		return m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: mime, ClockRate: rate, Channels: channels}, PayloadType: pt}, kind)
	}
}

// TestBadOffers checks that offers Accept cannot answer are refused with
// the sentinel that says why, and leave nothing open.
func TestBadOffers(t *testing.T) {
	t.Parallel()
	opus := registerCodec(webrtc.MimeTypeOpus, 48000, 2, 111, webrtc.RTPCodecTypeAudio)
	good := makeOffer(t, opus, all(audioTransceiver(webrtc.RTPTransceiverDirectionSendrecv), dataChannel))
	tests := []struct {
		name  string
		offer string
		want  error
	}{
		{"empty", "", rtc.ErrBadOffer},
		{"garbage", "hello, I am not SDP", rtc.ErrBadOffer},
		{"truncated", good[:len(good)/3], rtc.ErrBadOffer},
		{"too large", good + strings.Repeat("a=x-padding:0123456789\r\n", 3000), rtc.ErrBadOffer},
		{"video only", makeOffer(t, registerCodec(webrtc.MimeTypeVP8, 90000, 0, 96, webrtc.RTPCodecTypeVideo), all(func(pc *webrtc.PeerConnection) error {
			_, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo)
			return err
		}, dataChannel)), rtc.ErrNoAudio},
		{"data channel only", makeOffer(t, opus, dataChannel), rtc.ErrNoAudio},
		{"no opus", makeOffer(t, registerCodec(webrtc.MimeTypePCMU, 8000, 1, 0, webrtc.RTPCodecTypeAudio),
			all(audioTransceiver(webrtc.RTPTransceiverDirectionSendrecv), dataChannel)), rtc.ErrNoOpus},
		{"no data channel", makeOffer(t, opus, audioTransceiver(webrtc.RTPTransceiverDirectionSendrecv)), rtc.ErrBadOffer},
		{"two audio sections", makeOffer(t, opus, all(audioTransceiver(webrtc.RTPTransceiverDirectionSendrecv),
			audioTransceiver(webrtc.RTPTransceiverDirectionSendrecv), dataChannel)), rtc.ErrBadOffer},
		{"sendonly audio", makeOffer(t, opus, all(audioTransceiver(webrtc.RTPTransceiverDirectionSendonly), dataChannel)), rtc.ErrBadOffer},
		{"audio port 0", strings.Replace(good, "m=audio 9 ", "m=audio 0 ", 1), rtc.ErrNoAudio},
		{"no ICE credentials", regexp.MustCompile(`a=ice-(ufrag|pwd):[^\r\n]*\r\n`).ReplaceAllString(good, ""), rtc.ErrBadOffer},
	}
	tr := newTransport(t, rtc.Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			called := false
			h := rtc.Handlers{Open: func() { called = true }, Closed: func(error) { called = true }}
			p, answer, err := tr.Accept(testContext(t), tt.offer, h)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Accept = %v, want %v", err, tt.want)
			}
			if p != nil || answer != "" || called {
				t.Errorf("a refused offer returned a peer (%v), an answer (%d bytes) or called a handler (%v)", p, len(answer), called)
			}
			t.Logf("%v", err)
		})
	}
	if n := tr.Peers(); n != 0 {
		t.Errorf("Peers() = %d after refused offers", n)
	}

	// A listen-only browser (recvonly) is answered: it hears the agent.
	p, _, err := tr.Accept(testContext(t), makeOffer(t, opus, all(audioTransceiver(webrtc.RTPTransceiverDirectionRecvonly), dataChannel)), rtc.Handlers{})
	if err != nil {
		t.Fatalf("recvonly offer: %v", err)
	}
	_ = p.Close()
}
