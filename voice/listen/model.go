package listen

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
)

// checkModel reports, wrapping ErrNoModel, whether the file at path is not
// a whole ONNX model with Silero VAD v5's state output. sherpa-onnx ends
// the process on a file ONNX Runtime cannot parse, so a wrong, truncated or
// empty file has to be caught before it gets one.
func checkModel(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%w: %s does not exist", ErrNoModel, path)
		}
		return fmt.Errorf("%w: %w", ErrNoModel, err)
	}
	graph, err := protoFields(data)
	if err != nil {
		return fmt.Errorf("%w: %s is not an ONNX model: %w", ErrNoModel, path, err)
	}
	if !graph {
		return fmt.Errorf("%w: %s is not an ONNX model: no graph", ErrNoModel, path)
	}
	// v5 names its recurrent state "state" in and "stateN" out; v4 has
	// "h"/"c" and "hn"/"cn".
	if !bytes.Contains(data, []byte("stateN")) {
		return fmt.Errorf("%w: %s is not a Silero VAD v5 model", ErrNoModel, path)
	}
	return nil
}

// protoFields walks the top-level fields of a protobuf message that must
// fill data exactly and says whether it has field 7 (ModelProto.graph)
// as a message.
func protoFields(data []byte) (graph bool, err error) {
	if len(data) == 0 {
		return false, errors.New("empty file")
	}
	for len(data) > 0 {
		key, n := binary.Uvarint(data)
		if n <= 0 {
			return false, errors.New("bad field key")
		}
		data = data[n:]
		field, wire := key>>3, key&7
		switch wire {
		case 0:
			if _, n = binary.Uvarint(data); n <= 0 {
				return false, errors.New("bad varint")
			}
			data = data[n:]
		case 1, 5:
			size := 8
			if wire == 5 {
				size = 4
			}
			if len(data) < size {
				return false, errors.New("truncated")
			}
			data = data[size:]
		case 2:
			size, n := binary.Uvarint(data)
			if n <= 0 || size > uint64(len(data)-n) {
				return false, errors.New("truncated")
			}
			data = data[n+int(size):]
			graph = graph || field == 7
		default:
			return false, fmt.Errorf("wire type %d", wire)
		}
		if field == 0 {
			return false, errors.New("field 0")
		}
	}
	return graph, nil
}
