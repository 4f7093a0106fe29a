package sqlstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver for the admin connection
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/localdev/testenv"
	"github.com/lockwell/lockwell/shared/backend"
	"github.com/lockwell/lockwell/shared/backend/backendtest"
	"github.com/lockwell/lockwell/shared/envelope"
	"github.com/lockwell/lockwell/shared/sqlstore"
	"github.com/lockwell/lockwell/shared/store/storetest"
)

// adminDB connects to the test server outside the store, to create and
// drop schemas and to read raw rows.
func adminDB(t testing.TB) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", testenv.PostgresURL(t))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

// freshSchema creates an empty schema for one test and drops it afterwards,
// and returns the store URL whose search_path selects it.
func freshSchema(t testing.TB) (storeURL, schema string) {
	t.Helper()
	db := adminDB(t)
	b := make([]byte, 6)
	_, err := rand.Read(b)
	require.NoError(t, err)
	schema = "lockwell_test_" + hex.EncodeToString(b)
	_, err = db.Exec("CREATE SCHEMA " + schema)
	require.NoError(t, err)
	t.Cleanup(func() { db.Exec("DROP SCHEMA " + schema + " CASCADE") })
	u, err := url.Parse(testenv.PostgresURL(t))
	require.NoError(t, err)
	q := u.Query()
	q.Set("search_path", schema)
	q.Set("max_conns", "8")
	u.RawQuery = q.Encode()
	return u.String(), schema
}

func openPostgres(t testing.TB, sealer *envelope.Sealer) (*sqlstore.Store, string) {
	t.Helper()
	storeURL, schema := freshSchema(t)
	s, err := sqlstore.Open(context.Background(), storeURL, backend.Options{Sealer: sealer})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s, schema
}

func TestPostgresConformance(t *testing.T) {
	testenv.PostgresURL(t)
	open := func(t *testing.T) backend.Backend { s, _ := openPostgres(t, testSealer(t)); return s }
	backendtest.Run(t, open)
	backendtest.RunIndex(t, open)
	backendtest.RunModifier(t, open)
	storetest.Run(t, open)
}
