package rtc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/pion/stun/v4"
	"github.com/pion/webrtc/v4"
)

// ParseICEServers parses TIMBRE_ICE_SERVERS, in either of two forms:
//
//   - a JSON array of RTCIceServer objects, as a browser takes them:
//     [{"urls":"turn:turn.example.com:3478","username":"u","credential":"p"}]
//     ("urls" may be a string or an array of strings);
//   - a comma-separated list of URLs, where a TURN URL may carry its
//     credentials before the host:
//     stun:stun.example.com:3478,turn:user:pass@turn.example.com:3478?transport=udp
//     (percent-encode a ':' or '@' in the user name or password).
//
// An empty or blank string is no servers. Every URL's scheme must be stun,
// stuns, turn or turns, its host and port well-formed, and TURN needs a
// user name and a password. Errors name the bad entry by position and by
// its URL, with any password left out.
func ParseICEServers(s string) ([]webrtc.ICEServer, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	if strings.HasPrefix(s, "[") || strings.HasPrefix(s, "{") {
		return parseICEServersJSON(s)
	}
	var servers []webrtc.ICEServer
	for i, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			return nil, fmt.Errorf("ICE server %d is empty (stray comma?)", i+1)
		}
		server, err := parseICEURL(entry)
		if err == nil {
			err = validateICEServer(server)
		}
		if err != nil {
			return nil, fmt.Errorf("ICE server %d %q: %w", i+1, redact(entry), err)
		}
		servers = append(servers, server)
	}
	return servers, nil
}

// iceServerJSON is one RTCIceServer as a browser takes it.
type iceServerJSON struct {
	URLs       json.RawMessage `json:"urls"`
	Username   string          `json:"username"`
	Credential string          `json:"credential"`
}

func parseICEServersJSON(s string) ([]webrtc.ICEServer, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	var list []iceServerJSON
	if err := dec.Decode(&list); err != nil {
		return nil, fmt.Errorf("ICE servers: not a JSON array of {urls, username, credential}: %w", err)
	}
	if dec.More() {
		return nil, errors.New("ICE servers: text after the JSON array")
	}
	servers := make([]webrtc.ICEServer, 0, len(list))
	for i, js := range list {
		server := webrtc.ICEServer{Username: js.Username}
		if js.Credential != "" {
			server.Credential = js.Credential
		}
		var one string
		switch raw := bytes.TrimSpace(js.URLs); {
		case len(raw) == 0 || string(raw) == "null":
			return nil, fmt.Errorf("ICE server %d: no \"urls\"", i+1)
		case json.Unmarshal(raw, &one) == nil:
			server.URLs = []string{one}
		case json.Unmarshal(raw, &server.URLs) != nil:
			return nil, fmt.Errorf("ICE server %d: \"urls\" is neither a string nor an array of strings", i+1)
		}
		if err := validateICEServer(server); err != nil {
			return nil, fmt.Errorf("ICE server %d %q: %w", i+1, strings.Join(server.URLs, " "), err)
		}
		servers = append(servers, server)
	}
	return servers, nil
}

// parseICEURL splits "turn:user:pass@host:port?query" into the URL and its
// credentials; URLs without credentials come back as they are.
func parseICEURL(entry string) (webrtc.ICEServer, error) {
	scheme, rest, ok := strings.Cut(entry, ":")
	if !ok {
		return webrtc.ICEServer{}, errors.New("not a URL (want scheme:host:port)")
	}
	hostPart := rest
	if q := strings.IndexByte(rest, '?'); q >= 0 {
		hostPart = rest[:q]
	}
	at := strings.LastIndexByte(hostPart, '@')
	if at < 0 {
		return webrtc.ICEServer{URLs: []string{entry}}, nil
	}
	user, pass, ok := strings.Cut(hostPart[:at], ":")
	if !ok {
		return webrtc.ICEServer{}, errors.New("credentials must be user:password@")
	}
	var err error
	if user, err = url.PathUnescape(user); err != nil {
		return webrtc.ICEServer{}, fmt.Errorf("user name: %w", err)
	}
	if pass, err = url.PathUnescape(pass); err != nil {
		return webrtc.ICEServer{}, errors.New("password: bad percent-encoding")
	}
	if user == "" || pass == "" {
		return webrtc.ICEServer{}, errors.New("empty user name or password before '@'")
	}
	return webrtc.ICEServer{URLs: []string{scheme + ":" + rest[at+1:]}, Username: user, Credential: pass}, nil
}

// validateICEServer checks what pion would only find when gathering.
func validateICEServer(s webrtc.ICEServer) error {
	if len(s.URLs) == 0 {
		return errors.New("no URLs")
	}
	for _, raw := range s.URLs {
		scheme, _, _ := strings.Cut(raw, ":")
		switch strings.ToLower(scheme) {
		case "stun", "stuns", "turn", "turns":
		default:
			return fmt.Errorf("URL %q: scheme %q is not stun, stuns, turn or turns", redact(raw), scheme)
		}
		u, err := stun.ParseURI(raw)
		if err != nil {
			return fmt.Errorf("URL %q: %w", redact(raw), err)
		}
		if u.Scheme == stun.SchemeTypeTURN || u.Scheme == stun.SchemeTypeTURNS {
			if pass, _ := s.Credential.(string); s.Username == "" || pass == "" {
				return fmt.Errorf("URL %q: TURN needs a user name and a password", raw)
			}
		}
	}
	return nil
}

// redact drops the password from "scheme:user:pass@host…".
func redact(entry string) string {
	scheme, rest, ok := strings.Cut(entry, ":")
	if !ok {
		return entry
	}
	at := strings.LastIndexByte(rest, '@')
	if at < 0 {
		return entry
	}
	user, _, _ := strings.Cut(rest[:at], ":")
	return scheme + ":" + user + ":…@" + rest[at+1:]
}
