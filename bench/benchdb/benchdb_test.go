package benchdb

import "testing"

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
