package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/timbre-ai/timbre/agents"
)

func TestPercentile(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		out := make([]time.Duration, len(ns))
		for i, n := range ns {
			out[i] = time.Duration(n) * time.Millisecond
		}
		return out
	}
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 99, 0},
		{"one value", ms(7), 50, 7 * time.Millisecond},
		{"one value max", ms(7), 100, 7 * time.Millisecond},
		{"median of four is the second", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"p99 of 100", hundred, 99, 99 * time.Millisecond},
		{"p50 of 100", hundred, 50, 50 * time.Millisecond},
		{"p90 of 100", hundred, 90, 90 * time.Millisecond},
		{"max of 100", hundred, 100, 100 * time.Millisecond},
		{"p99 of 10 is the max", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 99, 10 * time.Millisecond},
		{"tiny p is the min", ms(1, 2, 3), 0.001, time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("percentile(%v, %v) = %v, want %v", tt.sorted, tt.p, got, tt.want)
			}
		})
	}
}

func TestShares(t *testing.T) {
	tests := []struct {
		name    string
		targets []string
		workers int
		want    [][]string
	}{
		{"one target, many workers", []string{"a"}, 3, [][]string{{"a"}, {"a"}, {"a"}}},
		{"even split", []string{"a", "b", "c", "d"}, 2, [][]string{{"a", "c"}, {"b", "d"}}},
		{"uneven split wraps", []string{"a", "b", "c"}, 2, [][]string{{"a", "c"}, {"b", "a"}}},
		{"fewer targets than workers", []string{"a", "b"}, 3, [][]string{{"a"}, {"b"}, {"a"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := shares(tt.targets, tt.workers)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("shares (-want +got):\n%s", diff)
			}
			// Every target is requested by some worker.
			var all []string
			for _, s := range got {
				all = append(all, s...)
			}
			for _, target := range tt.targets {
				if !slices.Contains(all, target) {
					t.Errorf("target %q is never requested", target)
				}
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	r := loadResult{
		latencies: []time.Duration{time.Millisecond, 2 * time.Millisecond, 3 * time.Millisecond, 10 * time.Millisecond},
		elapsed:   2 * time.Second,
		bytes:     300,
		errors:    1,
		firstErr:  "boom",
		cpu:       cpuSample{proc: 1.5, postgres: 0.25, host: 2},
	}
	got := summarize("agent-get", "desc", r)
	want := Result{
		Scenario: "agent-get", Description: "desc", Requests: 4, Seconds: 2, RPS: 2,
		P50: 2, P90: 10, P99: 10, Max: 10, Errors: 1, FirstError: "boom", AvgBytes: 100,
		ProcCores: 1.5, PostgresCores: 0.25, HostCores: 2,
		CPUPerRequest: 875_000, // 1.75 cores × 2 s / 4 requests
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("summarize (-want +got):\n%s", diff)
	}
}

func TestRatios(t *testing.T) {
	results := []Result{
		{Scenario: "bare-agent", RPS: 1000, CPUPerRequest: 50},
		{Scenario: "agent-get", RPS: 450, CPUPerRequest: 200},
		{Scenario: "agent-search", RPS: 100},
	}
	want := []Ratio{
		{Scenario: "agent-get", Baseline: "bare-agent", Percent: 45, CPUPercent: 25},
		{Scenario: "agent-search", Baseline: "bare-agent", Percent: 10},
	}
	if diff := cmp.Diff(want, ratios(results)); diff != "" {
		t.Errorf("ratios (-want +got):\n%s", diff)
	}
	if got := ratios([]Result{{Scenario: "agent-get", RPS: 5}}); len(got) != 0 {
		t.Errorf("ratios without a baseline = %v, want none", got)
	}
}

// The generated cards must be valid and about as big as the brief says, or
// the benchmark measures something unrealistic.
func TestCardGen(t *testing.T) {
	gen := newCardGen(1)
	for i := range 50 {
		c := gen.card()
		if err := c.Validate(); err != nil {
			t.Fatalf("card %d is invalid: %v", i, err)
		}
		if n := len(c.Description); n < 1000 || n > 1300 {
			t.Errorf("card %d: description is %d bytes, want about 1 KB", i, n)
		}
		if c.CharacterBook == nil || len(c.CharacterBook.Entries) < 3 || len(c.CharacterBook.Entries) > 5 {
			t.Errorf("card %d: want a lorebook of 3 to 5 entries, got %+v", i, c.CharacterBook)
		}
		if len(c.Tags) < 3 || len(c.Tags) > 5 {
			t.Errorf("card %d: want 3 to 5 tags, got %v", i, c.Tags)
		}
		body, err := createBody(c)
		if err != nil {
			t.Fatal(err)
		}
		var fields map[string]any
		if err := json.Unmarshal(body, &fields); err != nil {
			t.Fatal(err)
		}
		if fields["visibility"] != "public" || fields["name"] != c.Name {
			t.Errorf("card %d: body has visibility %v and name %v", i, fields["visibility"], fields["name"])
		}
	}
	// The same seed gives the same cards.
	a, b := newCardGen(7).card(), newCardGen(7).card()
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("same seed, different cards (-a +b):\n%s", diff)
	}
}

// Every search word must find agents: it is in the name list or the roles.
func TestSearchWordsAppearInNames(t *testing.T) {
	gen := newCardGen(3)
	names := map[string]bool{}
	for range 3000 {
		for _, w := range strings.Fields(strings.ToLower(gen.card().Name)) {
			names[w] = true
		}
	}
	for _, w := range searchWords() {
		if !names[w] {
			t.Errorf("search word %q is in no generated name", w)
		}
	}
}

func TestParseFlags(t *testing.T) {
	env := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	t.Run("defaults", func(t *testing.T) {
		o, err := parseFlags(nil, env(nil), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if o.adminURL != defaultAdminURL || o.concurrency != 32 || o.duration != 10*time.Second ||
			o.warmup != 2*time.Second || o.agents != 2000 || len(o.scenarios) != len(scenarioNames) {
			t.Errorf("defaults = %+v", o)
		}
	})
	t.Run("env admin URL", func(t *testing.T) {
		o, err := parseFlags(nil, env(map[string]string{"TIMBRE_TEST_DATABASE_URL": "postgres://x@h/db"}), io.Discard)
		if err != nil || o.adminURL != "postgres://x@h/db" {
			t.Errorf("adminURL = %q, %v", o.adminURL, err)
		}
	})
	t.Run("pg settings", func(t *testing.T) {
		o, err := parseFlags([]string{"-pg-settings", "jit=off, plan_cache_mode=force_generic_plan"}, env(nil), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		want := [][2]string{{"jit", "off"}, {"plan_cache_mode", "force_generic_plan"}}
		if diff := cmp.Diff(want, o.pgSettings); diff != "" {
			t.Errorf("pgSettings (-want +got):\n%s", diff)
		}
	})
	t.Run("scenarios run in fixed order", func(t *testing.T) {
		o, err := parseFlags([]string{"-scenarios", "agent-get, bare-agent,agent-get"}, env(nil), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"bare-agent", "agent-get"}, o.scenarios); diff != "" {
			t.Errorf("scenarios (-want +got):\n%s", diff)
		}
	})
	bad := []struct {
		name string
		args []string
		want string
	}{
		{"zero concurrency", []string{"-c", "0"}, "-c must be"},
		{"zero duration", []string{"-d", "0s"}, "-d must be"},
		{"unknown scenario", []string{"-scenarios", "agent-delete"}, "unknown scenario"},
		{"no scenario", []string{"-scenarios", ","}, "at least one"},
		{"bad log level", []string{"-log-level", "loud"}, "-log-level"},
		{"stray argument", []string{"extra"}, "unexpected arguments"},
		{"too few agents", []string{"-agents", "0"}, "-agents must be"},
		{"setting without value", []string{"-pg-settings", "jit"}, "-pg-settings"},
		{"setting with quote", []string{"-pg-settings", "jit=off'"}, "-pg-settings"},
		{"setting name with space", []string{"-pg-settings", "a b=1"}, "-pg-settings"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseFlags(tt.args, env(nil), io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// The generated card round-trips through the agents package's JSON.
func TestCreateBodyDecodes(t *testing.T) {
	c := newCardGen(5).card()
	body, err := createBody(c)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		t.Fatal(err)
	}
	delete(fields, "visibility")
	raw, _ := json.Marshal(fields)
	var back agents.Card
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	c.Normalize()
	back.Normalize()
	if diff := cmp.Diff(c, back); diff != "" {
		t.Errorf("card changed through the body (-want +got):\n%s", diff)
	}
}

// TestBenchmarkSmoke runs the whole program briefly against the real
// database: every scenario must complete requests without errors, and the
// bare handler must serve a body as large as the real response it copies.
// It asserts nothing about speed.
func TestBenchmarkSmoke(t *testing.T) {
	o, err := parseFlags([]string{"-agents", "30", "-c", "2", "-d", "300ms", "-warmup", "0s"}, os.LookupEnv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	rep, err := benchmark(context.Background(), o, &progress)
	if err != nil {
		t.Fatalf("benchmark: %v (is PostgreSQL up? `make setup` starts it)\n%s", err, progress.String())
	}
	if len(rep.Results) != len(scenarioNames) {
		t.Fatalf("got %d results, want %d", len(rep.Results), len(scenarioNames))
	}
	byName := map[string]Result{}
	for _, r := range rep.Results {
		byName[r.Scenario] = r
		if r.Requests == 0 || r.Errors != 0 {
			t.Errorf("%s: %d requests, %d errors (%s)", r.Scenario, r.Requests, r.Errors, r.FirstError)
		}
	}
	if b, g := byName["bare-agent"].AvgBytes, byName["agent-get"].AvgBytes; b < 1000 || g < 1000 || b > 2*g || g > 2*b {
		t.Errorf("bare-agent serves %.0f bytes, agent-get %.0f: want both about one agent's JSON", b, g)
	}
	if len(rep.Ratios) != 6 {
		t.Errorf("got %d ratios, want 6", len(rep.Ratios))
	}
	if !strings.Contains(progress.String(), "dropped database timbre_bench_") {
		t.Errorf("the database was not dropped:\n%s", progress.String())
	}
	var table bytes.Buffer
	if err := writeTable(&table, rep); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"agent-get", "bare-search", "share these 2 CPUs", "by CPU cost"} {
		if rep.Machine.NumCPU != 2 && want == "share these 2 CPUs" {
			want = "share these"
		}
		if !strings.Contains(table.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, table.String())
		}
	}
}
