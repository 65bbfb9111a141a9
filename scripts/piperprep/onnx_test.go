package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// tinyModel is a hand-encoded ModelProto: ir_version 8, producer_name "t",
// and a graph whose payload the scanner never looks into.
var tinyModel = []byte{
	0x08, 0x08, // field 1 varint: ir_version = 8
	0x12, 0x01, 't', // field 2 LEN: producer_name = "t"
	0x3a, 0x03, 0x0a, 0x01, 'g', // field 7 LEN: graph { name = "g" }
}

// decodeTail is the tests' own decoder of metadata_props entries, written
// apart from scanFields so that a symmetric mistake in the encoder and the
// production decoder cannot pass: it reads tail as a run of field-14
// entries and nothing else.
func decodeTail(t *testing.T, tail []byte) []metadataProp {
	t.Helper()
	varint := func(b []byte, at *int) int {
		v, shift := 0, 0
		for {
			if *at >= len(b) {
				t.Fatalf("varint runs past the end at byte %d", *at)
			}
			c := b[*at]
			*at++
			v |= int(c&0x7f) << shift
			if c < 0x80 {
				return v
			}
			shift += 7
		}
	}
	str := func(b []byte, at *int, wantTag int) string {
		if tag := varint(b, at); tag != wantTag {
			t.Fatalf("tag %#x at byte %d, want %#x", tag, *at, wantTag)
		}
		n := varint(b, at)
		s := string(b[*at : *at+n])
		*at += n
		return s
	}
	var props []metadataProp
	for at := 0; at < len(tail); {
		entry := []byte(str(tail, &at, 14<<3|2))
		e := 0
		p := metadataProp{Key: str(entry, &e, 1<<3|2), Value: str(entry, &e, 2<<3|2)}
		if e != len(entry) {
			t.Fatalf("entry %q has %d bytes after its value", p.Key, len(entry)-e)
		}
		props = append(props, p)
	}
	return props
}

func TestSetMetadataHandEncoded(t *testing.T) {
	t.Parallel()
	got, err := setMetadata(tinyModel, []metadataProp{{"a", "b"}, {"comment", "piper"}})
	if err != nil {
		t.Fatal(err)
	}
	want := append(bytes.Clone(tinyModel),
		0x72, 0x06, 0x0a, 0x01, 'a', 0x12, 0x01, 'b', // field 14 { key "a", value "b" }
		0x72, 0x10, 0x0a, 0x07, 'c', 'o', 'm', 'm', 'e', 'n', 't', 0x12, 0x05, 'p', 'i', 'p', 'e', 'r',
	)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("setMetadata bytes (-want +got):\n%s", diff)
	}
}

func TestSetMetadataRoundTrip(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 300) // a length that takes a two-byte varint
	tests := []struct {
		name  string
		props []metadataProp
	}{
		{"sherpa piper set", []metadataProp{
			{"model_type", "vits"}, {"comment", "piper"}, {"language", "English"}, {"voice", "en-gb-x-rp"},
			{"has_espeak", "1"}, {"n_speakers", "1"}, {"sample_rate", "22050"},
		}},
		{"empty value", []metadataProp{{"punctuation", ""}}},
		{"unicode", []metadataProp{{"voice", "ɐ̃ ʃ ˈ"}}},
		{"long value", []metadataProp{{"doc", long}, {"after", "long"}}},
		{"entry longer than 127 bytes", []metadataProp{{long[:120], long[:10]}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := setMetadata(tinyModel, tt.props)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(got, tinyModel) {
				t.Fatalf("the model's own bytes changed: % x", got[:len(tinyModel)])
			}
			if diff := cmp.Diff(tt.props, decodeTail(t, got[len(tinyModel):])); diff != "" {
				t.Errorf("appended entries (-want +got):\n%s", diff)
			}
			back, err := readMetadata(got)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.props, back); diff != "" {
				t.Errorf("readMetadata (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSetMetadataReplacesSameKeys(t *testing.T) {
	t.Parallel()
	model := appendEntry(appendEntry(bytes.Clone(tinyModel), metadataProp{"comment", "old"}), metadataProp{"author", "x"})
	model = append(model, 0x28, 0x02) // field 5 varint after the entries: model_version = 2
	got, err := setMetadata(model, []metadataProp{{"comment", "piper"}})
	if err != nil {
		t.Fatal(err)
	}
	back, err := readMetadata(got)
	if err != nil {
		t.Fatal(err)
	}
	want := []metadataProp{{"author", "x"}, {"comment", "piper"}}
	if diff := cmp.Diff(want, back); diff != "" {
		t.Errorf("metadata after replacing (-want +got):\n%s", diff)
	}
	var fields []int
	if err := scanFields(got, func(f protoField) error { fields = append(fields, f.num); return nil }); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int{1, 2, 7, 14, 5, 14}, fields); diff != "" {
		t.Errorf("field order (-want +got):\n%s", diff)
	}
}

func TestSetMetadataRefusesNonONNX(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		model []byte
	}{
		{"empty", nil},
		{"no graph", []byte{0x08, 0x08}},
		{"no ir_version", []byte{0x3a, 0x00}},
		{"truncated length", append(bytes.Clone(tinyModel), 0x3a, 0x05, 0x00)},
		{"truncated varint", []byte{0x08, 0x80}},
		{"group wire type", append(bytes.Clone(tinyModel), 0x0b)},
		{"field number 0", append(bytes.Clone(tinyModel), 0x02, 0x00)},
		{"truncated fixed64", append(bytes.Clone(tinyModel), 0x09, 0x01)},
		{"text", []byte("not a model at all")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := setMetadata(tt.model, []metadataProp{{"a", "b"}})
			if !errors.Is(err, errNotONNX) {
				t.Errorf("setMetadata error = %v, want errNotONNX", err)
			}
		})
	}
}

func TestAppendVarint(t *testing.T) {
	t.Parallel()
	tests := []struct {
		v    uint64
		want []byte
	}{
		{0, []byte{0x00}},
		{1, []byte{0x01}},
		{127, []byte{0x7f}},
		{128, []byte{0x80, 0x01}},
		{300, []byte{0xac, 0x02}},
		{16384, []byte{0x80, 0x80, 0x01}},
		{1<<64 - 1, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, appendVarint(nil, tt.v)); diff != "" {
			t.Errorf("appendVarint(%d) (-want +got):\n%s", tt.v, diff)
		}
	}
}
