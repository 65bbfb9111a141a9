package audio

import (
	"errors"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAppendInt16(t *testing.T) {
	t.Parallel()
	const lsb = 1.0 / 32768
	tests := []struct {
		name    string
		in      float32
		want    int16
		clipped bool
	}{
		{"zero", 0, 0, false},
		{"half", 0.5, 16384, false},
		{"minus half", -0.5, -16384, false},
		{"one step", lsb, 1, false},
		{"half a step rounds away from zero", 0.5 * lsb, 1, false},
		{"minus half a step rounds away from zero", -0.5 * lsb, -1, false},
		{"just under half a step", 0.49 * lsb, 0, false},
		{"1.4 steps", 1.4 * lsb, 1, false},
		{"1.6 steps", 1.6 * lsb, 2, false},
		{"largest int16", 32767 * lsb, 32767, false},
		{"plus one is full scale, not clipped", 1, 32767, false},
		{"minus one", -1, -32768, false},
		{"above one clips", 1.5, 32767, true},
		{"just above one clips", math.Nextafter32(1, 2), 32767, true},
		{"below minus one clips", -2, -32768, true},
		{"plus infinity", float32(math.Inf(1)), 32767, true},
		{"minus infinity", float32(math.Inf(-1)), -32768, true},
		{"NaN becomes silence", float32(math.NaN()), 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, clipped := AppendInt16(nil, []float32{tt.in})
			if diff := cmp.Diff([]int16{tt.want}, got); diff != "" {
				t.Errorf("AppendInt16(%v) (-want +got):\n%s", tt.in, diff)
			}
			if clipped != map[bool]int{true: 1}[tt.clipped] {
				t.Errorf("AppendInt16(%v) clipped = %d, want %v", tt.in, clipped, tt.clipped)
			}
			b, clipped := AppendPCM16(nil, []float32{tt.in})
			if want := []byte{byte(uint16(tt.want)), byte(uint16(tt.want) >> 8)}; !cmp.Equal(want, b) {
				t.Errorf("AppendPCM16(%v) = % x, want % x", tt.in, b, want)
			}
			if clipped != map[bool]int{true: 1}[tt.clipped] {
				t.Errorf("AppendPCM16(%v) clipped = %d, want %v", tt.in, clipped, tt.clipped)
			}
		})
	}
}

// TestInt16RoundTrip converts every int16 to float and back.
func TestInt16RoundTrip(t *testing.T) {
	t.Parallel()
	all := make([]int16, 0, 1<<16)
	for v := math.MinInt16; v <= math.MaxInt16; v++ {
		all = append(all, int16(v))
	}
	f := AppendFloatFromInt16(nil, all)
	back, clipped := AppendInt16(nil, f)
	if diff := cmp.Diff(all, back); diff != "" || clipped != 0 {
		t.Errorf("int16 → float32 → int16 changed values (clipped %d):\n%s", clipped, diff)
	}
	pcm, _ := AppendPCM16(nil, f)
	f2, err := AppendFloatFromPCM16(nil, pcm)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(f, f2); diff != "" {
		t.Errorf("float32 → PCM16 bytes → float32 changed values:\n%s", diff)
	}
	if f[0] != -1 || f[len(f)-1] != 32767.0/32768 {
		t.Errorf("extremes map to %v and %v, want -1 and 32767/32768", f[0], f[len(f)-1])
	}
}

func TestPCM16Bytes(t *testing.T) {
	t.Parallel()
	b, clipped := AppendPCM16([]byte("hdr"), []float32{0, 0.5, -1, 2})
	want := []byte{'h', 'd', 'r', 0x00, 0x00, 0x00, 0x40, 0x00, 0x80, 0xff, 0x7f}
	if diff := cmp.Diff(want, b); diff != "" || clipped != 1 {
		t.Errorf("AppendPCM16 clipped %d (-want +got):\n%s", clipped, diff)
	}
	f, err := AppendFloatFromPCM16([]float32{9}, want[3:])
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]float32{9, 0, 0.5, -1, 32767.0 / 32768}, f); diff != "" {
		t.Errorf("AppendFloatFromPCM16 (-want +got):\n%s", diff)
	}
	dst := []float32{1}
	if got, err := AppendFloatFromPCM16(dst, []byte{1, 2, 3}); !errors.Is(err, ErrFormat) || len(got) != 1 {
		t.Errorf("odd byte count: %v, %v; want dst unchanged and ErrFormat", got, err)
	}
}

func TestMonoAndUpmix(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		src      []float32
		channels int
		mono     []float32
	}{
		{"mono", []float32{0.1, -0.2}, 1, []float32{0.1, -0.2}},
		{"stereo", []float32{1, 0, 0.5, 0.5, -1, 1, 1, 1}, 2, []float32{0.5, 0.5, 0, 1}},
		{"stereo full scale cannot clip", []float32{1, 1, -1, -1}, 2, []float32{1, -1}},
		{"5.1", []float32{0.6, 0.6, 0.6, 0, 0, 0}, 6, []float32{0.3}},
		{"empty", nil, 2, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := AppendMono(nil, tt.src, tt.channels)
			if diff := cmp.Diff(tt.mono, got, cmp.Comparer(approx)); diff != "" {
				t.Errorf("AppendMono (-want +got):\n%s", diff)
			}
		})
	}
	up := AppendUpmix([]float32{7}, []float32{0.25, -0.5}, 3)
	if diff := cmp.Diff([]float32{7, 0.25, 0.25, 0.25, -0.5, -0.5, -0.5}, up); diff != "" {
		t.Errorf("AppendUpmix (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]float32{0.25, -0.5}, AppendMono(nil, AppendUpmix(nil, []float32{0.25, -0.5}, 2), 2)); diff != "" {
		t.Errorf("upmix then downmix (-want +got):\n%s", diff)
	}
}

func TestChannelPanics(t *testing.T) {
	t.Parallel()
	for name, f := range map[string]func(){
		"AppendMono partial frame": func() { AppendMono(nil, make([]float32, 3), 2) },
		"AppendMono no channels":   func() { AppendMono(nil, nil, 0) },
		"AppendUpmix no channels":  func() { AppendUpmix(nil, nil, 0) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			f()
		})
	}
}

func TestPCMAllocs(t *testing.T) {
	src := tone(440, 0.5, 48000, 960)
	i16 := make([]int16, 0, len(src))
	b := make([]byte, 0, 2*len(src))
	f := make([]float32, 0, 2*len(src))
	allocs := testing.AllocsPerRun(50, func() {
		i16, _ = AppendInt16(i16[:0], src)
		b, _ = AppendPCM16(b[:0], src)
		f = AppendFloatFromInt16(f[:0], i16)
		f, _ = AppendFloatFromPCM16(f[:0], b)
		f = AppendMono(f[:0], src, 2)
		f = AppendUpmix(f[:0], src[:480], 2)
	})
	if allocs != 0 {
		t.Errorf("conversions into buffers with room allocate %.1f times, want 0", allocs)
	}
}

// approx compares samples to within float32 rounding.
func approx(a, b float32) bool {
	return math.Abs(float64(a)-float64(b)) <= 1e-6
}
