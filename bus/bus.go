package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Defaults applied by Open to zero Config fields.
const (
	// DefaultName is the default connection name.
	DefaultName = "timbre"
	// DefaultStreamIdleTimeout is the default Config.StreamIdleTimeout:
	// three missed heartbeats, so that a caller learns of a dead worker
	// well within two seconds.
	DefaultStreamIdleTimeout = 1500 * time.Millisecond
	// DefaultStreamHeartbeat is the default Config.StreamHeartbeat.
	DefaultStreamHeartbeat = 500 * time.Millisecond

	defaultConnectTimeout = 5 * time.Second
	defaultDrainTimeout   = 10 * time.Second
)

// Config says which NATS the bus uses and how streamed replies are timed.
type Config struct {
	// URL of an external NATS server with JetStream ("nats://host:4222").
	// Empty starts an embedded server that needs no TCP port.
	URL string
	// DataDir holds the embedded server's JetStream file store, under
	// DataDir/nats. Required when URL is empty; unused otherwise.
	DataDir string
	// Listen is a host:port on which the embedded server also accepts TCP
	// clients, so `timbre worker` processes on other machines can join it.
	// Empty (the default) listens on no port. Unused with URL.
	Listen string
	// Name identifies this process's connection in NATS monitoring.
	// Default DefaultName.
	Name string
	// StreamIdleTimeout is how long a RequestStream caller waits without any
	// message (chunk or heartbeat) before it reports ErrWorkerLost.
	// Default DefaultStreamIdleTimeout.
	StreamIdleTimeout time.Duration
	// StreamHeartbeat is how often a Serve worker sends a heartbeat while its
	// handler runs. It must be shorter than StreamIdleTimeout, and should be
	// several times shorter, since callers and workers may run with different
	// configs.
	// Default DefaultStreamHeartbeat.
	StreamHeartbeat time.Duration
}

// withDefaults validates c and fills in zero fields.
func (c Config) withDefaults() (Config, error) {
	if c.URL == "" && c.DataDir == "" {
		return c, fmt.Errorf("%w: DataDir is required for the embedded server", ErrInvalidConfig)
	}
	if c.StreamIdleTimeout < 0 {
		return c, fmt.Errorf("%w: StreamIdleTimeout %s is negative", ErrInvalidConfig, c.StreamIdleTimeout)
	}
	if c.StreamHeartbeat < 0 {
		return c, fmt.Errorf("%w: StreamHeartbeat %s is negative", ErrInvalidConfig, c.StreamHeartbeat)
	}
	if c.Name == "" {
		c.Name = DefaultName
	}
	if c.StreamIdleTimeout == 0 {
		c.StreamIdleTimeout = DefaultStreamIdleTimeout
	}
	if c.StreamHeartbeat == 0 {
		c.StreamHeartbeat = DefaultStreamHeartbeat
	}
	if c.StreamHeartbeat >= c.StreamIdleTimeout {
		return c, fmt.Errorf("%w: StreamHeartbeat %s must be shorter than StreamIdleTimeout %s",
			ErrInvalidConfig, c.StreamHeartbeat, c.StreamIdleTimeout)
	}
	return c, nil
}

// Bus is one connection to NATS, and the embedded server when it started one.
// It is safe for concurrent use.
type Bus struct {
	cfg Config
	log *slog.Logger
	// srv is the embedded server this Bus owns and shuts down; nil when the
	// server is external or owned by another Bus (see Dial).
	srv *server.Server
	// provider reaches the embedded server for Dial, whoever owns it.
	provider *server.Server
	nc       *nats.Conn
	js       jetstream.JetStream

	connClosed <-chan struct{}
	closed     atomic.Bool
	closeOnce  sync.Once
	closeErr   error
}

// Open starts the embedded NATS server (cfg.URL empty) or connects to the
// external one, and checks that JetStream answers.
func Open(ctx context.Context, cfg Config, logger *slog.Logger) (*Bus, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	var srv *server.Server
	if cfg.URL == "" {
		srv, err = startEmbedded(ctx, cfg.DataDir, cfg.Listen, logger)
		if err != nil {
			return nil, err
		}
	}
	b, err := connect(ctx, cfg, logger, srv)
	if err != nil {
		if srv != nil {
			srv.Shutdown()
			srv.WaitForShutdown()
		}
		return nil, err
	}
	b.srv = srv
	return b, nil
}

