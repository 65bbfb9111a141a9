package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/timbre-ai/timbre/db/dbtest"
)

func TestServeRefusesOutdatedSchemaUntilMigrated(t *testing.T) {
	t.Parallel()
	_, url := dbtest.EmptyWithURL(t)
	code, out := timbre(t, url, "serve", "--addr", "127.0.0.1:0")
	if code != 1 || !strings.Contains(out, "pending migration") || !strings.Contains(out, "timbre migrate") {
		t.Fatalf("serve on an empty database: exit %d, output:\n%s", code, out)
	}
	if code, out := timbre(t, url, "migrate"); code != 0 || !strings.Contains(out, "applied") {
		t.Fatalf("migrate: exit %d:\n%s", code, out)
	}
	if code, out := timbre(t, url, "migrate"); code != 0 || !strings.Contains(out, "up to date") {
		t.Fatalf("second migrate: exit %d:\n%s", code, out)
	}
	p := serve(t, url, t.TempDir())
	get(t, http.DefaultClient, p.url+"/readyz", 200)
	p.stop(t)
}

// TestFoundation is the acceptance scenario, against the real binary
// and database: sign up, create a key, create an agent, import a V2 PNG card
// and a V3 JSON card, export both back identical in every field, publish
// twice, read it through the key, and find it all again after a restart.
func TestFoundation(t *testing.T) {
	t.Parallel()
	_, url := dbtest.NewWithURL(t)
	dataDir := t.TempDir()
	p := serve(t, url, dataDir)
	u := newUser(t, p.url)

	u.call("POST", "/api/auth/signup", `{"email":"creator@example.com","password":"a long passphrase","display_name":"Creator"}`, 201)
	u.csrf = u.call("GET", "/api/me", "", 200)["csrf_token"].(string)
	key := u.call("POST", "/api/keys", `{"name":"e2e"}`, 201)["key"].(string)

	created := u.call("POST", "/api/agents", `{"name":"Mira","description":"Keeps the lighthouse.","first_mes":"Hello.","visibility":"private"}`, 201)["agent"].(map[string]any)

	v2JSON := readFile(t, "../agents/testdata/card_v2.json")
	v3JSON := readFile(t, "../agents/testdata/card_v3.json")
	fromPNG := u.upload("/api/agents/import", "seraphina.png", pngWithChunk(t, "chara", v2JSON), 201)["agent"].(map[string]any)
	fromV3 := u.upload("/api/agents/import", "nyx.json", v3JSON, 201)["agent"].(map[string]any)
	if fromPNG["avatar_url"] == nil {
		t.Fatal("the PNG card's image did not become the avatar")
	}

	// Export both back: every field of the originals must come back.
	gotV2 := u.raw("GET", "/api/agents/"+fromPNG["id"].(string)+"/export?format=v2", 200)
	sameCard(t, "V2 PNG card → v2 export", decode(t, v2JSON), decode(t, gotV2))
	gotV3 := u.raw("GET", "/api/agents/"+fromV3["id"].(string)+"/export?format=v3", 200)
	sameCard(t, "V3 JSON card → v3 export", decode(t, v3JSON), decode(t, gotV3))
	gotPNG := u.raw("GET", "/api/agents/"+fromPNG["id"].(string)+"/export?format=png", 200)
	chunks := textChunks(t, gotPNG)
	if chunks["chara"] == nil || chunks["ccv3"] == nil {
		t.Fatalf("exported PNG has chunks %v, want chara and ccv3", keys(chunks))
	}
	sameCard(t, "V2 PNG card → png export (chara)", decode(t, v2JSON), decode(t, chunks["chara"]))

	// Publish twice: two versions, stable hashes.
	id := created["id"].(string)
	v1 := u.call("POST", "/api/agents/"+id+"/publish", "", 201)["version"].(map[string]any)
	v2 := u.call("POST", "/api/agents/"+id+"/publish", "", 201)["version"].(map[string]any)
	if v1["number"] != 1.0 || v2["number"] != 2.0 {
		t.Fatalf("version numbers %v, %v", v1["number"], v2["number"])
	}
	hash := v1["content_hash"].(string)
	if hash != v2["content_hash"] || !strings.HasPrefix(hash, "sha256:") || len(hash) != len("sha256:")+64 {
		t.Fatalf("content hashes %v, %v", v1["content_hash"], v2["content_hash"])
	}

	// Read it through the API key (no cookie).
	dev := newUser(t, p.url)
	dev.bearer = key
	got := dev.call("GET", "/api/agents/"+id, "", 200)["agent"].(map[string]any)
	if got["name"] != "Mira" || got["latest_version"] != 2.0 {
		t.Fatalf("agent through the key = %v", got)
	}
	mine := dev.call("GET", "/api/agents?scope=mine", "", 200)["items"].([]any)
	if len(mine) != 3 {
		t.Fatalf("the key sees %d agents, want 3", len(mine))
	}
	// Anonymous callers do not see the private agent.
	newUser(t, p.url).call("GET", "/api/agents/"+id, "", 404)

	// Restart: sessions, keys, agents and versions survive.
	p.stop(t)
	p = serve(t, url, dataDir)
	u.base, dev.base = p.url, p.url
	u.call("GET", "/api/me", "", 200)
	vs := dev.call("GET", "/api/agents/"+id+"/versions", "", 200)["items"].([]any)
	if len(vs) != 2 || vs[0].(map[string]any)["content_hash"] != hash {
		t.Fatalf("versions after restart = %v", vs)
	}
	p.stop(t)
}

