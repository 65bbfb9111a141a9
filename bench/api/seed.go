package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/timbre-ai/timbre/accounts"
	"github.com/timbre-ai/timbre/agents"
	"github.com/timbre-ai/timbre/bench/benchdb"
	"github.com/timbre-ai/timbre/db"
)

// nameWords make agent names. Every one of them is also a search word, and a
// few of them are sprinkled into each description, so a search for one
// matches a few percent of the catalogue: enough for full pages of 20.
var nameWords = [...]string{
	"amber", "ashen", "azure", "brass", "bramble", "cinder", "clockwork", "cobalt",
	"copper", "crimson", "crystal", "dusk", "ember", "fable", "fern", "frost",
	"gilded", "glass", "granite", "harbor", "hazel", "hollow", "ivory", "jade",
	"juniper", "lantern", "lunar", "marble", "meadow", "mist", "moss", "nimbus",
	"oak", "obsidian", "onyx", "opal", "orchid", "quartz", "raven", "river",
	"rowan", "rust", "saffron", "scarlet", "shadow", "silver", "slate", "solar",
	"spruce", "starling", "storm", "thistle", "thorn", "tide", "umber", "velvet",
	"violet", "willow", "winter", "zephyr",
}

// roles finish agent names ("Amber Lantern Cartographer").
var roles = [...]string{
	"alchemist", "archivist", "bard", "captain", "cartographer", "courier", "detective",
	"duelist", "engineer", "gardener", "healer", "herbalist", "innkeeper", "knight",
	"librarian", "mechanic", "merchant", "navigator", "oracle", "pilot", "ranger",
	"scholar", "smuggler", "tinkerer", "tutor", "watchmaker",
}

// proseWords fill descriptions and other long fields.
var proseWords = [...]string{
	"always", "patient", "quietly", "remembers", "every", "traveller", "who", "passes",
	"through", "the", "old", "city", "gates", "and", "keeps", "a", "ledger", "of",
	"favours", "owed", "speaks", "softly", "but", "argues", "fiercely", "when", "friends",
	"are", "threatened", "loves", "strong", "tea", "rainy", "evenings", "long", "walks",
	"along", "harbour", "wall", "distrusts", "nobles", "merchants", "guild", "clerks",
	"learned", "trade", "from", "grandmother", "years", "ago", "carries", "worn",
	"leather", "satchel", "full", "maps", "letters", "dried", "herbs", "hums", "sea",
	"shanties", "while", "working", "laughs", "easily", "rarely", "sleeps", "more",
	"than", "few", "hours", "dreams", "distant", "islands", "beyond", "fog", "collects",
	"stories", "rumours", "small", "brass", "trinkets", "owes", "debt", "mysterious",
	"patron", "never", "breaks", "promise", "once", "given", "prefers", "honest",
	"questions", "clever", "flattery", "teaches", "anyone", "willing", "listen",
}

// tagWords are the agents' tags.
var tagWords = [...]string{
	"fantasy", "sci-fi", "mystery", "adventure", "romance", "comedy", "slice-of-life",
	"historical", "horror", "steampunk", "cozy", "mentor", "companion", "roleplay",
	"language-tutor", "storyteller",
}

// cardGen builds realistic character cards from a seeded random source.
type cardGen struct {
	rng *rand.Rand
}

