package rtc

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pion/sdp/v3"
)

// maxOfferBytes bounds an offer: browsers' are a few kilobytes.
const maxOfferBytes = 64 << 10

// checkOffer checks that offer is an SDP offer this package can answer:
// exactly one audio section, offering Opus at 48 kHz, that lets the server
// send (sendrecv or recvonly), and a data channel section. pion would
// otherwise answer some of these with a rejected section and no error.
func checkOffer(offer string) error {
	if strings.TrimSpace(offer) == "" {
		return fmt.Errorf("%w: empty offer", ErrBadOffer)
	}
	if len(offer) > maxOfferBytes {
		return fmt.Errorf("%w: offer of %d bytes (at most %d)", ErrBadOffer, len(offer), maxOfferBytes)
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(offer); err != nil {
		return fmt.Errorf("%w: does not parse: %w", ErrBadOffer, err)
	}
	var audio []*sdp.MediaDescription
	data, stopped := false, 0
	for _, md := range sd.MediaDescriptions {
		switch md.MediaName.Media {
		case "audio":
			// A port of 0 is a section the offerer rejected or stopped.
			if md.MediaName.Port.Value != 0 {
				audio = append(audio, md)
			} else {
				stopped++
			}
		case "application":
			data = data || slices.Contains(md.MediaName.Formats, "webrtc-datachannel") ||
				slices.ContainsFunc(md.MediaName.Protos, func(p string) bool { return p == "SCTP" })
		}
	}
	switch {
	case len(audio) == 0 && stopped > 0:
		return fmt.Errorf("%w: the audio section is stopped (port 0)", ErrNoAudio)
	case len(audio) == 0:
		return fmt.Errorf("%w: %d media sections, none of them audio", ErrNoAudio, len(sd.MediaDescriptions))
	case len(audio) > 1:
		return fmt.Errorf("%w: %d audio sections (one microphone track expected)", ErrBadOffer, len(audio))
	case !offersOpus(audio[0]):
		return fmt.Errorf("%w: audio codecs offered: %s", ErrNoOpus, strings.Join(codecNames(audio[0]), ", "))
	case !data:
		return fmt.Errorf("%w: no data channel (create the %q channel before the offer)", ErrBadOffer, DataChannelLabel)
	}
	dir := direction(audio[0].Attributes)
	if dir == "" {
		dir = direction(sd.Attributes)
	}
	if dir == "sendonly" || dir == "inactive" {
		return fmt.Errorf("%w: the audio section is %s; the agent's voice needs sendrecv or recvonly", ErrBadOffer, dir)
	}
	return nil
}

// offersOpus reports whether md maps one of its payload types to
// opus/48000 (RFC 7587 always says /2, whatever the browser sends).
func offersOpus(md *sdp.MediaDescription) bool {
	for _, a := range md.Attributes {
		if a.Key != "rtpmap" {
			continue
		}
		pt, enc, ok := strings.Cut(a.Value, " ")
		if !ok || !slices.Contains(md.MediaName.Formats, pt) {
			continue
		}
		if strings.HasPrefix(strings.ToLower(enc), "opus/48000") {
			return true
		}
	}
	return false
}

// codecNames lists the encodings of md's rtpmap lines, for the error.
func codecNames(md *sdp.MediaDescription) []string {
	var names []string
	for _, a := range md.Attributes {
		if a.Key == "rtpmap" {
			if _, enc, ok := strings.Cut(a.Value, " "); ok {
				names = append(names, enc)
			}
		}
	}
	if len(names) == 0 {
		return []string{"none"}
	}
	return names
}

// direction is the direction attribute among attrs, or "".
func direction(attrs []sdp.Attribute) string {
	for _, a := range attrs {
		switch a.Key {
		case "sendrecv", "sendonly", "recvonly", "inactive":
			return a.Key
		}
	}
	return ""
}
