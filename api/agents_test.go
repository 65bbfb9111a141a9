package api_test

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"
)

func agentOf(t *testing.T, r response) map[string]any {
	t.Helper()
	a, ok := r.json(t)["agent"].(map[string]any)
	if !ok {
		t.Fatalf("no agent in %s", r.body)
	}
	return a
}

func TestAgentDraftLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.signup("alice")
	bob := e.signup("bob")

	a := agentOf(t, alice.json("POST", "/api/agents", map[string]any{
		"name": "Mira", "description": "A lighthouse keeper", "personality": "calm", "first_mes": "Hello, {{user}}.",
		"alternate_greetings": []string{"Evening."}, "tags": []string{"sea", "calm"},
		"character_book": map[string]any{"entries": []any{map[string]any{"keys": []string{"lamp"}, "content": "The lamp is old.", "enabled": true, "insertion_order": 1}}},
		"extensions":     map[string]any{"talkativeness": "0.5"},
		"llm":            map[string]any{"provider": "ollama", "model": "llama3", "temperature": 0.7},
	}).must(t, 201))
	id := a["id"].(string)
	if a["visibility"] != "private" || a["latest_version"] != 0.0 || a["owner_id"] == "" {
		t.Fatalf("new agent = %v", a)
	}

	// Merge patch: keys present change, others stay; null resets.
	p := agentOf(t, alice.json("PATCH", "/api/agents/"+id, map[string]any{"personality": "stern", "tags": nil, "visibility": "unlisted"}).must(t, 200))
	if p["personality"] != "stern" || p["description"] != "A lighthouse keeper" || p["visibility"] != "unlisted" {
		t.Fatalf("patched = %v", p)
	}
	if tags, _ := p["tags"].([]any); len(tags) != 0 {
		t.Fatalf("tags after null = %v", p["tags"])
	}
	if p["llm"].(map[string]any)["model"] != "llama3" {
		t.Fatalf("llm lost on patch: %v", p["llm"])
	}
	if p["extensions"].(map[string]any)["talkativeness"] != "0.5" {
		t.Fatalf("extensions lost on patch: %v", p["extensions"])
	}

	// Unlisted: others can read by id but cannot change it.
	bob.json("GET", "/api/agents/"+id, nil).must(t, 200)
	bob.json("PATCH", "/api/agents/"+id, map[string]any{"name": "Bob's"}).must(t, 403)
	bob.json("POST", "/api/agents/"+id+"/publish", nil).must(t, 403)
	e.client().json("GET", "/api/agents/"+id, nil).must(t, 200)

	// Publishing freezes versions; the hash depends only on the card.
	v1 := alice.json("POST", "/api/agents/"+id+"/publish", nil).must(t, 201).json(t)["version"].(map[string]any)
	v2 := alice.json("POST", "/api/agents/"+id+"/publish", nil).must(t, 201).json(t)["version"].(map[string]any)
	if v1["number"] != 1.0 || v2["number"] != 2.0 || v1["content_hash"] != v2["content_hash"] {
		t.Fatalf("versions = %v, %v", v1, v2)
	}
	alice.json("PATCH", "/api/agents/"+id, map[string]any{"llm": map[string]any{"model": "other"}}).must(t, 200)
	v3 := alice.json("POST", "/api/agents/"+id+"/publish", nil).must(t, 201).json(t)["version"].(map[string]any)
	if v3["content_hash"] != v1["content_hash"] {
		t.Fatal("changing platform settings changed the card's content hash")
	}
	alice.json("PATCH", "/api/agents/"+id, map[string]any{"scenario": "a storm"}).must(t, 200)
	v4 := alice.json("POST", "/api/agents/"+id+"/publish", nil).must(t, 201).json(t)["version"].(map[string]any)
	if v4["content_hash"] == v1["content_hash"] {
		t.Fatal("changing the card did not change the content hash")
	}
	versions := alice.json("GET", "/api/agents/"+id+"/versions", nil).must(t, 200).json(t)["items"].([]any)
	if len(versions) != 4 || versions[0].(map[string]any)["number"] != 4.0 {
		t.Fatalf("versions = %v", versions)
	}
	frozen := alice.json("GET", "/api/agents/"+id+"/versions/1", nil).must(t, 200).json(t)["card"].(map[string]any)
	if frozen["personality"] != "stern" || frozen["scenario"] != "" {
		t.Fatalf("version 1 card = %v", frozen)
	}
	if got := agentOf(t, alice.json("GET", "/api/agents/"+id, nil).must(t, 200)); got["latest_version"] != 4.0 {
		t.Fatalf("latest_version = %v", got["latest_version"])
	}

	alice.json("DELETE", "/api/agents/"+id, nil).must(t, 204)
	alice.json("GET", "/api/agents/"+id, nil).must(t, 404)
	if n := e.count("agent_versions"); n != 0 {
		t.Fatalf("versions left after delete: %d", n)
	}
}

