package rtc

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/pion/logging"
)

// levelTrace is below slog's Debug: pion's trace logs are per packet.
const levelTrace = slog.LevelDebug - 4

// slogFactory routes pion's logs to slog, one logger per pion scope
// ("ice", "dtls", "pc", …) under the key "pion".
type slogFactory struct{ log *slog.Logger }

// NewLogger implements logging.LoggerFactory.
func (f slogFactory) NewLogger(scope string) logging.LeveledLogger {
	return slogLeveled{log: f.log.With("pion", scope)}
}

// slogLeveled is a pion LeveledLogger writing to slog. Formatting is
// skipped when the level is off, since pion logs at debug level on hot
// paths.
type slogLeveled struct{ log *slog.Logger }

func (l slogLeveled) logf(level slog.Level, format string, args ...any) {
	if !l.log.Enabled(context.Background(), level) {
		return
	}
	l.log.Log(context.Background(), level, fmt.Sprintf(format, args...))
}

func (l slogLeveled) Trace(msg string)                  { l.logf(levelTrace, "%s", msg) }
func (l slogLeveled) Tracef(format string, args ...any) { l.logf(levelTrace, format, args...) }
func (l slogLeveled) Debug(msg string)                  { l.logf(slog.LevelDebug, "%s", msg) }
func (l slogLeveled) Debugf(format string, args ...any) { l.logf(slog.LevelDebug, format, args...) }

// pion's info logs narrate every call's connection states; the voice
// sessions log each call's start and end at info, so pion's go to debug.
func (l slogLeveled) Info(msg string)                  { l.logf(slog.LevelDebug, "%s", msg) }
func (l slogLeveled) Infof(format string, args ...any) { l.logf(slog.LevelDebug, format, args...) }
func (l slogLeveled) Warn(msg string)                  { l.logf(warnLevel(msg), "%s", msg) }
func (l slogLeveled) Warnf(format string, args ...any) { l.warnf(format, args...) }

func (l slogLeveled) warnf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	l.logf(warnLevel(msg), "%s", msg)
}

// benignWarnings are warnings pion logs on every normal call: checks
// before the browser's candidates arrive, and the teardown of a call that
// ended. They go to debug so that a warning in the log means something.
var benignWarnings = []string{
	"Failed to ping without candidate pairs",
	"stream is already closed",
	"conn is closed",
}

func warnLevel(msg string) slog.Level {
	for _, b := range benignWarnings {
		if strings.Contains(msg, b) {
			return slog.LevelDebug
		}
	}
	return slog.LevelWarn
}
func (l slogLeveled) Error(msg string)                  { l.logf(slog.LevelError, "%s", msg) }
func (l slogLeveled) Errorf(format string, args ...any) { l.logf(slog.LevelError, format, args...) }
