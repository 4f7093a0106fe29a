package httpapi_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/httpapi"
	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/identity/memtokens"
)

// countingTokens counts the lookups that reach the underlying store.
type countingTokens struct {
	*memtokens.Store
	lookups atomic.Int64
}

func (c *countingTokens) TokenPrincipal(ctx context.Context, hash []byte) (identity.Principal, error) {
	c.lookups.Add(1)
	return c.Store.TokenPrincipal(ctx, hash)
}

// clock is a fake clock for a TokenCache: time moves only when the test
// says, so that no assertion depends on how fast the machine runs.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func fakeClock(c *httpapi.TokenCache) *clock {
	fc := &clock{now: time.Unix(1_700_000_000, 0)}
	httpapi.SetTokenCacheClock(c, func() time.Time {
		fc.mu.Lock()
		defer fc.mu.Unlock()
		return fc.now
	})
	return fc
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestTokenCache(t *testing.T) {
	ctx := context.Background()
	under := &countingTokens{Store: memtokens.New()}
	cache := httpapi.NewTokenCache(under, time.Minute, 2)
	clock := fakeClock(cache)
	alice := identity.Principal{Name: "alice", Role: identity.Member}
	_, hash, err := identity.NewToken()
	require.NoError(t, err)

	// Unknown tokens are not cached: minting one makes it work at once.
	_, err = cache.TokenPrincipal(ctx, hash)
	assert.True(t, errcode.Is(err, errcode.Unauthenticated))
	require.NoError(t, cache.SaveToken(ctx, hash, alice))
	for range 5 {
		p, err := cache.TokenPrincipal(ctx, hash)
		require.NoError(t, err)
		assert.Equal(t, alice, p)
	}
	assert.Equal(t, int64(2), under.lookups.Load(), "one miss, then one lookup, then cached")

	// Entries expire after the TTL, not before.
	clock.advance(time.Minute - time.Nanosecond)
	_, err = cache.TokenPrincipal(ctx, hash)
	require.NoError(t, err)
	assert.Equal(t, int64(2), under.lookups.Load(), "cached until the TTL has passed")
	clock.advance(time.Nanosecond)
	_, err = cache.TokenPrincipal(ctx, hash)
	require.NoError(t, err)
	assert.Equal(t, int64(3), under.lookups.Load(), "looked up again once the TTL has passed")

	// A full cache starts over rather than growing.
	for range 3 {
		_, h, _ := identity.NewToken()
		require.NoError(t, cache.SaveToken(ctx, h, alice))
		_, err := cache.TokenPrincipal(ctx, h)
		require.NoError(t, err)
	}
	before := under.lookups.Load()
	_, err = cache.TokenPrincipal(ctx, hash)
	require.NoError(t, err)
	assert.Equal(t, before+1, under.lookups.Load(), "the first entry was dropped when the cache filled")
}

// TestTokenCacheRevocation: a token revoked through the cache is refused at
// once; one revoked behind the cache's back (by another process) until the
// TTL has passed.
func TestTokenCacheRevocation(t *testing.T) {
	ctx := context.Background()
	under := memtokens.New()
	cache := httpapi.NewTokenCache(under, time.Minute, 0)
	clock := fakeClock(cache)
	alice := identity.Principal{Name: "alice", Role: identity.Member}
	mint := func() []byte {
		_, hash, err := identity.NewToken()
		require.NoError(t, err)
		require.NoError(t, cache.SaveToken(ctx, hash, alice))
		_, err = cache.TokenPrincipal(ctx, hash)
		require.NoError(t, err, "looked up, so cached")
		return hash
	}

	here := mint()
	require.NoError(t, cache.RevokeToken(ctx, identity.TokenID(here)))
	_, err := cache.TokenPrincipal(ctx, here)
	assert.Equal(t, errcode.Unauthenticated, errcode.Of(err), "revoked here: refused at once")
	assert.Equal(t, errcode.NotFound, errcode.Of(cache.RevokeToken(ctx, identity.TokenID(here))))

	elsewhere := mint()
	require.NoError(t, under.RevokeToken(ctx, identity.TokenID(elsewhere)))
	_, err = cache.TokenPrincipal(ctx, elsewhere)
	assert.NoError(t, err, "revoked elsewhere: still cached within the TTL")
	clock.advance(time.Minute)
	_, err = cache.TokenPrincipal(ctx, elsewhere)
	assert.Equal(t, errcode.Unauthenticated, errcode.Of(err), "refused after the TTL")

	infos, err := cache.ListTokens(ctx)
	require.NoError(t, err)
	assert.Empty(t, infos)
}
