// Package identitytest is the conformance suite every identity.TokenStore
// runs, so that SQL, DynamoDB and in-memory token stores keep one contract.
package identitytest

import (
	"context"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/identity"
)

// TestTokenStore checks the listing and revocation contract of
// identity.TokenStore on a store that newStore returns (a fresh one per call
// is best; tokens other tests saved in it are ignored). It never prints a
// token or hash in a failure message.
func TestTokenStore(t *testing.T, newStore func(t *testing.T) identity.TokenStore) {
	ctx := context.Background()
	mint := func(t *testing.T, s identity.TokenStore, p identity.Principal) (token string, id string) {
		t.Helper()
		token, hash, err := identity.NewToken()
		require.NoError(t, err)
		require.NoError(t, s.SaveToken(ctx, hash, p))
		return token, identity.TokenID(hash)
	}
	listed := func(t *testing.T, s identity.TokenStore) map[string]identity.TokenInfo {
		t.Helper()
		infos, err := s.ListTokens(ctx)
		require.NoError(t, err)
		out := map[string]identity.TokenInfo{}
		for _, in := range infos {
			out[in.ID] = in
		}
		return out
	}
	alice := identity.Principal{Name: "alice@example.com", Role: identity.Admin}
	bob := identity.Principal{Name: "bob", Role: identity.Member}

	t.Run("list shows saved tokens without the token or hash", func(t *testing.T) {
		s := newStore(t)
		before := time.Now().Add(-time.Second)
		aliceToken, aliceID := mint(t, s, alice)
		bobToken, bobID := mint(t, s, bob)
		after := time.Now().Add(time.Second)
		got := listed(t, s)
		for _, c := range []struct {
			id, token string
			p         identity.Principal
		}{{aliceID, aliceToken, alice}, {bobID, bobToken, bob}} {
			in, ok := got[c.id]
			if !assert.True(t, ok, "token %s of %s is listed", c.id, c.p.Name) {
				continue
			}
			assert.Equal(t, c.p, in.Principal)
			assert.True(t, in.Created.After(before) && in.Created.Before(after), "created %v is about now", in.Created)
			assert.Equal(t, time.UTC, in.Created.Location())
			require.NoError(t, identity.ValidateTokenID(in.ID))
			full := hex.EncodeToString(identity.HashToken(c.token))
			assert.False(t, strings.Contains(in.ID, full) || strings.Contains(in.ID, strings.TrimPrefix(c.token, identity.TokenPrefix)),
				"the id carries neither the token nor its full hash")
		}
		infos, err := s.ListTokens(ctx)
		require.NoError(t, err)
		for i := 1; i < len(infos); i++ {
			a, b := infos[i-1], infos[i]
			assert.True(t, a.Created.Before(b.Created) || (a.Created.Equal(b.Created) && a.ID < b.ID), "oldest first, ties by id")
		}
	})

	t.Run("revoke by id, then by the token itself", func(t *testing.T) {
		s := newStore(t)
		aliceToken, aliceID := mint(t, s, alice)
		bobToken, _ := mint(t, s, bob)

		require.NoError(t, s.RevokeToken(ctx, aliceID))
		_, err := s.TokenPrincipal(ctx, identity.HashToken(aliceToken))
		assert.Equal(t, errcode.Unauthenticated, errcode.Of(err), "a revoked token no longer authenticates")
		assert.NotContains(t, listed(t, s), aliceID, "a revoked token is not listed")
		err = s.RevokeToken(ctx, aliceID)
		assert.Equal(t, errcode.NotFound, errcode.Of(err), "revoking twice: %v", err)

		got, err := s.TokenPrincipal(ctx, identity.HashToken(bobToken))
		require.NoError(t, err)
		assert.Equal(t, bob, got, "revoking one token leaves the others")
		require.NoError(t, s.RevokeToken(ctx, identity.TokenIDOf(bobToken)), "a caller revokes the token it holds")
		_, err = s.TokenPrincipal(ctx, identity.HashToken(bobToken))
		assert.Equal(t, errcode.Unauthenticated, errcode.Of(err))
	})

	t.Run("revoke refuses bad and unknown ids", func(t *testing.T) {
		s := newStore(t)
		_, known := mint(t, s, alice)
		cases := []struct {
			id   string
			want errcode.Code
		}{
			{"", errcode.InvalidArgument},
			{"tok_", errcode.InvalidArgument},
			{"tok_0123456789abcdeg", errcode.InvalidArgument},
			{"tok_0123456789ABCDEF", errcode.InvalidArgument},
			{strings.TrimPrefix(known, identity.TokenIDPrefix), errcode.InvalidArgument},
			{known + "00", errcode.InvalidArgument},
			{"tok_0000000000000000", errcode.NotFound},
		}
		for _, c := range cases {
			assert.Equal(t, c.want, errcode.Of(s.RevokeToken(ctx, c.id)), "id %q", c.id)
		}
		assert.Contains(t, listed(t, s), known, "a refused revocation changes nothing")
	})
}
