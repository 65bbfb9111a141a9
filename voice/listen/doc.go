// Package listen owns the listening half of turn-taking in a voice call:
// it finds, in the user's audio as it arrives, where speech starts (the
// cue for barge-in and for starting a streaming recogniser) and where the
// user's turn ends.
//
// A Detector takes 16 kHz mono audio in pushes of any length (a WebRTC
// call gives 20 ms) and returns events: SpeechStart 50–150 ms after clean
// speech begins (about 80 ms on average), SpeechEnd once the user has been
// silent for
// Config.Silence (500 ms), or SpeechDiscarded when what started was
// shorter than Config.MinSpeech (a cough, a click). A turn that reaches
// Config.MaxTurn is ended by force. SpeechStart carries the audio from a
// pre-roll before the onset up to the end of its Push, and the caller
// forwards every later chunk: together they are the stream with nothing
// missing and nothing twice. SpeechEnd carries the whole turn.
//
// # How speech is found
//
// The model is Silero VAD v5 on sherpa-onnx (scripts/setup-vad places it;
// clone.VADModelPath says where), one instance per Detector. Silero v5
// gives a speech probability for each 512-sample (32 ms) window; the
// sherpa-onnx C API does not expose that probability, only its
// VoiceActivityDetector, which segments the stream. Its own segmentation
// is not used: it reports a segment only after its minimum silence, and
// its minimum speech delays every onset by that much (both read 0 as
// "use the default", 0.5 s and 0.25 s). Instead the detector is set to
// durations that round to zero samples and fed one window per call, so
// that after each window it says whether that window is speech, with the
// model's own hysteresis: a stretch starts at the second consecutive
// window above Config.Threshold and goes on while the probability stays
// above Threshold−0.15. Push runs the turn logic on those per-window
// decisions:
//
//   - onset at once (no minimum speech before SpeechStart: barge-in has to
//     stop the agent's audio within 200 ms), dated a window before the
//     window that confirmed it;
//   - MinSpeech counted in windows called speech, so two clicks half a
//     second apart do not add up to a turn, and checked only when the turn
//     ends, so a short first word followed by more speech is kept;
//   - the end dated at the end of the last speech window and decided
//     Silence later (rounded up to whole windows), so pauses shorter than
//     Silence stay inside the turn.
//
// sherpa-onnx is flushed after every window so that it never holds (and
// copies at every call) the speech so far; that touches only its segment
// buffer, not the model's state. A window is judged when its last sample
// arrives, so the events do not depend on how the stream is cut into
// pushes.
//
// # Cost
//
// Measured with `go test -run X -bench . ./voice/listen/` on the
// development machine (AMD EPYC, 2 cores shared with other work): one
// detector uses 0.0055 of a core (about 0.17 ms of CPU per 32 ms window,
// one ONNX Runtime thread), the same in silence as in speech, because the
// model runs on every window; it adds 8–10 MiB of resident memory, most of
// it ONNX Runtime's copy of the model; opening one takes about 80 ms. The
// VAD alone would let a core carry about 180 sessions, so memory (about
// 100 sessions a GiB) and the rest of the call bound it sooner.
//
// listen may import the standard library and sherpa-onnx; it never
// imports the API, the database or the bus: the session that owns the call
// decodes the audio and acts on the events.
package listen
