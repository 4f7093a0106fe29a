package sqlstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/localdev/testenv"
	"github.com/lockwell/lockwell/shared/backend"
	"github.com/lockwell/lockwell/shared/backend/backendtest"
	"github.com/lockwell/lockwell/shared/envelope"
	"github.com/lockwell/lockwell/shared/mysqlconn"
	"github.com/lockwell/lockwell/shared/sqlstore"
	"github.com/lockwell/lockwell/shared/store/storetest"
)

// mysqlDB connects to the database a mysql: URL names, outside the store.
func mysqlDB(t testing.TB, rawURL string) *sql.DB {
	t.Helper()
	u, err := url.Parse(rawURL)
	require.NoError(t, err)
	db, err := mysqlconn.Open(u, "max_conns")
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

// freshMySQLDatabase creates an empty database for one test and drops it
// afterwards, and returns the store URL that names it and its name.
func freshMySQLDatabase(t testing.TB) (storeURL, name string) {
	t.Helper()
	base := testenv.MySQLURL(t)
	admin := mysqlDB(t, base)
	b := make([]byte, 6)
	_, err := rand.Read(b)
	require.NoError(t, err)
	name = "lockwell_test_" + hex.EncodeToString(b)
	_, err = admin.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
	require.NoError(t, err)
	t.Cleanup(func() { admin.Exec("DROP DATABASE " + name) })
	u, err := url.Parse(base)
	require.NoError(t, err)
	u.Path = "/" + name
	q := u.Query()
	q.Set("max_conns", "8")
	u.RawQuery = q.Encode()
	return u.String(), name
}

func openMySQL(t testing.TB, sealer *envelope.Sealer) (*sqlstore.Store, string) {
	t.Helper()
	storeURL, _ := freshMySQLDatabase(t)
	s, err := sqlstore.Open(context.Background(), storeURL, backend.Options{Sealer: sealer})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s, storeURL
}

func TestMySQLConformance(t *testing.T) {
	testenv.MySQLURL(t)
	open := func(t *testing.T) backend.Backend { s, _ := openMySQL(t, testSealer(t)); return s }
	backendtest.Run(t, open)
	backendtest.RunIndex(t, open)
	backendtest.RunModifier(t, open)
	storetest.Run(t, open)
}
