package codec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"time"
)

// silencePacket is one 20 ms Opus packet of silence, mono.
func silencePacket(t testing.TB) []byte {
	t.Helper()
	return opusPackets(t, make([]float32, 960), OpusRate, 1, 0)[0]
}

// repeat is n copies of p.
func repeat(p []byte, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = p
	}
	return out
}

// chromeStyleWebM is a WebM as MediaRecorder writes it: no Duration,
// Segment and Cluster of unknown size, SimpleBlocks, one Cluster per
// perCluster packets.
func chromeStyleWebM(packets [][]byte, perCluster int, info ...[]byte) []byte {
	parts := [][]byte{
		el(idInfo, append([][]byte{elUint(idTimestampScale, 1_000_000)}, info...)...),
		el(idTracks, opusTrackEntry(1, 1, 0)),
	}
	for i := 0; i < len(packets); i += perCluster {
		cluster := [][]byte{elUint(0xE7, uint64(i*20))}
		for j, p := range packets[i:min(i+perCluster, len(packets))] {
			cluster = append(cluster, el(idSimpleBlock, blockPayload(1, int16(j*20), 0x80, p)))
		}
		parts = append(parts, elUnknown(idCluster, cluster...))
	}
	return append(ebmlHeader("webm"), elUnknown(idSegment, parts...)...)
}

// TestDecodeTooLong checks that long recordings are refused with a
// *TooLongError saying how long they are at least: at once from a length
// the container declares, else by counting packets up to the limit.
func TestDecodeTooLong(t *testing.T) {
	t.Parallel()
	silence := silencePacket(t)
	tenMinutes := repeat(silence, 10*60*50)
	lim := Limits{MaxDuration: 30 * time.Second}

	wav10min := func() []byte {
		const rate, n = 8000, 8000 * 600
		h := []byte("RIFF\x00\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00")
		h = binary.LittleEndian.AppendUint32(h, rate)
		h = binary.LittleEndian.AppendUint32(h, rate) // byte rate: 8-bit mono
		h = append(h, 1, 0, 8, 0)
		h = append(h, "data"...)
		h = binary.LittleEndian.AppendUint32(h, n)
		binary.LittleEndian.PutUint32(h[4:], uint32(len(h)-8+n))
		return append(h, make([]byte, n)...)
	}

	tests := []struct {
		name      string
		data      []byte
		container string
		declared  bool
		min, max  time.Duration // bounds on AtLeast
	}{
		{
			name:      "ogg final granule",
			data:      bytes.Join(buildOgg(t, oggSpec{serial: 7, packets: tenMinutes}), nil),
			container: ContainerOgg, declared: true,
			min: 10*time.Minute - 10*time.Millisecond, max: 10 * time.Minute,
		},
		{
			// Granule positions that lie low: the count of packet
			// durations stops the demuxer at the limit.
			name: "ogg granules lying",
			data: bytes.Join(buildOgg(t, oggSpec{serial: 7, packets: tenMinutes, granule: func(page int, g int64) int64 {
				return int64(page)
			}}), nil),
			container: ContainerOgg,
			min:       lim.MaxDuration, max: lim.MaxDuration + time.Second,
		},
		{
			name:      "webm without duration",
			data:      chromeStyleWebM(tenMinutes, 250),
			container: ContainerWebM,
			min:       lim.MaxDuration, max: lim.MaxDuration + time.Second,
		},
		{
			name:      "webm declared duration",
			data:      chromeStyleWebM(tenMinutes[:10], 5, elFloat(idDuration, 600_000)),
			container: ContainerWebM, declared: true,
			min: 10 * time.Minute, max: 10 * time.Minute,
		},
		{
			name:      "wav",
			data:      wav10min(),
			container: ContainerWAV, declared: true,
			min: 10 * time.Minute, max: 10 * time.Minute,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Decode(tt.data, lim)
			var tl *TooLongError
			if !errors.As(err, &tl) || !errors.Is(err, ErrTooLong) {
				t.Fatalf("error %v, want a *TooLongError", err)
			}
			if tl.Container != tt.container || tl.Declared != tt.declared || tl.MaxDuration != lim.MaxDuration {
				t.Errorf("%+v: want container %s, declared %v", tl, tt.container, tt.declared)
			}
			if tl.AtLeast < tt.min || tl.AtLeast > tt.max {
				t.Errorf("AtLeast %v, want %v–%v", tl.AtLeast, tt.min, tt.max)
			}
			t.Log(err)
		})
	}
}

// TestDecodeLimitBoundary checks that a recording exactly as long as the
// limit passes and one sample more does not, and the byte limit.
func TestDecodeLimitBoundary(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	w, err := NewOggOpusWriter(&buf, OpusRate, OggOpusOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(sine(OpusRate, OpusRate, 440, 0.3)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := Decode(buf.Bytes(), Limits{MaxDuration: time.Second}); err != nil {
		t.Errorf("1 s at a 1 s limit: %v", err)
	}
	var tl *TooLongError
	_, err = Decode(buf.Bytes(), Limits{MaxDuration: time.Second - time.Second/OpusRate})
	if !errors.As(err, &tl) || tl.AtLeast != time.Second {
		t.Errorf("1 s at a limit one sample shorter: %v, want too long, at least 1s", err)
	}
	tl = nil
	_, err = Decode(buf.Bytes(), Limits{MaxBytes: int64(buf.Len() - 1)})
	if !errors.As(err, &tl) || tl.Size != int64(buf.Len()) {
		t.Errorf("byte limit: %v, want too long with the size", err)
	}
}
