// Package asr turns speech into text for Timbre's voice chat. It owns the
// Recognizer interface and its providers:
//
//   - pocketsphinx: Debian's pocketsphinx and its US English model through
//     cgo, in process, with streaming (partial transcripts while the user
//     speaks). Weak accuracy, no downloads: the default. Its model is
//     wideband: audio below 16 kHz (8 kHz telephone audio) is taken but
//     recognised poorly.
//   - sherpa-onnx: an offline sherpa-onnx model (Whisper, Zipformer
//     transducer, Paraformer, SenseVoice, Moonshine) an operator puts in a
//     folder with a manifest.json naming its files.
//   - openai: any server speaking OpenAI's /v1/audio/transcriptions
//     (OpenAI itself, faster-whisper-server, LocalAI, whisper.cpp's server).
//
// Audio comes in as mono float32 samples in [-1, 1] at 8–48 kHz; the
// providers resample it to the 16 kHz their models take.
//
// asr may import the standard library, sherpa-onnx and voice/audio; it
// never imports api, the database or the bus. Its test helper asrtest is a
// fake transcription server speaking OpenAI's wire format.
package asr
