package worker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/timbre-ai/timbre/bus"
	"github.com/timbre-ai/timbre/voice/tts"
)

// Worker defaults.
const (
	// DefaultSlots is the default Config.Slots.
	DefaultSlots = 2
	// DefaultAdvertiseEvery is the default Config.AdvertiseEvery.
	DefaultAdvertiseEvery = time.Second
	// DefaultMaxFrameBytes is the default Config.MaxFrameBytes.
	DefaultMaxFrameBytes = 256 << 10
	// DefaultDrainTimeout is the default Config.DrainTimeout.
	DefaultDrainTimeout = 10 * time.Second

	// changeAdvertGap spaces the adverts sent because a worker filled up or
	// freed a slot, which can flap at the rate requests finish.
	changeAdvertGap = 20 * time.Millisecond
	// payloadHeadroom leaves room under the NATS payload limit for headers.
	payloadHeadroom = 1024
)

// Config tunes a Worker.
type Config struct {
	// ID names the worker in adverts, logs and its direct subject: letters,
	// digits, '-' and '_'. Default hostname-pid-random.
	ID string
	// Slots bounds the syntheses the worker runs at once. Default
	// DefaultSlots.
	Slots int
	// Device is advertised: "cpu" (default) or "cuda".
	Device string
	// Engines names the engines behind the voices, advertised. Default the
	// voices' own Engine fields.
	Engines []string
	// Version is the Timbre build, advertised. Default "dev".
	Version string
	// AdvertiseEvery is the advert interval. Default DefaultAdvertiseEvery.
	AdvertiseEvery time.Duration
	// Subject prefixes the request subjects. Default DefaultSubject.
	Subject string
	// AdvertSubject is where adverts go. Default DefaultAdvertSubject.
	AdvertSubject string
	// SampleFormat of the audio frames. Default FormatPCM16.
	SampleFormat SampleFormat
	// MaxFrameBytes bounds one audio frame; a longer sentence is split.
	// Default DefaultMaxFrameBytes, never more than the NATS payload limit
	// allows.
	MaxFrameBytes int
	// DrainTimeout bounds how long Close lets running syntheses finish.
	// Default DefaultDrainTimeout.
	DrainTimeout time.Duration
	// Registerer receives the worker's metrics; nil registers none.
	Registerer prometheus.Registerer
}

// withDefaults validates c and fills in zero fields.
func (c Config) withDefaults(engine tts.Engine) (Config, error) {
	if c.ID == "" {
		c.ID = defaultID()
	}
	if !validToken(c.ID) {
		return c, fmt.Errorf("%w: ID %q: use letters, digits, '-' and '_'", ErrInvalidConfig, c.ID)
	}
	if c.Slots < 0 || c.AdvertiseEvery < 0 || c.MaxFrameBytes < 0 || c.DrainTimeout < 0 {
		return c, fmt.Errorf("%w: negative Slots, AdvertiseEvery, MaxFrameBytes or DrainTimeout", ErrInvalidConfig)
	}
	if c.Slots == 0 {
		c.Slots = DefaultSlots
	}
	if c.Device == "" {
		c.Device = "cpu"
	}
	if len(c.Engines) == 0 {
		for _, v := range engine.Voices() {
			if v.Engine != "" && !slices.Contains(c.Engines, v.Engine) {
				c.Engines = append(c.Engines, v.Engine)
			}
		}
		slices.Sort(c.Engines)
	}
	if c.Version == "" {
		c.Version = "dev"
	}
	if c.AdvertiseEvery == 0 {
		c.AdvertiseEvery = DefaultAdvertiseEvery
	}
	if c.Subject == "" {
		c.Subject = DefaultSubject
	}
	if c.AdvertSubject == "" {
		c.AdvertSubject = DefaultAdvertSubject
	}
	if bus.ValidateSubject(c.Subject, false) != nil || bus.ValidateSubject(c.AdvertSubject, false) != nil {
		return c, fmt.Errorf("%w: subjects %q and %q must be NATS subjects without wildcards", ErrInvalidConfig, c.Subject, c.AdvertSubject)
	}
	if c.SampleFormat == 0 {
		c.SampleFormat = FormatPCM16
	}
	if c.SampleFormat.size() == 0 {
		return c, fmt.Errorf("%w: unknown sample format %d", ErrInvalidConfig, c.SampleFormat)
	}
	if c.MaxFrameBytes == 0 {
		c.MaxFrameBytes = DefaultMaxFrameBytes
	}
	if c.DrainTimeout == 0 {
		c.DrainTimeout = DefaultDrainTimeout
	}
	return c, nil
}

// defaultID is hostname-pid-random, with the hostname's dots made dashes
// (the ID is a subject token).
func defaultID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "worker"
	}
	host = strings.Map(func(r rune) rune {
		if validToken(string(r)) {
			return r
		}
		return '-'
	}, host)
	var b [3]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// Worker serves one engine's voices to the pool on the bus.
