package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/timbre-ai/timbre/accounts"
	"github.com/timbre-ai/timbre/voice/asr"
	"github.com/timbre-ai/timbre/voice/audio"
	"github.com/timbre-ai/timbre/voice/codec"
	"github.com/timbre-ai/timbre/voice/rtc"
	"github.com/timbre-ai/timbre/voice/talk"
)

// maxOfferBytes bounds an SDP offer; browsers' are a few kilobytes.
const maxOfferBytes = 64 << 10

// maxTranscriptionAudio bounds /v1/audio/transcriptions: what a
// recogniser takes in one piece.
const maxTranscriptionAudio = asr.MaxAudio

type rtcSessionRequest struct {
	AgentID        *string `json:"agent_id"`
	ConversationID string  `json:"conversation_id"`
	SDP            *string `json:"sdp"`
	EmbedToken     string  `json:"embed_token"`
}

// createRTCSession answers a browser's WebRTC offer with a voice session:
// signed in (cookie or key), or with an embed token for its agent.
func (h *handlers) createRTCSession(c echo.Context) error {
	if h.talk == nil {
		return &Error{Status: http.StatusServiceUnavailable, Code: "voice_chat_unavailable",
			Message: "Voice chat is not available on this server: it has no voices or no speech recognition (see the server log)."}
	}
	var req rtcSessionRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	switch {
	case req.AgentID == nil || strings.TrimSpace(*req.AgentID) == "":
		return fieldError("agent_id", "is required")
	case req.SDP == nil || strings.TrimSpace(*req.SDP) == "":
		return fieldError("sdp", "is required: the browser's offer (RTCPeerConnection.localDescription.sdp)")
	case len(*req.SDP) > maxOfferBytes:
		return fieldError("sdp", fmt.Sprintf("is longer than %d bytes", maxOfferBytes))
	}
	open := talk.OpenRequest{AgentID: *req.AgentID, ConversationID: req.ConversationID, SDP: *req.SDP}
	ctx := c.Request().Context()
	switch id := identityOf(c); {
	case id != nil:
		open.UserID, open.UserName = id.user.ID, id.user.DisplayName
	case req.EmbedToken != "":
		user, tok, err := h.accounts.AuthenticateEmbedToken(ctx, req.EmbedToken)
		if err != nil {
			return &Error{Status: http.StatusUnauthorized, Code: "embed_token_invalid", Err: err,
				Message: "The embed token is unknown or expired; the embedding page must fetch a new one."}
		}
		if tok.AgentID != open.AgentID {
			return &Error{Status: http.StatusForbidden, Code: "embed_token_wrong_agent",
				Message: "This embed token is for another agent."}
		}
		if req.ConversationID != "" {
			return fieldError("conversation_id", "cannot be continued with an embed token; each embedded call starts a conversation")
		}
		open.UserID, open.UserName, open.EndUser = user.ID, "User", tok.EndUser
	default:
		return accounts.ErrUnauthenticated
	}
	s, err := h.talk.Open(ctx, open)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]any{"session_id": s.SessionID, "conversation_id": s.ConversationID, "sdp": s.SDP})
}

// deleteRTCSession hangs up: signed in, or with the embed token that
// opened the call in a JSON body.
func (h *handlers) deleteRTCSession(c echo.Context) error {
	if h.talk == nil {
		return talk.ErrNotFound
	}
	userID := callerID(c)
	if userID == "" {
		var req struct {
			EmbedToken string `json:"embed_token"`
		}
		if c.Request().ContentLength != 0 {
			if err := bindJSON(c, &req); err != nil {
				return err
			}
		}
		if req.EmbedToken == "" {
			return accounts.ErrUnauthenticated
		}
		user, _, err := h.accounts.AuthenticateEmbedToken(c.Request().Context(), req.EmbedToken)
		if err != nil {
			return &Error{Status: http.StatusUnauthorized, Code: "embed_token_invalid", Err: err,
				Message: "The embed token is unknown or expired."}
		}
		userID = user.ID
	}
	if err := h.talk.Hangup(c.Request().Context(), userID, c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

type embedTokenRequest struct {
	EndUser    string `json:"end_user"`
	TTLSeconds int    `json:"ttl_seconds"`
}

// createEmbedToken issues a short-lived token a page embedding the agent
// hands to its visitors' browsers.
func (h *handlers) createEmbedToken(c echo.Context) error {
	var req embedTokenRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	a, err := h.agents.Agent(ctx, callerID(c), c.Param("id"))
	if err != nil {
		return err
	}
	tok, secret, err := h.accounts.CreateEmbedToken(ctx, callerID(c), a.ID, req.EndUser, time.Duration(req.TTLSeconds)*time.Second)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]any{"token": secret, "embed_token": tok})
}

