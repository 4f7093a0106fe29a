package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/audit"
	"github.com/lockwell/lockwell/shared/audit/audittest"
	"github.com/lockwell/lockwell/shared/backend/memstore"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/httpapi"
	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/identity/memtokens"
	"github.com/lockwell/lockwell/shared/store"
)

// auditHarness is an API over memstore whose audit log is an audit.Memory.
type auditHarness struct {
	t      *testing.T
	h      http.Handler
	mem    *audit.Memory
	st     *store.Store
	tokens map[string]string
}

func newAuditHarness(t *testing.T) *auditHarness {
	mem := audit.NewMemory()
	l, err := audit.New(mem, audittest.Key)
	require.NoError(t, err)
	st := store.New(memstore.New(), store.WithAuditLog(l))
	toks := memtokens.New()
	ah := &auditHarness{t: t, mem: mem, st: st, tokens: map[string]string{}}
	for user, role := range map[string]identity.Role{"admin": identity.Admin, "alice": identity.Member} {
		tok, hash, err := identity.NewToken()
		require.NoError(t, err)
		require.NoError(t, toks.SaveToken(context.Background(), hash, identity.Principal{Name: user, Role: role}))
		ah.tokens[user] = tok
	}
	ah.h = httpapi.New(st, httpapi.BearerAuthenticator{Tokens: toks}, httpapi.Options{Tokens: toks}).Handler()
	return ah
}

func (ah *auditHarness) do(user, method, path, body string) (int, string) {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+ah.tokens[user])
	}
	req.Header.Set("User-Agent", "audit-test/1")
	w := httptest.NewRecorder()
	ah.h.ServeHTTP(w, req)
	return w.Code, w.Body.String()
}

func TestAuditUnavailableFailsRequests(t *testing.T) {
	ah := newAuditHarness(t)
	code, body := ah.do("alice", "POST", "/api/v1/secrets", `{"name":"db","values":{"password":"very-secret-value"}}`)
	require.Equal(t, http.StatusCreated, code, body)
	var created struct{ ID string }
	require.NoError(t, json.Unmarshal([]byte(body), &created))

	ah.mem.Fail = errcode.New(errcode.Internal, "audit table gone")
	for _, tc := range []struct{ user, method, path, body string }{
		{"alice", "GET", "/api/v1/secrets/" + created.ID, ""},
		{"alice", "GET", "/api/v1/secrets/by-name/db", ""},
		{"alice", "PATCH", "/api/v1/secrets/" + created.ID, `{"values":{"password":"changed-value"}}`},
		{"alice", "DELETE", "/api/v1/secrets/" + created.ID, ""},
		{"alice", "POST", "/api/v1/secrets", `{"name":"other","values":{"k":"new-value"}}`},
		{"admin", "POST", "/api/v1/tokens", `{"user":"carol"}`},
		{"admin", "GET", "/api/v1/tokens", ""},
		{"", "GET", "/api/v1/secrets/" + created.ID, ""}, // a refusal that cannot be recorded
	} {
		code, body := ah.do(tc.user, tc.method, tc.path, tc.body)
		assert.Equal(t, http.StatusServiceUnavailable, code, "%s %s: %s", tc.method, tc.path, body)
		assert.Contains(t, body, `"unavailable"`)
		for _, v := range []string{"very-secret-value", "changed-value", "new-value", "lw_"} {
			assert.NotContains(t, body, v, "%s %s", tc.method, tc.path)
		}
	}

	ah.mem.Fail = nil
	code, body = ah.do("alice", "GET", "/api/v1/secrets/"+created.ID, "")
	require.Equal(t, http.StatusOK, code, body)
	assert.Contains(t, body, "very-secret-value", "nothing changed")
	assert.Contains(t, body, `"version":1`)
	code, _ = ah.do("alice", "GET", "/api/v1/secrets/by-name/other", "")
	assert.Equal(t, http.StatusNotFound, code, "nothing created")
	code, body = ah.do("admin", "GET", "/api/v1/tokens", "")
	require.Equal(t, http.StatusOK, code, body)
	assert.NotContains(t, body, "carol", "no token minted")
}

