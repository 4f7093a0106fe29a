package sqlstore_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/audit/audittest"
	"github.com/lockwell/lockwell/shared/backend"
	"github.com/lockwell/lockwell/shared/sqlstore"
)

// TestAuditKeyStorage runs the key-storage suite with two stores on one
// database, as two processes of a deployment open it.
func TestAuditKeyStorage(t *testing.T) {
	twice := func(t *testing.T, storeURL string) (audittest.KeyedStorage, audittest.KeyedStorage) {
		var out [2]*sqlstore.Store
		for i := range out {
			s, err := sqlstore.Open(context.Background(), storeURL, backend.Options{Sealer: testSealer(t)})
			require.NoError(t, err)
			t.Cleanup(func() { s.Close() })
			out[i] = s
		}
		return out[0], out[1]
	}
	t.Run("sqlite", func(t *testing.T) {
		audittest.RunKeyStorage(t, audittest.KeyHarness{Open: func(t *testing.T) (audittest.KeyedStorage, audittest.KeyedStorage) {
			first, path := openSQLite(t)
			return first, openSQLiteAt(t, path, testSealer(t))
		}})
	})
	t.Run("postgres", func(t *testing.T) {
		audittest.RunKeyStorage(t, audittest.KeyHarness{Open: func(t *testing.T) (audittest.KeyedStorage, audittest.KeyedStorage) {
			storeURL, _ := freshSchema(t)
			return twice(t, storeURL)
		}})
	})
	t.Run("mysql", func(t *testing.T) {
		audittest.RunKeyStorage(t, audittest.KeyHarness{Open: func(t *testing.T) (audittest.KeyedStorage, audittest.KeyedStorage) {
			storeURL, _ := freshMySQLDatabase(t)
			return twice(t, storeURL)
		}})
	})
}
