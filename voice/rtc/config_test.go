package rtc_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pion/webrtc/v4"

	"github.com/timbre-ai/timbre/voice/rtc"
)

func TestParseICEServers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    []webrtc.ICEServer
		wantErr string // a substring of the error; "" for none
	}{
		{"empty", "", nil, ""},
		{"blank", "  \n", nil, ""},
		{"one STUN", "stun:stun.example.com:3478", []webrtc.ICEServer{{URLs: []string{"stun:stun.example.com:3478"}}}, ""},
		{"STUN without port", "stun:stun.example.com", []webrtc.ICEServer{{URLs: []string{"stun:stun.example.com"}}}, ""},
		{"list with TURN credentials", " stun:a.example:3478 , turn:alice:s3cret@turn.example.com:3478?transport=udp,turns:bob:pw@turn.example.com:5349?transport=tcp",
			[]webrtc.ICEServer{
				{URLs: []string{"stun:a.example:3478"}},
				{URLs: []string{"turn:turn.example.com:3478?transport=udp"}, Username: "alice", Credential: "s3cret"},
				{URLs: []string{"turns:turn.example.com:5349?transport=tcp"}, Username: "bob", Credential: "pw"},
			}, ""},
		{"percent-encoded credentials", "turn:a%40b:p%3Aw%40d@turn.example.com:3478",
			[]webrtc.ICEServer{{URLs: []string{"turn:turn.example.com:3478"}, Username: "a@b", Credential: "p:w@d"}}, ""},
		{"password with a colon", "turn:alice:a:b@turn.example.com:3478",
			[]webrtc.ICEServer{{URLs: []string{"turn:turn.example.com:3478"}, Username: "alice", Credential: "a:b"}}, ""},
		{"JSON", `[{"urls":"stun:stun.example.com:3478"},{"urls":["turn:t.example:3478?transport=udp","turn:t.example:3478?transport=tcp"],"username":"u","credential":"p"}]`,
			[]webrtc.ICEServer{
				{URLs: []string{"stun:stun.example.com:3478"}},
				{URLs: []string{"turn:t.example:3478?transport=udp", "turn:t.example:3478?transport=tcp"}, Username: "u", Credential: "p"},
			}, ""},
		{"JSON empty array", `[]`, []webrtc.ICEServer{}, ""},

		{"http scheme", "stun:ok.example:3478,http://example.com", nil, `ICE server 2 "http://example.com"`},
		{"bad scheme named", "turnx:t.example:3478", nil, `scheme "turnx" is not stun, stuns, turn or turns`},
		{"not a URL", "stun.example.com", nil, "ICE server 1"},
		{"stray comma", "stun:a.example:3478,,stun:b.example:3478", nil, "ICE server 2 is empty"},
		{"TURN without credentials", "turn:turn.example.com:3478", nil, "TURN needs a user name and a password"},
		{"bad port", "stun:stun.example.com:port", nil, "ICE server 1"},
		{"bad transport", "turn:u:p@t.example:3478?transport=sctp", nil, "invalid transport"},
		{"STUN with a query", "stun:s.example:3478?transport=udp", nil, "ICE server 1"},
		{"empty password", "turn:alice:@turn.example.com:3478", nil, "empty user name or password"},
		{"JSON not an array", `{"urls":"stun:s.example"}`, nil, "not a JSON array"},
		{"JSON unknown field", `[{"url":"stun:s.example"}]`, nil, `unknown field "url"`},
		{"JSON no urls", `[{"username":"u"}]`, nil, `ICE server 1: no "urls"`},
		{"JSON urls not strings", `[{"urls":[1,2]}]`, nil, "neither a string nor an array of strings"},
		{"JSON TURN without password", `[{"urls":"stun:s.example"},{"urls":"turn:t.example","username":"u"}]`, nil, "ICE server 2"},
		{"JSON trailing text", `[] x`, nil, "after the JSON array"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := rtc.ParseICEServers(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseICEServers(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseICEServers(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseICEServers(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

// TestParseICEServersRedacts checks that a password never shows in an
// error (they end up in logs).
func TestParseICEServersRedacts(t *testing.T) {
	t.Parallel()
	_, err := rtc.ParseICEServers("turn:alice:hunter2@turn.example.com:3478?transport=sctp")
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "alice") {
		t.Errorf("error %q: want the entry named, without its password", err)
	}
}

func TestNewTransportConfig(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		cfg     rtc.Config
		wantErr string
	}{
		{"zero", rtc.Config{}, ""},
		{"port range", rtc.Config{UDPPortMin: 40000, UDPPortMax: 40100}, ""},
		{"half a port range", rtc.Config{UDPPortMin: 40000}, "UDP port range"},
		{"reversed port range", rtc.Config{UDPPortMin: 40100, UDPPortMax: 40000}, "UDP port range"},
		{"bad public IP", rtc.Config{NAT1To1IPs: []string{"example.com"}}, `public IP "example.com"`},
		{"negative gather timeout", rtc.Config{GatherTimeout: -time.Second}, "gather timeout"},
		{"negative disconnect timeout", rtc.Config{DisconnectTimeout: -time.Second}, "disconnect timeout"},
		{"bad ICE server", rtc.Config{ICEServers: []webrtc.ICEServer{{URLs: []string{"turn:t.example:3478"}}}}, "ICE server 1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := rtc.NewTransport(tt.cfg)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatal(err)
			case tt.wantErr == "":
				_ = tr.Close()
			case err == nil || !strings.Contains(err.Error(), tt.wantErr):
				t.Errorf("NewTransport error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestPortRangeAndPublicIP checks that the answer's candidates use the
// configured ports and advertise the public IP, and that loopback still
// connects.
func TestPortRangeAndPublicIP(t *testing.T) {
	t.Parallel()
	tr := newTransport(t, rtc.Config{UDPPortMin: 46100, UDPPortMax: 46199, NAT1To1IPs: []string{"203.0.113.7"}})
	var answer string
	rec := newRecorder()
	dial(t, tr, rec.handlers(), nil)
	_, answer, err := tr.Accept(testContext(t), makeOffer(t, registerCodec(webrtc.MimeTypeOpus, 48000, 2, 111, webrtc.RTPCodecTypeAudio),
		all(audioTransceiver(webrtc.RTPTransceiverDirectionSendrecv), dataChannel)), rtc.Handlers{})
	if err != nil {
		t.Fatal(err)
	}
	var candidates []string
	for _, line := range strings.Split(answer, "\r\n") {
		if strings.HasPrefix(line, "a=candidate:") {
			candidates = append(candidates, line)
			f := strings.Fields(line)
			if len(f) < 6 || f[5] < "46100" || f[5] > "46199" {
				t.Errorf("candidate outside the port range: %s", line)
			}
		}
	}
	joined := strings.Join(candidates, "\n")
	if !strings.Contains(joined, " 203.0.113.7 ") || !strings.Contains(joined, " 127.0.0.1 ") {
		t.Errorf("candidates lack the public IP or loopback:\n%s", joined)
	}
	rec.wait(t, "Open over loopback", func() bool { return len(rec.calls) > 0 })
}

// TestGatherTimeout answers while a STUN server that never replies is
// still being asked: the answer comes back after GatherTimeout (well
// within ctx, which is shorter than pion's STUN timeout) with the host
// candidates, and the call connects over them.
func TestGatherTimeout(t *testing.T) {
	t.Parallel()
	tr := newTransport(t, rtc.Config{
		ICEServers:    []webrtc.ICEServer{{URLs: []string{"stun:192.0.2.1:3478"}}}, // TEST-NET-1: nothing answers
		GatherTimeout: 100 * time.Millisecond,
	})
	rec := newRecorder()
	dial(t, tr, rec.handlers(), nil)
	rec.wait(t, "Open", func() bool { return len(rec.calls) > 0 })

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, answer, err := tr.Accept(ctx, makeOffer(t, registerCodec(webrtc.MimeTypeOpus, 48000, 2, 111, webrtc.RTPCodecTypeAudio),
		all(audioTransceiver(webrtc.RTPTransceiverDirectionSendrecv), dataChannel)), rtc.Handlers{})
	if err != nil {
		t.Fatalf("Accept with a silent STUN server: %v", err)
	}
	if !strings.Contains(answer, " 127.0.0.1 ") {
		t.Errorf("answer without the loopback candidate:\n%s", answer)
	}
}
