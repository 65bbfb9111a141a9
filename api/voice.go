package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/timbre-ai/timbre/agents"
	"github.com/timbre-ai/timbre/voice"
	"github.com/timbre-ai/timbre/voice/audio"
	"github.com/timbre-ai/timbre/voice/clone"
	"github.com/timbre-ai/timbre/voice/codec"
	"github.com/timbre-ai/timbre/voice/tts"
	"github.com/timbre-ai/timbre/voice/worker"
)

// listVoices answers the catalog: the built-in voices, and the caller's
// cloned voices when signed in.
func (h *handlers) listVoices(c echo.Context) error {
	items, err := h.voice.Catalog(c.Request().Context(), callerID(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items})
}

// voiceNotFound is the 404 of a voice path.
func voiceNotFound(err error) error {
	if errors.Is(err, tts.ErrUnknownVoice) || errors.Is(err, voice.ErrNotFound) {
		return &Error{Status: http.StatusNotFound, Code: "voice_not_found", Message: "No voice with this id exists, or it is not yours.", Err: err}
	}
	return err
}

func (h *handlers) previewVoice(c echo.Context) error {
	wav, err := h.voice.Preview(c.Request().Context(), callerID(c), c.Param("id"), c.QueryParam("text"))
	if err != nil {
		return voiceNotFound(err)
	}
	c.Response().Header().Set("Cache-Control", "private, max-age=3600")
	return c.Blob(http.StatusOK, "audio/wav", wav)
}

// cloneVoice answers POST /api/voices: a recording (multipart audio), a
// name and consent=true make a cloned voice.
func (h *handlers) cloneVoice(c echo.Context) error {
	data, _, err := readUploadFile(c, "audio")
	if err != nil {
		return err
	}
	// Anything but a true value is no consent: the service refuses it.
	consent, _ := strconv.ParseBool(c.FormValue("consent"))
	v, err := h.voice.Clone(c.Request().Context(), voice.CloneRequest{
		OwnerID: callerID(c), Name: c.FormValue("name"), Language: c.FormValue("language"),
		Consent: consent, IP: c.RealIP(), Audio: data,
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]any{"voice": v})
}

func (h *handlers) deleteVoice(c echo.Context) error {
	if err := h.voice.DeleteClone(c.Request().Context(), callerID(c), c.Param("id")); err != nil {
		return voiceNotFound(err)
	}
	return c.NoContent(http.StatusNoContent)
}

func (h *handlers) voiceClip(c echo.Context) error {
	wav, err := h.voice.Clip(c.Request().Context(), callerID(c), c.Param("id"))
	if err != nil {
		return voiceNotFound(err)
	}
	c.Response().Header().Set("Cache-Control", "private, no-cache")
	return c.Blob(http.StatusOK, "audio/wav", wav)
}

func (h *handlers) similarVoices(c echo.Context) error {
	items, err := h.voice.Similar(c.Request().Context(), callerID(c), c.Param("id"), 10)
	if err != nil {
		return voiceNotFound(err)
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items})
}

// speechRate is the sample rate of OpenAI's wav and pcm speech.
const speechRate = 24000

// speechRequest is OpenAI's POST /v1/audio/speech body, with Timbre's
// sample_rate.
type speechRequest struct {
	Model          string   `json:"model"`
	Input          *string  `json:"input"`
	Voice          string   `json:"voice"`
	ResponseFormat string   `json:"response_format"`
	Speed          *float64 `json:"speed"`
	SampleRate     *int     `json:"sample_rate"`
	Instructions   string   `json:"instructions"`
}

// speech answers POST /v1/audio/speech: the audio streams as each sentence
// is synthesised, as WAV (16-bit mono, streaming sizes in the header) or raw
// 16-bit little-endian PCM, at 24 kHz unless sample_rate says otherwise.
// voice is a catalog id; when it is empty and model names an agent with a
// voice, the agent's voice speaks.
func (h *handlers) speech(c echo.Context) error {
	body, err := readJSON(c)
	if err != nil {
		return err
	}
	var req speechRequest
	if err := json.Unmarshal(body, &req); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fieldError(te.Field, "has the wrong type (expected "+te.Type.String()+")")
		}
		return fieldError("body", "is not valid: "+err.Error())
	}
	if req.Input == nil {
		return fieldError("input", "is required")
	}
	format := req.ResponseFormat
	switch format {
	case "":
		format = "wav"
	case "wav", "pcm", "opus":
	case "mp3", "aac", "flac":
		return fieldError("response_format", "'"+format+"' is not available: use wav, pcm or opus")
	default:
		return fieldError("response_format", "must be wav, pcm or opus")
	}
	sp := voice.Speech{Voice: req.Voice, Owner: callerID(c), Text: *req.Input, SampleRate: speechRate}
	if req.SampleRate != nil {
		sp.SampleRate = *req.SampleRate
	}
	if req.Speed != nil {
		if *req.Speed < 0.25 || *req.Speed > 4 {
			return fieldError("speed", "must be from 0.25 to 4")
		}
		sp.Speed = *req.Speed
	}
	if sp.Voice == "" && req.Model != "" {
		a, err := h.agents.Resolve(c.Request().Context(), callerID(c), req.Model)
		if err == nil {
			sp.Voice, sp.Owner = a.VoiceID, a.OwnerID
		} else if !errors.Is(err, agents.ErrNotFound) {
			return err
		}
	}
	if sp.Voice == "" {
		return fieldError("voice", "is required: a voice id from GET /api/voices (or name an agent with a voice as the model)")
	}

	return h.streamSpeech(c, sp, format)
}

