package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/timbre-ai/timbre/voice/clone"
	"github.com/timbre-ai/timbre/voice/tts"
)

// Protocol is the version of the request and advert formats. A worker
// refuses requests of another version; a client ignores workers that
// advertise another.
const Protocol = 1

// Default subjects.
const (
	// DefaultSubject prefixes the request subjects.
	DefaultSubject = "voice.tts"
	// DefaultAdvertSubject is where workers advertise.
	DefaultAdvertSubject = "voice.workers"
)

// queueGroup is the queue group of the shared request subject.
const queueGroup = "tts"

// anySubject is the subject every worker of the pool serves in one queue
// group.
func anySubject(prefix string) string { return prefix + ".synth" }

// directSubject is the subject only worker id serves.
func directSubject(prefix, id string) string { return prefix + ".synth." + id }

// discoverSubject is where workers answer discovery requests.
func discoverSubject(advertSubject string) string { return advertSubject + ".discover" }

// validToken reports whether s can be one token of a NATS subject, and a
// worker ID: letters, digits, '-' and '_'.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// request is the JSON payload of a synthesis request.
type request struct {
	Protocol int     `json:"protocol"`
	Voice    string  `json:"voice"`
	Text     string  `json:"text"`
	Speed    float64 `json:"speed,omitempty"`
	// Convert asks for the voice converted toward a cloned voice's profile
	// (only workers that advertise FeatureConvert get it).
	Convert *Conversion `json:"convert,omitempty"`
}

// FeatureConvert is the advert feature of a worker that converts voices
// (request field convert).
const FeatureConvert = "convert"

// Conversion is the voice conversion a request asks for: from the base
// voice's profile to a cloned voice's (see clone.NewConverter).
type Conversion struct {
	From clone.Profile `json:"from"`
	To   clone.Profile `json:"to"`
}

// encodeRequest is the payload for req, converted by conv when it is not nil.
func encodeRequest(req tts.Request, conv *Conversion) ([]byte, error) {
	b, err := json.Marshal(request{Protocol: Protocol, Voice: req.Voice, Text: req.Text, Speed: req.Speed, Convert: conv})
	if err != nil {
		// Only a NaN or infinite speed gets here.
		return nil, fmt.Errorf("%w: %w", tts.ErrBadSpeed, err)
	}
	return b, nil
}

// decodeRequest reads a request payload.
func decodeRequest(data []byte) (tts.Request, *Conversion, error) {
	var r request
	if err := json.Unmarshal(data, &r); err != nil {
		return tts.Request{}, nil, fmt.Errorf("%w: request is not JSON: %w", ErrProtocol, err)
	}
	if r.Protocol != Protocol {
		return tts.Request{}, nil, fmt.Errorf("%w: request protocol %d, this worker speaks %d", ErrProtocol, r.Protocol, Protocol)
	}
	if r.Convert != nil {
		if err := r.Convert.From.Validate(); err != nil {
			return tts.Request{}, nil, fmt.Errorf("%w: conversion from: %w", ErrProtocol, err)
		}
		if err := r.Convert.To.Validate(); err != nil {
			return tts.Request{}, nil, fmt.Errorf("%w: conversion to: %w", ErrProtocol, err)
		}
	}
	return tts.Request{Voice: r.Voice, Text: r.Text, Speed: r.Speed}, r.Convert, nil
}

