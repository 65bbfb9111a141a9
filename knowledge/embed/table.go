package embed

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"slices"
	"strings"
)

// The word vector table file, version 1. All integers are little-endian.
//
//	header  32 bytes: magic "TMBRWVEC", version uint32 (1), flags uint32,
//	        dims uint32, count uint32, vocabBytes uint32, reserved uint32 (0)
//	offsets [count+1]uint32  word i is vocab[offsets[i]:offsets[i+1]]
//	vocab   [vocabBytes]byte the words, UTF-8, in row order
//	sorted  [count]uint32    the rows in byte-wise order of their words
//	scales  [count]float32   row i, value j is scales[i] * vectors[i*dims+j]
//	vectors [count*dims]int8
//	crc     uint32           CRC-32C of every byte before it
//
// Values are int8 with one scale per row (max |x| / 127): on the wink
// vectors this keeps cosine similarities within 7e-4 on average (4e-3 at
// worst) of float32 and 99% of top-10 neighbours, at half the size of
// float16. The file is read whole and checked (length from the header,
// then the checksum) before use, so a truncated or damaged file gives
// ErrCorruptTable, never garbage.
const (
	tableMagic      = "TMBRWVEC"
	tableVersion    = 1
	tableHeaderSize = 32
	// flagFrequencyOrder says rows are in descending corpus frequency.
	flagFrequencyOrder = 1 << 0

	maxTableDims  = 4096
	maxTableWords = 1 << 24
	maxWordBytes  = 1 << 10
)

// castagnoli is the CRC-32C polynomial table; crc32.MakeTable is cheap and
// keeping no package-level state is worth it.
func castagnoli() *crc32.Table { return crc32.MakeTable(crc32.Castagnoli) }

// tableRows is what writeTable stores: words in row order, their values
// (len(words)*dims int8s, kept as bytes to be written as they are) and one
// scale per row.
type tableRows struct {
	dims      int
	freqOrder bool
	words     []string
	scales    []float32
	values    []byte
}

// writeTable writes rows in the table format.
func writeTable(w io.Writer, rows tableRows) error {
	n := len(rows.words)
	if rows.dims <= 0 || rows.dims > maxTableDims || n > maxTableWords || len(rows.scales) != n || len(rows.values) != n*rows.dims {
		return fmt.Errorf("embed: write table: %d words of %d dims with %d scales and %d values: inconsistent", n, rows.dims, len(rows.scales), len(rows.values))
	}
	vocabBytes := 0
	for _, word := range rows.words {
		vocabBytes += len(word)
	}
	if vocabBytes > math.MaxUint32 {
		return fmt.Errorf("embed: write table: vocabulary of %d bytes is too large", vocabBytes)
	}
	sorted := make([]uint32, n)
	for i := range sorted {
		sorted[i] = uint32(i)
	}
	slices.SortFunc(sorted, func(a, b uint32) int { return strings.Compare(rows.words[a], rows.words[b]) })
	for k := 1; k < n; k++ {
		if rows.words[sorted[k-1]] == rows.words[sorted[k]] {
			return fmt.Errorf("embed: write table: word %q appears twice", rows.words[sorted[k]])
		}
	}

	crc := crc32.New(castagnoli())
	bw := bufio.NewWriterSize(w, 1<<20)
	out := io.MultiWriter(bw, crc)
	var flags uint32
	if rows.freqOrder {
		flags |= flagFrequencyOrder
	}
	hdr := make([]byte, 0, tableHeaderSize)
	hdr = append(hdr, tableMagic...)
	for _, v := range []uint32{tableVersion, flags, uint32(rows.dims), uint32(n), uint32(vocabBytes), 0} {
		hdr = binary.LittleEndian.AppendUint32(hdr, v)
	}
	buf := make([]byte, 0, 4*(n+1))
	off := uint32(0)
	buf = binary.LittleEndian.AppendUint32(buf, off)
	for _, word := range rows.words {
		off += uint32(len(word))
		buf = binary.LittleEndian.AppendUint32(buf, off)
	}
	if _, err := out.Write(hdr); err != nil {
		return fmt.Errorf("embed: write table: %w", err)
	}
	if _, err := out.Write(buf); err != nil {
		return fmt.Errorf("embed: write table: %w", err)
	}
	for _, word := range rows.words {
		if _, err := io.WriteString(out, word); err != nil {
			return fmt.Errorf("embed: write table: %w", err)
		}
	}
	buf = buf[:0]
	for _, r := range sorted {
		buf = binary.LittleEndian.AppendUint32(buf, r)
	}
	for _, s := range rows.scales {
		buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(s))
	}
	if _, err := out.Write(buf); err != nil {
		return fmt.Errorf("embed: write table: %w", err)
	}
	if _, err := out.Write(rows.values); err != nil {
		return fmt.Errorf("embed: write table: %w", err)
	}
	if _, err := bw.Write(binary.LittleEndian.AppendUint32(nil, crc.Sum32())); err != nil {
		return fmt.Errorf("embed: write table: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("embed: write table: %w", err)
	}
	return nil
}

