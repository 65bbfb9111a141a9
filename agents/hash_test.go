package agents

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
)

// Pinned hashes of the fixtures. They are anchored on chain in real use: if
// one changes, every published version's hash changes, so treat a failure
// here as a breaking change of the scheme in CONTENT_HASH.md. Both values
// were checked against an independent canonicalisation (Python json.dumps
// with sorted keys, compact separators, ensure_ascii=False, and the one
// big integer of card_v2.json rounded to a double as RFC 8785 requires).
const (
	goldenHashV2 = "sha256:b2ae732a1c86b867e139441e70e647c1faff16736be4ff3244fb05c9907fab21"
	goldenHashV3 = "sha256:6532b7a39394838a533f515e2707c9d266c46cdb721cca4399c0d53b87951ad5"
)

func TestContentHashGolden(t *testing.T) {
	t.Parallel()
	// The worked example of CONTENT_HASH.md.
	if got, err := ContentHash(Card{Name: "Bare"}); err != nil || got != "sha256:cb0ede457708d5ea12ef02deab1da836d5ca3f015aad16239e9e9d44aaef84d8" {
		t.Errorf("ContentHash(Bare) = %s, %v", got, err)
	}
	for _, tc := range []struct{ file, want string }{{fixtureV2, goldenHashV2}, {fixtureV3, goldenHashV3}} {
		c, err := ParseCardJSON(readFixture(t, tc.file))
		if err != nil {
			t.Fatal(err)
		}
		got, err := ContentHash(c)
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("ContentHash(%s) = %s, want %s", tc.file, got, tc.want)
		}
		// The documented recipe: canonical JSON of the V3 export.
		v3, err := EncodeV3(c)
		if err != nil {
			t.Fatal(err)
		}
		canon, err := CanonicalJSON(v3)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(canon)
		if recipe := "sha256:" + hex.EncodeToString(sum[:]); recipe != got {
			t.Errorf("recipe hash %s != ContentHash %s", recipe, got)
		}
	}
}

// reshape re-encodes a JSON document with object keys in reverse order and
// odd white space, keeping number literals.
func reshape(t *testing.T, data []byte) []byte {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	var write func(v any, depth int)
	write = func(v any, depth int) {
		pad := "\n" + strings.Repeat("\t ", depth)
		switch x := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			slices.Reverse(keys)
			buf.WriteString("{")
			for i, k := range keys {
				if i > 0 {
					buf.WriteString(" ,")
				}
				kb, _ := json.Marshal(k)
				buf.WriteString(pad)
				buf.Write(kb)
				buf.WriteString(" :  ")
				write(x[k], depth+1)
			}
			buf.WriteString(pad + "}")
		case []any:
			buf.WriteString("[ ")
			for i, e := range x {
				if i > 0 {
					buf.WriteString(",\r\n")
				}
				write(e, depth+1)
			}
			buf.WriteString(" ]")
		case json.Number:
			buf.WriteString(string(x))
		default:
			b, _ := json.Marshal(x) // escapes HTML, unlike the originals
			buf.Write(b)
		}
	}
	write(v, 0)
	return buf.Bytes()
}

func TestContentHashStableAcrossLayout(t *testing.T) {
	t.Parallel()
	for _, file := range []string{fixtureV1, fixtureV2, fixtureV3} {
		orig := readFixture(t, file)
		a, err := ParseCardJSON(orig)
		if err != nil {
			t.Fatal(err)
		}
		reshaped := reshape(t, orig)
		if bytes.Equal(reshaped, orig) {
			t.Fatal("reshape changed nothing")
		}
		b, err := ParseCardJSON(reshaped)
		if err != nil {
			t.Fatalf("%s reshaped: %v\n%s", file, err, reshaped)
		}
		ha, err := ContentHash(a)
		if err != nil {
			t.Fatal(err)
		}
		hb, err := ContentHash(b)
		if err != nil {
			t.Fatal(err)
		}
		if ha != hb {
			t.Errorf("%s: hash %s changed to %s after reordering keys and white space", file, ha, hb)
		}
	}
}

