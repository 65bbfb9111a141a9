package main

import (
	"encoding/binary"
	"fmt"
)

// metadataProp is one entry of an ONNX ModelProto's metadata_props, the
// key/value pairs ONNX Runtime hands back as the model's custom metadata
// and sherpa-onnx reads to decide how to run a model.
type metadataProp struct {
	Key   string
	Value string
}

// The protobuf numbers this file reads and writes (onnx.proto).
const (
	modelFieldIRVersion = 1  // ModelProto.ir_version, int64
	modelFieldGraph     = 7  // ModelProto.graph, GraphProto
	modelFieldMetadata  = 14 // ModelProto.metadata_props, repeated StringStringEntryProto
	entryFieldKey       = 1  // StringStringEntryProto.key
	entryFieldValue     = 2  // StringStringEntryProto.value
)

// Protobuf wire types.
const (
	wireVarint = 0
	wireI64    = 1
	wireLen    = 2
	wireI32    = 5
)

// protoField is one field of a serialized protobuf message: its number and
// wire type, where it lies in the message (tag included) and, for a
// length-delimited field, its payload.
type protoField struct {
	num        int
	wire       int
	start, end int
	payload    []byte
}

// setMetadata returns a copy of the ModelProto model whose metadata_props
// hold props. Entries already there with one of props' keys are dropped,
// because ONNX Runtime keeps a single value per key and which duplicate
// would win is not something to rely on; the new entries are appended at the
// end of the message, which protobuf parsers merge into the repeated field
// like entries written in place. Nothing else in the model changes.
func setMetadata(model []byte, props []metadataProp) ([]byte, error) {
	replaced := map[string]bool{}
	for _, p := range props {
		replaced[p.Key] = true
	}
	var drop [][2]int
	var sawIR, sawGraph bool
	err := scanFields(model, func(f protoField) error {
		switch {
		case f.num == modelFieldIRVersion && f.wire == wireVarint:
			sawIR = true
		case f.num == modelFieldGraph && f.wire == wireLen:
			sawGraph = true
		case f.num == modelFieldMetadata && f.wire == wireLen:
			p, err := decodeEntry(f.payload)
			if err != nil {
				return err
			}
			if replaced[p.Key] {
				drop = append(drop, [2]int{f.start, f.end})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !sawIR || !sawGraph {
		return nil, fmt.Errorf("%w: no ir_version or graph field", errNotONNX)
	}

	var tail []byte
	for _, p := range props {
		tail = appendEntry(tail, p)
	}
	out := make([]byte, 0, len(model)+len(tail))
	at := 0
	for _, d := range drop {
		out = append(out, model[at:d[0]]...)
		at = d[1]
	}
	out = append(out, model[at:]...)
	return append(out, tail...), nil
}

// readMetadata returns the metadata_props of the ModelProto model, in the
// order they appear.
func readMetadata(model []byte) ([]metadataProp, error) {
	var props []metadataProp
	err := scanFields(model, func(f protoField) error {
		if f.num != modelFieldMetadata || f.wire != wireLen {
			return nil
		}
		p, err := decodeEntry(f.payload)
		if err != nil {
			return err
		}
		props = append(props, p)
		return nil
	})
	return props, err
}

// metadataValue returns the value of the last entry with key in props,
// the one a protobuf map would keep.
func metadataValue(props []metadataProp, key string) (string, bool) {
	for j := len(props) - 1; j >= 0; j-- {
		if props[j].Key == key {
			return props[j].Value, true
		}
	}
	return "", false
}

// scanFields calls fn with each top-level field of the serialized message
// msg, in order, and fails unless the fields exactly cover msg. Nested
// messages are not descended into, so a 60 MB model is walked in a handful
// of steps.
func scanFields(msg []byte, fn func(protoField) error) error {
	for at := 0; at < len(msg); {
		start := at
		tag, n := binary.Uvarint(msg[at:])
		if n <= 0 {
			return fmt.Errorf("%w: bad field tag at byte %d", errNotONNX, at)
		}
		at += n
		f := protoField{num: int(tag >> 3), wire: int(tag & 7), start: start}
		if f.num == 0 || tag>>3 > 1<<29-1 {
			return fmt.Errorf("%w: field number %d at byte %d", errNotONNX, tag>>3, start)
		}
		switch f.wire {
		case wireVarint:
			_, n := binary.Uvarint(msg[at:])
			if n <= 0 {
				return fmt.Errorf("%w: bad varint in field %d at byte %d", errNotONNX, f.num, start)
			}
			at += n
		case wireI64:
			at += 8
		case wireI32:
			at += 4
		case wireLen:
			size, n := binary.Uvarint(msg[at:])
			if n <= 0 || size > uint64(len(msg)-at-n) {
				return fmt.Errorf("%w: field %d at byte %d overruns the message", errNotONNX, f.num, start)
			}
			at += n
			f.payload = msg[at : at+int(size)]
			at += int(size)
		default:
			// Groups (3, 4) are not used by onnx.proto; 6 and 7 do not exist.
			return fmt.Errorf("%w: wire type %d in field %d at byte %d", errNotONNX, f.wire, f.num, start)
		}
		if at > len(msg) {
			return fmt.Errorf("%w: field %d at byte %d overruns the message", errNotONNX, f.num, start)
		}
		f.end = at
		if err := fn(f); err != nil {
			return err
		}
	}
	return nil
}

// decodeEntry decodes a StringStringEntryProto.
func decodeEntry(b []byte) (metadataProp, error) {
	var p metadataProp
	err := scanFields(b, func(f protoField) error {
		switch {
		case f.num == entryFieldKey && f.wire == wireLen:
			p.Key = string(f.payload)
		case f.num == entryFieldValue && f.wire == wireLen:
			p.Value = string(f.payload)
		}
		return nil
	})
	if err != nil {
		return metadataProp{}, fmt.Errorf("metadata_props entry: %w", err)
	}
	return p, nil
}

// appendEntry appends p to b as a ModelProto.metadata_props field.
func appendEntry(b []byte, p metadataProp) []byte {
	var entry []byte
	entry = appendLenField(entry, entryFieldKey, []byte(p.Key))
	entry = appendLenField(entry, entryFieldValue, []byte(p.Value))
	return appendLenField(b, modelFieldMetadata, entry)
}

// appendLenField appends a length-delimited field: tag, length, payload.
func appendLenField(b []byte, num int, payload []byte) []byte {
	b = appendVarint(b, uint64(num)<<3|wireLen)
	b = appendVarint(b, uint64(len(payload)))
	return append(b, payload...)
}

// appendVarint appends v as a protobuf base-128 varint: seven bits a byte,
// least significant first, the high bit set on every byte but the last.
func appendVarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}