// user is an HTTP client with a cookie jar, a CSRF token and an optional key.
type user struct {
	t      *testing.T
	base   string
	client *http.Client
	csrf   string
	bearer string
}

func newUser(t *testing.T, base string) *user {
	jar, _ := cookiejar.New(nil)
	return &user{t: t, base: base, client: &http.Client{Jar: jar}}
}

func (u *user) send(method, path, contentType string, body io.Reader, status int) []byte {
	u.t.Helper()
	req, err := http.NewRequest(method, u.base+path, body)
	if err != nil {
		u.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if u.csrf != "" {
		req.Header.Set("X-CSRF-Token", u.csrf)
	}
	if u.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+u.bearer)
	}
	resp, err := u.client.Do(req)
	if err != nil {
		u.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		u.t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, status, b)
	}
	return b
}

func (u *user) raw(method, path string, status int) []byte {
	u.t.Helper()
	return u.send(method, path, "", nil, status)
}

func (u *user) call(method, path, body string, status int) map[string]any {
	u.t.Helper()
	ct := ""
	var r io.Reader
	if body != "" {
		ct, r = "application/json", strings.NewReader(body)
	}
	b := u.send(method, path, ct, r, status)
	var m map[string]any
	if len(b) > 0 {
		if err := json.Unmarshal(b, &m); err != nil {
			u.t.Fatalf("%s %s: not JSON: %s", method, path, b)
		}
	}
	return m
}

func (u *user) upload(path, filename string, data []byte, status int) map[string]any {
	u.t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	fw, _ := w.CreateFormFile("file", filename)
	fw.Write(data)
	w.Close()
	b := u.send("POST", path, w.FormDataContentType(), &buf, status)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		u.t.Fatalf("upload: not JSON: %s", b)
	}
	return m
}

func get(t *testing.T, c *http.Client, url string, status int) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != status {
		t.Fatalf("GET %s: %d, want %d", url, resp.StatusCode, status)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decode(t *testing.T, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("not JSON: %v: %.200s", err, b)
	}
	return v
}

// sameCard checks that every field of want is in got with the same value.
// got may carry extra fields only when they are empty (a field the original
// omitted and the export writes with its zero value).
func sameCard(t *testing.T, what string, want, got any) {
	t.Helper()
	var diffs []string
	compare("", want, got, &diffs)
	if len(diffs) > 0 {
		t.Errorf("%s: %d differences:\n  %s", what, len(diffs), strings.Join(diffs, "\n  "))
	}
}