func TestAuditRecordsTokensRefusalsAndServesLog(t *testing.T) {
	ah := newAuditHarness(t)
	code, body := ah.do("admin", "POST", "/api/v1/tokens", `{"user":"carol"}`)
	require.Equal(t, http.StatusCreated, code, body)
	var minted struct{ Token string }
	require.NoError(t, json.Unmarshal([]byte(body), &minted))
	code, _ = ah.do("alice", "GET", "/api/v1/tokens", "")
	assert.Equal(t, http.StatusForbidden, code)
	code, _ = ah.do("", "GET", "/api/v1/secrets", "")
	assert.Equal(t, http.StatusUnauthorized, code)
	code, _ = ah.do("alice", "GET", "/api/v1/audit", "")
	assert.Equal(t, http.StatusForbidden, code, "members cannot read the audit log")

	code, body = ah.do("admin", "GET", "/api/v1/audit?page_size=2", "")
	require.Equal(t, http.StatusOK, code, body)
	var page struct {
		Items         []audit.Record `json:"items"`
		NextPageToken string         `json:"next_page_token"`
		HasMore       bool           `json:"has_more"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &page))
	require.Len(t, page.Items, 2)
	assert.True(t, page.HasMore)
	assert.Equal(t, "create_token", page.Items[0].Operation)
	assert.Equal(t, audit.PhaseRequest, page.Items[0].Phase)
	assert.Equal(t, "carol", page.Items[1].TokenUser)
	assert.Equal(t, identity.TokenIDOf(minted.Token), page.Items[1].TokenID)
	assert.Equal(t, "audit-test/1", page.Items[1].UserAgent)
	assert.NotEmpty(t, page.Items[1].RequestID)

	code, body = ah.do("admin", "GET", "/api/v1/audit?page_size=2&page_token="+page.NextPageToken, "")
	require.Equal(t, http.StatusOK, code, body)
	require.NoError(t, json.Unmarshal([]byte(body), &page))
	ops := []string{}
	for _, r := range page.Items {
		ops = append(ops, r.Principal+":"+r.Operation+":"+r.Phase+":"+r.Outcome)
	}
	assert.Equal(t, []string{"alice:list_tokens:request:", "alice:list_tokens:response:permission_denied"}, ops)

	code, body = ah.do("admin", "GET", "/api/v1/audit?operation=list&principal=", "")
	require.Equal(t, http.StatusOK, code, body)
	require.NoError(t, json.Unmarshal([]byte(body), &page))
	require.Len(t, page.Items, 1, "the 401 is recorded")
	assert.Equal(t, "unauthenticated", page.Items[0].Outcome)
	assert.NotContains(t, body, minted.Token)

	code, body = ah.do("admin", "GET", "/api/v1/audit?principal=alice&page_token="+page.NextPageToken, "")
	assert.Equal(t, http.StatusBadRequest, code, "a token is bound to its filters: %s", body)
	code, _ = ah.do("admin", "GET", "/api/v1/audit?since=yesterday", "")
	assert.Equal(t, http.StatusBadRequest, code)
	code, _ = ah.do("admin", "GET", "/api/v1/audit?colour=red", "")
	assert.Equal(t, http.StatusBadRequest, code)
}

// TestAuditNewestFirst pages the log back in time with order=newest: each
// record once, newest first, no token after the start of the log, and
// tokens bound to their order.
func TestAuditNewestFirst(t *testing.T) {
	ah := newAuditHarness(t)
	for range 3 {
		code, body := ah.do("alice", "GET", "/api/v1/tokens", "")
		require.Equal(t, http.StatusForbidden, code, body)
	}
	type auditPage struct {
		Items         []audit.Record `json:"items"`
		NextPageToken string         `json:"next_page_token"`
		HasMore       bool           `json:"has_more"`
	}
	read := func(query string) auditPage {
		t.Helper()
		code, body := ah.do("admin", "GET", "/api/v1/audit?"+query, "")
		require.Equal(t, http.StatusOK, code, body)
		var p auditPage
		require.NoError(t, json.Unmarshal([]byte(body), &p))
		return p
	}
	var oldest []int64
	for _, r := range read("page_size=100").Items {
		oldest = append(oldest, r.Seq)
	}
	require.Len(t, oldest, 6, "a request and a response record per refusal")

	var newest []int64
	p := read("order=newest&page_size=4")
	for {
		for _, r := range p.Items {
			newest = append(newest, r.Seq)
		}
		if p.NextPageToken == "" {
			assert.False(t, p.HasMore)
			break
		}
		require.Less(t, len(newest), 10, "pages end")
		p = read("order=newest&page_size=4&page_token=" + p.NextPageToken)
	}
	slices.Reverse(newest)
	assert.Equal(t, oldest, newest, "every record once, newest first")

	p = read("order=newest&page_size=2")
	code, body := ah.do("admin", "GET", "/api/v1/audit?page_size=2&page_token="+p.NextPageToken, "")
	assert.Equal(t, http.StatusBadRequest, code, "a token is bound to its order: %s", body)
	code, _ = ah.do("admin", "GET", "/api/v1/audit?order=sideways", "")
	assert.Equal(t, http.StatusBadRequest, code)
}
