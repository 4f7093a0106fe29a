package sqlstore_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/localdev/testenv"
	"github.com/lockwell/lockwell/shared/backend"
	"github.com/lockwell/lockwell/shared/backend/backendtest"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/sqlstore"
)

// migrationTarget is one database the migration tests open repeatedly.
type migrationTarget struct {
	url   string
	raw   *sql.DB // a connection outside the store
	table string  // schema_migrations, qualified as needed
}

func migrationTargets(t *testing.T) map[string]func(t *testing.T) migrationTarget {
	return map[string]func(t *testing.T) migrationTarget{
		"sqlite": func(t *testing.T) migrationTarget {
			path := filepath.Join(t.TempDir(), "lockwell.db")
			return migrationTarget{url: "sqlite://" + path, raw: rawSQLite(t, path), table: "schema_migrations"}
		},
		"postgres": func(t *testing.T) migrationTarget {
			u, schema := freshSchema(t)
			return migrationTarget{url: u, raw: adminDB(t), table: schema + ".schema_migrations"}
		},
		"mysql": func(t *testing.T) migrationTarget {
			u, db := freshMySQLDatabase(t)
			return migrationTarget{url: u, raw: mysqlDB(t, testenv.MySQLURL(t)), table: db + ".schema_migrations"}
		},
	}
}

// latestMigrations are the versions a fresh database ends up with.
var latestMigrations = []int{1, 2, 3, 4, 5, 6}

func TestMigrations(t *testing.T) {
	ctx := context.Background()
	for name, target := range migrationTargets(t) {
		t.Run(name, func(t *testing.T) {
			sealer := testSealer(t)
			applied := func(tg migrationTarget) []int {
				rows, err := tg.raw.Query("SELECT version FROM " + tg.table + " ORDER BY version")
				require.NoError(t, err)
				defer rows.Close()
				var vs []int
				for rows.Next() {
					var v int
					require.NoError(t, rows.Scan(&v))
					vs = append(vs, v)
				}
				return vs
			}

			t.Run("fresh database, then reopen is a no-op", func(t *testing.T) {
				tg := target(t)
				s, err := sqlstore.Open(ctx, tg.url, backend.Options{Sealer: sealer})
				require.NoError(t, err)
				sec := backendtest.New("survives-reopen", "alice", false, map[string]string{"k": "v"})
				require.NoError(t, s.Create(ctx, sec))
				require.NoError(t, s.Close())
				assert.Equal(t, latestMigrations, applied(tg))

				s, err = sqlstore.Open(ctx, tg.url, backend.Options{Sealer: sealer})
				require.NoError(t, err)
				defer s.Close()
				assert.Equal(t, latestMigrations, applied(tg), "reopening applies nothing")
				got, err := s.Get(ctx, sec.ID)
				require.NoError(t, err)
				backendtest.SameValues(t, sec.Values, got.Values)
			})

			t.Run("concurrent openers migrate once", func(t *testing.T) {
				tg := target(t)
				const n = 6
				errs := make([]error, n)
				var wg sync.WaitGroup
				for i := range n {
					wg.Add(1)
					go func() {
						defer wg.Done()
						s, err := sqlstore.Open(ctx, tg.url, backend.Options{Sealer: sealer})
						if err == nil {
							s.Close()
						}
						errs[i] = err
					}()
				}
				wg.Wait()
				for i, err := range errs {
					assert.NoError(t, err, "opener %d", i)
				}
				assert.Equal(t, latestMigrations, applied(tg))
			})

			t.Run("a database newer than the binary is refused", func(t *testing.T) {
				tg := target(t)
				s, err := sqlstore.Open(ctx, tg.url, backend.Options{Sealer: sealer})
				require.NoError(t, err)
				require.NoError(t, s.Close())
				_, err = tg.raw.Exec("INSERT INTO " + tg.table + " (version, name, applied) VALUES (9999, '9999_future.sql', 'later')")
				require.NoError(t, err)
				_, err = sqlstore.Open(ctx, tg.url, backend.Options{Sealer: sealer})
				require.Error(t, err)
				assert.Equal(t, errcode.FailedPrecondition, errcode.Of(err), "%v", err)
			})
		})
	}
}
