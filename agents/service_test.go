package agents_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/timbre-ai/timbre/accounts"
	"github.com/timbre-ai/timbre/agents"
	"github.com/timbre-ai/timbre/bus/bustest"
	"github.com/timbre-ai/timbre/db/dbtest"
)

// Two services on one database stand for two `timbre serve` processes; a
// change through one must reach the other's cache through the bus.
func TestCacheInvalidationAcrossProcesses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.New(t)
	changes := bustest.Broadcast(t, "timbre.agents.changed")
	process := func() *agents.Service {
		svc := agents.NewService(pool, agents.Config{CacheTTL: time.Hour, Changes: changes})
		stop, err := changes.Subscribe(svc.Forget)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(stop)
		return svc
	}
	a, other := process(), process()

	user, _, err := accounts.NewService(pool, accounts.Config{Hash: accounts.HashParams{Memory: 1024, Time: 1, Threads: 1}}).
		Signup(ctx, accounts.SignupInput{Email: "c@example.com", Password: "password1", DisplayName: "C"}, accounts.SessionMeta{})
	if err != nil {
		t.Fatal(err)
	}
	created, err := a.Create(ctx, user.ID, []byte(`{"name":"Before","visibility":"public"}`))
	if err != nil {
		t.Fatal(err)
	}
	public := agents.ListParams{Scope: agents.ScopePublic, Limit: 10}
	if body, err := a.AgentJSON(ctx, "", created.ID); err != nil || !strings.Contains(string(body), `"Before"`) {
		t.Fatalf("first read: %s, %v", body, err)
	}
	if body, _ := a.ListJSON(ctx, "", public); !strings.Contains(string(body), `"Before"`) {
		t.Fatalf("first list: %s", body)
	}

	if _, err := other.Update(ctx, user.ID, created.ID, []byte(`{"name":"After"}`)); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool {
		body, err := a.AgentJSON(ctx, "", created.ID)
		return err == nil && strings.Contains(string(body), `"After"`)
	}, "the other process's cached agent was not invalidated")
	eventually(t, func() bool {
		body, _ := a.ListJSON(ctx, "", public)
		return strings.Contains(string(body), `"After"`)
	}, "the other process's cached catalogue page was not invalidated")

	// Turning the agent private must hide it from anonymous readers at once.
	if _, err := other.Update(ctx, user.ID, created.ID, []byte(`{"visibility":"private"}`)); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool {
		_, err := a.AgentJSON(ctx, "", created.ID)
		return err != nil
	}, "a private agent stayed readable from the cache")
	body, err := a.AgentJSON(ctx, user.ID, created.ID)
	if err != nil {
		t.Fatalf("the owner cannot read their private agent: %v", err)
	}
	var got map[string]any
	if err := json.Unmarshal(body, &got); err != nil || got["visibility"] != "private" {
		t.Fatalf("owner read = %s (%v)", body, err)
	}
}

func eventually(t *testing.T, ok func() bool, msg string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A PNG card's file holds the picture and the card text; one over the 8 MiB
// avatar upload limit still imports with its picture.
func TestImportLargePNGCardKeepsItsImage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.New(t)
	user, _, err := accounts.NewService(pool, accounts.Config{Hash: accounts.HashParams{Memory: 1024, Time: 1, Threads: 1}}).
		Signup(ctx, accounts.SignupInput{Email: "p@example.com", Password: "password1", DisplayName: "P"}, accounts.SessionMeta{})
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewRGBA(image.Rect(0, 0, 2048, 2048))
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range img.Pix {
		img.Pix[i] = byte(rng.Uint32())
	}
	var pic bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.NoCompression}).Encode(&pic, img); err != nil {
		t.Fatal(err)
	}
	file, err := agents.EncodePNG(agents.Card{Name: "Big"}, pic.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(file) <= agents.MaxAvatarBytes {
		t.Fatalf("test card is only %d bytes", len(file))
	}
	a, err := agents.NewService(pool, agents.Config{}).Import(ctx, user.ID, file)
	if err != nil {
		t.Fatalf("import of a %d-byte PNG card: %v", len(file), err)
	}
	if !a.HasAvatar || a.Card.Name != "Big" {
		t.Fatalf("imported %+v", a)
	}
}
