package server_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/backend"
	"github.com/lockwell/lockwell/shared/backend/memstore"
	"github.com/lockwell/lockwell/shared/config"
	"github.com/lockwell/lockwell/shared/server"
	"github.com/lockwell/lockwell/shared/server/servertest"
	_ "github.com/lockwell/lockwell/shared/valuestore/example" // filevalues:
)

func init() {
	// A backend that keeps no API tokens.
	backend.Register("servertest-notokens", func(context.Context, *url.URL, backend.Options) (backend.Backend, error) {
		return memstore.New(), nil
	})
}

func TestDeploymentIsServedAndTheDataDirHoldsOnlyTheToken(t *testing.T) {
	dataDir, storeDir := t.TempDir(), t.TempDir()
	dep := &config.Config{
		StoreURL:   (&url.URL{Scheme: "sqlite", Path: filepath.Join(storeDir, "index.db")}).String(),
		KeyURL:     (&url.URL{Scheme: "localkey", Path: filepath.Join(storeDir, "index.key")}).String(),
		ValuesURL:  (&url.URL{Scheme: "filevalues", Path: filepath.Join(storeDir, "values")}).String(),
		Deployment: "server-test",
	}
	srv := servertest.Run(t, server.Config{DataDir: dataDir, Deployment: dep, Logger: slog.New(slog.DiscardHandler)})
	token := servertest.AdminToken(t, dataDir)
	status, _, err := call(&http.Client{Timeout: 10 * time.Second}, srv.URL, token, http.MethodPost, "/api/v1/secrets", `{"name":"dep-secret","values":{"k":"v"}}`)
	require.NoError(t, err)
	assert.Equal(t, http.StatusCreated, status)
	srv.Stop(t)

	entries, err := os.ReadDir(dataDir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.Equal(t, []string{server.AdminTokenFile}, names, "the store lives where the deployment says, not in the data directory")
	values, err := os.ReadDir(filepath.Join(storeDir, "values"))
	require.NoError(t, err)
	assert.NotEmpty(t, values, "the values went to the external value store")
}

func TestDeploymentWithoutTokenStoreIsRefused(t *testing.T) {
	dir := t.TempDir()
	err := server.Run(context.Background(), server.Config{
		Addr: "127.0.0.1:0", DataDir: dir, Logger: slog.New(slog.DiscardHandler),
		Deployment: &config.Config{StoreURL: "servertest-notokens://x", KeyURL: "localkey://" + filepath.Join(dir, "k")},
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "servertest-notokens: keeps no API tokens")
	assert.NoFileExists(t, filepath.Join(dir, server.AdminTokenFile))
}
