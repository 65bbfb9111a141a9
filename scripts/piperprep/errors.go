package main

import "errors"

// Errors of preparing a voice. Each is wrapped with the voice and the file
// it concerns.
var (
	// errNotONNX is a model file that does not parse as an ONNX ModelProto.
	errNotONNX = errors.New("not an ONNX model")
	// errBadConfig is a Piper voice config that sherpa-onnx cannot use.
	errBadConfig = errors.New("unusable Piper config")
	// errBadToken is a phoneme_id_map symbol that tokens.txt cannot hold.
	errBadToken = errors.New("symbol tokens.txt cannot hold")
	// errNoEspeakData is an espeak-ng data directory that cannot be found.
	errNoEspeakData = errors.New("espeak-ng data not found")
	// errMissingFile is a file the voice's tarball or asset lacks.
	errMissingFile = errors.New("missing from the voice asset")
	// errUnknownVoice is a voice name piperprep does not ship.
	errUnknownVoice = errors.New("unknown voice")
)
