package httpapi

import (
	"context"
	"sync"
	"time"

	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/metrics"
)

// TokenCache is an identity.TokenStore that remembers, for a short time, the
// principals of tokens its underlying store has confirmed, so that a server
// does not query the database for the token of every request. Only
// successful lookups are cached: an unknown token is always looked up again
// (so a token minted a moment ago works at once, and guessing cannot fill
// the cache). Entries are keyed by the token's SHA-256 hash, never by the
// token. A token revoked through this cache (RevokeToken) is dropped at
// once, and a lookup that was under way while it was revoked does not
// cache it; a token revoked through another process (another Lambda
// instance or server, each with its own cache) stays valid here for up to
// TTL (30 s by default). Every lookup is counted as a hit or a miss
// (metrics.TokenCacheLookup). Safe for concurrent use.
type TokenCache struct {
	store   identity.TokenStore
	ttl     time.Duration
	maxSize int

	mu      sync.RWMutex
	entries map[string]cachedPrincipal
	// revocations counts RevokeToken calls; a lookup caches its answer
	// only if none happened while it ran.
	revocations uint64

	now func() time.Time // the clock of expiry; tests move it
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
	return &TokenCache{store: store, ttl: ttl, maxSize: maxSize, entries: map[string]cachedPrincipal{}, now: time.Now}
}

// SaveToken implements identity.TokenStore by saving in the underlying store.
func (c *TokenCache) SaveToken(ctx context.Context, hash []byte, p identity.Principal) error {
	return c.store.SaveToken(ctx, hash, p)
}

// TokenPrincipal implements identity.TokenStore: a cached principal if it
// has not expired, else the underlying store's answer (with its errors).
func (c *TokenCache) TokenPrincipal(ctx context.Context, hash []byte) (identity.Principal, error) {
	key := string(hash)
	now := c.now()
	c.mu.RLock()
	e, ok := c.entries[key]
	c.mu.RUnlock()
	if ok && now.Before(e.expires) {
		metrics.TokenCacheLookup(true)
		return e.p, nil
	}
	metrics.TokenCacheLookup(false)
	c.mu.RLock()
	revocations := c.revocations
	c.mu.RUnlock()
	p, err := c.store.TokenPrincipal(ctx, hash)
	if err != nil {
		return p, err
	}
	c.mu.Lock()
	if c.revocations == revocations {
		if len(c.entries) >= c.maxSize {
			clear(c.entries)
		}
		c.entries[key] = cachedPrincipal{p: p, expires: now.Add(c.ttl)}
	}
	c.mu.Unlock()
	return p, nil
}

// ListTokens implements identity.TokenStore by listing the underlying
// store's tokens (never cached).
func (c *TokenCache) ListTokens(ctx context.Context) ([]identity.TokenInfo, error) {
	return c.store.ListTokens(ctx)
}

// RevokeToken implements identity.TokenStore: it revokes the token in the
// underlying store (with its errors) and, whatever the store answered,
// drops the token from this cache, so that this process refuses it from
// the next request on.
func (c *TokenCache) RevokeToken(ctx context.Context, id string) error {
	err := c.store.RevokeToken(ctx, id)
	c.mu.Lock()
	c.revocations++
	for key := range c.entries {
		if identity.TokenID([]byte(key)) == id {
			delete(c.entries, key)
		}
	}
	c.mu.Unlock()
	return err
}
