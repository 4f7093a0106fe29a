package envelope_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/envelope"
	"github.com/lockwell/lockwell/shared/errcode"
)

func sealer(t *testing.T) *envelope.Sealer {
	w, err := envelope.OpenWrapper(context.Background(), "localkey://"+filepath.Join(t.TempDir(), "keys", "store.key"))
	require.NoError(t, err)
	return envelope.NewSealer(w)
}

func TestSealOpenRoundTrip(t *testing.T) {
	s := sealer(t)
	values := map[string]string{"password": "hunter2", "empty": "", "uni": "ключ 🔐"}
	blob, err := s.Seal(context.Background(), values, "id-1", 3)
	require.NoError(t, err)
	assert.False(t, bytes.Contains(blob, []byte("hunter2")), "ciphertext must not contain the plaintext")
	got, err := s.Open(context.Background(), blob, "id-1", 3)
	require.NoError(t, err)
	assert.True(t, len(got) == 3 && got["password"] == "hunter2" && got["uni"] == "ключ 🔐" && got["empty"] == "", "values differ")
}

func TestCiphertextIsBoundToSecretAndVersion(t *testing.T) {
	s := sealer(t)
	blob, err := s.Seal(context.Background(), map[string]string{"k": "v"}, "id-1", 3)
	require.NoError(t, err)
	for _, tc := range []struct {
		id      string
		version int64
	}{{"id-2", 3}, {"id-1", 4}} {
		_, err := s.Open(context.Background(), blob, tc.id, tc.version)
		assert.Equal(t, errcode.Internal, errcode.Of(err), "opening as %s v%d must fail", tc.id, tc.version)
	}
	tampered := append([]byte{}, blob...)
	tampered[len(tampered)-1] ^= 1
	_, err = s.Open(context.Background(), tampered, "id-1", 3)
	assert.Error(t, err)
}

func TestEachSealUsesAFreshDataKey(t *testing.T) {
	s := sealer(t)
	a, err := s.Seal(context.Background(), map[string]string{"k": "v"}, "id", 1)
	require.NoError(t, err)
	b, err := s.Seal(context.Background(), map[string]string{"k": "v"}, "id", 1)
	require.NoError(t, err)
	assert.NotEqual(t, a, b)
}

func TestKeyFileIsCreatedPrivateAndReused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d", "store.key")
	k1, created, err := envelope.LoadOrCreateKeyFile(path)
	require.NoError(t, err)
	assert.True(t, created)
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	k2, created, err := envelope.LoadOrCreateKeyFile(path)
	require.NoError(t, err)
	assert.False(t, created)
	assert.True(t, bytes.Equal(k1, k2), "the key is reused")

	require.NoError(t, os.Chmod(path, 0o644))
	_, _, err = envelope.LoadOrCreateKeyFile(path)
	assert.Equal(t, errcode.PermissionDenied, errcode.Of(err), "a key file others can read is refused")
}

func TestWrongStoreKeyCannotOpen(t *testing.T) {
	blob, err := sealer(t).Seal(context.Background(), map[string]string{"k": "v"}, "id", 1)
	require.NoError(t, err)
	_, err = sealer(t).Open(context.Background(), blob, "id", 1)
	assert.Equal(t, errcode.Internal, errcode.Of(err))
}

func TestKeyURLRejectsParameters(t *testing.T) {
	_, err := envelope.OpenWrapper(context.Background(), "localkey:///tmp/x.key?mode=weak")
	assert.Equal(t, errcode.InvalidArgument, errcode.Of(err))
}

func TestEnvKeyReadsTheNamedVariable(t *testing.T) {
	key := bytes.Repeat([]byte{7}, envelope.KeySize)
	t.Setenv("LOCKWELL_TEST_KEY", base64.StdEncoding.EncodeToString(key))
	w, err := envelope.OpenWrapper(context.Background(), "envkey://LOCKWELL_TEST_KEY")
	require.NoError(t, err)
	s := envelope.NewSealer(w)
	blob, err := s.Seal(context.Background(), map[string]string{"k": "v"}, "id", 1)
	require.NoError(t, err)
	local, err := envelope.NewLocalKey(key)
	require.NoError(t, err)
	_, err = envelope.NewSealer(local).Open(context.Background(), blob, "id", 1)
	require.NoError(t, err, "the same key opens it")

	t.Setenv("LOCKWELL_TEST_KEY", "short")
	_, err = envelope.OpenWrapper(context.Background(), "envkey://LOCKWELL_TEST_KEY")
	assert.Equal(t, errcode.InvalidArgument, errcode.Of(err))
	assert.NotContains(t, err.Error(), "short", "the variable's content is never echoed")
	_, err = envelope.OpenWrapper(context.Background(), "envkey://LOCKWELL_NO_SUCH_VARIABLE")
	assert.Equal(t, errcode.InvalidArgument, errcode.Of(err))
}

func TestNoKeyRefusesToSeal(t *testing.T) {
	_, err := envelope.NewSealer(envelope.NoKey{}).Seal(context.Background(), map[string]string{"k": "v"}, "id", 1)
	assert.Equal(t, errcode.Internal, errcode.Of(err))
}

func TestConcurrentFirstStartsAgreeOnOneCompleteKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.key")
	const n = 8
	keys := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			keys[i], _, errs[i] = envelope.LoadOrCreateKeyFile(path)
		}()
	}
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i])
		assert.True(t, bytes.Equal(keys[0], keys[i]), "every starter uses the same key")
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary files are left behind")
}
