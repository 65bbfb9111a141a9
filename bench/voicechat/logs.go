package main

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
)

// sessionEnd is what the server logs when a voice session ends.
type sessionEnd struct {
	reason                          string
	framesSent, framesLate, maxLate int64 // maxLate in ms
}

// logCapture is the server's log: it keeps the "voice session ended"
// records by session and counts warnings and errors, keeping the first
// few. Nothing is written anywhere.
type logCapture struct {
	level slog.Level
	attrs []slog.Attr
	st    *logState
}

type logState struct {
	mu    sync.Mutex
	ended map[string]sessionEnd
	// warnings counts warnings and errors but pion's own (attribute
	// "pion"), which pion counts by message.
	warnings int
	pion     map[string]int
	first    []string
}

func newLogCapture(level slog.Level) *logCapture {
	return &logCapture{level: level, st: &logState{ended: map[string]sessionEnd{}, pion: map[string]int{}}}
}

// atLevel is h, sharing its records, enabled from level l.
func (h *logCapture) atLevel(l slog.Level) *logCapture {
	return &logCapture{level: l, attrs: h.attrs, st: h.st}
}

func (h *logCapture) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *logCapture) WithAttrs(as []slog.Attr) slog.Handler {
	return &logCapture{level: h.level, attrs: append(h.attrs[:len(h.attrs):len(h.attrs)], as...), st: h.st}
}

// WithGroup keeps the attributes ungrouped: only their values are read.
func (h *logCapture) WithGroup(string) slog.Handler { return h }

func (h *logCapture) Handle(_ context.Context, r slog.Record) error {
	attrs := map[string]slog.Value{}
	for _, a := range h.attrs {
		attrs[a.Key] = a.Value.Resolve()
	}
	r.Attrs(func(a slog.Attr) bool {
		attrs[a.Key] = a.Value.Resolve()
		return true
	})
	h.st.mu.Lock()
	defer h.st.mu.Unlock()
	if r.Message == "voice session ended" {
		id := attrs["session_id"].String()
		h.st.ended[id] = sessionEnd{reason: attrs["reason"].String(), framesSent: intValue(attrs["frames_sent"]),
			framesLate: intValue(attrs["frames_late"]), maxLate: intValue(attrs["max_late_ms"])}
	}
	if r.Level >= slog.LevelWarn {
		if _, ok := attrs["pion"]; ok {
			h.st.pion[clipMessage(r.Message)]++
			return nil
		}
		h.st.warnings++
		if len(h.st.first) < 5 {
			var b strings.Builder
			fmt.Fprintf(&b, "%s %s", r.Level, r.Message)
			for _, k := range slices.Sorted(maps.Keys(attrs)) {
				fmt.Fprintf(&b, " %s=%v", k, attrs[k])
			}
			h.st.first = append(h.st.first, b.String())
		}
	}
	return nil
}

func intValue(v slog.Value) int64 {
	switch v.Kind() {
	case slog.KindInt64:
		return v.Int64()
	case slog.KindUint64:
		return int64(v.Uint64())
	case slog.KindFloat64:
		return int64(v.Float64())
	}
	return 0
}

// ended returns the end records of the sessions named, and how many of
// them have none yet.
func (h *logCapture) ended(ids []string) ([]sessionEnd, int) {
	h.st.mu.Lock()
	defer h.st.mu.Unlock()
	var out []sessionEnd
	missing := 0
	for _, id := range ids {
		if e, ok := h.st.ended[id]; ok {
			out = append(out, e)
		} else {
			missing++
		}
	}
	return out, missing
}

// warnings is the warnings and errors logged by pion, counted by message,
// the number of the others, and the first few of them.
func (h *logCapture) warnings() (pion map[string]int, other int, first []string) {
	h.st.mu.Lock()
	defer h.st.mu.Unlock()
	return maps.Clone(h.st.pion), h.st.warnings, append([]string(nil), h.st.first...)
}

// clipMessage keeps a log message's first 80 bytes, with the hex
// addresses pion puts in some of them taken out, so that alike messages
// count together.
func clipMessage(m string) string {
	if i := strings.Index(m, "[0x"); i >= 0 {
		if j := strings.IndexByte(m[i:], ']'); j > 0 {
			m = m[:i] + m[i+j+1:]
		}
	}
	m = strings.TrimSpace(m)
	if len(m) > 80 {
		m = m[:80]
	}
	return m
}