func newCardGen(seed uint64) *cardGen {
	return &cardGen{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

func pick[T any](g *cardGen, xs []T) T { return xs[g.rng.IntN(len(xs))] }

// prose writes sentences until the text is at least n bytes long, mixing in
// extra words (search words) now and then.
func (g *cardGen) prose(n int, extra ...string) string {
	var b strings.Builder
	for b.Len() <= n { // the trailing space is trimmed below
		words := 8 + g.rng.IntN(9)
		for i := range words {
			w := pick(g, proseWords[:])
			if len(extra) > 0 && g.rng.IntN(12) == 0 {
				w = pick(g, extra)
			}
			if i == 0 {
				w = strings.ToUpper(w[:1]) + w[1:]
			} else {
				b.WriteByte(' ')
			}
			b.WriteString(w)
		}
		b.WriteString(". ")
	}
	return strings.TrimSpace(b.String())
}

func title(w string) string { return strings.ToUpper(w[:1]) + w[1:] }

// card returns one agent's card: description ~1 KB, a lorebook of 3–5
// entries, 3–5 tags; about 5 KB of JSON in all.
func (g *cardGen) card() agents.Card {
	first, second := pick(g, nameWords[:]), pick(g, nameWords[:])
	role := pick(g, roles[:])
	name := title(first) + " " + title(second) + " " + title(role)
	search := []string{first, second, role, pick(g, nameWords[:]), pick(g, nameWords[:])}

	tags := map[string]bool{}
	for len(tags) < 3+g.rng.IntN(3) {
		tags[pick(g, tagWords[:])] = true
	}
	tagList := make([]string, 0, len(tags))
	for _, t := range tagWords {
		if tags[t] {
			tagList = append(tagList, t)
		}
	}

	book := &agents.CharacterBook{Name: name + " lore"}
	for i := range 3 + g.rng.IntN(3) {
		book.Entries = append(book.Entries, agents.BookEntry{
			Keys:           []string{pick(g, nameWords[:]), pick(g, proseWords[:])},
			Content:        g.prose(250, search...),
			Enabled:        true,
			InsertionOrder: i * 10,
		})
	}
	return agents.Card{
		Name:               name,
		Description:        g.prose(1000, search...),
		Personality:        g.prose(200),
		Scenario:           g.prose(300, search...),
		FirstMes:           "*looks up from the workbench* " + g.prose(350),
		MesExample:         "<START>\n{{user}}: Who are you?\n{{char}}: " + g.prose(250),
		CreatorNotes:       g.prose(150, search...),
		SystemPrompt:       "You are {{char}}. " + g.prose(120),
		AlternateGreetings: []string{g.prose(200), g.prose(150)},
		CharacterBook:      book,
		Tags:               tagList,
		Creator:            "timbre-bench",
		CharacterVersion:   "1.0",
	}
}

// createBody is the POST /api/agents body for a public agent with card c.
func createBody(c agents.Card) ([]byte, error) {
	raw, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("bench: encode card: %w", err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, fmt.Errorf("bench: encode card: %w", err)
	}
	fields["visibility"] = json.RawMessage(`"public"`)
	return json.Marshal(fields)
}

// searchWords are the q values the search scenario cycles over.
func searchWords() []string {
	return append(append([]string(nil), nameWords[:]...), roles[:]...)
}

// seeded is what the load scenarios request.
type seeded struct {
	userID   string
	apiKey   string
	agentIDs []string
}

// seed creates one user, an API key and n public agents, each published
// once, through the domain services (the same code paths as the API).
func seed(ctx context.Context, acc *accounts.Service, ags *agents.Service, n int, rngSeed uint64, workers int) (seeded, error) {
	user, _, err := acc.Signup(ctx, accounts.SignupInput{
		Email: "bench@timbre.invalid", Password: "bench-password-not-secret", DisplayName: "Bench",
	}, accounts.SessionMeta{UserAgent: "timbre-bench"})
	if err != nil {
		return seeded{}, fmt.Errorf("bench: seed user: %w", err)
	}
	_, key, err := acc.CreateKey(ctx, user.ID, "bench")
	if err != nil {
		return seeded{}, fmt.Errorf("bench: seed key: %w", err)
	}

	// Bodies are generated up front, in order, so a seed gives the same data
	// whatever the scheduling of the insert workers.
	gen := newCardGen(rngSeed)
	bodies := make([][]byte, n)
	for i := range bodies {
		if bodies[i], err = createBody(gen.card()); err != nil {
			return seeded{}, err
		}
	}

	ids := make([]string, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				a, err := ags.Create(ctx, user.ID, bodies[i])
				if err == nil {
					_, err = ags.Publish(ctx, user.ID, a.ID)
				}
				if err != nil {
					errs[w] = fmt.Errorf("bench: seed agent %d: %w", i, err)
					return
				}
				ids[i] = a.ID
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return seeded{}, fmt.Errorf("bench: seed: %w", err)
	}
	for _, err := range errs {
		if err != nil {
			return seeded{}, err // the first is enough: the others are alike
		}
	}
	return seeded{userID: user.ID, apiKey: key, agentIDs: ids}, nil
}

// seedDatabase seeds through services on a pool of their own whose
// sessions do not wait for each commit to reach the disk: the data is
// throw-away, and the server's pool keeps the production setting.
func seedDatabase(ctx context.Context, dbURL string, o options) (seeded, error) {
	seedURL, err := benchdb.WithParam(dbURL, "synchronous_commit", "off")
	if err != nil {
		return seeded{}, err
	}
	const workers = 4
	pool, err := db.Open(ctx, seedURL, workers)
	if err != nil {
		return seeded{}, err
	}
	defer pool.Close()
	acc := accounts.NewService(pool, accounts.Config{})
	return seed(ctx, acc, agents.NewService(pool, agents.Config{}), o.agents, o.seed, workers)
}
