package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/localdev/testenv"
	"github.com/lockwell/lockwell/shared/backend"
	"github.com/lockwell/lockwell/shared/backend/backendtest"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/secret"
	"github.com/lockwell/lockwell/shared/sqlstore"
)

// oldDatabase is an empty database for a store, with a raw connection to
// it outside the store, and the time representation its columns take.
type oldDatabase struct {
	raw      *sql.DB
	storeURL string
	timeArg  func(time.Time) any
}

func oldDatabases() map[string]func(t *testing.T) oldDatabase {
	return map[string]func(t *testing.T) oldDatabase{
		"sqlite": func(t *testing.T) oldDatabase {
			path := filepath.Join(t.TempDir(), "lockwell.db")
			return oldDatabase{rawSQLite(t, path), "sqlite://" + path, func(t time.Time) any { return t.UnixMicro() }}
		},
		"postgres": func(t *testing.T) oldDatabase {
			storeURL, schema := freshSchema(t)
			u, err := url.Parse(testenv.PostgresURL(t))
			require.NoError(t, err)
			q := u.Query()
			q.Set("search_path", schema)
			u.RawQuery = q.Encode()
			raw, err := sql.Open("pgx", u.String())
			require.NoError(t, err)
			t.Cleanup(func() { raw.Close() })
			return oldDatabase{raw, storeURL, func(t time.Time) any { return t }}
		},
		"mysql": func(t *testing.T) oldDatabase {
			storeURL, _ := freshMySQLDatabase(t)
			return oldDatabase{mysqlDB(t, storeURL), storeURL, func(t time.Time) any { return t }}
		},
	}
}

