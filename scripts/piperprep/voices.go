package main

import (
	"fmt"

	asset "github.com/amitybell/piper-asset"
	alan "github.com/amitybell/piper-voice-alan"
	jenny "github.com/amitybell/piper-voice-jenny"
)

// shippedVoice is a Piper voice Timbre ships as a Go module.
type shippedVoice struct {
	// ID names the voice in the API and its directory under voices/.
	ID string
	// Name is how the voice is shown to people.
	Name string
	// Gender is how the voice sounds ("female", "male"); Piper's configs
	// do not say, so it is set here by ear.
	Gender string
	// Module is the Go module that embeds Asset.
	Module string
	// Asset holds dist.tar.zst (the model and its config), hash.txt and
	// MODEL_CARD.txt.
	Asset asset.Asset
}

// shippedVoices are the voices `make setup` prepares, in the order it
// prepares them.
var shippedVoices = []shippedVoice{
	{ID: "jenny", Name: "Jenny", Gender: "female", Module: "github.com/amitybell/piper-voice-jenny", Asset: jenny.Asset},
	{ID: "alan", Name: "Alan", Gender: "male", Module: "github.com/amitybell/piper-voice-alan", Asset: alan.Asset},
}

// selectVoices returns the shipped voices named by ids, or all of them
// when ids is empty.
func selectVoices(ids []string) ([]shippedVoice, error) {
	if len(ids) == 0 {
		return shippedVoices, nil
	}
	var out []shippedVoice
	for _, id := range ids {
		found := false
		for _, v := range shippedVoices {
			if v.ID == id {
				out = append(out, v)
				found = true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("%w %q (shipped: %s)", errUnknownVoice, id, voiceIDs(shippedVoices))
		}
	}
	return out, nil
}

// voiceIDs lists the ids of vs, comma-separated.
func voiceIDs(vs []shippedVoice) string {
	s := ""
	for i, v := range vs {
		if i > 0 {
			s += ", "
		}
		s += v.ID
	}
	return s
}
