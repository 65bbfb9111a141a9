package worker

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/timbre-ai/timbre/bus"
	"github.com/timbre-ai/timbre/voice/tts"
)

// Client defaults.
const (
	// DefaultTimeout is the default ClientConfig.DefaultTimeout.
	DefaultTimeout = 60 * time.Second
	// DefaultMaxAttempts is the default ClientConfig.MaxAttempts.
	DefaultMaxAttempts = 5
	// DefaultBackoff is the default ClientConfig.Backoff.
	DefaultBackoff = 50 * time.Millisecond
	// DefaultMaxBackoff is the default ClientConfig.MaxBackoff.
	DefaultMaxBackoff = time.Second
	// DefaultQueueWait is the default ClientConfig.QueueWait.
	DefaultQueueWait = 30 * time.Second
	// DefaultAdvertTTL is the default ClientConfig.AdvertTTL.
	DefaultAdvertTTL = 3 * DefaultAdvertiseEvery

	// advertIntervals is how many of its advert intervals a worker may stay
	// silent before a client forgets it.
	advertIntervals = 3
	// sweepEvery is how often a client drops forgotten workers and
	// refreshes its gauges.
	sweepEvery = 250 * time.Millisecond
	// rediscoverEvery is how often WaitReady asks the pool again.
	rediscoverEvery = time.Second
)

// ClientConfig tunes a Client.
type ClientConfig struct {
	// Subject prefixes the request subjects; it must match the workers'.
	// Default DefaultSubject.
	Subject string
	// AdvertSubject is where workers advertise. Default DefaultAdvertSubject.
	AdvertSubject string
	// DefaultTimeout is the deadline of a Stream whose context has none.
	// Default DefaultTimeout.
	DefaultTimeout time.Duration
	// MaxAttempts bounds how many times one Stream sends its request.
	// Default DefaultMaxAttempts.
	MaxAttempts int
	// Backoff is the wait before the second send; it doubles for each later
	// one, up to MaxBackoff, ±20 %. An advert of new capacity cuts a wait
	// short. Default DefaultBackoff.
	Backoff time.Duration
	// MaxBackoff caps the wait between sends. Default DefaultMaxBackoff.
	MaxBackoff time.Duration
	// QueueWait is how long a request waits for a free slot when every
	// worker turns it away as busy: busy replies do not use up MaxAttempts
	// (the request waits its turn, woken by the adverts of freed slots),
	// and after QueueWait it fails with ErrBusy. Default DefaultQueueWait.
	QueueWait time.Duration
	// AdvertTTL is how long a worker whose advert gives no interval stays
	// known without advertising again. Default DefaultAdvertTTL.
	AdvertTTL time.Duration
	// Registerer receives the client's metrics; nil registers none.
	Registerer prometheus.Registerer
}

