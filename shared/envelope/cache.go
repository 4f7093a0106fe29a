package envelope

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"sync"
	"time"
)

// Defaults of a CachingWrapper.
const (
	DefaultCacheSize = 1000
	DefaultCacheTTL  = 5 * time.Minute
)

// CachingWrapper is a KeyWrapper decorator that keeps unwrapped data keys in
// memory, so that reading a secret version costs at most one call to the key
// service (KMS Decrypt) on a cold cache and none on a warm one. Keys it wraps
// or generates are cached too, so a read right after a write is warm.
//
// The cache is bounded: at most Size keys, each for at most TTL after it
// entered the cache, least recently used evicted first. An entry is keyed by
// a SHA-256 of the wrapped key and its aad, so a key only comes back for the
// exact (wrapped, aad) pair the key service accepted. Evicted and expired
// keys are zeroed (best effort: Go may have copied them). Callers get a copy
// of a cached key, which they may clear.
//
// A CachingWrapper is safe for concurrent use. It implements
// DataKeyGenerator whenever the wrapped KeyWrapper does.
type CachingWrapper struct {
	next KeyWrapper
	size int
	ttl  time.Duration
	now  func() time.Time

	mu      sync.Mutex
	entries map[[sha256.Size]byte]*list.Element
	lru     *list.List // front: most recently used
}

type cacheEntry struct {
	id      [sha256.Size]byte
	key     []byte
	expires time.Time
}

// NewCachingWrapper returns a cache of at most size keys, each kept for at
// most ttl, in front of next. A size or ttl of 0 or less takes the default
// (DefaultCacheSize, DefaultCacheTTL). If next implements DataKeyGenerator,
// the result does too (as *CachingGenerator).
func NewCachingWrapper(next KeyWrapper, size int, ttl time.Duration) KeyWrapper {
	if size <= 0 {
		size = DefaultCacheSize
	}
	if ttl <= 0 {
		ttl = DefaultCacheTTL
	}
	c := &CachingWrapper{next: next, size: size, ttl: ttl, now: time.Now,
		entries: map[[sha256.Size]byte]*list.Element{}, lru: list.New()}
	if g, ok := next.(DataKeyGenerator); ok {
		return &CachingGenerator{CachingWrapper: c, gen: g}
	}
	return c
}

// CachingGenerator is a CachingWrapper over a KeyWrapper that generates data
// keys itself (KMS GenerateDataKey).
type CachingGenerator struct {
	*CachingWrapper
	gen DataKeyGenerator
}

// GenerateDataKey implements DataKeyGenerator and caches the new key.
func (c *CachingGenerator) GenerateDataKey(ctx context.Context, aad []byte) (plain, wrapped []byte, err error) {
	plain, wrapped, err = c.gen.GenerateDataKey(ctx, aad)
	if err == nil {
		c.put(wrapped, aad, plain)
	}
	return plain, wrapped, err
}

// WrapKey implements KeyWrapper and caches the wrapped key.
func (c *CachingWrapper) WrapKey(ctx context.Context, dataKey, aad []byte) ([]byte, error) {
	wrapped, err := c.next.WrapKey(ctx, dataKey, aad)
	if err == nil {
		c.put(wrapped, aad, dataKey)
	}
	return wrapped, err
}

// UnwrapKey implements KeyWrapper: from the cache when present and fresh,
// otherwise from the wrapped KeyWrapper (and then cached). Errors are the
// wrapped KeyWrapper's.
func (c *CachingWrapper) UnwrapKey(ctx context.Context, wrapped, aad []byte) ([]byte, error) {
	if key, ok := c.get(wrapped, aad); ok {
		return key, nil
	}
	key, err := c.next.UnwrapKey(ctx, wrapped, aad)
	if err == nil {
		c.put(wrapped, aad, key)
	}
	return key, err
}

// Len returns the number of cached keys, expired ones included until they
// are next touched.
func (c *CachingWrapper) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// Purge zeroes and drops every cached key.
func (c *CachingWrapper) Purge() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.lru.Len() > 0 {
		c.remove(c.lru.Back())
	}
}

func cacheID(wrapped, aad []byte) [sha256.Size]byte {
	h := sha256.New()
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(aad)))
	h.Write(n[:])
	h.Write(aad)
	h.Write(wrapped)
	var id [sha256.Size]byte
	h.Sum(id[:0])
	return id
}

func (c *CachingWrapper) get(wrapped, aad []byte) ([]byte, bool) {
	id := cacheID(wrapped, aad)
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[id]
	if !ok {
		return nil, false
	}
	e := el.Value.(*cacheEntry)
	if !c.now().Before(e.expires) {
		c.remove(el)
		return nil, false
	}
	c.lru.MoveToFront(el)
	return append([]byte(nil), e.key...), true
}

func (c *CachingWrapper) put(wrapped, aad, key []byte) {
	id := cacheID(wrapped, aad)
	e := &cacheEntry{id: id, key: append([]byte(nil), key...), expires: c.now().Add(c.ttl)}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[id]; ok {
		c.remove(el)
	}
	c.entries[id] = c.lru.PushFront(e)
	for c.lru.Len() > c.size {
		c.remove(c.lru.Back())
	}
}

// remove drops an entry and zeroes its key; c.mu is held.
func (c *CachingWrapper) remove(el *list.Element) {
	e := c.lru.Remove(el).(*cacheEntry)
	delete(c.entries, e.id)
	clear(e.key)
}
