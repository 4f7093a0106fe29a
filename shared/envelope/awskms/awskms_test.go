package awskms_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/localdev/awsjson"
	"github.com/lockwell/lockwell/localdev/kms"
	"github.com/lockwell/lockwell/shared/envelope"
	_ "github.com/lockwell/lockwell/shared/envelope/awskms"
	"github.com/lockwell/lockwell/shared/errcode"
)

// localKMS starts the local KMS and points the SDK's default chain at it
// through the standard environment variables only.
func localKMS(t *testing.T) *kms.Server {
	t.Helper()
	srv, err := kms.Start()
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "empty"), nil, 0o600))
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_KMS":        srv.URL(),
		"AWS_ACCESS_KEY_ID":           "AKIDLOCAL",
		"AWS_SECRET_ACCESS_KEY":       "local-only",
		"AWS_REGION":                  kms.Region,
		"AWS_CONFIG_FILE":             filepath.Join(dir, "empty"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "empty"),
		"AWS_EC2_METADATA_DISABLED":   "true",
	} {
		t.Setenv(k, v)
	}
	return srv
}

func TestSealOpenThroughKMS(t *testing.T) {
	ctx := context.Background()
	srv := localKMS(t)
	_, err := srv.CreateKey("lockwell", "alias/lockwell")
	require.NoError(t, err)

	w, err := envelope.OpenWrapper(ctx, "awskms://alias/lockwell?cache_size=0")
	require.NoError(t, err)
	s := envelope.NewSealer(w)
	values := map[string]string{"password": "s3cr3t"}
	blob, err := s.Seal(ctx, values, "id-1", 3)
	require.NoError(t, err)
	assert.Equal(t, 1, srv.Calls("GenerateDataKey"), "seal is one GenerateDataKey")
	assert.Equal(t, 0, srv.Calls("Encrypt"))

	got, err := s.Open(ctx, blob, "id-1", 3)
	require.NoError(t, err)
	assert.True(t, got["password"] == "s3cr3t", "value round-trips")
	assert.Equal(t, 1, srv.Calls("Decrypt"))

	// KMS itself refuses the data key for another version: the aad is the
	// encryption context.
	_, err = s.Open(ctx, blob, "id-1", 4)
	require.Error(t, err)
	assert.Equal(t, errcode.Internal, errcode.Of(err))
	assert.Equal(t, 2, srv.Calls("Decrypt"))

	// WrapKey (for wrappers without a generator) is one Encrypt.
	wrapped, err := w.WrapKey(ctx, make([]byte, 32), []byte("aad"))
	require.NoError(t, err)
	_, err = w.UnwrapKey(ctx, wrapped, []byte("aad"))
	require.NoError(t, err)
	assert.Equal(t, 1, srv.Calls("Encrypt"))
}

func TestCacheMakesWarmOpensFree(t *testing.T) {
	ctx := context.Background()
	srv := localKMS(t)
	_, err := srv.CreateKey("lockwell", "alias/lockwell")
	require.NoError(t, err)
	writer, err := envelope.OpenWrapper(ctx, "awskms://alias/lockwell?cache_size=0")
	require.NoError(t, err)
	blob, err := envelope.NewSealer(writer).Seal(ctx, map[string]string{"k": "v"}, "id", 1)
	require.NoError(t, err)

	reader, err := envelope.OpenWrapper(ctx, "awskms://alias/lockwell?cache_size=10&cache_ttl=1m")
	require.NoError(t, err)
	s := envelope.NewSealer(reader)
	for range 3 {
		_, err = s.Open(ctx, blob, "id", 1)
		require.NoError(t, err)
	}
	assert.Equal(t, 1, srv.Calls("Decrypt"), "cold open is one Decrypt, warm opens none")
}

func TestThrottlingIsRetriedThenUnavailable(t *testing.T) {
	ctx := context.Background()
	srv := localKMS(t)
	id, err := srv.CreateKey("lockwell", "")
	require.NoError(t, err)
	w, err := envelope.OpenWrapper(ctx, "awskms://"+id+"?cache_size=0")
	require.NoError(t, err)
	s := envelope.NewSealer(w)

	for range 2 {
		srv.InjectFault("GenerateDataKey", awsjson.Errorf("ThrottlingException", "Rate exceeded"))
	}
	_, err = s.Seal(ctx, map[string]string{"k": "v"}, "id", 1)
	require.NoError(t, err, "two throttles are absorbed by the retry policy")
	assert.Equal(t, 3, srv.Calls("GenerateDataKey"))

	for range 10 {
		srv.InjectFault("GenerateDataKey", &awsjson.Error{Status: 500, Type: "KMSInternalException", Message: "boom"})
	}
	ctx2, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err = s.Seal(ctx2, map[string]string{"k": "v"}, "id", 1)
	require.Error(t, err)
	assert.Equal(t, errcode.Unavailable, errcode.Of(err), "a lasting outage is unavailable: %v", err)
}

func TestOpenURLRules(t *testing.T) {
	ctx := context.Background()
	localKMS(t)
	cases := []struct {
		url  string
		code errcode.Code
	}{
		{"awskms://alias/x?colour=red", errcode.InvalidArgument},
		{"awskms://", errcode.InvalidArgument},
		{"awskms://alias/x?cache_size=-1", errcode.InvalidArgument},
		{"awskms://alias/x?cache_ttl=soon", errcode.InvalidArgument},
	}
	for _, tc := range cases {
		_, err := envelope.OpenWrapper(ctx, tc.url)
		require.Error(t, err, tc.url)
		assert.Equal(t, tc.code, errcode.Of(err), tc.url)
	}
	// A key ARN needs the empty host form.
	srv := localKMS(t)
	id, err := srv.CreateKey("k", "")
	require.NoError(t, err)
	_, err = srv.CreateKey("aliased", "alias/lockwell")
	require.NoError(t, err)
	// The empty-host form takes every kind of key reference, so a template
	// can write awskms:///${KeyRef} whatever the operator passes.
	for _, u := range []string{
		"awskms:///arn:aws:kms:us-east-1:000000000000:key/" + id + "?region=us-east-1",
		"awskms:///" + id,
		"awskms:///alias/lockwell",
		"awskms:///arn:aws:kms:us-east-1:000000000000:alias/lockwell",
		"awskms://" + id,
	} {
		w, err := envelope.OpenWrapper(ctx, u)
		require.NoError(t, err, u)
		_, err = envelope.NewSealer(w).Seal(ctx, map[string]string{}, "id", 1)
		require.NoError(t, err, u)
	}
}
