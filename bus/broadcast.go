package bus

import (
	"fmt"

	"github.com/nats-io/nats.go"
)

// Broadcast is fire-and-forget fan-out on one subject: every process that
// subscribes gets every message, at most once. It suits cache invalidation,
// where a lost message only means an entry lives until its TTL.
type Broadcast struct {
	b       *Bus
	subject string
}

// Broadcast returns the fan-out channel on subject.
func (b *Bus) Broadcast(subject string) (*Broadcast, error) {
	if err := ValidateSubject(subject, false); err != nil {
		return nil, err
	}
	return &Broadcast{b: b, subject: subject}, nil
}

// Notify publishes msg to every subscriber. It does not wait for them.
func (c *Broadcast) Notify(msg string) error {
	if c.b.closed.Load() {
		return ErrClosed
	}
	if err := c.b.nc.Publish(c.subject, []byte(msg)); err != nil {
		return fmt.Errorf("bus: broadcast %s: %w", c.subject, err)
	}
	return nil
}

// Subscribe calls fn for every message on the subject, including this
// process's own, until the returned stop is called or the Bus closes.
func (c *Broadcast) Subscribe(fn func(msg string)) (stop func(), err error) {
	sub, err := c.b.nc.Subscribe(c.subject, func(m *nats.Msg) { fn(string(m.Data)) })
	if err != nil {
		return nil, fmt.Errorf("bus: subscribe %s: %w", c.subject, err)
	}
	if err := c.b.nc.Flush(); err != nil {
		_ = sub.Unsubscribe()
		return nil, fmt.Errorf("bus: subscribe %s: %w", c.subject, err)
	}
	return func() {
		if err := sub.Unsubscribe(); err != nil && !c.b.closed.Load() {
			c.b.log.Debug("broadcast unsubscribe", "subject", c.subject, "error", err)
		}
	}, nil
}
