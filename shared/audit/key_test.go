package audit_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/audit"
	"github.com/lockwell/lockwell/shared/audit/audittest"
	"github.com/lockwell/lockwell/shared/envelope"
	"github.com/lockwell/lockwell/shared/errcode"
)

func TestMemoryKeyStorage(t *testing.T) {
	audittest.RunKeyStorage(t, audittest.KeyHarness{
		Open: func(*testing.T) (audittest.KeyedStorage, audittest.KeyedStorage) {
			m := audit.NewMemory()
			return m, m
		},
	})
}

func localKey(t *testing.T, b byte) *envelope.LocalKey {
	w, err := envelope.NewLocalKey(bytes.Repeat([]byte{b}, envelope.KeySize))
	require.NoError(t, err)
	return w
}

func TestLoadKeyUnderAnotherStoreKey(t *testing.T) {
	ctx := context.Background()
	m := audit.NewMemory()
	key, created, err := audit.LoadKey(ctx, m, localKey(t, 1))
	require.NoError(t, err)
	assert.True(t, created)

	wrapped, err := m.WrappedAuditKey(ctx)
	require.NoError(t, err)
	assert.False(t, bytes.Contains(wrapped, key), "the key is stored wrapped, never as it is")

	_, _, err = audit.LoadKey(ctx, m, localKey(t, 2))
	require.Error(t, err)
	assert.Equal(t, errcode.Internal, errcode.Of(err), "a key wrapped by another store key does not unwrap")
	assert.NotContains(t, err.Error(), string(key))

	again, created, err := audit.LoadKey(ctx, m, localKey(t, 1))
	require.NoError(t, err)
	assert.False(t, created)
	assert.True(t, bytes.Equal(key, again), "the same store key unwraps the same chain key")
}

// The wrapped key is bound to its purpose: unwrapping it as a secret
// version's data key (another aad) fails.
func TestChainKeyIsBoundToItsAAD(t *testing.T) {
	ctx := context.Background()
	m := audit.NewMemory()
	w := localKey(t, 3)
	_, _, err := audit.LoadKey(ctx, m, w)
	require.NoError(t, err)
	wrapped, err := m.WrappedAuditKey(ctx)
	require.NoError(t, err)
	_, err = w.UnwrapKey(ctx, wrapped, envelope.AAD("some-secret", 1))
	assert.Error(t, err)
}
