package sqlstore_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/localdev/testenv"
	"github.com/lockwell/lockwell/shared/backend"
	"github.com/lockwell/lockwell/shared/backend/backendtest"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/sqlstore"
)

// TestDriverErrorsAreClassified provokes each class of driver failure for
// real and checks its code, and that no error text carries a value or SQL.
func TestDriverErrorsAreClassified(t *testing.T) {
	ctx := context.Background()
	const canary = "CANARY-ERROR-VALUE-1234"
	values := map[string]string{"password": canary}

	t.Run("sqlite locked by another process is unavailable", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "lockwell.db")
		s, err := sqlstore.Open(ctx, "sqlite://"+path+"?busy_timeout_ms=50", backend.Options{Sealer: testSealer(t)})
		require.NoError(t, err)
		defer s.Close()
		other, err := rawSQLite(t, path).Conn(ctx)
		require.NoError(t, err)
		defer other.Close()
		_, err = other.ExecContext(ctx, "BEGIN IMMEDIATE")
		require.NoError(t, err)
		err = s.Create(ctx, backendtest.New("blocked", "alice", false, values))
		assert.Equal(t, errcode.Unavailable, errcode.Of(err), "%v", err)
		assert.NotContains(t, err.Error(), canary)
		_, err = other.ExecContext(ctx, "ROLLBACK")
		require.NoError(t, err)
		require.NoError(t, s.Create(ctx, backendtest.New("unblocked", "alice", false, values)), "works once the lock is gone")
	})

	t.Run("a clash names the secret, never its values", func(t *testing.T) {
		s, _ := openSQLite(t)
		require.NoError(t, s.Create(ctx, backendtest.New("taken", "alice", false, values)))
		err := s.Create(ctx, backendtest.New("taken", "bob", false, values))
		assert.Equal(t, errcode.AlreadyExists, errcode.Of(err))
		assert.Equal(t, `a secret named "taken" already exists`, errcode.Message(err))
		assert.NotContains(t, err.Error(), canary)
	})

	t.Run("a cancelled context is unavailable", func(t *testing.T) {
		s, _ := openSQLite(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := s.Get(cctx, "0190c3a0-0000-7000-8000-000000000000")
		assert.Equal(t, errcode.Unavailable, errcode.Of(err), "%v", err)
	})

	t.Run("an unexpected failure is internal, without SQL", func(t *testing.T) {
		s, path := openSQLite(t)
		_, err := rawSQLite(t, path).Exec("DROP TABLE secrets")
		require.NoError(t, err)
		_, err = s.List(ctx, backend.Query{Viewer: "alice", Limit: 5})
		assert.Equal(t, errcode.Internal, errcode.Of(err), "%v", err)
		assert.NotContains(t, strings.ToUpper(errcode.Message(err)), "SELECT")
	})

	t.Run("postgres unreachable is unavailable", func(t *testing.T) {
		_, err := sqlstore.Open(ctx, "postgres://127.0.0.1:1/lockwell?sslmode=disable&connect_timeout=2", backend.Options{Sealer: testSealer(t)})
		assert.Equal(t, errcode.Unavailable, errcode.Of(err), "%v", err)
	})

	t.Run("postgres search_path must name a schema", func(t *testing.T) {
		u, sep := testenv.PostgresURL(t), "?"
		if strings.Contains(u, "?") {
			sep = "&"
		}
		_, err := sqlstore.Open(ctx, u+sep+"search_path=no_such_schema_here", backend.Options{Sealer: testSealer(t)})
		assert.Equal(t, errcode.InvalidArgument, errcode.Of(err), "%v", err)
	})

	t.Run("postgres URL parameters are checked", func(t *testing.T) {
		for _, u := range []string{
			"postgres://127.0.0.1:1/lockwell?sslmode=disable&password=x",
			"postgres://127.0.0.1:1/lockwell?max_conns=0",
			"postgres://127.0.0.1:1/",
			"postgres://me:pw@127.0.0.1:1/lockwell",
		} {
			_, err := sqlstore.Open(ctx, u, backend.Options{Sealer: testSealer(t)})
			assert.Equal(t, errcode.InvalidArgument, errcode.Of(err), "%s: %v", u, err)
			assert.NotContains(t, err.Error(), "pw")
		}
	})
}