func TestContentHashChangesWithEveryField(t *testing.T) {
	t.Parallel()
	base := func(t *testing.T) Card {
		c, err := ParseCardJSON(readFixture(t, fixtureV3))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	e0 := func(c *Card) *BookEntry { return &c.CharacterBook.Entries[0] }
	mutations := map[string]func(*Card){
		"name":                       func(c *Card) { c.Name += "!" },
		"description":                func(c *Card) { c.Description += "!" },
		"personality":                func(c *Card) { c.Personality += "!" },
		"scenario":                   func(c *Card) { c.Scenario += "!" },
		"first_mes":                  func(c *Card) { c.FirstMes += "!" },
		"mes_example":                func(c *Card) { c.MesExample += "!" },
		"creator_notes":              func(c *Card) { c.CreatorNotes += "!" },
		"system_prompt":              func(c *Card) { c.SystemPrompt = "!" },
		"post_history_instructions":  func(c *Card) { c.PostHistoryInstructions = "!" },
		"alternate_greetings":        func(c *Card) { c.AlternateGreetings = append(c.AlternateGreetings, "") },
		"alternate_greetings order":  func(c *Card) { c.AlternateGreetings = append([]string{"first"}, c.AlternateGreetings...) },
		"tags":                       func(c *Card) { c.Tags[0], c.Tags[1] = c.Tags[1], c.Tags[0] },
		"creator":                    func(c *Card) { c.Creator += "!" },
		"character_version":          func(c *Card) { c.CharacterVersion += "!" },
		"extensions":                 func(c *Card) { c.Extensions["new"] = json.RawMessage(`1`) },
		"extension value":            func(c *Card) { c.Extensions["risuai"] = json.RawMessage(`{"utilityBot":true}`) },
		"nickname":                   func(c *Card) { c.Nickname = "" },
		"creator_notes_multilingual": func(c *Card) { c.CreatorNotesMultilingual["de"] = "Notizen" },
		"source":                     func(c *Card) { c.Source = c.Source[:1] },
		"group_only_greetings":       func(c *Card) { c.GroupOnlyGreetings = nil },
		"creation_date":              func(c *Card) { c.CreationDate++ },
		"modification_date":          func(c *Card) { c.ModificationDate = 0 },
		"assets":                     func(c *Card) { c.Assets[1].Name = "sad" },
		"book removed":               func(c *Card) { c.CharacterBook = nil },
		"book name":                  func(c *Card) { c.CharacterBook.Name = "" },
		"book description":           func(c *Card) { c.CharacterBook.Description = "d" },
		"book scan_depth":            func(c *Card) { c.CharacterBook.ScanDepth = ptr(0) },
		"book token_budget":          func(c *Card) { c.CharacterBook.TokenBudget = ptr(0) },
		"book recursive_scanning":    func(c *Card) { c.CharacterBook.RecursiveScanning = ptr(false) },
		"book extensions":            func(c *Card) { c.CharacterBook.Extensions["x"] = json.RawMessage(`null`) },
		"book extra":                 func(c *Card) { c.CharacterBook.Extra = map[string]json.RawMessage{"x": json.RawMessage(`1`)} },
		"entry order":                func(c *Card) { slices.Reverse(c.CharacterBook.Entries) },
		"entry keys":                 func(c *Card) { e0(c).Keys = append(e0(c).Keys, "k") },
		"entry content":              func(c *Card) { e0(c).Content += "!" },
		"entry extensions":           func(c *Card) { e0(c).Extensions["risu_flag"] = json.RawMessage(`2`) },
		"entry enabled":              func(c *Card) { e0(c).Enabled = false },
		"entry insertion_order":      func(c *Card) { e0(c).InsertionOrder++ },
		"entry case_sensitive":       func(c *Card) { e0(c).CaseSensitive = nil },
		"entry use_regex":            func(c *Card) { e0(c).UseRegex = false },
		"entry constant":             func(c *Card) { e0(c).Constant = ptr(true) },
		"entry name":                 func(c *Card) { e0(c).Name = "" },
		"entry priority":             func(c *Card) { e0(c).Priority = ptr(4) },
		"entry id":                   func(c *Card) { e0(c).ID = json.RawMessage(`3`) },
		"entry comment":              func(c *Card) { e0(c).Comment = "" },
		"entry selective":            func(c *Card) { e0(c).Selective = nil },
		"entry secondary_keys":       func(c *Card) { e0(c).SecondaryKeys = []string{"s"} },
		"entry position":             func(c *Card) { e0(c).Position = PositionBeforeChar },
		"entry extra":                func(c *Card) { e0(c).Extra["x_v3_extra"] = json.RawMessage(`"changed"`) },
		"second entry case_sensitive": func(c *Card) {
			c.CharacterBook.Entries[1].CaseSensitive = ptr(false) // absent → false is a change
		},
	}
	want, err := ContentHash(base(t))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{want: "base"}
	for name, mutate := range mutations {
		c := base(t)
		mutate(&c)
		got, err := ContentHash(c)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if other, dup := seen[got]; dup {
			t.Errorf("%s: hash equals that of %s", name, other)
		}
		seen[got] = name
	}
}

func TestCanonicalJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{
			// The example of RFC 8785 section 3.2.3.
			"rfc 8785 example",
			`{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],"string":"\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/","literals":[null,true,false]}`,
			`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`,
		},
		{
			"nested, unicode, escapes, numbers",
			"{ \"b\": [1, 1.5, 1e21, -0, 0.000001, 1e-7, 123456789012345680000, -1.5e-10, 100, 1.0, 12345678901234567890],\n" +
				" \"a\": {\"z\": \"\\u00e9\\n\\\"\\\\\\u0001\\u001f/<>&\\u2028\", \"é\": true, \"\\ud83d\\ude00\": null, \"\\ue000\": false, \"\": {}},\n" +
				" \"c\": [\"😀\", [], {\"y\": {\"x\": [\"\\b\\f\\r\\t\"]}}]}",
			`{"a":{"":{},"z":"é\n\"\\\u0001\u001f/<>&` + "\u2028" + `","é":true,"😀":null,"` + "\ue000" + `":false},` +
				`"b":[1,1.5,1e+21,0,0.000001,1e-7,123456789012345680000,-1.5e-10,100,1,12345678901234567000],` +
				`"c":["😀",[],{"y":{"x":["\b\f\r\t"]}}]}`,
		},
		{"scalar string", `"x"`, `"x"`},
		{"scalar number", ` 5e-324 `, `5e-324`},
	}
	for _, tc := range tests {
		got, err := CanonicalJSON([]byte(tc.in))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if string(got) != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
	for _, bad := range []string{``, `{`, `{"a":1}{`, `{"a":1,"a":2}`, `[{"a":{"b":1,"b":1}}]`, `1e400`, `-1e999`, `nul`} {
		if _, err := CanonicalJSON([]byte(bad)); err == nil {
			t.Errorf("CanonicalJSON(%q) succeeded", bad)
		}
	}
	// Same members in different containers are not duplicates.
	if _, err := CanonicalJSON([]byte(`[{"a":1},{"a":1,"b":{"a":2}}]`)); err != nil {
		t.Errorf("false duplicate: %v", err)
	}
}

func TestFormatES6(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0"},
		{math.Copysign(0, -1), "0"},
		{1, "1"},
		{-1, "-1"},
		{1.5, "1.5"},
		{0.1, "0.1"},
		{100, "100"},
		{1e20, "100000000000000000000"},
		{1e21, "1e+21"},
		{1.5e21, "1.5e+21"},
		{1e-6, "0.000001"},
		{1.5e-6, "0.0000015"},
		{1e-7, "1e-7"},
		{123e-20, "1.23e-18"},
		{5e-324, "5e-324"},
		{math.MaxFloat64, "1.7976931348623157e+308"},
		{9007199254740993, "9007199254740992"},
		{-123.456, "-123.456"},
		{1234567.125, "1234567.125"},
	}
	for _, tc := range tests {
		if got := formatES6(tc.in); got != tc.want {
			t.Errorf("formatES6(%v) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