// TestHistoryMigrationKeepsRows upgrades a database that an older binary
// left at schema version 3, with secrets in it, to version 4: the secrets
// read as before (live, with an empty change and their values), keep their
// names, and take part in history from their next update on.
func TestHistoryMigrationKeepsRows(t *testing.T) {
	ctx := context.Background()
	for name, target := range oldDatabases() {
		t.Run(name, func(t *testing.T) {
			db := target(t)
			require.NoError(t, sqlstore.ApplyMigrationsThrough(ctx, db.raw, name, 3))
			sealer := testSealer(t)
			created := time.Date(2025, 1, 2, 3, 4, 5, 6000, time.UTC)
			old := []*secret.Secret{
				{ID: secret.NewID(), Name: "db", Owner: "alice", Version: 3, Keys: []string{"password"},
					Values: map[string]string{"password": "pw3"}, Created: created, Updated: created.Add(time.Hour)},
				{ID: secret.NewID(), Name: "db", Owner: "bob", Private: true, Version: 1, Keys: []string{"token"},
					Values: map[string]string{"token": "t1"}, Created: created, Updated: created},
			}
			insert := `INSERT INTO secrets (id, name, private, owner, "keys", sealed, version, created, updated)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
			if name == "postgres" {
				insert = `INSERT INTO secrets (id, name, private, owner, "keys", sealed, version, created, updated)
					VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`
			}
			for _, o := range old {
				blob, err := sealer.Seal(ctx, o.Values, o.ID, o.Version)
				require.NoError(t, err)
				_, err = db.raw.Exec(insert, o.ID, o.Name, o.Private, o.Owner, `["`+o.Keys[0]+`"]`, blob, o.Version,
					db.timeArg(o.Created), db.timeArg(o.Updated))
				require.NoError(t, err)
			}

			s, err := sqlstore.Open(ctx, db.storeURL, backend.Options{Sealer: sealer})
			require.NoError(t, err)
			defer s.Close()
			for _, o := range old {
				got, err := s.Get(ctx, o.ID)
				require.NoError(t, err)
				assert.Equal(t, o.Name, got.Name)
				assert.Equal(t, o.Version, got.Version)
				assert.True(t, o.Updated.Equal(got.Updated), "updated: want %v, got %v", o.Updated, got.Updated)
				assert.False(t, got.IsDeleted(), "an old secret is live")
				assert.True(t, got.PurgeAfter.IsZero())
				assert.Equal(t, secret.Change{}, got.Change, "an old secret has an empty change")
				backendtest.SameValues(t, o.Values, got.Values)
				vs, err := s.Versions(ctx, o.ID)
				require.NoError(t, err)
				require.Len(t, vs, 1, "an old secret has no past versions")
			}
			listed, err := s.List(ctx, backend.Query{Viewer: "bob", Sort: backend.Sort{Field: backend.ByName}, Limit: 10})
			require.NoError(t, err)
			assert.Len(t, listed, 2, "old secrets are listed as live")
			err = s.Create(ctx, backendtest.New("db", "carol", false, nil))
			assert.Equal(t, errcode.AlreadyExists, errcode.Of(err), "an old secret holds its name: %v", err)

			// The first kept update keeps the old row, whose seal opens as
			// the version it was made for.
			pub := old[0]
			next := backendtest.WithHistory(pub, &secret.Retention{Versions: 5}, secret.OpUpdate,
				func(x *secret.Secret) { x.Values["password"] = "pw4" })
			require.NoError(t, s.Update(ctx, next, 3))
			past, err := s.GetVersion(ctx, pub.ID, 3)
			require.NoError(t, err)
			backendtest.SameValues(t, map[string]string{"password": "pw3"}, past.Values, "the pre-migration version keeps its values")
			assert.Equal(t, secret.Change{}, past.Change)
			cur, err := s.Get(ctx, pub.ID)
			require.NoError(t, err)
			assert.Equal(t, next.Change, cur.Change)

			// Deleting it frees the name the migration rebuilt the index for.
			require.NoError(t, s.Update(ctx, backendtest.WithHistory(next, &secret.Retention{Versions: 5}, secret.OpDelete,
				func(x *secret.Secret) { x.Deleted, x.PurgeAfter = x.Updated, x.Updated.Add(time.Hour) }), 4))
			require.NoError(t, s.Create(ctx, backendtest.New("db", "carol", false, nil)), "a deleted secret holds no name")
		})
	}
}

// TestGroupCommitKeepsHistoryPerWrite sends concurrent kept updates through
// SQLite's group commit, half of them failing (a rename onto a taken name):
// each failing write's savepoint takes its copy of the replaced version
// with it, and each succeeding write keeps exactly its own.
func TestGroupCommitKeepsHistoryPerWrite(t *testing.T) {
	s, _ := openSQLite(t)
	ctx := context.Background()
	require.NoError(t, s.Create(ctx, backendtest.New("taken", "alice", false, nil)))
	const writers = 16
	own := make([]*secret.Secret, writers)
	for i := range own {
		own[i] = backendtest.New(fmt.Sprintf("own-%02d", i), "alice", false, map[string]string{"v": "1"})
		require.NoError(t, s.Create(ctx, own[i]))
	}
	const rounds = 5
	var wg sync.WaitGroup
	errs := make([][]error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cur := own[i]
			for r := range rounds {
				next := backendtest.WithHistory(cur, &secret.Retention{Versions: 3}, secret.OpUpdate,
					func(x *secret.Secret) { x.Values["v"] = fmt.Sprint(r + 2) })
				if i%2 == 1 && r == rounds-1 {
					next.Name = "taken" // the last round of odd writers fails
				}
				err := s.Update(ctx, next, cur.Version)
				errs[i] = append(errs[i], err)
				if err == nil {
					cur = next
				}
			}
		}()
	}
	wg.Wait()
	for i := range writers {
		for r, err := range errs[i] {
			if i%2 == 1 && r == rounds-1 {
				assert.Equal(t, errcode.AlreadyExists, errcode.Of(err), "writer %d round %d: %v", i, r, err)
			} else {
				assert.NoError(t, err, "writer %d round %d", i, r)
			}
		}
		last := int64(rounds + 1)
		if i%2 == 1 {
			last = rounds
		}
		vs, err := s.Versions(ctx, own[i].ID)
		require.NoError(t, err)
		var got []int64
		for _, v := range vs {
			got = append(got, v.Version)
		}
		assert.Equal(t, []int64{last, last - 1, last - 2}, got, "writer %d: the current version and the two kept", i)
		past, err := s.GetVersion(ctx, own[i].ID, last-1)
		require.NoError(t, err)
		assert.Equal(t, fmt.Sprint(last-1), past.Values["v"], "writer %d: the kept version holds its own values", i)
	}
}
