package api_test

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/base64"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/png"
	"io"
	"os"
	"strings"
	"testing"
)

// pngWith returns a small PNG with extra tEXt chunks (keyword → raw text).
func pngWith(t *testing.T, chunks map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 8, 8))); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	iend := len(b) - 12
	out := append([]byte{}, b[:iend]...)
	for k, v := range chunks {
		data := append([]byte(k+"\x00"), v...)
		var c bytes.Buffer
		binary.Write(&c, binary.BigEndian, uint32(len(data)))
		c.WriteString("tEXt")
		c.Write(data)
		binary.Write(&c, binary.BigEndian, crc32.ChecksumIEEE(append([]byte("tEXt"), data...)))
		out = append(out, c.Bytes()...)
	}
	return append(out, b[iend:]...)
}

func charx(t *testing.T, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for name, data := range files {
		f, err := w.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		f.Write(data)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// cardFixture reads a card file from the agents package's test data.
func cardFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../agents/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// zipBomb is a CHARX whose one asset inflates to 1 GiB from about 1 MiB.
func zipBomb(t *testing.T, card []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	w.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, flate.BestSpeed)
	})
	f, _ := w.Create("card.json")
	f.Write(card)
	f, err := w.CreateHeader(&zip.FileHeader{Name: "assets/icon/images/main.png", Method: zip.Deflate})
	if err != nil {
		t.Fatal(err)
	}
	zeros := make([]byte, 1<<20)
	for range 1024 {
		f.Write(zeros)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestImportRefusesBadFilesAndWritesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.signup("alice")
	v2 := cardFixture(t, "card_v2.json")
	v3 := cardFixture(t, "card_v3.json")
	good := pngWith(t, map[string]string{"chara": base64.StdEncoding.EncodeToString(v2)})
	wrongSpec := strings.Replace(string(v3), "chara_card_v3", "chara_card_v9", 1)

	cases := []struct {
		name   string
		file   []byte
		status int
		code   string
	}{
		{"png without a card chunk", pngWith(t, map[string]string{"Comment": "hello"}), 422, "no_card_in_png"},
		{"truncated png", good[:len(good)-30], 422, "corrupt_image"},
		{"png with garbage base64", pngWith(t, map[string]string{"chara": "%%%not base64%%%"}), 422, "invalid_card"},
		{"card with a NUL in its text", []byte(`{"spec":"chara_card_v2","spec_version":"2.0","data":{"name":"N","extensions":{"x":"\u0000"}}}`), 422, "invalid_card"},
		{"card without a name", []byte(`{"spec":"chara_card_v2","spec_version":"2.0","data":{"name":"  "}}`), 422, "invalid_card"},
		{"card with the wrong spec", []byte(wrongSpec), 422, "unsupported_spec"},
		{"json that is not a card", []byte(`[1, 2, 3]`), 422, "invalid_card"},
		{"malformed json", []byte(`{"spec": "chara_card_v2", "data": {`), 422, "invalid_card"},
		{"not a card at all", []byte("GIF89a......"), 415, "unsupported_format"},
		{"charx with ../ path", charx(t, map[string][]byte{"card.json": v3, "../evil.txt": []byte("x")}), 422, "unsafe_archive"},
		{"charx with absolute path", charx(t, map[string][]byte{"card.json": v3, "/etc/evil": []byte("x")}), 422, "unsafe_archive"},
		{"charx without card.json", charx(t, map[string][]byte{"other.json": v3}), 422, "invalid_card"},
		{"charx with a 1 GiB entry", zipBomb(t, v3), 422, "unsafe_archive"},
		{"file over the upload limit", append(bytes.Repeat([]byte(" "), 5<<20), v3...), 413, "body_too_large"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := alice.upload("POST", "/api/agents/import", "file", "card", tc.file)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if code, _ := r.errorCode(t); code != tc.code {
				t.Fatalf("code %q, want %q: %s", code, tc.code, r.body)
			}
			msg := r.json(t)["error"].(map[string]any)["message"].(string)
			if strings.Contains(msg, "agents:") || strings.Contains(msg, "%!") {
				t.Fatalf("message shows internal wrapping: %q", msg)
			}
			t.Logf("%s → %s", tc.name, msg)
		})
	}
	for _, table := range []string{"agents", "agent_assets", "agent_versions"} {
		if n := e.count(table); n != 0 {
			t.Fatalf("refused imports wrote %d rows to %s", n, table)
		}
	}
	alice.upload("POST", "/api/agents/import", "file", "card.png", good).must(t, 201)
	e.client().upload("POST", "/api/agents/import", "file", "card.png", good).must(t, 401)
	alice.do("POST", "/api/agents/import", "multipart/form-data; boundary=x", strings.NewReader("--x--")).must(t, 400)
}