// connect opens a connection to srv (in-process) or to cfg.URL and checks
// JetStream. The returned Bus does not own srv.
func connect(ctx context.Context, cfg Config, logger *slog.Logger, srv *server.Server) (*Bus, error) {
	log := logger.With("component", "bus")
	connClosed := make(chan struct{})
	timeout := defaultConnectTimeout
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < timeout {
		timeout = max(time.Until(dl), time.Millisecond)
	}
	opts := []nats.Option{
		nats.Name(cfg.Name),
		nats.Timeout(timeout),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.DrainTimeout(defaultDrainTimeout),
		nats.ClosedHandler(func(*nats.Conn) { close(connClosed) }),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected", "error", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("nats reconnected", "url", nc.ConnectedUrlRedacted())
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subject := ""
			if sub != nil {
				subject = sub.Subject
			}
			log.Warn("nats async error", "subject", subject, "error", err)
		}),
	}
	url := cfg.URL
	if srv != nil {
		url = ""
		opts = append(opts, nats.InProcessServer(srv))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("bus: connect to nats: %w", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("bus: jetstream: %w", err)
	}
	if _, err := js.AccountInfo(ctx); err != nil {
		nc.Close()
		if errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount) {
			return nil, fmt.Errorf("%w: %w", ErrNoJetStream, err)
		}
		return nil, fmt.Errorf("bus: jetstream account info: %w", err)
	}
	return &Bus{
		cfg:        cfg,
		log:        log,
		provider:   srv,
		nc:         nc,
		js:         js,
		connClosed: connClosed,
	}, nil
}

// Dial opens another, independent connection to the same NATS server as b
// (the embedded one or cfg.URL), with the same Config. Closing the returned
// Bus closes only that connection; it never shuts the embedded server down,
// and it must be closed before b closes the server. Dial lets one process keep
// workers on their own connection, and lets tests play a second process.
func (b *Bus) Dial(ctx context.Context) (*Bus, error) {
	if b.closed.Load() {
		return nil, ErrClosed
	}
	return connect(ctx, b.cfg, b.log, b.provider)
}

// ListenURL is the URL on which the embedded server accepts TCP clients
// ("nats://127.0.0.1:4222"), or "" when it listens on no port or the bus
// is a client of an external NATS.
func (b *Bus) ListenURL() string {
	if b.srv == nil || b.srv.Addr() == nil {
		return ""
	}
	return "nats://" + b.srv.Addr().String()
}

// Conn returns the underlying NATS connection.
func (b *Bus) Conn() *nats.Conn { return b.nc }

// JetStream returns the JetStream context of the connection.
func (b *Bus) JetStream() jetstream.JetStream { return b.js }

// Ping reports whether the connection is up and JetStream answers; it is
// meant for readiness checks.
func (b *Bus) Ping(ctx context.Context) error {
	if b.closed.Load() {
		return ErrClosed
	}
	if !b.nc.IsConnected() {
		return fmt.Errorf("bus: ping: %w (status %s)", ErrNotConnected, b.nc.Status())
	}
	if _, err := b.js.AccountInfo(ctx); err != nil {
		return fmt.Errorf("bus: ping: jetstream: %w", err)
	}
	return nil
}

// Close drains the connection (pending publishes are flushed, subscriptions
// finish their queued messages), then shuts the embedded server down, if this
// Bus started one, and waits for it. If ctx ends first the connection is
// closed without waiting. Close is idempotent: later calls return the first
// call's result.
func (b *Bus) Close(ctx context.Context) error {
	b.closeOnce.Do(func() {
		b.closed.Store(true)
		var errs []error
		if err := b.nc.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
			errs = append(errs, fmt.Errorf("bus: drain: %w", err))
			b.nc.Close()
		}
		select {
		case <-b.connClosed:
		case <-ctx.Done():
			errs = append(errs, fmt.Errorf("bus: drain: %w", ctx.Err()))
			b.nc.Close()
			<-b.connClosed
		}
		if b.srv != nil {
			b.srv.Shutdown()
			b.srv.WaitForShutdown()
		}
		b.closeErr = errors.Join(errs...)
	})
	return b.closeErr
}
