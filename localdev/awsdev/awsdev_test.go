package awsdev_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/localdev/awsdev"
	"github.com/lockwell/lockwell/localdev/dynalite"
	"github.com/lockwell/lockwell/localdev/testenv"
	"github.com/lockwell/lockwell/shared/backend"
	"github.com/lockwell/lockwell/shared/backend/backendtest"
	_ "github.com/lockwell/lockwell/shared/dynamostore"
	"github.com/lockwell/lockwell/shared/envelope"
	_ "github.com/lockwell/lockwell/shared/envelope/awskms"
)

// start starts the stack and opens the store through its URLs and
// environment, as the local server does.
func start(t *testing.T, dir string) (*awsdev.Stack, backend.Backend) {
	t.Helper()
	ctx := context.Background()
	st, err := awsdev.Start(ctx, dir)
	if errors.Is(err, dynalite.ErrNotInstalled) {
		testenv.Missing(t, "%v", err)
	}
	require.NoError(t, err)
	for k, v := range st.Env {
		t.Setenv(k, v)
	}
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	w, err := envelope.OpenWrapper(ctx, st.KeyURL)
	require.NoError(t, err)
	b, err := backend.Open(ctx, st.StoreURL, backend.Options{Sealer: envelope.NewSealer(w)})
	require.NoError(t, err)
	return st, b
}

func TestDataSurvivesARestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, b := start(t, dir)
	s := backendtest.New("dev-secret", "alice", false, map[string]string{"k": "v"})
	require.NoError(t, b.Create(ctx, s))
	require.NoError(t, st.Close())

	st, b = start(t, dir)
	defer st.Close()
	got, err := b.Get(ctx, s.ID)
	require.NoError(t, err, "persisted by dynalite, and the key is the same after a restart")
	assert.True(t, got.Values["k"] == "v", "value round-trips")
}