func TestAgentListPagingAndSearch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.signup("alice")
	bob := e.signup("bob")
	for i := range 7 {
		vis := "private"
		if i%2 == 0 {
			vis = "public"
		}
		alice.json("POST", "/api/agents", map[string]any{"name": fmt.Sprintf("Agent %d", i), "description": fmt.Sprintf("number %d", i), "visibility": vis, "tags": []string{"tag" + fmt.Sprint(i)}}).must(t, 201)
	}
	bob.json("POST", "/api/agents", map[string]any{"name": "Navigator", "description": "charts the stars", "visibility": "public"}).must(t, 201)

	// Page through alice's agents three at a time.
	var names []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		page := alice.json("GET", "/api/agents?scope=mine&limit=3&cursor="+cursor, nil).must(t, 200).json(t)
		for _, it := range page["items"].([]any) {
			names = append(names, it.(map[string]any)["name"].(string))
		}
		cursor, _ = page["next_cursor"].(string)
		if cursor == "" {
			break
		}
	}
	want := []string{"Agent 6", "Agent 5", "Agent 4", "Agent 3", "Agent 2", "Agent 1", "Agent 0"}
	if fmt.Sprint(names) != fmt.Sprint(want) {
		t.Fatalf("paged names = %v, want %v", names, want)
	}

	public := bob.json("GET", "/api/agents?scope=public&limit=100", nil).must(t, 200).json(t)["items"].([]any)
	if len(public) != 5 { // agents 0, 2, 4, 6 and Navigator
		t.Fatalf("public agents = %d, want 5", len(public))
	}
	for _, tc := range []struct {
		q    string
		want int
	}{{"navig", 1}, {"STARS", 1}, {"agent", 4}, {"tag4", 1}, {"number 3", 0}, {"zzz", 0}, {"'); DROP TABLE agents; --", 0}, {"&|!:*", 0}} {
		got := e.client().json("GET", "/api/agents?scope=public&q="+urlQuery(tc.q), nil).must(t, 200).json(t)["items"].([]any)
		if len(got) != tc.want {
			t.Errorf("search %q: %d results, want %d", tc.q, len(got), tc.want)
		}
	}
	mine := alice.json("GET", "/api/agents?scope=mine&q=number+3", nil).must(t, 200).json(t)["items"].([]any)
	if len(mine) != 1 {
		t.Fatalf("search of own private agents: %d results, want 1", len(mine))
	}
}

func urlQuery(s string) string {
	var b bytes.Buffer
	for _, c := range []byte(s) {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func TestAvatarUpload(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.signup("alice")
	id := agentOf(t, alice.json("POST", "/api/agents", map[string]any{"name": "Face"}).must(t, 201))["id"].(string)

	img := image.NewRGBA(image.Rect(0, 0, 2000, 1000))
	for x := range 2000 {
		img.Set(x, x%1000, color.RGBA{R: 200, A: 255})
	}
	var jpg bytes.Buffer
	if err := jpeg.Encode(&jpg, img, nil); err != nil {
		t.Fatal(err)
	}
	a := agentOf(t, alice.upload("PUT", "/api/agents/"+id+"/avatar", "file", "face.jpg", jpg.Bytes()).must(t, 200))
	url, _ := a["avatar_url"].(string)
	if url == "" {
		t.Fatalf("no avatar_url: %v", a)
	}
	r := alice.do("GET", url, "", nil).must(t, 200)
	if r.header.Get("Content-Type") != "image/png" {
		t.Fatalf("avatar content type %q", r.header.Get("Content-Type"))
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(r.body))
	if err != nil || cfg.Width != 1024 || cfg.Height != 512 {
		t.Fatalf("avatar is %dx%d (%v), want re-encoded PNG 1024x512", cfg.Width, cfg.Height, err)
	}

	for _, tc := range []struct {
		name   string
		data   []byte
		status int
	}{
		{"not an image", []byte("hello, I am text"), 415},
		{"truncated png", r.body[:len(r.body)/2], 422},
	} {
		t.Run(tc.name, func(t *testing.T) {
			alice.upload("PUT", "/api/agents/"+id+"/avatar", "file", "x.png", tc.data).must(t, tc.status)
		})
	}
	e.signup("bob").upload("PUT", "/api/agents/"+id+"/avatar", "file", "face.jpg", jpg.Bytes()).must(t, 404)
	// The good avatar is still there after the refused uploads.
	if got := alice.do("GET", url, "", nil).must(t, 200); !bytes.Equal(got.body, r.body) {
		t.Fatal("a refused upload changed the avatar")
	}
}

// Text that merely looks like an escape is ordinary text and is kept.
func TestBackslashTextIsNotMistakenForNUL(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.signup("alice")
	a := agentOf(t, alice.json("POST", "/api/agents", map[string]any{"name": "Esc", "description": `a \u0000 b \\`}).must(t, 201))
	if a["description"] != `a \u0000 b \\` {
		t.Fatalf("description = %q", a["description"])
	}
}
