package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/timbre-ai/timbre/agents"
	"github.com/timbre-ai/timbre/agents/chat"
	"github.com/timbre-ai/timbre/voice"
	"github.com/timbre-ai/timbre/voice/asr"
	"github.com/timbre-ai/timbre/voice/clone"
	"github.com/timbre-ai/timbre/voice/rtc"
	"github.com/timbre-ai/timbre/voice/talk"
)

// closingRecognizer is a recogniser that frees its models.
type closingRecognizer interface {
	asr.Recognizer
	Close() error
}

// openVoiceChat opens speech recognition and the voice-call manager. A
// server without a recogniser or without the voice activity model serves
// everything else: voice calls and transcriptions answer 503 and the log
// says how to fix it. Bad ICE settings are an error.
func openVoiceChat(cfg config, voiceSvc *voice.Service, agentsSvc *agents.Service, chatSvc *chat.Service,
	reg prometheus.Registerer, logger *slog.Logger) (closingRecognizer, *talk.Manager, error) {
	ice, err := rtc.ParseICEServers(cfg.ICEServers)
	if err != nil {
		return nil, nil, fmt.Errorf("TIMBRE_ICE_SERVERS: %w", err)
	}
	if cfg.ASRProvider == "none" {
		logger.Info("speech recognition is off (TIMBRE_ASR_PROVIDER=none): no voice calls, no transcriptions")
		return nil, nil, nil
	}
	rec, err := asr.Open(asr.Config{Provider: cfg.ASRProvider, ModelDir: cfg.ASRModelDir, BaseURL: cfg.ASRBaseURL,
		APIKey: cfg.ASRAPIKey, Model: cfg.ASRModel, Decoders: cfg.ASRDecoders}, logger.With("component", "asr"))
	if err != nil {
		logger.Warn("speech recognition is unavailable: no voice calls, no transcriptions", "error", err, "how_to_fix", "make setup")
		return nil, nil, nil
	}
	closer, _ := rec.(closingRecognizer)
	if closer == nil {
		closer = noClose{rec}
	}
	vadModel := clone.VADModelPath(cfg.DataDir)
	if _, err := os.Stat(vadModel); err != nil {
		logger.Warn("voice calls are unavailable: the voice activity model is missing", "error", err, "how_to_fix", "make setup")
		return closer, nil, nil
	}
	transport, err := rtc.NewTransport(rtc.Config{ICEServers: ice, UDPPortMin: cfg.RTCPorts[0], UDPPortMax: cfg.RTCPorts[1],
		NAT1To1IPs: cfg.RTCPublicIPs, Logger: logger.With("component", "rtc")})
	if err != nil {
		return nil, nil, fmt.Errorf("webrtc: %w", err)
	}
	defaultVoice := ""
	if vs := voiceSvc.Voices(); len(vs) > 0 {
		defaultVoice = vs[0].ID
	}
	mgr := talk.NewManager(talk.Params{Transport: transport, Agents: agentsSvc, Chat: chatSvc, Voice: voiceSvc, ASR: rec,
		VADModel: vadModel, Metrics: talk.NewMetrics(reg), Logger: logger.With("component", "talk"),
		Config: talk.Config{Silence: cfg.TurnSilence, MinSpeech: cfg.TurnMinSpeech, Backchannels: cfg.Backchannels,
			IdleTimeout: cfg.RTCIdleTimeout, MaxPerUser: cfg.RTCMaxPerUser, MaxSessions: cfg.RTCMaxSessions, DefaultVoice: defaultVoice}})
	logger.Info("voice calls ready", "asr", rec.Name(), "ice_servers", len(ice), "default_voice", defaultVoice)
	return closer, mgr, nil
}

type noClose struct{ asr.Recognizer }

func (noClose) Close() error { return nil }
