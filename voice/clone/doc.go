// Package clone owns voice cloning without a neural cloning model: it
// checks a creator's recording, measures the voice in it, and converts a
// built-in voice toward it as a stream.
//
//   - VAD finds speech with Silero VAD v5 on sherpa-onnx
//     (scripts/setup-vad places the model).
//   - Analyze trims a 3–30 s recording to its speech, normalises it,
//     rejects what cannot be cloned from (a *RejectError with a stable
//     code: too_short, too_long, clipping, too_noisy, not_speech) and
//     measures its Profile.
//   - A Profile holds the voice's pitch statistics (YIN), formants (LPC),
//     long-term harmonic envelope (40 mel bands) and mean MFCCs; Vector
//     turns it into 64 numbers for a pgvector cosine search.
//   - Nearest picks the built-in voice to start from, and a Converter
//     turns that voice's speech, chunk by chunk as the TTS delivers it,
//     toward the profile: pitch (from the input's own running median to
//     the profile's), spread, formants (unless they would move against the
//     pitch) and spectral balance.
//   - F0MedianDistance and MFCCDistance measure how close a conversion came.
//
// Everything runs on the CPU; a 30 s recording is analysed in well under a
// second and conversion runs at about a hundredth of real time.
//
// clone may import the standard library, sherpa-onnx and voice/audio; it
// never imports the API, the database or the bus: callers decode uploads,
// store profiles and move audio.
package clone
