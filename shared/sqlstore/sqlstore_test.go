package sqlstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/backend"
	"github.com/lockwell/lockwell/shared/backend/backendtest"
	"github.com/lockwell/lockwell/shared/envelope"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/sqlstore"
	"github.com/lockwell/lockwell/shared/store/storetest"
)

// testSealer returns a Sealer under a fresh random store key.
func testSealer(t testing.TB) *envelope.Sealer {
	t.Helper()
	key := make([]byte, envelope.KeySize)
	_, err := rand.Read(key)
	require.NoError(t, err)
	w, err := envelope.NewLocalKey(key)
	require.NoError(t, err)
	return envelope.NewSealer(w)
}

// openSQLite opens a store in a new file under t.TempDir().
func openSQLite(t testing.TB) (*sqlstore.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "lockwell.db")
	return openSQLiteAt(t, path, testSealer(t)), path
}

// openSQLiteAt opens the store in the file at path; t closes it.
func openSQLiteAt(t testing.TB, path string, sealer *envelope.Sealer) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), "sqlite://"+path, backend.Options{Sealer: sealer})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// rawSQLite opens the database file directly, bypassing the store.
func rawSQLite(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

func TestSQLiteConformance(t *testing.T) {
	open := func(t *testing.T) backend.Backend { s, _ := openSQLite(t); return s }
	backendtest.Run(t, open)
	backendtest.RunIndex(t, open)
	backendtest.RunModifier(t, open)
	storetest.Run(t, open)
}

func TestSQLiteURLs(t *testing.T) {
	dir := t.TempDir()
	sealer := testSealer(t)
	cases := []struct {
		name string
		url  string
		want errcode.Code // "" opens
	}{
		{"absolute path", "sqlite://" + filepath.Join(dir, "a.db"), ""},
		{"absolute path with parameters", "sqlite://" + filepath.Join(dir, "b.db") + "?busy_timeout_ms=100&synchronous=normal", ""},
		{"relative path", "sqlite:" + relTo(t, filepath.Join(dir, "c.db")), ""},
		{"unknown parameter", "sqlite://" + filepath.Join(dir, "d.db") + "?journal_mode=delete", errcode.InvalidArgument},
		{"bad busy timeout", "sqlite://" + filepath.Join(dir, "e.db") + "?busy_timeout_ms=soon", errcode.InvalidArgument},
		{"bad synchronous", "sqlite://" + filepath.Join(dir, "f.db") + "?synchronous=off", errcode.InvalidArgument},
		{"a host instead of a path", "sqlite://relative/g.db", errcode.InvalidArgument},
		{"no path", "sqlite://", errcode.InvalidArgument},
		{"credentials", "sqlite://me:pw@/" + filepath.Join(dir, "h.db"), errcode.InvalidArgument},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := backend.Open(context.Background(), tc.url, backend.Options{Sealer: sealer})
			if tc.want == "" {
				require.NoError(t, err)
				require.NoError(t, b.Close())
				return
			}
			require.Error(t, err)
			require.Equal(t, tc.want, errcode.Of(err), "%v", err)
		})
	}
	t.Run("no sealer", func(t *testing.T) {
		_, err := backend.Open(context.Background(), "sqlite://"+filepath.Join(dir, "i.db"), backend.Options{})
		require.Equal(t, errcode.InvalidArgument, errcode.Of(err), "%v", err)
	})
}

func relTo(t *testing.T, path string) string {
	t.Helper()
	wd, err := filepath.Abs(".")
	require.NoError(t, err)
	rel, err := filepath.Rel(wd, path)
	require.NoError(t, err)
	return rel
}
