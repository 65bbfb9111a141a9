package benchdb

import (
	"strings"
	"testing"
)

func TestWithDatabase(t *testing.T) {
	tests := []struct{ admin, want string }{
		{"postgres://u:p@127.0.0.1:5432/timbre?sslmode=disable", "postgres://u:p@127.0.0.1:5432/timbre_bench_x?sslmode=disable"},
		{"postgresql://u@h/db", "postgresql://u@h/timbre_bench_x"},
		{"host=h user=u dbname=timbre", "host=h user=u dbname=timbre dbname=timbre_bench_x"},
	}
	for _, tt := range tests {
		got, err := WithDatabase(tt.admin, "timbre_bench_x")
		if err != nil || got != tt.want {
			t.Errorf("WithDatabase(%q) = %q, %v; want %q", tt.admin, got, err, tt.want)
		}
	}
}

func TestWithParam(t *testing.T) {
	tests := []struct{ conn, want string }{
		{"postgres://u:p@h:5432/db?sslmode=disable", "postgres://u:p@h:5432/db?sslmode=disable&synchronous_commit=off"},
		{"postgres://u@h/db", "postgres://u@h/db?synchronous_commit=off"},
		{"host=h dbname=db", "host=h dbname=db synchronous_commit=off"},
	}
	for _, tt := range tests {
		got, err := WithParam(tt.conn, "synchronous_commit", "off")
		if err != nil || got != tt.want {
			t.Errorf("WithParam(%q) = %q, %v; want %q", tt.conn, got, err, tt.want)
		}
	}
}

func TestParseStat(t *testing.T) {
	// A real line's shape; the name may hold spaces and parentheses.
	pg := "4242 (postgres) S 1 4242 4242 0 -1 4194560 900 0 0 0 120 35 0 0 20 0 1 0 100 200000000 3000 18446744073709551615"
	tests := []struct {
		name, line, comm string
		want             uint64
		ok               bool
	}{
		{"postgres", pg, "postgres", 155, true},
		{"other name", strings.Replace(pg, "(postgres)", "(go)", 1), "postgres", 0, false},
		{"name with spaces", strings.Replace(pg, "(postgres)", "(a (b) c)", 1), "a (b) c", 155, true},
		{"truncated", "4242 (postgres) S 1 2", "postgres", 0, false},
		{"garbage", "nothing here", "postgres", 0, false},
		{"non-numeric times", strings.Replace(pg, " 120 35 ", " x y ", 1), "postgres", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseStat(tt.line, tt.comm)
			if got != tt.want || ok != tt.ok {
				t.Errorf("parseStat = %d, %v; want %d, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}
