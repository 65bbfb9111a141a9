package embed

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"
)

// miniTable returns the table ConvertWink makes of testdata/wink-mini.json.
func miniTable(t testing.TB) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := ConvertWink(bytes.NewReader(readMini(t)), &out, nil); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// withCRC returns data with its trailing checksum recomputed, to reach the
// checks behind the checksum.
func withCRC(data []byte) []byte {
	out := bytes.Clone(data)
	binary.LittleEndian.PutUint32(out[len(out)-4:], crc32.Checksum(out[:len(out)-4], castagnoli()))
	return out
}

func TestParseTableCorrupt(t *testing.T) {
	t.Parallel()
	good := miniTable(t)
	if _, err := parseTable(good); err != nil {
		t.Fatalf("parseTable(good) error = %v", err)
	}
	edit := func(f func(b []byte)) []byte {
		b := bytes.Clone(good)
		f(b)
		return b
	}
	// Offsets of the sections in the mini table: 5 words, 3 dims.
	offsets := tableHeaderSize
	sorted := offsets + 4*6 + len("thecatkittencarnaïve")
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"header only", good[:tableHeaderSize]},
		{"truncated by one byte", good[:len(good)-1]},
		{"truncated to half", good[:len(good)/2]},
		{"one byte too many", append(bytes.Clone(good), 0)},
		{"wrong magic", edit(func(b []byte) { b[0] = 'X' })},
		{"flipped value byte", edit(func(b []byte) { b[len(b)-10] ^= 0x40 })},
		{"flipped vocabulary byte", edit(func(b []byte) { b[sorted-3] ^= 0x01 })},
		{"checksum off", edit(func(b []byte) { b[len(b)-1] ^= 0xff })},
		{"newer version", withCRC(edit(func(b []byte) { b[8] = 2 }))},
		{"zero dims", withCRC(edit(func(b []byte) { binary.LittleEndian.PutUint32(b[16:], 0) }))},
		{"count inflated", withCRC(edit(func(b []byte) { binary.LittleEndian.PutUint32(b[20:], 6) }))},
		{"huge count", withCRC(edit(func(b []byte) { binary.LittleEndian.PutUint32(b[20:], 0xffffffff) }))},
		{"offset past vocabulary", withCRC(edit(func(b []byte) { binary.LittleEndian.PutUint32(b[offsets+4*2:], 1000) }))},
		{"offsets backwards", withCRC(edit(func(b []byte) { binary.LittleEndian.PutUint32(b[offsets+4*2:], 1) }))},
		{"sorted index out of range", withCRC(edit(func(b []byte) { binary.LittleEndian.PutUint32(b[sorted:], 99) }))},
		{"sorted index out of order", withCRC(edit(func(b []byte) {
			first, second := binary.LittleEndian.Uint32(b[sorted:]), binary.LittleEndian.Uint32(b[sorted+4:])
			binary.LittleEndian.PutUint32(b[sorted:], second)
			binary.LittleEndian.PutUint32(b[sorted+4:], first)
		}))},
		{"negative scale", withCRC(edit(func(b []byte) { b[sorted+4*5+3] |= 0x80 }))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tab, err := parseTable(tt.data)
			if !errors.Is(err, ErrCorruptTable) {
				t.Fatalf("parseTable() = %v, %v; want ErrCorruptTable", tab, err)
			}
		})
	}
}

func TestLoadWinkTruncatedFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := winkTable(t)
	path := WinkTablePath(dir)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 7, tableHeaderSize + 3, len(data) / 2, len(data) - 4, len(data) - 1} {
		if err := os.WriteFile(path, data[:n], 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := New(Config{Model: "wink", DataDir: dir})
		if !errors.Is(err, ErrCorruptTable) {
			t.Fatalf("New() on a table cut to %d of %d bytes: error = %v, want ErrCorruptTable", n, len(data), err)
		}
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{Model: "wink", DataDir: dir}); err != nil {
		t.Fatalf("New() on the whole table: %v", err)
	}
}

func TestLoadWinkWrongDims(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "mini.vec")
	if err := os.WriteFile(path, miniTable(t), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadWink(path); !errors.Is(err, ErrCorruptTable) {
		t.Fatalf("LoadWink(3-dim table) error = %v, want ErrCorruptTable", err)
	}
}

func TestWriteTableDuplicateWord(t *testing.T) {
	t.Parallel()
	err := writeTable(&bytes.Buffer{}, tableRows{dims: 1, words: []string{"a", "a"}, scales: []float32{1, 1}, values: []byte{1, 2}})
	if err == nil {
		t.Fatal("writeTable() with a word twice = nil, want an error")
	}
}

// FuzzParseTable checks that no input makes the loader panic, and that a
// table it accepts can be searched for each of its words.
func FuzzParseTable(f *testing.F) {
	good := miniTable(f)
	f.Add(good)
	f.Add(good[:len(good)-1])
	f.Add(withCRC(append(bytes.Clone(good[:20]), append([]byte{9, 0, 0, 0}, good[24:]...)...)))
	f.Fuzz(func(t *testing.T, data []byte) {
		check := func(data []byte) {
			tab, err := parseTable(data)
			if err != nil {
				if !errors.Is(err, ErrCorruptTable) {
					t.Fatalf("parseTable() error = %v, want ErrCorruptTable", err)
				}
				return
			}
			sum := make([]float32, tab.dims)
			for i := 0; i < tab.count; i++ {
				row, ok := tab.lookup(string(tab.word(i)))
				if !ok || row != i {
					t.Fatalf("lookup(word %d) = %d, %v", i, row, ok)
				}
				tab.addRow(sum, row, 1)
			}
		}
		check(data)
		if len(data) >= 4 {
			// Past the checksum too: the structural checks must hold alone.
			check(withCRC(data))
		}
	})
}
