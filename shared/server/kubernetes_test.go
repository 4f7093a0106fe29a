package server_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver for the admin connection
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/localdev/testenv"
	"github.com/lockwell/lockwell/shared/config"
	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/server"
	"github.com/lockwell/lockwell/shared/server/servertest"
)

// What a Kubernetes deployment relies on: the admin token from a mounted
// Secret shared by several replicas over one database, and a readiness
// probe that follows the store.

// sqliteDeployment is a deployment configuration over a SQLite file that
// several servers can share, as replicas share a database.
func sqliteDeployment(t *testing.T) *config.Config {
	dir := t.TempDir()
	return &config.Config{
		StoreURL: (&url.URL{Scheme: "sqlite", Path: filepath.Join(dir, "lockwell.db")}).String(),
		KeyURL:   (&url.URL{Scheme: "localkey", Path: filepath.Join(dir, "store.key")}).String(),
	}
}

func writeTokenFile(t *testing.T, token string) string {
	path := filepath.Join(t.TempDir(), "admin-token")
	require.NoError(t, os.WriteFile(path, []byte(token+"\n"), 0o600))
	return path
}

func TestAdminTokenFromFileIsSharedByReplicas(t *testing.T) {
	dep := sqliteDeployment(t)
	token, _, err := identity.NewToken()
	require.NoError(t, err)
	tokenFile := writeTokenFile(t, token)

	// Two replicas start at once, each with an empty data directory.
	var replicas [2]*servertest.Running
	var logs [2]servertest.Buffer
	dataDirs := [2]string{t.TempDir(), t.TempDir()}
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Go(func() {
			replicas[i] = servertest.Run(t, server.Config{
				DataDir: dataDirs[i], Deployment: dep, AdminTokenFile: tokenFile,
				Logger: slog.New(slog.NewTextHandler(&logs[i], nil)),
			})
		})
	}
	wg.Wait()
	client := &http.Client{Timeout: 10 * time.Second}
	for i, r := range replicas {
		status, body, err := call(client, r.URL, token, http.MethodGet, "/api/v1/whoami", "")
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status, "replica %d", i)
		assert.JSONEq(t, `{"user":"admin","role":"admin"}`, string(body))
		assert.NotContains(t, logs[i].String(), token, "the log never holds the token")
		assert.Contains(t, logs[i].String(), identity.TokenIDOf(token), "the log names the token by id")
		entries, err := os.ReadDir(dataDirs[i])
		require.NoError(t, err)
		assert.Empty(t, entries, "no admin.token is minted: the data directory can stay empty")
	}
	status, body, err := call(client, replicas[0].URL, token, http.MethodGet, "/api/v1/tokens", "")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	var list struct {
		Items []identity.TokenInfo `json:"items"`
	}
	require.NoError(t, json.Unmarshal(body, &list))
	require.Len(t, list.Items, 1, "both replicas agree on one stored admin token")
	assert.Equal(t, identity.TokenIDOf(token), list.Items[0].ID)

	// A restart finds the token known and stores nothing new.
	replicas[0].Stop(t)
	again := servertest.Run(t, server.Config{DataDir: dataDirs[0], Deployment: dep, AdminTokenFile: tokenFile, Logger: slog.New(slog.DiscardHandler)})
	status, body, err = call(client, again.URL, token, http.MethodGet, "/api/v1/tokens", "")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	require.NoError(t, json.Unmarshal(body, &list))
	assert.Len(t, list.Items, 1)
}

func TestAdminTokenFileIsRefusedWhenMalformedOrNotAnAdmins(t *testing.T) {
	dep := sqliteDeployment(t)
	run := func(tokenFile string) error {
		return server.Run(context.Background(), server.Config{
			Addr: "127.0.0.1:0", DataDir: t.TempDir(), Deployment: dep, AdminTokenFile: tokenFile,
			Logger: slog.New(slog.DiscardHandler),
		})
	}

	weak := "hunter2-is-a-weak-admin-token"
	err := run(writeTokenFile(t, weak))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "a token must be")
	assert.NotContains(t, err.Error(), weak, "the error never holds the file's content")

	err = run(filepath.Join(t.TempDir(), "missing"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "admin token file")

	// A member's token in the admin token file is not promoted.
	admin, _, err := identity.NewToken()
	require.NoError(t, err)
	srv := servertest.Run(t, server.Config{DataDir: t.TempDir(), Deployment: dep, AdminTokenFile: writeTokenFile(t, admin), Logger: slog.New(slog.DiscardHandler)})
	status, body, err := call(&http.Client{Timeout: 10 * time.Second}, srv.URL, admin, http.MethodPost, "/api/v1/tokens", `{"user":"alice"}`)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, status)
	var minted struct {
		Token string `json:"token"`
	}
	require.NoError(t, json.Unmarshal(body, &minted))
	srv.Stop(t)
	err = run(writeTokenFile(t, minted.Token))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `principal "alice"`)
	assert.NotContains(t, err.Error(), minted.Token)
}

// The readiness probe follows the store: ready on PostgreSQL, 503 once the
// store's tables are gone, while liveness stays 200.
func TestReadyzFollowsThePostgresStore(t *testing.T) {
	pgURL := testenv.PostgresURL(t)
	db, err := sql.Open("pgx", pgURL)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	b := make([]byte, 6)
	_, err = rand.Read(b)
	require.NoError(t, err)
	schema := "lockwell_readyz_" + hex.EncodeToString(b)
	_, err = db.Exec("CREATE SCHEMA " + schema)
	require.NoError(t, err)
	t.Cleanup(func() { db.Exec("DROP SCHEMA IF EXISTS " + schema + " CASCADE") })
	u, err := url.Parse(pgURL)
	require.NoError(t, err)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()

	token, _, err := identity.NewToken()
	require.NoError(t, err)
	logs := &servertest.Buffer{}
	srv := servertest.Run(t, server.Config{
		DataDir: t.TempDir(), AdminTokenFile: writeTokenFile(t, token),
		Deployment: &config.Config{StoreURL: u.String(), KeyURL: "localkey://" + filepath.Join(t.TempDir(), "store.key")},
		Logger:     slog.New(slog.NewTextHandler(logs, nil)),
	})
	client := &http.Client{Timeout: 10 * time.Second}
	status, body, err := call(client, srv.URL, "", http.MethodGet, "/readyz", "")
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, status, string(body))

	_, err = db.Exec("DROP SCHEMA " + schema + " CASCADE")
	require.NoError(t, err)
	status, body, err = call(client, srv.URL, "", http.MethodGet, "/readyz", "")
	require.NoError(t, err)
	assert.Equal(t, http.StatusServiceUnavailable, status)
	assert.JSONEq(t, `{"error":{"code":"unavailable","message":"the store is not ready"}}`, string(body))
	assert.Contains(t, logs.String(), "op=readyz", "the failed probe is logged with its cause")
	status, _, err = call(client, srv.URL, "", http.MethodGet, "/healthz", "")
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, status, "liveness does not follow the store: restarting would not bring it back")
}