// streamSpeech answers with sp's audio as it is synthesised: WAV (16-bit
// mono, streaming sizes in the header), raw 16-bit little-endian PCM, or
// Ogg-Opus (a page flushed after each sentence). Errors before the first
// audio are HTTP errors; after it, a cut stream.
func (h *handlers) streamSpeech(c echo.Context, sp voice.Speech, format string) error {
	w := c.Response()
	var enc speechEncoder
	err := h.voice.Speak(c.Request().Context(), sp, func(f audio.Frame) error {
		if enc == nil {
			var err error
			if enc, err = newSpeechEncoder(w, format, f.Format); err != nil {
				return err
			}
		}
		if err := enc.write(f.Samples); err != nil {
			return err
		}
		w.Flush()
		return nil
	})
	if err == nil && enc != nil {
		err = enc.close()
	}
	if err != nil && enc == nil {
		return err
	}
	if err != nil {
		// The status is sent: a cut stream is all that is left to say.
		h.logger.Warn("speech stream failed", "request_id", w.Header().Get(echo.HeaderXRequestID), "error", err)
	}
	return nil
}

// speechEncoder writes streamed speech in one response format.
type speechEncoder interface {
	write(samples []float32) error
	close() error
}

// newSpeechEncoder sends the response header for format and returns the
// encoder of the body.
func newSpeechEncoder(w *echo.Response, format string, f audio.Format) (speechEncoder, error) {
	w.Header().Set("Cache-Control", "no-store")
	switch format {
	case "wav":
		w.Header().Set(echo.HeaderContentType, "audio/wav")
		w.WriteHeader(http.StatusOK)
		wav, err := audio.NewWAVWriter(w, f, audio.UnknownLength)
		if err != nil {
			return nil, err
		}
		return wavSpeech{wav}, nil
	case "opus":
		w.Header().Set(echo.HeaderContentType, "audio/ogg; codecs=opus")
		w.WriteHeader(http.StatusOK)
		ogg, err := codec.NewOggOpusWriter(w, f.SampleRate, codec.OggOpusOptions{})
		if err != nil {
			return nil, err
		}
		return oggSpeech{ogg}, nil
	default:
		w.Header().Set(echo.HeaderContentType, "audio/pcm;rate="+strconv.Itoa(f.SampleRate)+";encoding=signed-int;bits=16;channels=1")
		w.WriteHeader(http.StatusOK)
		return &pcmSpeech{w: w}, nil
	}
}

type wavSpeech struct{ w *audio.WAVWriter }

func (s wavSpeech) write(samples []float32) error {
	_, err := s.w.WriteSamples(samples)
	return err
}

// close leaves the streaming sizes in the header: the body is already sent.
func (s wavSpeech) close() error { return nil }

type oggSpeech struct{ w *codec.OggOpusWriter }

// write encodes samples and sends the complete pages, so the listener hears
// each sentence as it is ready.
func (s oggSpeech) write(samples []float32) error {
	if err := s.w.Write(samples); err != nil {
		return err
	}
	return s.w.Flush()
}

func (s oggSpeech) close() error { return s.w.Close() }

type pcmSpeech struct {
	w   io.Writer
	buf []byte
}

func (s *pcmSpeech) write(samples []float32) error {
	s.buf, _ = audio.AppendPCM16(s.buf[:0], samples)
	_, err := s.w.Write(s.buf)
	return err
}

func (s *pcmSpeech) close() error { return nil }