// Advert is what a worker tells the pool about itself.
type Advert struct {
	// Protocol is the worker's protocol version.
	Protocol int `json:"protocol"`
	// ID names the worker; its direct subject ends with it.
	ID string `json:"id"`
	// Device is where it synthesises: "cpu" or "cuda".
	Device string `json:"device"`
	// Engines names the engines behind its voices ("piper").
	Engines []string `json:"engines"`
	// Voices are the voices it speaks.
	Voices []tts.Voice `json:"voices"`
	// Slots is how many syntheses it runs at once.
	Slots int `json:"slots"`
	// Free is how many slots were free when it advertised.
	Free int `json:"free"`
	// Load is the busy share of the slots, 0 to 1.
	Load float64 `json:"load"`
	// Version is the Timbre build the worker runs.
	Version string `json:"version"`
	// StartedAt is when the worker started.
	StartedAt time.Time `json:"started_at"`
	// AdvertiseEveryMS is the worker's advert interval in milliseconds;
	// clients forget it after three intervals without an advert.
	AdvertiseEveryMS int64 `json:"advertise_every_ms"`
	// Leaving says the worker is stopping and takes no more requests.
	Leaving bool `json:"leaving,omitempty"`
	// Features lists what the worker does beyond synthesis
	// (FeatureConvert).
	Features []string `json:"features,omitempty"`
}

// has reports whether the advert lists feature.
func (a *Advert) has(feature string) bool { return slices.Contains(a.Features, feature) }

// hasVoice reports whether the advert lists voice id.
func (a *Advert) hasVoice(id string) bool {
	for _, v := range a.Voices {
		if v.ID == id {
			return true
		}
	}
	return false
}

// Error codes of a failed reply (see the package documentation).
const (
	codeBusy         = "busy"
	codeStopping     = "stopping"
	codeUnknownVoice = "unknown_voice"
	codeNoText       = "no_text"
	codeBadSpeed     = "bad_speed"
	codeBadRequest   = "bad_request"
	codeCanceled     = "canceled"
	codeDeadline     = "deadline"
	codeEngine       = "engine"
	// codeInternal is a client-side code for an error text that is not a
	// worker error: the bus's own ("worker stopping"), or a panic's.
	codeInternal = "internal"
)

// wireError is a worker's error as it travels to the client.
type wireError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error returns the JSON the bus sends as the error marker's payload.
func (e *wireError) Error() string {
	b, err := json.Marshal(e)
	if err != nil {
		return `{"code":"` + codeInternal + `"}`
	}
	return string(b)
}

// codeOf classifies an error of the engine or of sending.
func codeOf(err error) string {
	switch {
	case errors.Is(err, tts.ErrUnknownVoice):
		return codeUnknownVoice
	case errors.Is(err, tts.ErrNoText):
		return codeNoText
	case errors.Is(err, tts.ErrBadSpeed):
		return codeBadSpeed
	case errors.Is(err, ErrProtocol):
		return codeBadRequest
	case errors.Is(err, context.Canceled):
		return codeCanceled
	case errors.Is(err, context.DeadlineExceeded):
		return codeDeadline
	default:
		return codeEngine
	}
}

// parseWireError reads a worker's error text; text that is not a worker
// error becomes codeInternal.
func parseWireError(text string) wireError {
	var e wireError
	if err := json.Unmarshal([]byte(text), &e); err != nil || e.Code == "" {
		return wireError{Code: codeInternal, Message: text}
	}
	return e
}

// remoteError is a worker's error on the client's side: its message, and
// the sentinel its code stands for.
type remoteError struct {
	code     string
	message  string
	sentinel error
}

func (e *remoteError) Error() string { return e.message }

func (e *remoteError) Unwrap() error { return e.sentinel }

// sentinelOf is the error a code stands for. canceled is the engine's
// failure: a client whose own context ended never looks at the reply, so a
// worker that cancelled did so on its own (it was shutting down).
func sentinelOf(code string) error {
	switch code {
	case codeUnknownVoice:
		return tts.ErrUnknownVoice
	case codeNoText:
		return tts.ErrNoText
	case codeBadSpeed:
		return tts.ErrBadSpeed
	case codeBadRequest:
		return ErrProtocol
	case codeDeadline:
		return context.DeadlineExceeded
	case codeBusy:
		return ErrBusy
	case codeStopping:
		return ErrNoWorkers
	default:
		return tts.ErrEngine
	}
}

// callerFault reports whether code says the request itself was wrong, so
// no worker would do better.
func callerFault(code string) bool {
	switch code {
	case codeUnknownVoice, codeNoText, codeBadSpeed, codeBadRequest:
		return true
	}
	return false
}