func compare(path string, want, got any, diffs *[]string) {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			*diffs = append(*diffs, path+": want an object, got "+short(got))
			return
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				if !empty(wv) {
					*diffs = append(*diffs, path+"."+k+": missing")
				}
				continue
			}
			compare(path+"."+k, wv, gv, diffs)
		}
		for k, gv := range g {
			if _, ok := w[k]; !ok && !empty(gv) {
				*diffs = append(*diffs, path+"."+k+": unexpected "+short(gv))
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			*diffs = append(*diffs, path+": want "+short(want)+", got "+short(got))
			return
		}
		for i := range w {
			compare(path+"["+strconv.Itoa(i)+"]", w[i], g[i], diffs)
		}
	default:
		if !reflect.DeepEqual(want, got) {
			*diffs = append(*diffs, path+": want "+short(want)+", got "+short(got))
		}
	}
}

func empty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	case bool:
		return !x
	case json.Number:
		return x == "0"
	}
	return false
}

func short(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 80 {
		b = append(b[:80], "…"...)
	}
	return string(b)
}

// pngWithChunk makes a small PNG carrying a base64 tEXt chunk, written here
// independently of the code under test.
func pngWithChunk(t *testing.T, keyword string, payload []byte) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 96))
	for y := range 96 {
		for x := range 64 {
			img.Set(x, y, color.RGBA{uint8(x * 4), uint8(y * 2), 128, 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	iend := len(b) - 12
	data := append([]byte(keyword+"\x00"), base64.StdEncoding.EncodeToString(payload)...)
	var chunk bytes.Buffer
	binary.Write(&chunk, binary.BigEndian, uint32(len(data)))
	chunk.WriteString("tEXt")
	chunk.Write(data)
	binary.Write(&chunk, binary.BigEndian, crc32.ChecksumIEEE(append([]byte("tEXt"), data...)))
	out := append([]byte{}, b[:iend]...)
	out = append(out, chunk.Bytes()...)
	return append(out, b[iend:]...)
}

// textChunks reads the base64 tEXt chunks of a PNG, keyed by keyword.
func textChunks(t *testing.T, b []byte) map[string][]byte {
	t.Helper()
	if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("not a PNG: %.20q", b)
	}
	out := map[string][]byte{}
	for i := 8; i+12 <= len(b); {
		n := int(binary.BigEndian.Uint32(b[i:]))
		typ := string(b[i+4 : i+8])
		if i+12+n > len(b) {
			t.Fatal("truncated chunk in exported PNG")
		}
		if typ == "tEXt" {
			k, v, _ := bytes.Cut(b[i+8:i+8+n], []byte{0})
			dec, err := base64.StdEncoding.DecodeString(string(v))
			if err != nil {
				t.Fatalf("chunk %s is not base64: %v", k, err)
			}
			out[string(k)] = dec
		}
		i += 12 + n
	}
	if _, err := png.Decode(bytes.NewReader(b)); err != nil {
		t.Fatalf("exported PNG does not decode: %v", err)
	}
	return out
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestSameCardNoticesDifferences(t *testing.T) {
	t.Parallel()
	want := decode(t, []byte(`{"data":{"name":"A","tags":["x"],"extensions":{"n":12345678901234567890}}}`))
	for _, got := range []string{
		`{"data":{"name":"B","tags":["x"],"extensions":{"n":12345678901234567890}}}`,
		`{"data":{"name":"A","tags":[],"extensions":{"n":12345678901234567890}}}`,
		`{"data":{"name":"A","tags":["x"],"extensions":{"n":12345678901234567891}}}`,
		`{"data":{"name":"A","tags":["x"],"extensions":{}}}`,
		`{"data":{"name":"A","tags":["x"],"extensions":{"n":12345678901234567890},"extra":"y"}}`,
	} {
		var diffs []string
		compare("", want, decode(t, []byte(got)), &diffs)
		if len(diffs) == 0 {
			t.Errorf("no difference found for %s", got)
		}
	}
	var diffs []string
	compare("", want, decode(t, []byte(`{"data":{"name":"A","tags":["x"],"extensions":{"n":12345678901234567890},"nickname":""}}`)), &diffs)
	if len(diffs) != 0 {
		t.Errorf("an empty extra field counted as a difference: %v", diffs)
	}
}
