package audittest

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/audit"
	"github.com/lockwell/lockwell/shared/envelope"
)

// KeyedStorage is a storage that also keeps the wrapped chain key.
type KeyedStorage interface {
	audit.Storage
	audit.KeyStorage
}

// KeyHarness is what a storage that keeps the wrapped chain key gives
// RunKeyStorage.
type KeyHarness struct {
	// Open returns two handles on one fresh, empty storage, as two
	// processes of one deployment would open it; the test closes them.
	Open func(t *testing.T) (first, second KeyedStorage)
	// Wrapper returns the key wrapper the deployment's processes use (each
	// call a new one, as each process opens its own); nil: a local store
	// key.
	Wrapper func(t *testing.T) envelope.KeyWrapper
}

// RunKeyStorage runs the suite of audit.KeyStorage against h.
func RunKeyStorage(t *testing.T, h KeyHarness) {
	if h.Wrapper == nil {
		local := bytes.Repeat([]byte{7}, envelope.KeySize)
		h.Wrapper = func(t *testing.T) envelope.KeyWrapper {
			w, err := envelope.NewLocalKey(local)
			require.NoError(t, err)
			return w
		}
	}
	t.Run("PutIfAbsent", func(t *testing.T) { testPutIfAbsent(t, h) })
	t.Run("ConcurrentPuts", func(t *testing.T) { testConcurrentPuts(t, h) })
	t.Run("TwoOpenersAgree", func(t *testing.T) { testTwoOpeners(t, h) })
}

func testPutIfAbsent(t *testing.T, h KeyHarness) {
	ctx := context.Background()
	st, _ := h.Open(t)
	got, err := st.WrappedAuditKey(ctx)
	require.NoError(t, err)
	assert.Nil(t, got, "no key is stored at first")
	first := bytes.Repeat([]byte{1, 0, 0xff}, 60) // bytes of every kind, longer than a KMS blob
	stored, err := st.PutWrappedAuditKey(ctx, first)
	require.NoError(t, err)
	assert.Equal(t, first, stored)
	stored, err = st.PutWrappedAuditKey(ctx, []byte("another"))
	require.NoError(t, err)
	assert.Equal(t, first, stored, "a stored key is never replaced")
	got, err = st.WrappedAuditKey(ctx)
	require.NoError(t, err)
	assert.Equal(t, first, got)

	// The chain itself is untouched by the key.
	head, err := st.AuditHead(ctx)
	require.NoError(t, err)
	assert.Nil(t, head)
}

// testConcurrentPuts races writers on both handles: each gets the one key
// that was stored.
func testConcurrentPuts(t *testing.T, h KeyHarness) {
	ctx := context.Background()
	a, b := h.Open(t)
	const writers = 8
	answers := make([][]byte, writers)
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		st := KeyedStorage(a)
		if i%2 == 1 {
			st = b
		}
		wg.Go(func() { answers[i], errs[i] = st.PutWrappedAuditKey(ctx, []byte(fmt.Sprintf("wrapped-%d", i))) })
	}
	wg.Wait()
	for i := range writers {
		require.NoError(t, errs[i])
		assert.Equal(t, answers[0], answers[i], "writer %d got another key than writer 0", i)
	}
	got, err := b.WrappedAuditKey(ctx)
	require.NoError(t, err)
	assert.Equal(t, answers[0], got)
}

// testTwoOpeners is two cold starts of one deployment racing to make the
// chain key: both end with the same key, so a chain one writes verifies
// with the other.
func testTwoOpeners(t *testing.T, h KeyHarness) {
	ctx := context.Background()
	a, b := h.Open(t)
	stores := []KeyedStorage{a, b}
	keys := make([][]byte, 2)
	created := make([]bool, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range stores {
		w := h.Wrapper(t)
		wg.Go(func() { keys[i], created[i], errs[i] = audit.LoadKey(ctx, stores[i], w) })
	}
	wg.Wait()
	require.NoError(t, errs[0])
	require.NoError(t, errs[1])
	require.Len(t, keys[0], audit.KeySize)
	assert.True(t, bytes.Equal(keys[0], keys[1]), "the two openers must agree on the chain key")
	assert.NotEqual(t, created[0], created[1], "exactly one opener stored the key")
	assert.False(t, bytes.Equal(keys[0], make([]byte, audit.KeySize)), "the key is random, not zero")

	writer, err := audit.New(a, keys[0])
	require.NoError(t, err)
	for i := 1; i <= 3; i++ {
		_, err := writer.Append(ctx, rec(i, "alice", "get", fmt.Sprintf("s%d", i)))
		require.NoError(t, err)
	}
	// A third process, later: it finds the key and verifies the chain.
	key, made, err := audit.LoadKey(ctx, b, h.Wrapper(t))
	require.NoError(t, err)
	assert.False(t, made)
	reader, err := audit.New(b, key)
	require.NoError(t, err)
	rep, err := reader.Verify(ctx, false)
	require.NoError(t, err)
	assert.Nil(t, rep.Broken)
	assert.Equal(t, int64(3), rep.Checked)

	// Another key does not verify that chain: the key is what protects it.
	other, err := audit.New(b, bytes.Repeat([]byte{9}, audit.KeySize))
	require.NoError(t, err)
	rep, err = other.Verify(ctx, false)
	require.NoError(t, err)
	require.NotNil(t, rep.Broken)
	assert.Equal(t, int64(1), rep.Broken.Seq)
}