// transcriptions is OpenAI's /v1/audio/transcriptions: a recording in,
// its text out.
func (h *handlers) transcriptions(c echo.Context) error {
	if h.asr == nil {
		return &Error{Status: http.StatusServiceUnavailable, Code: "asr_unavailable",
			Message: "Speech recognition is not configured on this server."}
	}
	data, _, err := readUploadFile(c, "file")
	if err != nil {
		return err
	}
	if strings.TrimSpace(c.FormValue("model")) == "" {
		return fieldError("model", "is required (any name: this server transcribes with its configured recogniser)")
	}
	format := c.FormValue("response_format")
	switch format {
	case "":
		format = "json"
	case "json", "text", "verbose_json":
	default:
		return fieldError("response_format", "must be json, text or verbose_json")
	}
	dec, err := codec.Decode(data, codec.Limits{MaxDuration: maxTranscriptionAudio})
	if err != nil {
		if e := transcriptionAudioError(err); e != nil {
			return e
		}
		return err
	}
	mono := dec.Audio.Samples
	if dec.Audio.Channels > 1 {
		mono = audio.AppendMono(nil, dec.Audio.Samples, dec.Audio.Channels)
	}
	res, err := h.asr.Transcribe(c.Request().Context(), mono, dec.Audio.SampleRate)
	if err != nil {
		return err
	}
	switch format {
	case "text":
		return c.String(http.StatusOK, res.Text+"\n")
	case "verbose_json":
		return c.JSON(http.StatusOK, map[string]any{"task": "transcribe", "language": "english",
			"duration": res.Audio.Seconds(), "text": res.Text})
	}
	return c.JSON(http.StatusOK, map[string]string{"text": res.Text})
}

// transcriptionAudioError maps a recording that cannot be decoded.
func transcriptionAudioError(err error) *Error {
	var tooLong *codec.TooLongError
	switch {
	case errors.As(err, &tooLong) && tooLong.MaxBytes > 0 && tooLong.Size > tooLong.MaxBytes:
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Field: "file", Err: err,
			Message: fmt.Sprintf("The file is %d bytes; the limit is %d.", tooLong.Size, tooLong.MaxBytes)}
	case errors.Is(err, codec.ErrTooLong):
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: "audio_too_long", Field: "file", Err: err,
			Message: fmt.Sprintf("The recording is longer than %v; split it.", maxTranscriptionAudio)}
	case errors.Is(err, codec.ErrUnsupportedFormat), errors.Is(err, codec.ErrUnsupportedCodec):
		return &Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_audio", Field: "file", Err: err,
			Message: "This audio cannot be used: " + err.Error() + ". Send WAV, Ogg-Opus or WebM-Opus."}
	case errors.Is(err, codec.ErrCorrupt), errors.Is(err, codec.ErrEmpty):
		return &Error{Status: http.StatusUnprocessableEntity, Code: "unreadable_audio", Field: "file", Err: err,
			Message: "The recording could not be read: " + err.Error() + "."}
	}
	return nil
}

// talkError maps the voice session and recognition errors; nil for others.
func talkError(err error) *Error {
	switch {
	case errors.Is(err, talk.ErrTooManySessions):
		return &Error{Status: http.StatusTooManyRequests, Code: "too_many_voice_sessions", Err: err, RetryAfter: 5,
			Message: "You have as many voice calls open as allowed; hang up one first."}
	case errors.Is(err, talk.ErrFull):
		return &Error{Status: http.StatusServiceUnavailable, Code: "voice_sessions_full", Err: err, RetryAfter: 10,
			Message: "This server is holding as many voice calls as it can; try again shortly."}
	case errors.Is(err, talk.ErrClosed):
		return &Error{Status: http.StatusServiceUnavailable, Code: "shutting_down", Err: err, Message: "The server is shutting down."}
	case errors.Is(err, talk.ErrNoVoice):
		return &Error{Status: http.StatusUnprocessableEntity, Code: "agent_has_no_voice", Err: err,
			Message: "This agent has no voice and the server has none to lend."}
	case errors.Is(err, talk.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: "voice_session_not_found", Err: err, Message: "No open voice call has this id."}
	case errors.Is(err, talk.ErrWrongAgent):
		return &Error{Status: http.StatusUnprocessableEntity, Code: "invalid_request", Field: "conversation_id", Err: err,
			Message: "conversation_id is a conversation with another agent"}
	case errors.Is(err, rtc.ErrBadOffer), errors.Is(err, rtc.ErrNoAudio), errors.Is(err, rtc.ErrNoOpus):
		return &Error{Status: http.StatusBadRequest, Code: "invalid_offer", Field: "sdp", Err: err,
			Message: "The SDP offer cannot be answered: " + err.Error()}
	case errors.Is(err, asr.ErrUnavailable), errors.Is(err, asr.ErrBusy):
		return &Error{Status: http.StatusServiceUnavailable, Code: "asr_unavailable", Err: err, RetryAfter: 2,
			Message: "Speech recognition is unavailable right now; try again."}
	case errors.Is(err, asr.ErrBadAudio):
		return &Error{Status: http.StatusUnprocessableEntity, Code: "unreadable_audio", Field: "file", Err: err,
			Message: "The audio cannot be transcribed: " + err.Error()}
	}
	return nil
}
