package zenmlsql_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/localdev/testenv"
	"github.com/lockwell/lockwell/migrate"
	"github.com/lockwell/lockwell/migrate/centraltest"
	"github.com/lockwell/lockwell/migrate/legacy"
	"github.com/lockwell/lockwell/migrate/legacy/zenmlsql"
	"github.com/lockwell/lockwell/shared/backend/memstore"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/store"
)

// python returns an interpreter that has the genuine sqlalchemy-utils and
// cryptography (Debian: python3-sqlalchemy-utils python3-cryptography).
func python(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"python3", "/usr/bin/python3"} {
		if exec.Command(p, "-c", "import sqlalchemy, sqlalchemy_utils, cryptography").Run() == nil {
			return p
		}
	}
	testenv.Missing(t, "python3 with sqlalchemy-utils and cryptography; apt-get install python3-sqlalchemy-utils python3-cryptography")
	return ""
}

// externalName is the fixture secret whose values live in an external
// secrets store (NULL values column).
const externalName = "in_aws"

type fixtureRows struct {
	Users []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"users"`
	Secrets []struct {
		ID      string  `json:"id"`
		Name    string  `json:"name"`
		Private bool    `json:"private"`
		UserID  string  `json:"user_id"`
		Values  *string `json:"values"`
		Created string  `json:"created"`
	} `json:"secrets"`
}

// build runs testdata/zenml_fixture.py: centraltest.Fixture plus one
// secret with external values, encoded by the genuine library with key
// ("" for none), written to sqlitePath ("" for none) in the given schema
// generation. It returns the encoded rows.
func build(t *testing.T, key, schema, sqlitePath string) fixtureRows {
	t.Helper()
	users := map[string]string{}
	var spec struct {
		Key     *string          `json:"key"`
		Schema  string           `json:"schema"`
		SQLite  string           `json:"sqlite,omitempty"`
		Users   []map[string]any `json:"users"`
		Secrets []map[string]any `json:"secrets"`
	}
	if key != "" {
		spec.Key = &key
	}
	spec.Schema, spec.SQLite = schema, sqlitePath
	for _, n := range []string{"alice", "bob", "ci"} {
		users[n] = uuid.NewString()
		spec.Users = append(spec.Users, map[string]any{"id": users[n], "name": n})
	}
	for _, s := range centraltest.Fixture() {
		spec.Secrets = append(spec.Secrets, map[string]any{"id": uuid.NewString(), "name": s.Name, "private": s.Private, "user": users[s.User], "values": s.Values})
	}
	spec.Secrets = append(spec.Secrets, map[string]any{"id": uuid.NewString(), "name": externalName, "private": false, "user": users["bob"], "values": nil})
	in, err := json.Marshal(spec)
	require.NoError(t, err)
	cmd := exec.Command(python(t), filepath.Join("testdata", "zenml_fixture.py"))
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "fixture script failed: %s", stderr.String())
	var rows fixtureRows
	require.NoError(t, json.Unmarshal(out, &rows))
	return rows
}

func randomKey() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return "zenml-key-" + hex.EncodeToString(b)
}

func setKey(t *testing.T, key string) {
	t.Setenv("ZENML_SECRETS_STORE_ENCRYPTION_KEY", key)
	t.Setenv("ZENML_SECRETS_STORE_ENCRYPTION_KEY_FILE", "")
}

func openSQLite(t *testing.T, path string) legacy.Source {
	t.Helper()
	src, err := legacy.Open(context.Background(), "zenml-sql://"+path)
	require.NoError(t, err)
	t.Cleanup(func() { src.Close() })
	return src
}

func TestEncryptedSQLiteMigratesCompletely(t *testing.T) {
	key := randomKey()
	path := filepath.Join(t.TempDir(), "zenml.db")
	rows := build(t, key, "private", path)
	require.NotContains(t, *rows.Secrets[0].Values, "sk-public", "the fixture is encrypted")
	setKey(t, key)
	centraltest.RequireMigrates(t, openSQLite(t, path), centraltest.Fixture(), centraltest.Owners, externalName)
}

func TestKeyFromFileAndOlderScopeSchema(t *testing.T) {
	key := randomKey()
	path := filepath.Join(t.TempDir(), "zenml.db")
	build(t, key, "scope", path)
	keyFile := filepath.Join(t.TempDir(), "key")
	require.NoError(t, writeFile(keyFile, key+"\n"))
	t.Setenv("ZENML_SECRETS_STORE_ENCRYPTION_KEY", "")
	t.Setenv("ZENML_SECRETS_STORE_ENCRYPTION_KEY_FILE", keyFile)
	centraltest.RequireMigrates(t, openSQLite(t, path), centraltest.Fixture(), centraltest.Owners, externalName)
}

func TestUnencryptedSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "zenml.db")
	build(t, "", "private", path)
	setKey(t, "")
	centraltest.RequireMigrates(t, openSQLite(t, path), centraltest.Fixture(), centraltest.Owners, externalName)
}

func TestWrongOrMissingKeyFailsWithoutValues(t *testing.T) {
	path := filepath.Join(t.TempDir(), "zenml.db")
	build(t, randomKey(), "private", path)
	for _, key := range []string{"", randomKey()} {
		setKey(t, key)
		src := openSQLite(t, path)
		results, err := migrate.Run(context.Background(), src, migrate.StoreTarget{Store: store.New(memstore.New()), Principal: centraltest.Runner},
			migrate.Options{OwnerMap: centraltest.Owners}, nil, 2, nil)
		require.NoError(t, err)
		for _, r := range results {
			if r.Outcome == migrate.Skipped {
				require.Equal(t, zenmlsql.ExternalReason, r.Reason)
				continue
			}
			require.Equal(t, migrate.Failed, r.Outcome, r.Name)
			require.Contains(t, r.Reason, "ZENML_SECRETS_STORE_ENCRYPTION_KEY")
			for _, s := range centraltest.Fixture() {
				for _, v := range s.Values {
					if len(v) > 4 {
						require.NotContains(t, r.Reason, v)
					}
				}
			}
			if key != "" {
				require.NotContains(t, r.Reason, key)
			}
		}
	}
}

func TestBadURLs(t *testing.T) {
	ctx := context.Background()
	for _, bad := range []string{
		"zenml-sql://" + filepath.Join(t.TempDir(), "missing.db"),
		"zenml-sql://relative.db",
		"zenml-sql://u:p@127.0.0.1:1/zenml",
		"zenml-sql://127.0.0.1:1/",
		"zenml-sql://127.0.0.1:1/zenml?tls=maybe",
		"zenml-sql:///x.db?mode=rw",
	} {
		_, err := legacy.Open(ctx, bad)
		require.True(t, errcode.Is(err, errcode.InvalidArgument), "%s: %v", bad, err)
	}
}

func writeFile(path, content string) error { return os.WriteFile(path, []byte(content), 0o600) }