type Worker struct {
	cfg     Config
	b       *bus.Bus
	nc      *nats.Conn
	engine  tts.Engine
	log     *slog.Logger
	metrics *workerMetrics
	started time.Time

	cancelServe context.CancelFunc
	// stopOnCtx undoes Start's watch on its context.
	stopOnCtx  func() bool
	stopAny    func()
	stopDirect func()
	discover   *nats.Subscription

	mu   sync.Mutex
	busy int

	draining atomic.Bool
	changed  chan struct{}
	done     chan struct{}
	loopDone chan struct{}

	stopOnce sync.Once
	stopErr  error
}

// Start serves engine on b until Stop or Close, or until ctx ends, which
// stops the worker at once, cancelling its running syntheses. The engine
// stays the caller's to close, after the worker has stopped.
func Start(ctx context.Context, b *bus.Bus, engine tts.Engine, cfg Config, logger *slog.Logger) (*Worker, error) {
	if b == nil || engine == nil {
		return nil, fmt.Errorf("%w: nil bus or engine", ErrInvalidConfig)
	}
	cfg, err := cfg.withDefaults(engine)
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m, err := newWorkerMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	nc := b.Conn()
	if limit := int(nc.MaxPayload()) - payloadHeadroom; limit > 0 && cfg.MaxFrameBytes > limit {
		cfg.MaxFrameBytes = limit
	}
	w := &Worker{
		cfg:      cfg,
		b:        b,
		nc:       nc,
		engine:   engine,
		log:      logger.With("component", "voice_worker", "worker_id", cfg.ID),
		metrics:  m,
		started:  time.Now().UTC(),
		changed:  make(chan struct{}, 1),
		done:     make(chan struct{}),
		loopDone: make(chan struct{}),
	}
	sctx, cancel := context.WithCancel(ctx)
	w.cancelServe = cancel
	if w.stopAny, err = b.Serve(sctx, anySubject(cfg.Subject), queueGroup, w.handle); err != nil {
		cancel()
		return nil, fmt.Errorf("worker: serve %s: %w", anySubject(cfg.Subject), err)
	}
	if w.stopDirect, err = b.Serve(sctx, directSubject(cfg.Subject, cfg.ID), queueGroup, w.handle); err != nil {
		w.stopAny()
		cancel()
		return nil, fmt.Errorf("worker: serve %s: %w", directSubject(cfg.Subject, cfg.ID), err)
	}
	w.discover, err = nc.Subscribe(discoverSubject(cfg.AdvertSubject), func(msg *nats.Msg) {
		if msg.Reply == "" {
			return
		}
		if err := msg.Respond(w.advertJSON(false)); err != nil {
			w.log.Debug("answer discovery", "error", err)
		}
	})
	if err == nil {
		err = nc.Flush()
	}
	if err != nil {
		w.stopAny()
		w.stopDirect()
		cancel()
		return nil, fmt.Errorf("worker: subscribe to discovery: %w", err)
	}
	m.slots.Add(float64(cfg.Slots))
	w.publishAdvert(false)
	go w.advertLoop()
	w.stopOnCtx = context.AfterFunc(ctx, func() {
		expired, cancel := context.WithCancel(context.Background())
		cancel()
		_ = w.Stop(expired)
	})
	w.log.Info("voice worker started", "slots", cfg.Slots, "device", cfg.Device,
		"voices", len(engine.Voices()), "subject", directSubject(cfg.Subject, cfg.ID))
	return w, nil
}

// ID is the worker's ID.
func (w *Worker) ID() string { return w.cfg.ID }

// Advert is what the worker advertises now.
func (w *Worker) Advert() Advert { return w.advert(w.draining.Load()) }

func (w *Worker) advert(leaving bool) Advert {
	w.mu.Lock()
	busy := w.busy
	w.mu.Unlock()
	a := Advert{
		Protocol:         Protocol,
		ID:               w.cfg.ID,
		Device:           w.cfg.Device,
		Engines:          w.cfg.Engines,
		Voices:           w.engine.Voices(),
		Slots:            w.cfg.Slots,
		Free:             w.cfg.Slots - busy,
		Load:             float64(busy) / float64(w.cfg.Slots),
		Version:          w.cfg.Version,
		StartedAt:        w.started,
		AdvertiseEveryMS: w.cfg.AdvertiseEvery.Milliseconds(),
		Leaving:          leaving,
		Features:         []string{FeatureConvert},
	}
	if leaving {
		a.Free = 0
	}
	return a
}

func (w *Worker) advertJSON(leaving bool) []byte {
	b, err := json.Marshal(w.advert(leaving))
	if err != nil {
		// An Advert holds nothing json cannot encode.
		panic(fmt.Sprintf("worker: encode advert: %v", err))
	}
	return b
}

func (w *Worker) publishAdvert(leaving bool) {
	if err := w.nc.Publish(w.cfg.AdvertSubject, w.advertJSON(leaving)); err != nil {
		w.log.Debug("publish advert", "error", err)
	}
}

