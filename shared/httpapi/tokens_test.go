package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/backend/memstore"
	"github.com/lockwell/lockwell/shared/httpapi"
	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/store"
)

type tokenItem struct {
	ID      string    `json:"id"`
	User    string    `json:"user"`
	Role    string    `json:"role"`
	Created time.Time `json:"created"`
}

// listTokens lists as admin and returns the items by user (users of the
// harness have one token each).
func (h *harness) listTokens() map[string]tokenItem {
	h.t.Helper()
	res := h.do(request{user: "admin", method: "GET", path: "/api/v1/tokens"})
	require.Equal(h.t, http.StatusOK, res.status, string(res.body))
	var out struct {
		Items []tokenItem `json:"items"`
	}
	dec := json.NewDecoder(strings.NewReader(string(res.body)))
	dec.DisallowUnknownFields()
	require.NoError(h.t, dec.Decode(&out))
	byUser := map[string]tokenItem{}
	for _, it := range out.Items {
		byUser[it.User] = it
	}
	return byUser
}

func (h *harness) mint(user, role string) string {
	h.t.Helper()
	res := h.do(request{user: "admin", method: "POST", path: "/api/v1/tokens", body: `{"user":"` + user + `","role":"` + role + `"}`})
	require.Equal(h.t, http.StatusCreated, res.status, string(res.body))
	var out map[string]string
	require.NoError(h.t, json.Unmarshal(res.body, &out))
	h.tokens[user] = out["token"]
	return out["token"]
}

func TestListTokens(t *testing.T) {
	h := newHarness(t)
	carol := h.mint("carol", "member")
	got := h.listTokens()
	require.Len(t, got, 4, "admin, alice, bob and carol")
	assert.Equal(t, identity.TokenIDOf(carol), got["carol"].ID)
	assert.Equal(t, "member", got["carol"].Role)
	assert.Equal(t, "admin", got["admin"].Role)
	assert.WithinDuration(t, time.Now(), got["carol"].Created, time.Minute)
	listing := h.do(request{user: "admin", method: "GET", path: "/api/v1/tokens"})
	for user, tok := range h.tokens {
		assert.False(t, strings.Contains(string(listing.body), strings.TrimPrefix(tok, identity.TokenPrefix)), "%s's token is not in the listing", user)
	}

	res := h.do(request{user: "alice", method: "GET", path: "/api/v1/tokens"})
	assert.Equal(t, http.StatusForbidden, res.status)
	code, _ := res.errorOf(t)
	assert.Equal(t, "permission_denied", code)
	res = h.do(request{method: "GET", path: "/api/v1/tokens"})
	assert.Equal(t, http.StatusUnauthorized, res.status)
	res = h.do(request{user: "admin", method: "GET", path: "/api/v1/tokens?page_size=1"})
	assert.Equal(t, http.StatusBadRequest, res.status)
}

func TestRevokeToken(t *testing.T) {
	h := newHarness(t)
	carol := h.mint("carol", "member")
	id := identity.TokenIDOf(carol)
	res := h.do(request{user: "carol", method: "GET", path: "/api/v1/whoami"})
	require.Equal(t, http.StatusOK, res.status, "carol's token is used, and cached")

	cases := []struct {
		name   string
		user   string
		path   string
		status int
		code   string
	}{
		{"member cannot revoke by id", "alice", "/api/v1/tokens/" + id, 403, "permission_denied"},
		{"anonymous cannot revoke", "", "/api/v1/tokens/" + id, 401, "unauthenticated"},
		{"malformed id", "admin", "/api/v1/tokens/carol", 400, "invalid_argument"},
		{"unknown id", "admin", "/api/v1/tokens/tok_0000000000000000", 404, "not_found"},
	}
	for _, tc := range cases {
		res := h.do(request{user: tc.user, method: "DELETE", path: tc.path})
		assert.Equal(t, tc.status, res.status, tc.name)
		code, _ := res.errorOf(t)
		assert.Equal(t, tc.code, code, tc.name)
	}

	res = h.do(request{user: "admin", method: "DELETE", path: "/api/v1/tokens/" + id})
	require.Equal(t, http.StatusNoContent, res.status, string(res.body))
	assert.Empty(t, res.body)
	res = h.do(request{user: "carol", method: "GET", path: "/api/v1/whoami"})
	assert.Equal(t, http.StatusUnauthorized, res.status, "a revoked token is refused at once, cache or not")
	res = h.do(request{user: "admin", method: "DELETE", path: "/api/v1/tokens/" + id})
	assert.Equal(t, http.StatusNotFound, res.status, "revoking twice")
	assert.NotContains(t, h.listTokens(), "carol")
	assert.Contains(t, h.logs.String(), `"op":"revoke_token","status":204`)
	assert.Contains(t, h.logs.String(), `"token_id":"`+id+`"`)
	assert.False(t, strings.Contains(h.logs.String(), carol), "the token is never logged")
}

func TestRevokeOwnToken(t *testing.T) {
	h := newHarness(t)
	for _, user := range []string{"alice", "admin"} {
		tok := h.tokens[user]
		res := h.do(request{user: user, method: "GET", path: "/api/v1/whoami"})
		require.Equal(t, http.StatusOK, res.status)
		res = h.do(request{user: user, method: "DELETE", path: "/api/v1/tokens/self"})
		require.Equal(t, http.StatusNoContent, res.status, "%s logs out: %s", user, res.body)
		res = h.do(request{user: user, method: "GET", path: "/api/v1/whoami"})
		assert.Equal(t, http.StatusUnauthorized, res.status, "%s's token is refused at once", user)
		res = h.do(request{user: user, method: "DELETE", path: "/api/v1/tokens/self"})
		assert.Equal(t, http.StatusUnauthorized, res.status, "a revoked token cannot log out again")
		assert.False(t, strings.Contains(h.logs.String(), tok), "%s's token is never logged", user)
	}
	res := h.do(request{user: "bob", method: "GET", path: "/api/v1/whoami"})
	assert.Equal(t, http.StatusOK, res.status, "others' tokens still work")
	assert.Contains(t, h.logs.String(), `"op":"revoke_own_token","status":204`)
}

func TestTokenRoutesWithoutTokenStore(t *testing.T) {
	api := httpapi.New(store.New(memstore.New()), httpapi.ContextAuthenticator{}, httpapi.Options{})
	for _, rq := range []struct{ method, path string }{
		{"GET", "/api/v1/tokens"}, {"DELETE", "/api/v1/tokens/tok_0000000000000000"}, {"DELETE", "/api/v1/tokens/self"},
	} {
		r := httptest.NewRequest(rq.method, rq.path, nil)
		r = r.WithContext(identity.WithPrincipal(r.Context(), identity.Principal{Name: "root", Role: identity.Admin}))
		w := httptest.NewRecorder()
		api.Handler().ServeHTTP(w, r)
		assert.Equal(t, http.StatusNotFound, w.Code, "%s %s", rq.method, rq.path)
	}
}
