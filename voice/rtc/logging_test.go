package rtc

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// TestPionLogLevels: pion's info chatter and its warnings of every normal
// call go to debug; other warnings stay warnings.
func TestPionLogLevels(t *testing.T) {
	var buf bytes.Buffer
	l := slogFactory{log: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))}.NewLogger("ice")
	l.Info("ICE connection state changed: connected")
	l.Warnf("Failed to ping without candidate pairs. Connection is not possible yet.")
	l.Warn("dtls fatal: conn is closed")
	l.Warnf("failed to handle %s", "a STUN packet")
	l.Error("sctp association failed")
	out := buf.String()
	for _, quiet := range []string{"connected", "Failed to ping", "conn is closed"} {
		if strings.Contains(out, quiet) {
			t.Errorf("%q logged at info or above:\n%s", quiet, out)
		}
	}
	if !strings.Contains(out, "level=WARN msg=\"failed to handle a STUN packet\"") || !strings.Contains(out, "level=ERROR") {
		t.Errorf("a real warning or error is missing:\n%s", out)
	}
}
