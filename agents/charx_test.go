package agents

import (
	"bytes"
	"compress/flate"
	"errors"
	"hash/crc32"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// compressedZeros deflates n zero bytes (a zip bomb payload: 40 MiB of
// zeros deflate to about 40 KiB).
func compressedZeros(t testing.TB, n int) zipRaw {
	t.Helper()
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, flate.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 1<<20)
	crc := crc32.NewIEEE()
	for left := n; left > 0; left -= len(chunk) {
		part := chunk[:min(left, len(chunk))]
		if _, err := w.Write(part); err != nil {
			t.Fatal(err)
		}
		_, _ = crc.Write(part)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return zipRaw{compressed: buf.Bytes(), crc: crc.Sum32(), size: uint64(n)}
}

func TestParseCHARXFixture(t *testing.T) {
	t.Parallel()
	c, files, err := ParseCHARX(readFixture(t, fixtureCHARX))
	if err != nil {
		t.Fatal(err)
	}
	want, err := ParseCardJSON(readFixture(t, fixtureV3))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("card (-want +got):\n%s", diff)
	}
	wantFiles := map[string][]byte{
		"assets/icon/images/main.png":     testImagePNG(t, 24, 24),
		"assets/emotion/images/happy.png": testImagePNG(t, 16, 8),
		"module.risum":                    []byte("opaque module data"),
	}
	if diff := cmp.Diff(wantFiles, files); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
}

func TestCHARXTotalInflatedLimit(t *testing.T) {
	t.Parallel()
	// Five honest 30 MiB entries: each under the per-entry limit, together
	// over the total.
	zeros := compressedZeros(t, 30<<20)
	entries := []zipEntry{{name: "card.json", data: readFixture(t, fixtureV3)}}
	for _, name := range []string{"a", "b", "c", "d", "e"} {
		entries = append(entries, zipEntry{name: name, raw: &zeros})
	}
	_, _, err := ParseCHARX(buildZip(t, entries...))
	if !errors.Is(err, ErrUnsafeArchive) {
		t.Fatalf("error = %v, want ErrUnsafeArchive", err)
	}
	// Four of them (120 MiB) are accepted.
	c, files, err := ParseCHARX(buildZip(t, entries[:5]...))
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "Nyx" || len(files) != 4 || len(files["d"]) != 30<<20 {
		t.Errorf("got %q and %d files", c.Name, len(files))
	}
}

func TestEncodeCHARX(t *testing.T) {
	t.Parallel()
	c, files, err := ParseCHARX(readFixture(t, fixtureCHARX))
	if err != nil {
		t.Fatal(err)
	}
	a, err := EncodeCHARX(c, files)
	if err != nil {
		t.Fatal(err)
	}
	b, err := EncodeCHARX(c, files)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("EncodeCHARX is not deterministic")
	}
	imp, err := Import(a)
	if err != nil {
		t.Fatal(err)
	}
	if imp.Format != FormatCHARX || !bytes.Equal(imp.Avatar, files["assets/icon/images/main.png"]) {
		t.Errorf("reimport: format %q, avatar %d bytes", imp.Format, len(imp.Avatar))
	}

	missing := map[string][]byte{"assets/emotion/images/happy.png": files["assets/emotion/images/happy.png"]}
	partial, err := EncodeCHARX(c, missing)
	if err != nil {
		t.Fatalf("a card naming an asset file it lacks must still export: %v", err)
	}
	back, files2, err := ParseCHARX(partial)
	if err != nil {
		t.Fatal(err)
	}
	if len(files2) != 1 || len(back.Assets) != len(c.Assets) {
		t.Errorf("partial export: %d files, %d assets; want 1 file and the card's %d asset references", len(files2), len(back.Assets), len(c.Assets))
	}
	for _, name := range []string{"../x", "/abs", `a\b`, "card.json", "dir/"} {
		bad := map[string][]byte{name: []byte("x")}
		if _, err := EncodeCHARX(Card{Name: "X"}, bad); !errors.Is(err, ErrUnsafeArchive) {
			t.Errorf("asset %q: %v, want ErrUnsafeArchive", name, err)
		}
	}
}

func TestCheckArchivePath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ok   bool
	}{
		{"card.json", true},
		{"assets/icon/images/main.png", true},
		{"assets/", true},
		{"a..b/c..d", true},
		{"", false},
		{"..", false},
		{"../x", false},
		{"a/../b", false},
		{"a/..", false},
		{"/x", false},
		{`a\b`, false},
		{"c:x", false},
		{"Z:/x", false},
		{"a\x00", false},
	}
	for _, tc := range tests {
		err := checkArchivePath(tc.name)
		if (err == nil) != tc.ok {
			t.Errorf("checkArchivePath(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrUnsafeArchive) {
			t.Errorf("checkArchivePath(%q) = %v, not ErrUnsafeArchive", tc.name, err)
		}
	}
}

func FuzzParseCHARX(f *testing.F) {
	f.Add(readFixture(f, fixtureCHARX))
	f.Add(buildZip(f, zipEntry{name: "card.json", data: readFixture(f, fixtureV2)}))
	f.Add(buildZip(f, zipEntry{name: "card.json", data: readFixture(f, fixtureV1)}, zipEntry{name: "x/../y", data: []byte("z")}))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, files, err := ParseCHARX(data)
		if err != nil {
			checkedSentinel(t, err)
			return
		}
		checkReencodes(t, c)
		// Assets the card points at may be missing from a fuzzed archive;
		// re-encode only when they are all there.
		out, err := EncodeCHARX(c, files)
		if err != nil {
			var fe *FieldError
			if errors.As(err, &fe) {
				return
			}
			t.Fatalf("EncodeCHARX: %v", err)
		}
		c2, files2, err := ParseCHARX(out)
		if err != nil {
			t.Fatalf("reparse: %v", err)
		}
		if diff := cmp.Diff(c, c2); diff != "" {
			t.Fatalf("card (-before +after):\n%s", diff)
		}
		if diff := cmp.Diff(files, files2); diff != "" {
			t.Fatalf("files (-before +after):\n%s", diff)
		}
	})
}
