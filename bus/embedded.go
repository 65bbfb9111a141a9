package bus

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// embeddedReadyTimeout bounds how long Open waits for the embedded server
// when ctx has no earlier deadline.
const embeddedReadyTimeout = 10 * time.Second

// startEmbedded starts a JetStream-enabled nats-server. With listen empty
// it listens on no port and clients reach it through in-process
// connections; otherwise it also accepts TCP clients on listen.
func startEmbedded(ctx context.Context, dataDir, listen string, logger *slog.Logger) (*server.Server, error) {
	storeDir := filepath.Join(dataDir, "nats")
	if err := os.MkdirAll(storeDir, 0o750); err != nil {
		return nil, fmt.Errorf("bus: create nats store dir: %w", err)
	}
	opts := &server.Options{
		ServerName: "timbre-embedded",
		// Another NATS may own 4222 on this machine; in-process connections
		// need no listener at all.
		DontListen: true,
		JetStream:  true,
		StoreDir:   storeDir,
		// The process's own signal handling decides when to shut down.
		NoSigs: true,
	}
	if listen != "" {
		host, portText, err := net.SplitHostPort(listen)
		if err != nil {
			return nil, fmt.Errorf("%w: listen address %q: %w", ErrInvalidConfig, listen, err)
		}
		port, err := strconv.Atoi(portText)
		if err != nil || port < 0 || port > 65535 {
			return nil, fmt.Errorf("%w: listen address %q: bad port", ErrInvalidConfig, listen)
		}
		if port == 0 {
			port = server.RANDOM_PORT // ":0" means any free port, as for net.Listen
		}
		opts.DontListen, opts.Host, opts.Port = false, host, port
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("bus: new embedded nats server: %w", err)
	}
	srv.SetLoggerV2(serverLogger{log: logger.With("component", "nats-server")}, false, false, false)
	srv.Start()

	wait := embeddedReadyTimeout
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
		wait = time.Until(dl)
	}
	if !srv.ReadyForConnections(wait) {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, fmt.Errorf("bus: embedded nats server not ready after %s: %w", wait, ErrNotReady)
	}
	if !srv.JetStreamEnabled() {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, fmt.Errorf("bus: embedded nats server in %s: %w (see the nats-server log)", storeDir, ErrNoJetStream)
	}
	return srv, nil
}

// serverLogger routes nats-server logs to slog. Debug and trace are turned
// off at the server (SetLoggerV2 flags), so those methods rarely fire.
type serverLogger struct {
	log *slog.Logger
}

// Noticef logs at debug level: the embedded server's start-up banner and
// routine notices would drown Timbre's own log; warnings and errors stay.
func (l serverLogger) Noticef(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l serverLogger) Warnf(format string, v ...any)   { l.log.Warn(fmt.Sprintf(format, v...)) }
func (l serverLogger) Errorf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }

// Fatalf logs at error level and does not exit the process: the server gives
// up on what it was starting, and Open reports the failure as an error.
func (l serverLogger) Fatalf(format string, v ...any) {
	l.log.Error(fmt.Sprintf(format, v...), "fatal", true)
}

func (l serverLogger) Debugf(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l serverLogger) Tracef(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