// table is a parsed word vector table. Its slices all point into the one
// buffer the file was read into.
type table struct {
	dims, count int
	freqOrder   bool
	offsets     []byte // (count+1) uint32
	vocab       []byte
	sorted      []byte // count uint32
	scales      []float32
	values      []byte // count*dims int8
}

// parseTable checks data and returns the table it holds. Every error wraps
// ErrCorruptTable.
func parseTable(data []byte) (*table, error) {
	corrupt := func(format string, args ...any) error {
		return fmt.Errorf("embed: word vector table: "+format+": %w", append(args, ErrCorruptTable)...)
	}
	if len(data) < tableHeaderSize+4 {
		return nil, corrupt("%d bytes, too short for a table", len(data))
	}
	if string(data[:8]) != tableMagic {
		return nil, corrupt("not a word vector table (magic %q)", data[:8])
	}
	u32 := func(off int) uint32 { return binary.LittleEndian.Uint32(data[off:]) }
	version, flags, dims, count, vocabBytes := u32(8), u32(12), u32(16), u32(20), u32(24)
	if version != tableVersion {
		return nil, corrupt("version %d, this build reads %d: run `make setup` again", version, tableVersion)
	}
	if dims == 0 || dims > maxTableDims || count > maxTableWords {
		return nil, corrupt("header says %d words of %d dims", count, dims)
	}
	n, d := uint64(count), uint64(dims)
	want := uint64(tableHeaderSize) + 4*(n+1) + uint64(vocabBytes) + 4*n + 4*n + n*d + 4
	if uint64(len(data)) != want {
		return nil, corrupt("%d bytes, header says %d (truncated or damaged)", len(data), want)
	}
	body := len(data) - 4
	if got, sum := crc32.Checksum(data[:body], castagnoli()), binary.LittleEndian.Uint32(data[body:]); got != sum {
		return nil, corrupt("checksum %08x, file says %08x (damaged)", got, sum)
	}
	t := &table{dims: int(dims), count: int(count), freqOrder: flags&flagFrequencyOrder != 0}
	p := tableHeaderSize
	t.offsets, p = data[p:p+4*(t.count+1)], p+4*(t.count+1)
	t.vocab, p = data[p:p+int(vocabBytes)], p+int(vocabBytes)
	t.sorted, p = data[p:p+4*t.count], p+4*t.count
	scales := data[p : p+4*t.count]
	p += 4 * t.count
	t.values = data[p : p+t.count*t.dims]

	// The checksum catches damage; these checks catch a well-formed file
	// written wrong, so that lookups can never index out of range.
	prev := uint32(0)
	if t.off(0) != 0 || t.off(t.count) != vocabBytes {
		return nil, corrupt("word offsets do not span the vocabulary")
	}
	for i := 1; i <= t.count; i++ {
		o := t.off(i)
		if o <= prev || o-prev > maxWordBytes {
			return nil, corrupt("word %d is empty or too long", i-1)
		}
		prev = o
	}
	for k := 0; k < t.count; k++ {
		r := t.row(k)
		if int(r) >= t.count {
			return nil, corrupt("sorted index names row %d of %d", r, t.count)
		}
		if k > 0 && bytes.Compare(t.word(int(t.row(k-1))), t.word(int(r))) >= 0 {
			return nil, corrupt("sorted index out of order at %d", k)
		}
	}
	t.scales = make([]float32, t.count)
	for i := range t.scales {
		s := math.Float32frombits(binary.LittleEndian.Uint32(scales[4*i:]))
		if math.IsNaN(float64(s)) || math.IsInf(float64(s), 0) || s < 0 {
			return nil, corrupt("row %d has scale %v", i, s)
		}
		t.scales[i] = s
	}
	return t, nil
}

// off returns the i-th word offset.
func (t *table) off(i int) uint32 { return binary.LittleEndian.Uint32(t.offsets[4*i:]) }

// row returns the row of the k-th word in sorted order.
func (t *table) row(k int) uint32 { return binary.LittleEndian.Uint32(t.sorted[4*k:]) }

// word returns the word of row i.
func (t *table) word(i int) []byte { return t.vocab[t.off(i):t.off(i+1)] }

// lookup returns the row of word by binary search over the sorted index.
func (t *table) lookup(word string) (int, bool) {
	lo, hi := 0, t.count
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		r := int(t.row(mid))
		// Comparison operators on string(bytes) do not allocate.
		switch w := t.word(r); {
		case string(w) < word:
			lo = mid + 1
		case string(w) > word:
			hi = mid
		default:
			return r, true
		}
	}
	return 0, false
}

// addRow adds weight times row i's vector to sum.
func (t *table) addRow(sum []float32, i int, weight float32) {
	s := t.scales[i] * weight
	vals := t.values[i*t.dims : (i+1)*t.dims]
	for j, v := range vals {
		sum[j] += s * float32(int8(v))
	}
}
