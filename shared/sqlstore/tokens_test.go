package sqlstore_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/sqlstore"
)

// eachDialect runs fn against a fresh SQLite store and a fresh PostgreSQL
// store (the latter skips, or fails in CI, without a server).
func eachDialect(t *testing.T, fn func(t *testing.T, s *sqlstore.Store)) {
	t.Run("sqlite", func(t *testing.T) { s, _ := openSQLite(t); fn(t, s) })
	t.Run("postgres", func(t *testing.T) { s, _ := openPostgres(t, testSealer(t)); fn(t, s) })
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
