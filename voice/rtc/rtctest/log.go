package rtctest

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pion/logging"
)

// logFactory routes the client's pion logs to slog.
type logFactory struct{ log *slog.Logger }

func (f logFactory) NewLogger(scope string) logging.LeveledLogger {
	return leveled{f.log.With("pion", scope, "side", "client")}
}

type leveled struct{ log *slog.Logger }

func (l leveled) logf(level slog.Level, format string, args ...any) {
	if l.log.Enabled(context.Background(), level) {
		l.log.Log(context.Background(), level, fmt.Sprintf(format, args...))
	}
}

func (l leveled) Trace(msg string)                  { l.logf(slog.LevelDebug-4, "%s", msg) }
func (l leveled) Tracef(format string, args ...any) { l.logf(slog.LevelDebug-4, format, args...) }
func (l leveled) Debug(msg string)                  { l.logf(slog.LevelDebug, "%s", msg) }
func (l leveled) Debugf(format string, args ...any) { l.logf(slog.LevelDebug, format, args...) }
func (l leveled) Info(msg string)                   { l.logf(slog.LevelInfo, "%s", msg) }
func (l leveled) Infof(format string, args ...any)  { l.logf(slog.LevelInfo, format, args...) }
func (l leveled) Warn(msg string)                   { l.logf(slog.LevelWarn, "%s", msg) }
func (l leveled) Warnf(format string, args ...any)  { l.logf(slog.LevelWarn, format, args...) }
func (l leveled) Error(msg string)                  { l.logf(slog.LevelError, "%s", msg) }
func (l leveled) Errorf(format string, args ...any) { l.logf(slog.LevelError, format, args...) }
