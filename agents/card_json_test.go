package agents

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestSpecVersions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		spec, version string
		want          error
	}{
		{"chara_card_v2", `"2.0"`, nil},
		{"chara_card_v2", `2`, nil},
		{"chara_card_v2", `null`, nil},
		{"chara_card_v2", `"3.0"`, ErrUnsupportedSpec},
		{"chara_card_v3", `"3.0"`, nil},
		{"chara_card_v3", `"3.5"`, nil},
		{"chara_card_v3", `"2.0"`, ErrUnsupportedSpec},
		{"chara_card_v3", `"4.0"`, ErrUnsupportedSpec},
		{"chara_card_v3", `"three"`, ErrUnsupportedSpec},
		{"chara_card_v3", `[3]`, ErrUnsupportedSpec},
		{"chara_card_v1", `"1.0"`, ErrUnsupportedSpec},
		{"", `"2.0"`, ErrUnsupportedSpec},
	}
	for _, tc := range tests {
		input := `{"spec":"` + tc.spec + `","spec_version":` + tc.version + `,"data":{"name":"X"}}`
		_, err := ParseCardJSON([]byte(input))
		if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Errorf("%s: error = %v, want %v", input, err, tc.want)
		}
	}
}

func TestEncodeV3Envelope(t *testing.T) {
	t.Parallel()
	out, err := EncodeV3(Card{Name: "Bare"})
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	if string(doc["spec"]) != `"chara_card_v3"` || string(doc["spec_version"]) != `"3.0"` {
		t.Errorf("envelope: %s", out)
	}
	// The exact bytes of a minimal card: this is what ContentHash hashes
	// (after canonicalisation), so changing it changes every hash.
	const want = `{"spec":"chara_card_v3","spec_version":"3.0","data":{"name":"Bare","description":"","personality":"","scenario":"","first_mes":"","mes_example":"","creator_notes":"","system_prompt":"","post_history_instructions":"","alternate_greetings":[],"tags":[],"creator":"","character_version":"","extensions":{},"group_only_greetings":[]}}`
	if string(out) != want {
		t.Errorf("EncodeV3 =\n%s\nwant\n%s", out, want)
	}
}

func FuzzParseCardJSON(f *testing.F) {
	for _, name := range []string{fixtureV1, fixtureV2, fixtureV3} {
		f.Add(readFixture(f, name))
	}
	f.Add([]byte(decoyV2))
	f.Add([]byte(`{"spec":"chara_card_v3","data":{"name":"X","creation_date":"12","character_book":{"entries":[{"id":null,"x":1}]}}}`))
	f.Add([]byte(`{"char_name":"A"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseCardJSON(data)
		if err != nil {
			checkedSentinel(t, err)
			return
		}
		checkReencodes(t, c)
	})
}
