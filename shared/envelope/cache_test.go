package envelope

import (
	"bytes"
	"context"
	"crypto/rand"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// countingWrapper counts calls to a LocalKey.
type countingWrapper struct {
	*LocalKey
	wraps, unwraps atomic.Int64
}

func (c *countingWrapper) WrapKey(ctx context.Context, k, aad []byte) ([]byte, error) {
	c.wraps.Add(1)
	return c.LocalKey.WrapKey(ctx, k, aad)
}

func (c *countingWrapper) UnwrapKey(ctx context.Context, w, aad []byte) ([]byte, error) {
	c.unwraps.Add(1)
	return c.LocalKey.UnwrapKey(ctx, w, aad)
}

func newCounting(t *testing.T) *countingWrapper {
	key := make([]byte, KeySize)
	_, err := rand.Read(key)
	require.NoError(t, err)
	lk, err := NewLocalKey(key)
	require.NoError(t, err)
	return &countingWrapper{LocalKey: lk}
}

func TestCachingWrapperColdWarmAndAAD(t *testing.T) {
	ctx := context.Background()
	inner := newCounting(t)
	cache := NewCachingWrapper(inner, 10, time.Minute)
	_, isGen := cache.(DataKeyGenerator)
	assert.False(t, isGen, "a cache over a plain wrapper is not a generator")

	// A blob sealed elsewhere (another process): the first open unwraps, the
	// second is served from the cache.
	blob, err := NewSealer(inner).Seal(ctx, map[string]string{"k": "v"}, "id-1", 1)
	require.NoError(t, err)
	s := NewSealer(cache)
	_, err = s.Open(ctx, blob, "id-1", 1)
	require.NoError(t, err)
	assert.Equal(t, int64(1), inner.unwraps.Load(), "cold open unwraps once")
	got, err := s.Open(ctx, blob, "id-1", 1)
	require.NoError(t, err)
	assert.Equal(t, int64(1), inner.unwraps.Load(), "warm open does not unwrap")
	assert.True(t, got["k"] == "v", "value round-trips")

	// The cache is keyed by aad too: the same blob under another version
	// asks the wrapper, which refuses.
	_, err = s.Open(ctx, blob, "id-1", 2)
	require.Error(t, err)
	assert.Equal(t, int64(2), inner.unwraps.Load())

	// A key sealed through the cache is cached: open right after seal is warm.
	blob2, err := s.Seal(ctx, map[string]string{"a": "b"}, "id-2", 1)
	require.NoError(t, err)
	_, err = s.Open(ctx, blob2, "id-2", 1)
	require.NoError(t, err)
	assert.Equal(t, int64(2), inner.unwraps.Load(), "open after seal is warm")
}

func TestCachingWrapperTTLAndSize(t *testing.T) {
	ctx := context.Background()
	inner := newCounting(t)
	cw := NewCachingWrapper(inner, 2, time.Minute).(*CachingWrapper)
	now := time.Unix(1_000_000, 0)
	cw.now = func() time.Time { return now }

	wrapped := make([][]byte, 3)
	for i := range wrapped {
		var err error
		wrapped[i], err = inner.WrapKey(ctx, bytes.Repeat([]byte{byte(i + 1)}, 32), []byte{byte(i)})
		require.NoError(t, err)
	}
	unwrap := func(i int) {
		t.Helper()
		k, err := cw.UnwrapKey(ctx, wrapped[i], []byte{byte(i)})
		require.NoError(t, err)
		require.True(t, bytes.Equal(bytes.Repeat([]byte{byte(i + 1)}, 32), k), "key %d unwraps to itself", i)
		clear(k) // callers may clear what they get
	}
	unwrap(0)
	unwrap(1)
	unwrap(0) // 0 is now the most recently used
	assert.Equal(t, int64(2), inner.unwraps.Load())
	unwrap(2) // evicts 1
	assert.Equal(t, 2, cw.Len(), "bounded by size")
	unwrap(0)
	assert.Equal(t, int64(3), inner.unwraps.Load(), "0 stayed cached, and clearing a returned copy did not harm it")
	unwrap(1)
	assert.Equal(t, int64(4), inner.unwraps.Load(), "1 was evicted")

	now = now.Add(time.Minute)
	unwrap(1)
	assert.Equal(t, int64(5), inner.unwraps.Load(), "expired after the ttl")

	// Eviction zeroes the cached copy.
	el := cw.lru.Front()
	key := el.Value.(*cacheEntry).key
	cw.Purge()
	assert.True(t, bytes.Equal(make([]byte, 32), key), "purged key is zeroed")
	assert.Equal(t, 0, cw.Len())
}
