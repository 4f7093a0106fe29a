package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/client"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/retry"
	"github.com/lockwell/lockwell/shared/secret/secrettest"
)

// The Go client against the real local server: the promises its package
// comment makes about retries, versions and pages.

// lossyProxy forwards every request to the server but, for the first
// request of each method in lose, throws the server's answer away and
// answers 503, as a gateway that timed out would: the change happened, the
// client does not know.
func lossyProxy(t *testing.T, target string, lose ...string) (string, *atomic.Int32) {
	u, err := url.Parse(target)
	require.NoError(t, err)
	rp := httputil.NewSingleHostReverseProxy(u)
	lost := map[string]*atomic.Bool{}
	for _, m := range lose {
		lost[m] = &atomic.Bool{}
	}
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if flag, ok := lost[r.Method]; ok && flag.CompareAndSwap(false, true) {
			rec := httptest.NewRecorder()
			rp.ServeHTTP(rec, r)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"error":{"code":"unavailable","message":"gateway timeout"}}`))
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &requests
}

func TestClientRetriesAreAppliedOnce(t *testing.T) {
	srv := startServer(t)
	proxyURL, requests := lossyProxy(t, srv.url, http.MethodPost, http.MethodPatch, http.MethodDelete)
	c, err := client.New(proxyURL, client.BearerToken(srv.adminToken), client.WithRetryPolicy(retry.Policy{Attempts: 3, Base: time.Millisecond}))
	require.NoError(t, err)
	ctx := context.Background()

	// create: the first answer is lost; the retry gets the first result, not a 409
	s, err := c.CreateSecret(ctx, client.NewSecret{Name: "once", Values: map[string]string{"k": "v"}})
	require.NoError(t, err)
	assert.EqualValues(t, 1, s.Version)
	assert.EqualValues(t, 2, requests.Load())

	// update: applied once (version 2, not 3)
	u, err := c.UpdateSecret(ctx, s.ID, client.Update{Values: map[string]*string{"k2": client.Set("v2")}})
	require.NoError(t, err)
	assert.EqualValues(t, 2, u.Version)
	got, err := c.GetSecret(ctx, s.ID)
	require.NoError(t, err)
	assert.EqualValues(t, 2, got.Version)
	assert.Equal(t, []string{"k", "k2"}, got.Keys)

	// delete: the retry finds it gone and counts that as done
	require.NoError(t, c.DeleteSecret(ctx, s.ID))
	_, err = c.GetSecret(ctx, s.ID)
	assert.Equal(t, errcode.NotFound, errcode.Of(err))
}

func TestClientVersionsAndPages(t *testing.T) {
	srv := startServer(t)
	c, err := client.New(srv.url, client.BearerToken(srv.adminToken))
	require.NoError(t, err)
	ctx := context.Background()

	s, err := c.CreateSecret(ctx, client.NewSecret{Name: "v", Values: map[string]string{"a": "1", "b": "2"}})
	require.NoError(t, err)
	got, err := c.GetSecret(ctx, s.ID)
	require.NoError(t, err)
	assert.EqualValues(t, 1, got.Version, "from the ETag")

	_, err = c.UpdateSecret(ctx, s.ID, client.Update{Values: map[string]*string{"a": nil}, IfMatch: 1})
	require.NoError(t, err)
	_, err = c.UpdateSecret(ctx, s.ID, client.Update{Values: map[string]*string{"b": nil}, IfMatch: 1})
	assert.Equal(t, errcode.FailedPrecondition, errcode.Of(err), "a stale If-Match is refused")
	got, err = c.GetSecret(ctx, s.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{"b"}, got.Keys, "null removed a; the stale update changed nothing")

	_, err = c.CreateSecret(ctx, client.NewSecret{Name: "v", Values: map[string]string{}})
	assert.Equal(t, errcode.AlreadyExists, errcode.Of(err))

	const n = 120
	for i := 0; i < n; i++ {
		_, err := c.CreateSecret(ctx, client.NewSecret{Name: fmt.Sprintf("page-%03d", i), Values: map[string]string{"k": "v"}})
		require.NoError(t, err)
	}
	var names []string
	for s, err := range c.AllSecrets(ctx, client.ListOptions{NamePrefix: "page-", PageSize: 50, Sort: "-name"}) {
		require.NoError(t, err)
		assert.Nil(t, s.Values, "lists never carry values")
		names = append(names, s.Name)
	}
	require.Len(t, names, n)
	assert.Equal(t, "page-119", names[0])
	assert.Equal(t, "page-000", names[n-1])

	bad, err := client.New(srv.url, client.BearerToken("lw_not-a-token"))
	require.NoError(t, err)
	_, err = bad.ListSecrets(ctx, client.ListOptions{}, "")
	assert.Equal(t, errcode.Unauthenticated, errcode.Of(err))
}

// TestClientOriginReplaceAndWhoAmI: the migrator's calls through the real
// server: origin on create and update, replace_values, and whoami.
func TestClientOriginReplaceAndWhoAmI(t *testing.T) {
	srv := startServer(t)
	ctx := context.Background()
	admin, err := client.New(srv.url, client.BearerToken(srv.adminToken))
	require.NoError(t, err)
	me, err := admin.WhoAmI(ctx)
	require.NoError(t, err)
	assert.True(t, me.IsAdmin(), "the local server's first token is an admin's")
	tok, err := admin.CreateToken(ctx, "carol@example.com", "member")
	require.NoError(t, err)
	carol, err := client.New(srv.url, client.BearerToken(tok))
	require.NoError(t, err)
	me, err = carol.WhoAmI(ctx)
	require.NoError(t, err)
	assert.Equal(t, "carol@example.com", me.Name)
	assert.False(t, me.IsAdmin())

	const origin = "zenml-local:///legacy/secrets.yaml#none/db"
	s, err := carol.CreateSecret(ctx, client.NewSecret{Name: "db", Private: true, Values: map[string]string{"user": "u", "password": "VALUE-e2e-1"}, Origin: origin})
	require.NoError(t, err)
	assert.Equal(t, origin, s.Origin)
	assert.Equal(t, "carol@example.com", s.Owner)
	got, err := carol.GetSecret(ctx, s.ID)
	require.NoError(t, err)
	assert.Equal(t, origin, got.Origin, "GET returns the origin")
	listed, err := carol.FindSecretByName(ctx, "db", client.OnlyPrivate)
	require.NoError(t, err)
	assert.Equal(t, origin, listed.Origin, "list returns the origin")

	u, err := carol.UpdateSecret(ctx, s.ID, client.Update{Values: map[string]*string{"password": client.Set("VALUE-e2e-2")}, ReplaceValues: true, Origin: client.Set(origin + "2"), IfMatch: 1})
	require.NoError(t, err)
	assert.EqualValues(t, 2, u.Version)
	assert.Equal(t, origin+"2", u.Origin)
	got, err = carol.GetSecret(ctx, s.ID)
	require.NoError(t, err)
	secrettest.AssertSameValues(t, map[string]string{"password": "VALUE-e2e-2"}, got.Values)
	assert.Equal(t, origin+"2", got.Origin)

	_, err = carol.UpdateSecret(ctx, s.ID, client.Update{Origin: client.Set(strings.Repeat("o", 1025))})
	assert.Equal(t, errcode.InvalidArgument, errcode.Of(err), "the server bounds origins")
}