// messageSpeech reads one message of a conversation aloud in the agent's
// voice, as streaming WAV.
func (h *handlers) messageSpeech(c echo.Context) error {
	ctx := c.Request().Context()
	m, conv, err := h.chat.Message(ctx, callerID(c), c.Param("id"), c.Param("message_id"))
	if err != nil {
		return err
	}
	a, err := h.agents.Agent(ctx, callerID(c), conv.AgentID)
	if err != nil {
		return err
	}
	if a.VoiceID == "" {
		return &Error{Status: http.StatusUnprocessableEntity, Code: "agent_has_no_voice",
			Message: "This agent has no voice; its owner can choose one in the agent editor."}
	}
	err = h.streamSpeech(c, voice.Speech{Voice: a.VoiceID, Owner: a.OwnerID, Text: m.Content, SampleRate: speechRate}, "wav")
	if errors.Is(err, tts.ErrUnknownVoice) {
		return &Error{Status: http.StatusUnprocessableEntity, Code: "agent_voice_unavailable", Err: err,
			Message: "This agent's voice is no longer available (a cloned voice deleted, or a voice this server lacks); its owner can choose another in the agent editor."}
	}
	return err
}

// voiceError maps the voice domain's errors; nil for others.
func voiceError(err error) *Error {
	var in *voice.InputError
	var rejected *clone.RejectError
	var tooLong *codec.TooLongError
	switch {
	case errors.As(err, &rejected):
		return &Error{Status: http.StatusUnprocessableEntity, Code: "clip_rejected", Reason: rejected.Code, Field: "audio",
			Message: rejected.Message, Err: err}
	case errors.As(err, &tooLong) && tooLong.MaxBytes > 0 && tooLong.Size > tooLong.MaxBytes:
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Field: "audio", Err: err,
			Message: fmt.Sprintf("The recording is %d bytes; the limit is %d. Send at most 30 seconds.", tooLong.Size, tooLong.MaxBytes)}
	case errors.Is(err, codec.ErrTooLong):
		return &Error{Status: http.StatusUnprocessableEntity, Code: "clip_rejected", Reason: clone.RejectTooLong, Field: "audio", Err: err,
			Message: "The recording is longer than 30 seconds (" + err.Error() + "). Record 3 to 30 seconds of speech."}
	case errors.Is(err, codec.ErrUnsupportedFormat), errors.Is(err, codec.ErrUnsupportedCodec):
		return &Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_audio", Field: "audio", Err: err,
			Message: "This audio cannot be used: " + err.Error() + ". Send WAV, Ogg-Opus or WebM-Opus."}
	case errors.Is(err, codec.ErrCorrupt), errors.Is(err, codec.ErrEmpty):
		return &Error{Status: http.StatusUnprocessableEntity, Code: "unreadable_audio", Field: "audio", Err: err,
			Message: "The recording could not be read: " + err.Error() + "."}
	case errors.Is(err, voice.ErrConsentRequired):
		return &Error{Status: http.StatusUnprocessableEntity, Code: "consent_required", Field: "consent", Err: err,
			Message: "Cloning a voice needs consent=true: " + voice.ConsentText}
	case errors.Is(err, voice.ErrCloningUnavailable):
		return &Error{Status: http.StatusServiceUnavailable, Code: "cloning_unavailable", Err: err,
			Message: "Voice cloning is not available on this server; its operator must run `make setup`."}
	case errors.Is(err, voice.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: "voice_not_found", Err: err, Message: "No voice with this id exists, or it is not yours."}
	case errors.As(err, &in):
		e := fieldError(in.Field, in.Message)
		e.Err = err
		return e
	case errors.Is(err, tts.ErrNoText):
		return &Error{Status: http.StatusBadRequest, Code: "nothing_to_say", Field: "input", Err: err,
			Message: "The text has nothing speakable in it (only symbols, emoji or markup)."}
	case errors.Is(err, tts.ErrBadSpeed):
		return &Error{Status: http.StatusBadRequest, Code: "invalid_request", Field: "speed", Message: "speed must be from 0.25 to 4", Err: err}
	case errors.Is(err, tts.ErrUnknownVoice):
		return &Error{Status: http.StatusBadRequest, Code: "invalid_request", Field: "voice", Err: err,
			Message: "voice is not a voice of this server (GET /api/voices lists them)"}
	case errors.Is(err, worker.ErrBusy):
		return &Error{Status: http.StatusServiceUnavailable, Code: "voice_workers_busy", RetryAfter: 2, Err: err,
			Message: "Every voice worker is busy; try again in a moment."}
	case errors.Is(err, worker.ErrNoWorkers):
		return &Error{Status: http.StatusServiceUnavailable, Code: "voice_workers_unavailable", RetryAfter: 5, Err: err,
			Message: "No voice worker is running; its operator must start one (`timbre worker`) or let serve run its own."}
	case errors.Is(err, voice.ErrNoVoices):
		return &Error{Status: http.StatusServiceUnavailable, Code: "voices_unavailable", Err: err,
			Message: "This server has no voices installed; its operator must run `make setup`."}
	}
	return nil
}
