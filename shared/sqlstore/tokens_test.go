package sqlstore_test

import (
	"context"
	"database/sql"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/localdev/testenv"
	"github.com/lockwell/lockwell/shared/backend"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/identity/identitytest"
	"github.com/lockwell/lockwell/shared/sqlstore"
)

// eachDialect runs fn against a fresh SQLite, PostgreSQL and MySQL store
// (the latter two skip, or fail in CI, without a server).
func eachDialect(t *testing.T, fn func(t *testing.T, s *sqlstore.Store)) {
	t.Run("sqlite", func(t *testing.T) { s, _ := openSQLite(t); fn(t, s) })
	t.Run("postgres", func(t *testing.T) { s, _ := openPostgres(t, testSealer(t)); fn(t, s) })
	t.Run("mysql", func(t *testing.T) { s, _ := openMySQL(t, testSealer(t)); fn(t, s) })
}

func TestTokenStore(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		token, hash, err := identity.NewToken()
		require.NoError(t, err)
		alice := identity.Principal{Name: "alice@example.com", Role: identity.Admin}
		require.NoError(t, s.SaveToken(ctx, hash, alice))

		got, err := s.TokenPrincipal(ctx, identity.HashToken(token))
		require.NoError(t, err)
		assert.Equal(t, alice, got)

		_, other, err := identity.NewToken()
		require.NoError(t, err)
		_, err = s.TokenPrincipal(ctx, other)
		assert.Equal(t, errcode.Unauthenticated, errcode.Of(err), "unknown token")
		_, err = s.TokenPrincipal(ctx, nil)
		assert.Equal(t, errcode.Unauthenticated, errcode.Of(err), "empty hash")

		cases := []struct {
			name string
			hash []byte
			p    identity.Principal
			want errcode.Code
		}{
			{"same hash twice", hash, identity.Principal{Name: "bob", Role: identity.Member}, errcode.AlreadyExists},
			{"short hash", hash[:16], identity.Principal{Name: "bob", Role: identity.Member}, errcode.InvalidArgument},
			{"bad role", other, identity.Principal{Name: "bob", Role: "root"}, errcode.InvalidArgument},
			{"bad user", other, identity.Principal{Name: "bob smith", Role: identity.Member}, errcode.InvalidArgument},
		}
		for _, tc := range cases {
			err := s.SaveToken(ctx, tc.hash, tc.p)
			assert.Equal(t, tc.want, errcode.Of(err), "%s: %v", tc.name, err)
		}
		got, err = s.TokenPrincipal(ctx, hash)
		require.NoError(t, err)
		assert.Equal(t, alice, got, "a refused save changes nothing")
	})
}

func TestTokenStoreConformance(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		identitytest.TestTokenStore(t, func(t *testing.T) identity.TokenStore { s, _ := openSQLite(t); return s })
	})
	t.Run("postgres", func(t *testing.T) {
		identitytest.TestTokenStore(t, func(t *testing.T) identity.TokenStore { s, _ := openPostgres(t, testSealer(t)); return s })
	})
	t.Run("mysql", func(t *testing.T) {
		identitytest.TestTokenStore(t, func(t *testing.T) identity.TokenStore { s, _ := openMySQL(t, testSealer(t)); return s })
	})
}

// TestTokenIDMigrationBackfills opens a database whose tokens were saved
// before token ids existed (schema version 1): they get their ids, are
// listed, still authenticate, and can be revoked.
func TestTokenIDMigrationBackfills(t *testing.T) {
	ctx := context.Background()
	targets := map[string]func(t *testing.T) (raw *sql.DB, storeURL string, created any){
		"sqlite": func(t *testing.T) (*sql.DB, string, any) {
			path := filepath.Join(t.TempDir(), "lockwell.db")
			return rawSQLite(t, path), "sqlite://" + path, time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC).UnixMicro()
		},
		"postgres": func(t *testing.T) (*sql.DB, string, any) {
			storeURL, schema := freshSchema(t)
			u, err := url.Parse(testenv.PostgresURL(t))
			require.NoError(t, err)
			q := u.Query()
			q.Set("search_path", schema)
			u.RawQuery = q.Encode()
			raw, err := sql.Open("pgx", u.String())
			require.NoError(t, err)
			t.Cleanup(func() { raw.Close() })
			return raw, storeURL, time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
		},
		"mysql": func(t *testing.T) (*sql.DB, string, any) {
			storeURL, _ := freshMySQLDatabase(t)
			return mysqlDB(t, storeURL), storeURL, time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
		},
	}
	for name, target := range targets {
		t.Run(name, func(t *testing.T) {
			raw, storeURL, created := target(t)
			require.NoError(t, sqlstore.ApplyMigrationsThrough(ctx, raw, name, 1))
			token, hash, err := identity.NewToken()
			require.NoError(t, err)
			insert := "INSERT INTO tokens (hash, principal, role, created) VALUES (?, ?, ?, ?)"
			if name == "postgres" {
				insert = "INSERT INTO tokens (hash, principal, role, created) VALUES ($1, $2, $3, $4)"
			}
			_, err = raw.Exec(insert, hash, "carol", "member", created)
			require.NoError(t, err)

			s, err := sqlstore.Open(ctx, storeURL, backend.Options{Sealer: testSealer(t)})
			require.NoError(t, err)
			defer s.Close()
			infos, err := s.ListTokens(ctx)
			require.NoError(t, err)
			require.Len(t, infos, 1)
			carol := identity.Principal{Name: "carol", Role: identity.Member}
			assert.Equal(t, identity.TokenInfo{ID: identity.TokenID(hash), Principal: carol,
				Created: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}, infos[0])
			got, err := s.TokenPrincipal(ctx, identity.HashToken(token))
			require.NoError(t, err)
			assert.Equal(t, carol, got)
			require.NoError(t, s.RevokeToken(ctx, identity.TokenIDOf(token)))
			_, err = s.TokenPrincipal(ctx, hash)
			assert.Equal(t, errcode.Unauthenticated, errcode.Of(err))
		})
	}
}