// advertLoop advertises every AdvertiseEvery, and when the worker fills up
// or frees a slot, until done is closed.
func (w *Worker) advertLoop() {
	defer close(w.loopDone)
	t := time.NewTicker(w.cfg.AdvertiseEvery)
	defer t.Stop()
	for {
		select {
		case <-w.done:
			return
		case <-t.C:
			w.publishAdvert(false)
		case <-w.changed:
			w.publishAdvert(false)
			select {
			case <-w.done:
				return
			case <-time.After(changeAdvertGap):
			}
		}
	}
}

// acquire takes a slot if one is free.
func (w *Worker) acquire() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.busy == w.cfg.Slots {
		return false
	}
	w.busy++
	w.metrics.slotsBusy.Inc()
	if w.busy == w.cfg.Slots {
		w.signalChange()
	}
	return true
}

func (w *Worker) release() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.busy == w.cfg.Slots {
		w.signalChange()
	}
	w.busy--
	w.metrics.slotsBusy.Dec()
}

func (w *Worker) signalChange() {
	select {
	case w.changed <- struct{}{}:
	default:
	}
}

// handle answers one request (a bus.StreamHandler).
func (w *Worker) handle(ctx context.Context, data []byte, sw *bus.StreamWriter) error {
	received := time.Now()
	req, conv, err := decodeRequest(data)
	if err != nil {
		return w.fail(codeBadRequest, err)
	}
	if w.draining.Load() {
		return w.fail(codeStopping, fmt.Errorf("worker %s is stopping", w.cfg.ID))
	}
	if !w.acquire() {
		return w.fail(codeBusy, fmt.Errorf("worker %s has no free slot (%d in use)", w.cfg.ID, w.cfg.Slots))
	}
	defer w.release()

	var (
		buf       []byte
		sentences int
		audioSec  float64
	)
	send := func(c tts.Chunk) error {
		var err error
		buf, err = encodeFrames(buf, c, w.cfg.SampleFormat, w.cfg.MaxFrameBytes, sw.Send)
		if err != nil {
			return fmt.Errorf("send sentence %d: %w", c.Seq, err)
		}
		if sentences == 0 {
			w.metrics.firstAudio.Observe(time.Since(received).Seconds())
		}
		sentences++
		audioSec += float64(len(c.Samples)) / float64(c.SampleRate)
		return nil
	}
	if conv != nil {
		err = Converted(ctx, w.engine, req, conv, send)
	} else {
		err = w.engine.Stream(ctx, req, send)
	}
	elapsed := time.Since(received)
	w.metrics.synthesis.Observe(elapsed.Seconds())
	if err != nil {
		code := codeOf(err)
		if code == codeEngine {
			w.log.Warn("synthesis failed", "voice", req.Voice, "sentences_sent", sentences, "error", err)
		}
		return w.fail(code, err)
	}
	w.metrics.requests.WithLabelValues(resultOK).Inc()
	if audioSec > 0 {
		w.metrics.rtf.Observe(elapsed.Seconds() / audioSec)
	}
	return nil
}

// fail counts a failed request and makes the error its reply carries.
func (w *Worker) fail(code string, err error) error {
	w.metrics.requests.WithLabelValues(code).Inc()
	return &wireError{Code: code, Message: err.Error()}
}

// Stop stops taking requests — a leaving advert tells clients at once, and
// requests already on their way are turned away as "stopping", which
// clients retry elsewhere — and waits for the running syntheses to finish.
// When ctx ends first they are cancelled, and Stop returns once they have
// returned. Stop is idempotent; later calls return the first one's result.
func (w *Worker) Stop(ctx context.Context) error {
	w.stopOnce.Do(func() {
		w.stopOnCtx()
		w.draining.Store(true)
		w.publishAdvert(true)
		if err := w.discover.Unsubscribe(); err != nil && !w.nc.IsClosed() {
			w.log.Debug("unsubscribe discovery", "error", err)
		}
		drained := make(chan struct{})
		go func() {
			defer close(drained)
			w.stopAny()
			w.stopDirect()
		}()
		select {
		case <-drained:
		case <-ctx.Done():
			w.mu.Lock()
			busy := w.busy
			w.mu.Unlock()
			if busy > 0 {
				w.stopErr = fmt.Errorf("worker: stop %s: %d syntheses cut short: %w", w.cfg.ID, busy, ctx.Err())
			}
			w.cancelServe()
			<-drained
		}
		w.cancelServe()
		close(w.done)
		<-w.loopDone
		// A last word, in case an advert from the loop overtook the first.
		w.publishAdvert(true)
		w.metrics.slots.Sub(float64(w.cfg.Slots))
		w.log.Info("voice worker stopped")
	})
	return w.stopErr
}

// Close stops the worker, letting running syntheses finish for up to
// Config.DrainTimeout.
func (w *Worker) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), w.cfg.DrainTimeout)
	defer cancel()
	return w.Stop(ctx)
}
