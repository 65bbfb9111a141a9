package extract

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the generated PDF fixtures in testdata")

// Sentences the fixtures are known to hold.
const (
	pageOneSentence = "The quick brown fox jumps over the lazy dog while the first page keeps its sentence whole."
	pageTwoSentence = "Page two holds the second sentence about violet lanterns."
)

// twoPagePDF is the normal fixture: a bold 20pt heading, a paragraph over
// two lines and a two-item bullet list on page 1, one sentence on page 2.
func twoPagePDF() []byte {
	page1 := "BT /F2 20 Tf 72 720 Td (Timbre Test Document) Tj ET\n" +
		textLines("F1", 12, 72, 680, 14, "The quick brown fox jumps over the lazy dog", "while the first page keeps its sentence whole.") +
		textLines("F1", 12, 72, 630, 14, "\x95 First point", "\x95 Second point")
	page2 := textLines("F1", 12, 72, 720, 14, pageTwoSentence)
	return buildPDF("Timbre Fixture", []testPage{{content: page1}, {content: page2}}, nil)
}

// cidFontPDF shows text with a Type0 font (Identity-H, two-byte codes) whose
// only link to Unicode is its ToUnicode CMap, as office suites write them.
func cidFontPDF() []byte {
	cmap := `/CIDInit /ProcSet findresource begin
12 dict begin
begincmap
/CMapName /Timbre-Test def
1 begincodespacerange <0000> <FFFF> endcodespacerange
2 beginbfchar <0001> <0048> <0002> <0020> endbfchar
2 beginbfrange <0003> <0004> <0065> <0010> <0012> [<0043> <0049> <0044>] endbfrange
2 beginbfchar <0005> <006C> <0006> <006F> endbfchar
1 beginbfrange <0020> <0024> <0077> endbfrange
endcmap
CMapName currentdict /CMap defineresource pop
end
end`
	// The page reads "Hello CID wxyz": bfchar gives H, space, l and o;
	// the string range gives e (from 0065), the array range C, I, D, and
	// the last range w, x, y, z.
	content := "BT /C1 14 Tf 72 700 Td <00010003000500050006> Tj <0002> Tj <001000110012> Tj <0002> Tj <0020002100220023> Tj ET\n"
	fonts := map[string]string{
		"C1": "<< /Type /Font /Subtype /Type0 /BaseFont /TestCID /Encoding /Identity-H /DescendantFonts [<< /Type /Font /Subtype /CIDFontType2 /BaseFont /TestCID /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /DW 600 /W [1 [700 550] 16 18 650] >>] /ToUnicode {{cmap}} >>",
	}
	return buildPDF("", []testPage{{content: content, fonts: fonts}}, func(w *pdfWriter) map[string]string {
		n := w.stream("", []byte(cmap), true)
		return map[string]string{"cmap": itoa(n) + " 0 R"}
	})
}

// generatedFixtures are the fixtures this file writes with -update; the
// others in testdata come from qpdf and Ghostscript (see testdata/README.md).
func generatedFixtures() map[string][]byte {
	two := twoPagePDF()
	return map[string][]byte{
		"two-pages.pdf":  two,
		"empty-page.pdf": buildPDF("", []testPage{{content: "q 0 0 1 rg 72 72 100 100 re f Q\n"}}, nil),
		"truncated.pdf":  two[:len(two)/2],
		"cid-font.pdf":   cidFontPDF(),
	}
}

// TestFixturesUpToDate checks that the generated fixtures match the code
// that describes them (run with -update to rewrite them).
func TestFixturesUpToDate(t *testing.T) {
	for name, want := range generatedFixtures() {
		path := filepath.Join("testdata", name)
		if *update {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./knowledge/extract -run TestFixturesUpToDate -update)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run go test ./knowledge/extract -run TestFixturesUpToDate -update", path)
		}
	}
}

// readFixture returns a file from testdata.
func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// itoa formats n in decimal.
func itoa(n int) string { return strconv.Itoa(n) }