func TestCHARXRoundTripKeepsAssets(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.signup("alice")
	v3 := cardFixture(t, "card_v3.json")
	var icon bytes.Buffer
	png.Encode(&icon, image.NewGray(image.Rect(0, 0, 16, 16)))
	in := charx(t, map[string][]byte{"card.json": v3, "assets/icon/images/main.png": icon.Bytes(), "assets/emotion/images/happy.png": icon.Bytes(), "assets/other/notes.txt": []byte("lore notes")})
	a := agentOf(t, alice.upload("POST", "/api/agents/import", "file", "nyx.charx", in).must(t, 201))
	out := alice.do("GET", "/api/agents/"+a["id"].(string)+"/export?format=charx", "", nil).must(t, 200)
	zr, err := zip.NewReader(bytes.NewReader(out.body), int64(len(out.body)))
	if err != nil {
		t.Fatalf("export is not a zip: %v", err)
	}
	found := map[string]bool{}
	for _, f := range zr.File {
		found[f.Name] = true
		if f.Name == "assets/other/notes.txt" {
			rc, _ := f.Open()
			b, _ := io.ReadAll(rc)
			rc.Close()
			if string(b) != "lore notes" {
				t.Fatalf("asset content changed: %q", b)
			}
		}
	}
	if a["avatar_url"] == nil {
		t.Fatal("the CHARX main icon did not become the avatar")
	}
	if !found["card.json"] || !found["assets/other/notes.txt"] || !found["assets/icon/images/main.png"] {
		t.Fatalf("exported CHARX holds %v", found)
	}
}

// A V3 JSON card may name embedded assets it does not carry; exporting it as
// CHARX must still work (the archive holds what the platform has).
func TestCHARXExportOfACardWithoutItsAssets(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.signup("alice")
	v3 := cardFixture(t, "card_v3.json")
	a := agentOf(t, alice.upload("POST", "/api/agents/import", "file", "nyx.json", v3).must(t, 201))
	out := alice.do("GET", "/api/agents/"+a["id"].(string)+"/export?format=charx", "", nil).must(t, 200)
	if _, err := zip.NewReader(bytes.NewReader(out.body), int64(len(out.body))); err != nil {
		t.Fatalf("export is not a zip: %v", err)
	}

	// With an avatar, the CHARX carries it as the card's main icon, and a
	// re-import gets it back as the avatar.
	var icon bytes.Buffer
	png.Encode(&icon, image.NewGray(image.Rect(0, 0, 32, 32)))
	alice.upload("PUT", "/api/agents/"+a["id"].(string)+"/avatar", "file", "a.png", icon.Bytes()).must(t, 200)
	out = alice.do("GET", "/api/agents/"+a["id"].(string)+"/export?format=charx", "", nil).must(t, 200)
	zr, err := zip.NewReader(bytes.NewReader(out.body), int64(len(out.body)))
	if err != nil {
		t.Fatal(err)
	}
	hasIcon := false
	for _, f := range zr.File {
		hasIcon = hasIcon || f.Name == "assets/icon/images/main.png"
	}
	if !hasIcon {
		t.Fatal("the avatar is not in the exported CHARX")
	}
	again := agentOf(t, alice.upload("POST", "/api/agents/import", "file", "again.charx", out.body).must(t, 201))
	if again["avatar_url"] == nil {
		t.Fatal("re-imported CHARX has no avatar")
	}
}

// A card's data keys that no spec defines survive import, an edit through
// the API, and export.
func TestUnknownCardKeysSurviveEdits(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.signup("alice")
	card := []byte(`{"spec":"chara_card_v2","spec_version":"2.0","data":{"name":"K","x_tool":{"n":12345678901234567890}}}`)
	a := agentOf(t, alice.upload("POST", "/api/agents/import", "file", "k.json", card).must(t, 201))
	id := a["id"].(string)
	alice.json("PATCH", "/api/agents/"+id, map[string]any{"description": "edited"}).must(t, 200)
	for _, format := range []string{"v2", "v3"} {
		out := alice.do("GET", "/api/agents/"+id+"/export?format="+format, "", nil).must(t, 200)
		if !strings.Contains(string(out.body), `"x_tool":{"n":12345678901234567890}`) || !strings.Contains(string(out.body), `"edited"`) {
			t.Errorf("%s export: %s", format, out.body)
		}
	}
	// Clients cannot set such keys themselves: typos stay errors.
	alice.json("PATCH", "/api/agents/"+id, map[string]any{"x_tool": 1}).must(t, 400)
}
