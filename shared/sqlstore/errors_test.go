package sqlstore_test

import (
	"context"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/localdev/testenv"
	"github.com/lockwell/lockwell/shared/backend"
	"github.com/lockwell/lockwell/shared/backend/backendtest"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/mysqlconn"
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

// TestMySQLErrorsAreClassified provokes MySQL failures for real and checks
// their codes, and that no error text carries a value, a hash or a password.
func TestMySQLErrorsAreClassified(t *testing.T) {
	ctx := context.Background()
	const canary = "CANARY-ERROR-VALUE-1234"
	values := map[string]string{"password": canary}

	t.Run("a clash names the secret; the cause quotes no row", func(t *testing.T) {
		s, _ := openMySQL(t, testSealer(t))
		require.NoError(t, s.Create(ctx, backendtest.New("taken", "alice", false, values)))
		err := s.Create(ctx, backendtest.New("taken", "bob", false, values))
		assert.Equal(t, errcode.AlreadyExists, errcode.Of(err))
		assert.Equal(t, `a secret named "taken" already exists`, errcode.Message(err))
		assert.NotContains(t, err.Error(), canary)
		assert.NotContains(t, err.Error(), "Duplicate entry", "MySQL's duplicate message quotes the key")

		_, hash, err := identity.NewToken()
		require.NoError(t, err)
		p := identity.Principal{Name: "carol", Role: identity.Member}
		require.NoError(t, s.SaveToken(ctx, hash, p))
		err = s.SaveToken(ctx, hash, p)
		assert.Equal(t, errcode.AlreadyExists, errcode.Of(err), "%v", err)
		assert.NotContains(t, err.Error(), "Duplicate entry")
		assert.NotContains(t, strings.ToLower(err.Error()), hex.EncodeToString(hash)[:12])
	})

	t.Run("a row locked past the deadline is unavailable", func(t *testing.T) {
		s, storeURL := openMySQL(t, testSealer(t))
		sec := backendtest.New("locked", "alice", false, values)
		require.NoError(t, s.Create(ctx, sec))
		tx, err := mysqlDB(t, storeURL).BeginTx(ctx, nil)
		require.NoError(t, err)
		defer tx.Rollback()
		_, err = tx.Exec("SELECT id FROM secrets WHERE id = ? FOR UPDATE", sec.ID)
		require.NoError(t, err)
		short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		err = s.Update(short, backendtest.Next(sec, nil), 1)
		assert.Equal(t, errcode.Unavailable, errcode.Of(err), "%v", err)
		assert.NotContains(t, err.Error(), canary)
		require.NoError(t, tx.Rollback())
		// The outcome of the timed-out update is unknown to the caller (the
		// server may still apply it once the lock is gone, as with any
		// lost response); the store keeps working either way.
		_, err = s.Get(ctx, sec.ID)
		require.NoError(t, err, "works once the lock is gone")
	})

	t.Run("an unexpected failure is internal, without SQL", func(t *testing.T) {
		s, storeURL := openMySQL(t, testSealer(t))
		_, err := mysqlDB(t, storeURL).Exec("DROP TABLE secrets")
		require.NoError(t, err)
		_, err = s.List(ctx, backend.Query{Viewer: "alice", Limit: 5})
		assert.Equal(t, errcode.Internal, errcode.Of(err), "%v", err)
		assert.NotContains(t, strings.ToUpper(errcode.Message(err)), "SELECT")
	})

	t.Run("unreachable is unavailable", func(t *testing.T) {
		t.Setenv(mysqlconn.UserVar, "lockwell")
		_, err := sqlstore.Open(ctx, "mysql://127.0.0.1:1/lockwell?tls=false&connect_timeout=2", backend.Options{Sealer: testSealer(t)})
		assert.Equal(t, errcode.Unavailable, errcode.Of(err), "%v", err)
	})

	t.Run("a wrong password is refused without saying it", func(t *testing.T) {
		base := testenv.MySQLURL(t)
		t.Setenv(mysqlconn.PasswordFileVar, "")
		t.Setenv(mysqlconn.PasswordVar, "CANARY-WRONG-PASSWORD")
		_, err := sqlstore.Open(ctx, base, backend.Options{Sealer: testSealer(t)})
		require.Error(t, err)
		assert.NotContains(t, err.Error(), "CANARY-WRONG-PASSWORD")
	})

	t.Run("the database must exist", func(t *testing.T) {
		u, err := url.Parse(testenv.MySQLURL(t))
		require.NoError(t, err)
		u.Path = "/lockwell_no_such_database"
		_, err = sqlstore.Open(ctx, u.String(), backend.Options{Sealer: testSealer(t)})
		assert.Equal(t, errcode.InvalidArgument, errcode.Of(err), "%v", err)
	})

	t.Run("URLs and credentials are checked", func(t *testing.T) {
		t.Setenv(mysqlconn.UserVar, "lockwell")
		t.Setenv(mysqlconn.PasswordVar, "")
		for _, u := range []string{
			"mysql://127.0.0.1:1/lockwell?tls=false&password=x",
			"mysql://127.0.0.1:1/lockwell?tls=maybe",
			"mysql://127.0.0.1:1/lockwell?max_conns=0",
			"mysql://127.0.0.1:1/lockwell?connect_timeout=soon",
			"mysql://127.0.0.1:1/",
			"mysql://127.0.0.1:1/a/b",
			"mysql://127.0.0.1:1/lock-well",
			"mysql:///lockwell",
			"mysql://me:pw@127.0.0.1:1/lockwell",
		} {
			_, err := sqlstore.Open(ctx, u, backend.Options{Sealer: testSealer(t)})
			assert.Equal(t, errcode.InvalidArgument, errcode.Of(err), "%s: %v", u, err)
			assert.NotContains(t, err.Error(), "pw")
		}
		t.Setenv(mysqlconn.PasswordFileVar, filepath.Join(t.TempDir(), "password"))
		_, err := sqlstore.Open(ctx, "mysql://127.0.0.1:1/lockwell?tls=false", backend.Options{Sealer: testSealer(t)})
		assert.Equal(t, errcode.InvalidArgument, errcode.Of(err), "MYSQL_PWD and MYSQL_PWD_FILE both set: %v", err)
		t.Setenv(mysqlconn.PasswordVar, "")
		os.Unsetenv(mysqlconn.PasswordVar)
		_, err = sqlstore.Open(ctx, "mysql://127.0.0.1:1/lockwell?tls=false", backend.Options{Sealer: testSealer(t)})
		assert.Equal(t, errcode.InvalidArgument, errcode.Of(err), "an unreadable password file: %v", err)
		t.Setenv(mysqlconn.PasswordFileVar, "")
		t.Setenv(mysqlconn.UserVar, "")
		_, err = sqlstore.Open(ctx, "mysql://127.0.0.1:1/lockwell?tls=false", backend.Options{Sealer: testSealer(t)})
		assert.Equal(t, errcode.InvalidArgument, errcode.Of(err), "no MYSQL_USER: %v", err)
	})
}
