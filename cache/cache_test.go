package cache

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestGetPutExpire(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	c := New[string](time.Minute, 10)
	c.now = func() time.Time { return now }
	c.Put("a", "1", c.Generation())
	if v, ok := c.Get("a"); !ok || v != "1" {
		t.Fatalf("Get = %q, %v", v, ok)
	}
	now = now.Add(61 * time.Second)
	if _, ok := c.Get("a"); ok {
		t.Fatal("expired entry returned")
	}
}

func TestPutAfterInvalidationIsDropped(t *testing.T) {
	t.Parallel()
	c := New[int](time.Minute, 10)
	gen := c.Generation()
	c.Forget("other") // a change lands while "a" is being loaded
	c.Put("a", 1, gen)
	if _, ok := c.Get("a"); ok {
		t.Fatal("a value loaded before an invalidation was stored")
	}
	gen = c.Generation()
	c.Put("a", 2, gen)
	c.Clear()
	if _, ok := c.Get("a"); ok {
		t.Fatal("Clear left an entry")
	}
}

func TestDisabledStoresNothing(t *testing.T) {
	t.Parallel()
	c := New[int](0, 10)
	c.Put("a", 1, c.Generation())
	if _, ok := c.Get("a"); ok || c.Enabled() {
		t.Fatal("a disabled cache stored a value")
	}
	var nilCache *TTL[int]
	nilCache.Forget("a")
	nilCache.Clear()
	if _, ok := nilCache.Get("a"); ok {
		t.Fatal("nil cache hit")
	}
}

func TestSizeBound(t *testing.T) {
	t.Parallel()
	c := New[int](time.Minute, 100)
	for i := range 1000 {
		c.Put(fmt.Sprint(i), i, c.Generation())
	}
	if n := c.Len(); n > 100 {
		t.Fatalf("len = %d, want at most 100", n)
	}
	if v, ok := c.Get("999"); !ok || v != 999 {
		t.Fatal("the newest entry is missing")
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	c := New[int](time.Minute, 50)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				k := fmt.Sprint(i % 70)
				switch (i + w) % 5 {
				case 0:
					c.Forget(k)
				default:
					if v, ok := c.Get(k); ok && v != i%70 {
						t.Errorf("key %s holds %d", k, v)
						return
					}
					c.Put(k, i%70, c.Generation())
				}
			}
		}()
	}
	wg.Wait()
}
