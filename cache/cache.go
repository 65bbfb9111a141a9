// Package cache is a small in-process cache with a time to live, a size
// bound and a generation guard, for read-mostly data whose writers invalidate
// it (locally, and in other processes through a bus broadcast). It imports
// nothing from the project.
package cache

import (
	"sync"
	"sync/atomic"
	"time"
)

// TTL maps string keys to values that expire after a fixed time. A zero or
// negative TTL disables it: Get always misses and Put stores nothing.
//
// Fill a miss with Generation → load → Put: Put stores the value only if no
// Forget or Clear happened since Generation was read, so a load that raced
// with a change can never put stale data back.
type TTL[V any] struct {
	ttl time.Duration
	max int
	now func() time.Time
	gen atomic.Uint64

	mu    sync.RWMutex
	items map[string]entry[V]
}

type entry[V any] struct {
	v       V
	expires time.Time
}

// New returns a cache whose entries live for ttl, holding at most max entries.
func New[V any](ttl time.Duration, max int) *TTL[V] {
	if max <= 0 {
		max = 1000
	}
	return &TTL[V]{ttl: ttl, max: max, now: time.Now, items: map[string]entry[V]{}}
}

// Enabled reports whether the cache stores anything.
func (c *TTL[V]) Enabled() bool { return c != nil && c.ttl > 0 }

// Get returns the live value under key.
func (c *TTL[V]) Get(key string) (V, bool) {
	var zero V
	if !c.Enabled() {
		return zero, false
	}
	c.mu.RLock()
	e, ok := c.items[key]
	c.mu.RUnlock()
	if !ok || c.now().After(e.expires) {
		return zero, false
	}
	return e.v, true
}

// Generation is read before loading a value to Put.
func (c *TTL[V]) Generation() uint64 {
	if c == nil {
		return 0
	}
	return c.gen.Load()
}

// Put stores v under key unless the cache was invalidated since gen. When the
// cache is full, expired entries go first, then arbitrary ones.
func (c *TTL[V]) Put(key string, v V, gen uint64) {
	if !c.Enabled() {
		return
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	// Checked under the lock: Forget and Clear bump the generation under it too.
	if c.gen.Load() != gen {
		return
	}
	if _, exists := c.items[key]; !exists && len(c.items) >= c.max {
		c.evictLocked(now)
	}
	c.items[key] = entry[V]{v: v, expires: now.Add(c.ttl)}
}

func (c *TTL[V]) evictLocked(now time.Time) {
	for k, e := range c.items {
		if now.After(e.expires) {
			delete(c.items, k)
		}
	}
	// Map iteration order is random: dropping the first tenth is a cheap
	// random eviction.
	drop := len(c.items) - c.max*9/10
	for k := range c.items {
		if drop <= 0 {
			break
		}
		delete(c.items, k)
		drop--
	}
}

// Forget removes key and invalidates loads in flight.
func (c *TTL[V]) Forget(key string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	delete(c.items, key)
	c.gen.Add(1)
	c.mu.Unlock()
}

// Clear removes everything and invalidates loads in flight.
func (c *TTL[V]) Clear() {
	if c == nil {
		return
	}
	c.mu.Lock()
	clear(c.items)
	c.gen.Add(1)
	c.mu.Unlock()
}

// Len returns the number of entries, expired ones included.
func (c *TTL[V]) Len() int {
	if c == nil {
		return 0
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.items)
}
