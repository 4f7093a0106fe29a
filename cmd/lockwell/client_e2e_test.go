package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/client"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/retry"
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