func (c ClientConfig) withDefaults() (ClientConfig, error) {
	if c.DefaultTimeout < 0 || c.MaxAttempts < 0 || c.Backoff < 0 || c.MaxBackoff < 0 || c.AdvertTTL < 0 || c.QueueWait < 0 {
		return c, fmt.Errorf("%w: negative client setting", ErrInvalidConfig)
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
	if c.DefaultTimeout == 0 {
		c.DefaultTimeout = DefaultTimeout
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.Backoff == 0 {
		c.Backoff = DefaultBackoff
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	c.MaxBackoff = max(c.MaxBackoff, c.Backoff)
	if c.AdvertTTL == 0 {
		c.AdvertTTL = DefaultAdvertTTL
	}
	if c.QueueWait == 0 {
		c.QueueWait = DefaultQueueWait
	}
	return c, nil
}

// WorkerInfo is one live worker as a client knows it.
type WorkerInfo struct {
	Advert
	// LastSeen is when its latest advert arrived.
	LastSeen time.Time `json:"last_seen"`
	// InFlight counts this client's requests it is running.
	InFlight int `json:"in_flight"`
}

// member is a worker in a client's view of the pool.
type member struct {
	advert Advert
	seen   time.Time
	ttl    time.Duration
	// inflight and sent count this client's requests to it: running, and
	// ever.
	inflight int
	sent     uint64
}

func (m *member) live(now time.Time) bool { return now.Sub(m.seen) <= m.ttl }

// free is the slots the member has free by its advert, less the requests
// this client has running on it.
func (m *member) free() int { return min(m.advert.Free, m.advert.Slots-m.inflight) }

// Client is a tts.Engine that synthesises on the voice workers of the pool.
// It is safe for concurrent use.
type Client struct {
	b       *bus.Bus
	nc      *nats.Conn
	cfg     ClientConfig
	log     *slog.Logger
	metrics *clientMetrics
	inbox   string
	subs    []*nats.Subscription

	mu      sync.Mutex
	members map[string]*member
	// changed is closed, and replaced, when the pool gains a worker, a
	// voice or a free slot.
	changed chan struct{}
	// warned holds workers whose protocol this client does not speak,
	// reported once.
	warned map[string]bool
	closed bool

	done      chan struct{}
	sweepDone chan struct{}
}

// NewClient listens to the pool's adverts on b and asks every worker to
// advertise now. It fails only when the bus cannot subscribe, or the config
// or metrics are unusable.
func NewClient(b *bus.Bus, cfg ClientConfig, logger *slog.Logger) (*Client, error) {
	if b == nil {
		return nil, fmt.Errorf("%w: nil bus", ErrInvalidConfig)
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m, err := newClientMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	c := &Client{
		b:         b,
		nc:        b.Conn(),
		cfg:       cfg,
		log:       logger.With("component", "voice_client"),
		metrics:   m,
		members:   map[string]*member{},
		changed:   make(chan struct{}),
		warned:    map[string]bool{},
		done:      make(chan struct{}),
		sweepDone: make(chan struct{}),
	}
	c.inbox = c.nc.NewInbox()
	for _, subject := range []string{cfg.AdvertSubject, c.inbox} {
		sub, err := c.nc.Subscribe(subject, c.onAdvert)
		if err != nil {
			c.unsubscribe()
			return nil, fmt.Errorf("worker: subscribe to %s: %w", subject, err)
		}
		c.subs = append(c.subs, sub)
	}
	if err := c.nc.Flush(); err != nil {
		c.unsubscribe()
		return nil, fmt.Errorf("worker: subscribe to adverts: %w", err)
	}
	c.discover()
	go c.sweep()
	return c, nil
}

// discover asks every worker for its advert, answered to the inbox.
func (c *Client) discover() {
	if err := c.nc.PublishRequest(discoverSubject(c.cfg.AdvertSubject), c.inbox, nil); err != nil {
		c.log.Debug("send discovery request", "error", err)
	}
}

// onAdvert takes in one advert, published or answering discovery.
func (c *Client) onAdvert(msg *nats.Msg) {
	var a Advert
	if err := json.Unmarshal(msg.Data, &a); err != nil || !validToken(a.ID) || a.Slots < 1 {
		c.log.Debug("malformed voice worker advert dropped", "subject", msg.Subject)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	if a.Protocol != Protocol {
		if !c.warned[a.ID] {
			c.warned[a.ID] = true
			c.log.Warn("voice worker speaks another protocol; not using it", "worker_id", a.ID,
				"protocol", a.Protocol, "want_protocol", Protocol, "version", a.Version)
		}
		return
	}
	now := time.Now()
	m, known := c.members[a.ID]
	if a.Leaving {
		if known {
			delete(c.members, a.ID)
			c.log.Info("voice worker left", "worker_id", a.ID)
			c.refreshLocked(now)
		}
		return
	}
	gained := !known || !m.live(now) || (m.advert.Free <= 0 && a.Free > 0) || len(m.advert.Voices) != len(a.Voices)
	if !known {
		m = &member{}
		c.members[a.ID] = m
		c.log.Info("voice worker joined", "worker_id", a.ID, "device", a.Device, "slots", a.Slots,
			"voices", len(a.Voices), "version", a.Version)
	}
	m.advert, m.seen, m.ttl = a, now, c.cfg.AdvertTTL
	if a.AdvertiseEveryMS > 0 {
		m.ttl = advertIntervals * time.Duration(a.AdvertiseEveryMS) * time.Millisecond
	}
	c.refreshLocked(now)
	if gained {
		close(c.changed)
		c.changed = make(chan struct{})
	}
}

// refreshLocked sets the pool gauges.
func (c *Client) refreshLocked(now time.Time) {
	workers, free := 0, 0
	for _, m := range c.members {
		if m.live(now) {
			workers++
			free += max(m.advert.Free, 0)
		}
	}
	c.metrics.workers.Set(float64(workers))
	c.metrics.freeSlots.Set(float64(free))
}

// sweep forgets workers that stopped advertising, until Close.
func (c *Client) sweep() {
	defer close(c.sweepDone)
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
			c.mu.Lock()
			now := time.Now()
			for id, m := range c.members {
				if !m.live(now) {
					delete(c.members, id)
					c.log.Info("voice worker stopped advertising", "worker_id", id, "last_seen", m.seen)
				}
			}
			c.refreshLocked(now)
			c.mu.Unlock()
		}
	}
}

// Voices returns the voices the live workers advertise, each once, by ID.
func (c *Client) Voices() []tts.Voice {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	// Workers in ID order, so that which worker's description of a voice
	// wins does not change between calls.
	ids := make([]string, 0, len(c.members))
	for id, m := range c.members {
		if m.live(now) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	voices := []tts.Voice{}
	seen := map[string]bool{}
	for _, id := range ids {
		for _, v := range c.members[id].advert.Voices {
			if !seen[v.ID] {
				seen[v.ID] = true
				voices = append(voices, v)
			}
		}
	}
	slices.SortFunc(voices, func(a, b tts.Voice) int { return cmp.Compare(a.ID, b.ID) })
	return voices
}

// Workers returns the live workers, by ID.
func (c *Client) Workers() []WorkerInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	out := []WorkerInfo{}
	for _, m := range c.members {
		if m.live(now) {
			a := m.advert
			a.Voices, a.Engines = slices.Clone(a.Voices), slices.Clone(a.Engines)
			out = append(out, WorkerInfo{Advert: a, LastSeen: m.seen, InFlight: m.inflight})
		}
	}
	slices.SortFunc(out, func(a, b WorkerInfo) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// WaitReady returns once a live worker advertises at least one voice. It
// asks the pool again every second while it waits; when ctx ends first it
// returns an error wrapping ErrNoWorkers and ctx's error.
func (c *Client) WaitReady(ctx context.Context) error {
	t := time.NewTicker(rediscoverEvery)
	defer t.Stop()
	for {
		c.mu.Lock()
		closed, changed, ready := c.closed, c.changed, false
		now := time.Now()
		for _, m := range c.members {
			if m.live(now) && len(m.advert.Voices) > 0 {
				ready = true
				break
			}
		}
		c.mu.Unlock()
		switch {
		case closed:
			return ErrClosed
		case ready:
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("worker: wait for a voice worker: %w: %w", ErrNoWorkers, ctx.Err())
		case <-c.done:
			return ErrClosed
		case <-changed:
		case <-t.C:
			c.discover()
		}
	}
}

// errNoCandidate says every worker that speaks the voice was tried.
var errNoCandidate = errors.New("worker: no worker left to try")

// pick chooses where to send a request for voice: the live worker with
// the most free slots, not in excluded; the shared subject when no worker
// is known. It counts the request as running on the worker.
func (c *Client) pick(voice string, convert bool, excluded map[string]bool) (id, subject string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	var best *member
	anyLive, anyVoice := false, false
	for _, m := range c.members {
		if !m.live(now) {
			continue
		}
		anyLive = true
		if !m.advert.hasVoice(voice) {
			continue
		}
		anyVoice = true
		if excluded[m.advert.ID] || (convert && !m.advert.has(FeatureConvert)) {
			continue
		}
		if best == nil || better(m, best) {
			best = m
		}
	}
	switch {
	case !anyLive && !convert:
		return "", anySubject(c.cfg.Subject), nil
	case !anyLive:
		return "", "", errNoCandidate
	case !anyVoice:
		return "", "", fmt.Errorf("worker: no voice worker speaks %q: %w", voice, tts.ErrUnknownVoice)
	case best == nil:
		return "", "", errNoCandidate
	}
	best.inflight++
	best.sent++
	return best.advert.ID, directSubject(c.cfg.Subject, best.advert.ID), nil
}

// CanConvert reports whether a live worker that speaks voice converts
// voices (StreamConverted).
func (c *Client) CanConvert(voice string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	for _, m := range c.members {
		if m.live(now) && m.advert.hasVoice(voice) && m.advert.has(FeatureConvert) {
			return true
		}
	}
	return false
}

// better orders candidates: most free slots, then the one this client has
// sent fewer requests (which spreads a quiet pool's requests round), then
// the ID.
func better(a, b *member) bool {
	if fa, fb := a.free(), b.free(); fa != fb {
		return fa > fb
	}
	if a.sent != b.sent {
		return a.sent < b.sent
	}
	return a.advert.ID < b.advert.ID
}

// finished ends a request pick counted on worker id.
func (c *Client) finished(id string) {
	if id == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if m, ok := c.members[id]; ok && m.inflight > 0 {
		m.inflight--
	}
}

// markBusy notes that worker id turned a request away for want of slots,
// until its next advert says otherwise.
func (c *Client) markBusy(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if m, ok := c.members[id]; ok {
		m.advert.Free = 0
		c.refreshLocked(time.Now())
	}
}

// forget drops worker id until it advertises again: it is gone or going.
func (c *Client) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.members[id]; ok {
		delete(c.members, id)
		c.refreshLocked(time.Now())
	}
}

// wait sleeps for d, or until the pool gains capacity, ctx ends or the
// client closes.
func (c *Client) wait(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	changed := c.changed
	c.mu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-c.done:
		return ErrClosed
	case <-t.C:
	case <-changed:
	}
	return nil
}

// Close stops listening to the pool. Streams running on the bus finish;
// later ones fail with ErrClosed. The bus stays open.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	clear(c.members)
	c.metrics.workers.Set(0)
	c.metrics.freeSlots.Set(0)
	c.mu.Unlock()
	close(c.done)
	<-c.sweepDone
	c.unsubscribe()
	return nil
}

func (c *Client) unsubscribe() {
	for _, sub := range c.subs {
		if err := sub.Unsubscribe(); err != nil && !c.nc.IsClosed() {
			c.log.Debug("unsubscribe", "subject", sub.Subject, "error", err)
		}
	}
}

func (c *Client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}
