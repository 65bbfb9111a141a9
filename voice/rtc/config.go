package rtc

import (
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/pion/webrtc/v4"
)

// Defaults used where a Config field is zero.
const (
	// DefaultGatherTimeout bounds how long Accept waits for ICE gathering.
	// Host and loopback candidates take milliseconds; STUN answers that
	// come later than this are left out of the answer (there is no
	// trickle in the session protocol).
	DefaultGatherTimeout = time.Second
	// DefaultDisconnectTimeout is how long a call may stay disconnected
	// before it is closed.
	DefaultDisconnectTimeout = 5 * time.Second
)

const (
	// iceDisconnected is how long without a packet from the browser ICE
	// reports "disconnected": both sides send a packet every 20 ms, so 3 s
	// of nothing is a broken path, not a pause.
	iceDisconnected = 3 * time.Second
	// iceKeepalive is how often ICE pings an idle pair; below
	// iceDisconnected so that a path carrying no media stays alive.
	iceKeepalive = time.Second
)

// Config configures a Transport. The zero value answers calls on any UDP
// port with host and loopback candidates only.
type Config struct {
	// ICEServers are the STUN and TURN servers used to gather server
	// reflexive and relay candidates (see ParseICEServers). None: host
	// candidates only, enough on one machine or a LAN.
	ICEServers []webrtc.ICEServer
	// GatherTimeout bounds how long Accept waits for ICE gathering before
	// it returns the answer with the candidates found so far
	// (DefaultGatherTimeout).
	GatherTimeout time.Duration
	// UDPPortMin and UDPPortMax bound the UDP ports of ICE candidates;
	// both 0 means any port.
	UDPPortMin, UDPPortMax uint16
	// NAT1To1IPs are public IPs to advertise as extra host candidates,
	// for a server behind a 1:1 NAT (a cloud VM with an elastic IP): each
	// local host candidate is also offered at these addresses with the
	// same port. Loopback and private candidates stay in the answer.
	NAT1To1IPs []string
	// DisconnectTimeout is how long a call may stay disconnected (ICE
	// reports disconnected after 3 s without a packet) before it is closed
	// with ErrICEFailed (DefaultDisconnectTimeout). A call whose
	// connectivity checks never succeed fails after 3 s plus this.
	DisconnectTimeout time.Duration
	// Logger receives the transport's and pion's logs; nil discards them.
	Logger *slog.Logger
}

// withDefaults fills zero fields and checks the rest.
func (c Config) withDefaults() (Config, error) {
	switch {
	case c.GatherTimeout < 0:
		return c, fmt.Errorf("rtc: negative gather timeout %v", c.GatherTimeout)
	case c.GatherTimeout == 0:
		c.GatherTimeout = DefaultGatherTimeout
	}
	switch {
	case c.DisconnectTimeout < 0:
		return c, fmt.Errorf("rtc: negative disconnect timeout %v", c.DisconnectTimeout)
	case c.DisconnectTimeout == 0:
		c.DisconnectTimeout = DefaultDisconnectTimeout
	}
	if (c.UDPPortMin == 0) != (c.UDPPortMax == 0) || c.UDPPortMin > c.UDPPortMax {
		return c, fmt.Errorf("rtc: UDP port range %d–%d: give both ends, lowest first, or neither", c.UDPPortMin, c.UDPPortMax)
	}
	for _, ip := range c.NAT1To1IPs {
		if net.ParseIP(ip) == nil {
			return c, fmt.Errorf("rtc: public IP %q is not an IP address", ip)
		}
	}
	for i, s := range c.ICEServers {
		if err := validateICEServer(s); err != nil {
			return c, fmt.Errorf("rtc: ICE server %d: %w", i+1, err)
		}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}
