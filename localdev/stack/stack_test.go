package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/localdev/dynalite"
	"github.com/lockwell/lockwell/localdev/testenv"
	"github.com/lockwell/lockwell/shared/client"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/mysqlconn"
	"github.com/lockwell/lockwell/shared/server"
	"github.com/lockwell/lockwell/shared/server/servertest"
	"github.com/lockwell/lockwell/shared/valuestore"
)

// running is a stack serving the API in this process.
type running struct {
	*stack
	srv    *servertest.Running
	url    string
	token  string
	output *servertest.Buffer // stdout and the log
}

// startStack starts the stack as `make dev` does, with its variables set
// for the test only. Cases on dynalite skip when it is not installed,
// outside CI; Postgres cases when no database is given.
func startStack(t *testing.T, o options) *running {
	t.Helper()
	if o.Store == "postgres" {
		o.PostgresURL = testenv.PostgresURL(t)
	}
	if o.Store == "mysql" {
		o.MySQLURL = testenv.MySQLURL(t)
	}
	s, err := start(context.Background(), o, func(k, v string) error {
		t.Setenv(k, v) // restored after the test
		if v == "" {
			return os.Unsetenv(k)
		}
		return nil
	})
	if errors.Is(err, dynalite.ErrNotInstalled) {
		testenv.Missing(t, "%v", err)
	}
	require.NoError(t, err)
	r := &running{stack: s, output: &servertest.Buffer{}}
	r.srv = servertest.Start(t, func(ctx context.Context, ready func(addr string)) error {
		return s.serve(ctx, "127.0.0.1:0", r.output, slog.New(slog.NewTextHandler(r.output, nil)), ready)
	})
	r.url = r.srv.URL
	if o.Store == "postgres" {
		t.Cleanup(func() {
			r.shutdown(t)
			dropSchema(t, o.PostgresURL, r.Deployment.StoreURL)
		})
	}
	if o.Store == "mysql" {
		t.Cleanup(func() {
			r.shutdown(t)
			dropDatabase(t, r.Deployment.StoreURL)
		})
	}
	r.token = servertest.AdminToken(t, s.DataDir)
	return r
}

// shutdown stops the stack and requires a clean return.
func (r *running) shutdown(t *testing.T) {
	t.Helper()
	r.srv.Stop(t)
}

// dropSchema removes the schema the stack made in the test database.
func dropSchema(t *testing.T, databaseURL, storeURL string) {
	u, err := url.Parse(storeURL)
	require.NoError(t, err)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, databaseURL)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{u.Query().Get("search_path")}.Sanitize()+" CASCADE")
	require.NoError(t, err)
}

// dropDatabase removes the database the stack made on the test server.
func dropDatabase(t *testing.T, storeURL string) {
	u, err := url.Parse(storeURL)
	require.NoError(t, err)
	db, err := mysqlconn.Open(u)
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Exec("DROP DATABASE IF EXISTS " + strings.TrimPrefix(u.Path, "/"))
	require.NoError(t, err)
}

