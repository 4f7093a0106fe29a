package httpapi

import (
	"context"
	"sync"
	"time"

	"github.com/lockwell/lockwell/shared/identity"
)

// TokenCache is an identity.TokenStore that remembers, for a short time, the
// principals of tokens its underlying store has confirmed, so that a server
// does not query the database for the token of every request. Only
// successful lookups are cached: an unknown token is always looked up again
// (so a token minted a moment ago works at once, and guessing cannot fill
// the cache). Entries are keyed by the token's SHA-256 hash, never by the
// token. A confirmed token stays valid for up to TTL after it would stop
// being valid in the store (there is no revocation yet; when there is, it
// must bound TTL). Safe for concurrent use.
type TokenCache struct {
	store   identity.TokenStore
	ttl     time.Duration
	maxSize int

	mu      sync.RWMutex
	entries map[string]cachedPrincipal
}

type cachedPrincipal struct {
	p       identity.Principal
	expires time.Time
}

// Defaults of NewTokenCache.
const (
	DefaultTokenCacheTTL  = 30 * time.Second
	DefaultTokenCacheSize = 10000
)

// NewTokenCache returns a cache over store. ttl <= 0 and maxSize <= 0 take
// the defaults; when maxSize entries are cached, the cache starts over.
func NewTokenCache(store identity.TokenStore, ttl time.Duration, maxSize int) *TokenCache {
	if ttl <= 0 {
		ttl = DefaultTokenCacheTTL
	}
	if maxSize <= 0 {
		maxSize = DefaultTokenCacheSize
	}
	return &TokenCache{store: store, ttl: ttl, maxSize: maxSize, entries: map[string]cachedPrincipal{}}
}

// SaveToken implements identity.TokenStore by saving in the underlying store.
func (c *TokenCache) SaveToken(ctx context.Context, hash []byte, p identity.Principal) error {
	return c.store.SaveToken(ctx, hash, p)
}

// TokenPrincipal implements identity.TokenStore: a cached principal if it
// has not expired, else the underlying store's answer (with its errors).
func (c *TokenCache) TokenPrincipal(ctx context.Context, hash []byte) (identity.Principal, error) {
	key := string(hash)
	now := time.Now()
	c.mu.RLock()
	e, ok := c.entries[key]
	c.mu.RUnlock()
	if ok && now.Before(e.expires) {
		return e.p, nil
	}
	p, err := c.store.TokenPrincipal(ctx, hash)
	if err != nil {
		return p, err
	}
	c.mu.Lock()
	if len(c.entries) >= c.maxSize {
		clear(c.entries)
	}
	c.entries[key] = cachedPrincipal{p: p, expires: now.Add(c.ttl)}
	c.mu.Unlock()
	return p, nil
}