// differingKeys names the keys whose values differ, never the values.
func differingKeys(want, got map[string]string) []string {
	var keys []string
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			keys = append(keys, k)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// entries lists the secret ids in the value store the stack configured,
// read through the store's own SDK client.
func entries(t *testing.T, r *running) []string {
	t.Helper()
	ctx := context.Background()
	vs, err := valuestore.Open(ctx, r.Deployment.ValuesURL, valuestore.Options{Deployment: r.Deployment.Deployment})
	require.NoError(t, err)
	defer vs.Close()
	var ids []string
	require.NoError(t, vs.Entries(ctx, func(id string) error { ids = append(ids, id); return nil }))
	return ids
}

func randomValue(t *testing.T) string {
	b := make([]byte, 12)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return "v-" + hex.EncodeToString(b)
}

// TestCLIAgainstEachStack runs create, get, list, update and delete with the
// CLI's client against the stack, and checks that values live in the
// external value store when there is one.
func TestCLIAgainstEachStack(t *testing.T) {
	cases := []struct{ store, values string }{
		{"sqlite", "none"},
		{"dynamodb", "none"},
		{"sqlite", "awssecretsmanager"},
		{"sqlite", "hashivault"},
		{"dynamodb", "gcpsecretmanager"},
		{"dynamodb", "awssecretsmanager"},
		{"sqlite", "azurekeyvault"},
		{"postgres", "hashivault"},
		{"mysql", "none"},
	}
	for _, tc := range cases {
		t.Run(tc.store+"+"+tc.values, func(t *testing.T) {
			// A profile of the developer's shell must not take over.
			t.Setenv("AWS_PROFILE", "lockwell-test-no-such-profile")
			ctx := context.Background()
			root := t.TempDir()
			r := startStack(t, options{Store: tc.store, Values: tc.values, DataDir: root})
			if tc.store == "sqlite" && tc.values == "none" {
				assert.Equal(t, root, r.DataDir, "plain sqlite uses the data directory as lockwell serve does")
				assert.FileExists(t, filepath.Join(root, server.DatabaseFile))
			} else {
				assert.Equal(t, filepath.Join(root, strings.TrimSuffix(tc.store+"-"+tc.values, "-none")), r.DataDir, "a subfolder per combination")
				assert.NoFileExists(t, filepath.Join(root, server.DatabaseFile))
			}

			c, err := client.New(r.url, client.BearerToken(r.token))
			require.NoError(t, err)
			values := map[string]string{"user": "app", "password": randomValue(t)}
			created, err := c.CreateSecret(ctx, client.NewSecret{Name: "db-credentials", Values: values})
			require.NoError(t, err)
			got, err := c.GetSecret(ctx, created.ID)
			require.NoError(t, err)
			assert.Empty(t, differingKeys(values, got.Values), "values read back differ")
			if tc.values != "none" {
				assert.Equal(t, []string{created.ID}, entries(t, r), "the values are in the external store")
			}

			page, err := c.ListSecrets(ctx, client.ListOptions{}, "")
			require.NoError(t, err)
			require.Len(t, page.Items, 1)
			assert.Equal(t, "db-credentials", page.Items[0].Name)
			assert.Empty(t, page.Items[0].Values, "a list carries no values")

			rotated := randomValue(t)
			_, err = c.UpdateSecret(ctx, created.ID, client.Update{Values: map[string]*string{"password": &rotated, "user": nil}})
			require.NoError(t, err)
			got, err = c.GetSecret(ctx, created.ID)
			require.NoError(t, err)
			assert.Empty(t, differingKeys(map[string]string{"password": rotated}, got.Values), "values after the update differ")

			require.NoError(t, c.DeleteSecret(ctx, created.ID))
			_, err = c.GetSecret(ctx, created.ID)
			assert.Equal(t, errcode.NotFound, errcode.Of(err))
			if tc.values != "none" {
				assert.NotEmpty(t, entries(t, r), "a deleted secret keeps its values for the recovery window")
			}
			_, err = c.DeleteSecretWith(ctx, created.ID, client.DeleteOptions{Purge: true})
			require.NoError(t, err)
			if tc.values != "none" {
				assert.Empty(t, entries(t, r), "the external entry is gone after the purge")
			}

			r.shutdown(t)
			out := r.output.String()
			assert.Contains(t, out, "lockwell login --url "+r.url)
			for _, secret := range []string{r.token, values["password"], rotated} {
				assert.False(t, strings.Contains(out, secret), "the output holds a token or a value")
			}
		})
	}
}

// TestRestart: a persisted store keeps its secrets and admin token across
// restarts; with an in-memory value store the combination starts empty.
func TestRestart(t *testing.T) {
	cases := []struct {
		store, values string
		kept          bool
	}{
		{"dynamodb", "none", true},
		{"sqlite", "hashivault", false},
	}
	for _, tc := range cases {
		t.Run(tc.store+"+"+tc.values, func(t *testing.T) {
			ctx := context.Background()
			o := options{Store: tc.store, Values: tc.values, DataDir: t.TempDir()}
			r := startStack(t, o)
			c, err := client.New(r.url, client.BearerToken(r.token))
			require.NoError(t, err)
			values := map[string]string{"k": randomValue(t)}
			created, err := c.CreateSecret(ctx, client.NewSecret{Name: "kept", Values: values})
			require.NoError(t, err)
			first := r.token
			r.shutdown(t)

			r = startStack(t, o)
			c, err = client.New(r.url, client.BearerToken(r.token))
			require.NoError(t, err)
			got, err := c.GetSecret(ctx, created.ID)
			if tc.kept {
				require.NoError(t, err)
				assert.Empty(t, differingKeys(values, got.Values), "values after a restart differ")
				assert.True(t, first == r.token, "the admin token is kept")
			} else {
				assert.Equal(t, errcode.NotFound, errcode.Of(err), "the index was cleared with the in-memory values")
				assert.False(t, first == r.token, "a new admin token was minted")
			}
		})
	}
}

func TestOptionsAreChecked(t *testing.T) {
	cases := []struct {
		name string
		o    options
		msg  string
	}{
		{"unknown store", options{Store: "oracle", Values: "none"}, "--store must be one of"},
		{"unknown values", options{Store: "sqlite", Values: "vault"}, "--values must be one of"},
		{"postgres without a database", options{Store: "postgres", Values: "none"}, "postgres.sh start"},
		{"mysql without a database", options{Store: "mysql", Values: "none"}, "mariadb.sh start"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.DataDir = t.TempDir()
			_, err := start(context.Background(), tc.o, func(string, string) error { return nil })
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.msg)
		})
	}
}

func TestAFolderItDidNotMakeIsNeverCleared(t *testing.T) {
	root := t.TempDir()
	mine := filepath.Join(root, "sqlite-hashivault")
	require.NoError(t, os.MkdirAll(mine, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(mine, "notes.txt"), []byte("mine"), 0o600))
	_, err := start(context.Background(), options{Store: "sqlite", Values: "hashivault", DataDir: root}, func(string, string) error { return nil })
	require.Error(t, err)
	assert.Contains(t, err.Error(), "refusing to clear")
	assert.FileExists(t, filepath.Join(mine, "notes.txt"))
}
