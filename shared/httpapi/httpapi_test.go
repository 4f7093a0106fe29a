package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/backend"
	"github.com/lockwell/lockwell/shared/backend/memstore"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/httpapi"
	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/identity/memtokens"
	"github.com/lockwell/lockwell/shared/secret"
	"github.com/lockwell/lockwell/shared/secret/secrettest"
	"github.com/lockwell/lockwell/shared/store"
)

// syncBuffer is a log sink safe for concurrent handlers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// faultyBackend fails every call with err, to drive unavailable and
// internal answers through the real handler path.
type faultyBackend struct {
	backend.Backend
	err error
}

func (f faultyBackend) Get(context.Context, string) (*secret.Secret, error) { return nil, f.err }
func (f faultyBackend) List(context.Context, backend.Query) ([]*secret.Secret, error) {
	return nil, f.err
}

// harness is an API over memstore with three tokens: admin, alice, bob.
type harness struct {
	t      *testing.T
	h      http.Handler
	api    *httpapi.API
	logs   *syncBuffer
	tokens map[string]string // user -> token
	seen   []string          // every response body, to scan for values
	noVals []string          // bodies of responses that must not carry values (all but GETs of one secret)
	mu     sync.Mutex
}

func newHarness(t *testing.T) *harness {
	return newHarnessOver(t, memstore.New())
}

func newHarnessOver(t *testing.T, b backend.Backend) *harness {
	t.Helper()
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, nil))
	tokens := memtokens.New()
	h := &harness{t: t, logs: logs, tokens: map[string]string{}}
	for user, role := range map[string]identity.Role{"admin": identity.Admin, "alice": identity.Member, "bob": identity.Member} {
		tok, hash, err := identity.NewToken()
		require.NoError(t, err)
		require.NoError(t, tokens.SaveToken(context.Background(), hash, identity.Principal{Name: user, Role: role}))
		h.tokens[user] = tok
	}
	st := store.New(b, store.WithAudit(logger))
	// As the local server does: one cache for authentication and the token
	// routes, so that a revocation reaches the cache at once.
	cache := httpapi.NewTokenCache(tokens, time.Minute, 0)
	h.api = httpapi.New(st, httpapi.BearerAuthenticator{Tokens: cache}, httpapi.Options{Logger: logger, Tokens: cache})
	h.h = h.api.Handler()
	return h
}

// request is one HTTP request; header values of "" are left out.
type request struct {
	user    string // "" sends no Authorization
	method  string
	path    string
	body    string
	headers map[string]string
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// errorOf decodes an error body, requiring the API's error shape.
func (r response) errorOf(t *testing.T) (code, message string) {
	t.Helper()
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&e), "error body has the shape {\"error\":{\"code\",\"message\"}}")
	require.NotEmpty(t, e.Error.Message)
	return e.Error.Code, e.Error.Message
}

func (h *harness) do(req request) response {
	h.t.Helper()
	var body io.Reader
	if req.body != "" {
		body = strings.NewReader(req.body)
	}
	r := httptest.NewRequest(req.method, req.path, body)
	if req.body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	if req.user != "" {
		r.Header.Set("Authorization", "Bearer "+h.tokens[req.user])
	}
	for k, v := range req.headers {
		if v == "" {
			r.Header.Del(k)
		} else {
			r.Header.Set(k, v)
		}
	}
	w := httptest.NewRecorder()
	h.h.ServeHTTP(w, r)
	res := response{status: w.Code, header: w.Header(), body: w.Body.Bytes()}
	h.mu.Lock()
	h.seen = append(h.seen, string(res.body))
	if req.method != "GET" || !strings.HasPrefix(req.path, "/api/v1/secrets/") {
		h.noVals = append(h.noVals, string(res.body))
	}
	h.mu.Unlock()
	return res
}

type secretBody struct {
	ID      string            `json:"id"`
	Name    string            `json:"name"`
	Private bool              `json:"private"`
	Owner   string            `json:"owner"`
	Keys    []string          `json:"keys"`
	Version int64             `json:"version"`
	Created string            `json:"created"`
	Updated string            `json:"updated"`
	Values  map[string]string `json:"values"`
}

func decodeSecret(t *testing.T, res response) secretBody {
	t.Helper()
	var s secretBody
	require.NoError(t, json.Unmarshal(res.body, &s))
	return s
}

// create makes a secret and returns its body.
func (h *harness) create(user, name string, private bool, values map[string]string) secretBody {
	h.t.Helper()
	body := map[string]any{"name": name, "private": private}
	if values != nil {
		body["values"] = values
	}
	b, _ := json.Marshal(body)
	res := h.do(request{user: user, method: "POST", path: "/api/v1/secrets", body: string(b)})
	require.Equal(h.t, http.StatusCreated, res.status, string(res.body))
	return decodeSecret(h.t, res)
}

// assertNoValues fails if any response except a GET of one secret, or any
// log line, holds one of the values.
func (h *harness) assertNoValues(values ...string) {
	h.t.Helper()
	logs := h.logs.String()
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, v := range values {
		assert.False(h.t, strings.Contains(logs, v), "log holds test value #%d", i)
		for _, body := range h.noVals {
			assert.False(h.t, strings.Contains(body, v), "a response other than a GET holds test value #%d", i)
		}
	}
}

func (h *harness) listNames(user, query string) []string {
	h.t.Helper()
	res := h.do(request{user: user, method: "GET", path: "/api/v1/secrets?" + query})
	require.Equal(h.t, http.StatusOK, res.status, string(res.body))
	var page struct {
		Items []secretBody `json:"items"`
	}
	require.NoError(h.t, json.Unmarshal(res.body, &page))
	names := []string{}
	for _, it := range page.Items {
		names = append(names, it.Name)
	}
	return names
}

func TestHealthzNeedsNoAuth(t *testing.T) {
	h := newHarness(t)
	for _, path := range []string{"/healthz", "/api/v1/healthz"} {
		res := h.do(request{method: "GET", path: path})
		assert.Equal(t, http.StatusOK, res.status, path)
		assert.JSONEq(t, `{"status":"ok"}`, string(res.body), path)
	}
}

func TestReadyzAnswersWhenTheStoreDoes(t *testing.T) {
	h := newHarness(t)
	h.create("alice", "private-one", true, map[string]string{"k": "ready-VALUE-1"})
	res := h.do(request{method: "GET", path: "/readyz"})
	assert.Equal(t, http.StatusOK, res.status)
	assert.JSONEq(t, `{"status":"ready"}`, string(res.body), "the probe answers nothing of the store's contents")
	h.assertNoValues("ready-VALUE-1")
}

func TestReadyzIs503WhenTheStoreFails(t *testing.T) {
	cases := []struct {
		err    error
		logged string
	}{
		{errcode.Wrap(errcode.Unavailable, errors.New("dial tcp: connection refused"), "the database is not reachable"), "connection refused"},
		{errcode.Wrap(errcode.Internal, errors.New(`relation "secrets" does not exist`), "schema is corrupt"), "does not exist"},
		{errors.New("driver exploded"), "driver exploded"},
	}
	for _, tc := range cases {
		h := newHarnessOver(t, faultyBackend{Backend: memstore.New(), err: tc.err})
		res := h.do(request{method: "GET", path: "/readyz"})
		assert.Equal(t, http.StatusServiceUnavailable, res.status, tc.logged)
		code, msg := res.errorOf(t)
		assert.Equal(t, "unavailable", code)
		assert.Equal(t, "the store is not ready", msg, "the unauthenticated probe says nothing of the backend")
		assert.Equal(t, "1", res.header.Get("Retry-After"))
		assert.Contains(t, h.logs.String(), tc.logged, "the cause is logged")
	}
}

func TestSecretLifecycle(t *testing.T) {
	h := newHarness(t)
	values := map[string]string{"user": "app", "password": "p4ss-VALUE-1"}
	created := h.create("alice", "db", false, values)
	assert.Equal(t, "db", created.Name)
	assert.Equal(t, "alice", created.Owner)
	assert.Equal(t, []string{"password", "user"}, created.Keys)
	assert.Equal(t, int64(1), created.Version)
	assert.Nil(t, created.Values, "create returns no values")

	// get: values and ETag
	res := h.do(request{user: "bob", method: "GET", path: "/api/v1/secrets/" + created.ID})
	require.Equal(t, http.StatusOK, res.status)
	assert.Equal(t, `"1"`, res.header.Get("ETag"))
	assert.Equal(t, "no-store", res.header.Get("Cache-Control"))
	assert.Equal(t, "nosniff", res.header.Get("X-Content-Type-Options"))
	assert.Equal(t, "application/json; charset=utf-8", res.header.Get("Content-Type"))
	got := decodeSecret(t, res)
	secrettest.AssertSameValues(t, values, got.Values)

	// list: keys, never values
	res = h.do(request{user: "alice", method: "GET", path: "/api/v1/secrets"})
	require.Equal(t, http.StatusOK, res.status)
	var page map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(res.body, &page))
	assert.Contains(t, page, "next_page_token")
	var items []map[string]any
	require.NoError(t, json.Unmarshal(page["items"], &items))
	require.Len(t, items, 1)
	assert.NotContains(t, items[0], "values")
	assert.Equal(t, []any{"password", "user"}, items[0]["keys"])

	// update merges: null removes, unmentioned stays
	res = h.do(request{user: "bob", method: "PATCH", path: "/api/v1/secrets/" + created.ID,
		body: `{"values": {"user": null, "host": "db.local"}}`, headers: map[string]string{"If-Match": `"1"`}})
	require.Equal(t, http.StatusOK, res.status, string(res.body))
	updated := decodeSecret(t, res)
	assert.Equal(t, int64(2), updated.Version)
	assert.Equal(t, []string{"host", "password"}, updated.Keys)
	assert.Nil(t, updated.Values)
	assert.Equal(t, `"2"`, res.header.Get("ETag"))
	res = h.do(request{user: "alice", method: "GET", path: "/api/v1/secrets/" + created.ID})
	secrettest.AssertSameValues(t, map[string]string{"host": "db.local", "password": "p4ss-VALUE-1"}, decodeSecret(t, res).Values)

	// rename
	res = h.do(request{user: "alice", method: "PATCH", path: "/api/v1/secrets/" + created.ID, body: `{"name": "db2"}`})
	require.Equal(t, http.StatusOK, res.status)
	assert.Equal(t, "db2", decodeSecret(t, res).Name)

	// delete: 200 with the recovery window, then 404
	res = h.do(request{user: "alice", method: "DELETE", path: "/api/v1/secrets/" + created.ID})
	require.Equal(t, http.StatusOK, res.status)
	var deleted struct {
		Version    int64     `json:"version"`
		Deleted    time.Time `json:"deleted"`
		PurgeAfter time.Time `json:"purge_after"`
	}
	require.NoError(t, json.Unmarshal(res.body, &deleted))
	assert.Equal(t, int64(4), deleted.Version, "the delete made a version")
	assert.Equal(t, store.DefaultRecoveryWindow, deleted.PurgeAfter.Sub(deleted.Deleted), "restorable for the recovery window")
	res = h.do(request{user: "alice", method: "DELETE", path: "/api/v1/secrets/" + created.ID})
	assert.Equal(t, http.StatusNotFound, res.status)
	res = h.do(request{user: "alice", method: "GET", path: "/api/v1/secrets/" + created.ID})
	assert.Equal(t, http.StatusNotFound, res.status)

	// purge: 204, and nothing is left to restore
	res = h.do(request{user: "alice", method: "DELETE", path: "/api/v1/secrets/" + created.ID + "?purge=true"})
	assert.Equal(t, http.StatusNoContent, res.status)
	assert.Empty(t, res.body)
	res = h.do(request{user: "alice", method: "POST", path: "/api/v1/secrets/" + created.ID + "/restore"})
	assert.Equal(t, http.StatusNotFound, res.status)
	h.assertNoValues("p4ss-VALUE-1")
}

func TestEmptySecretHasEmptyValues(t *testing.T) {
	h := newHarness(t)
	res := h.do(request{user: "alice", method: "POST", path: "/api/v1/secrets", body: `{"name":"empty"}`})
	require.Equal(t, http.StatusCreated, res.status, string(res.body))
	created := decodeSecret(t, res)
	assert.Equal(t, []string{}, created.Keys)
	assert.Equal(t, "/api/v1/secrets/"+created.ID, res.header.Get("Location"))
	res = h.do(request{user: "alice", method: "GET", path: "/api/v1/secrets/" + created.ID})
	assert.JSONEq(t, `{}`, string(mustField(t, res.body, "values")))
}

func mustField(t *testing.T, body []byte, field string) json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(body, &m))
	require.Contains(t, m, field)
	return m[field]
}

// TestErrorCodes drives every error code through the handlers and checks
// status, code and the error body's shape.
func TestErrorCodes(t *testing.T) {
	h := newHarness(t)
	sec := h.create("alice", "taken", false, map[string]string{"k": "VALUE-err-1"})
	missing := "0190b5a2-7c3e-7d1a-9c1e-2f3a4b5c6d7e"
	big := strings.Repeat("x", 64*1024)
	cases := []struct {
		name    string
		req     request
		status  int
		code    string
		message string // a substring
	}{
		{"bad id", request{user: "alice", method: "GET", path: "/api/v1/secrets/not-a-uuid"}, 400, "invalid_argument", "is not a secret id"},
		{"bad name", request{user: "alice", method: "POST", path: "/api/v1/secrets", body: `{"name":"has space"}`}, 400, "invalid_argument", "not allowed"},
		{"bad key", request{user: "alice", method: "POST", path: "/api/v1/secrets", body: `{"name":"n","values":{"1bad":"x"}}`}, 400, "invalid_argument", "must start with a letter"},
		{"no token", request{method: "GET", path: "/api/v1/secrets"}, 401, "unauthenticated", "Authorization"},
		{"unknown token", request{method: "GET", path: "/api/v1/secrets", headers: map[string]string{"Authorization": "Bearer lw_nope"}}, 401, "unauthenticated", "not valid"},
		{"basic auth", request{method: "GET", path: "/api/v1/secrets", headers: map[string]string{"Authorization": "Basic YTpi"}}, 401, "unauthenticated", "Bearer"},
		{"member mints token", request{user: "alice", method: "POST", path: "/api/v1/tokens", body: `{"user":"carol"}`}, 403, "permission_denied", "only admins"},
		{"no such secret", request{user: "alice", method: "GET", path: "/api/v1/secrets/" + missing}, 404, "not_found", "not found"},
		{"no such route", request{user: "alice", method: "GET", path: "/api/v2/secrets"}, 404, "not_found", "no such route"},
		{"name taken", request{user: "bob", method: "POST", path: "/api/v1/secrets", body: `{"name":"taken"}`}, 409, "already_exists", "already exists"},
		{"stale If-Match", request{user: "alice", method: "PATCH", path: "/api/v1/secrets/" + sec.ID, body: `{"name":"x"}`, headers: map[string]string{"If-Match": `"7"`}}, 412, "failed_precondition", "version 1, not 7"},
		{"stale If-Match delete", request{user: "alice", method: "DELETE", path: "/api/v1/secrets/" + sec.ID, headers: map[string]string{"If-Match": `"2"`}}, 412, "failed_precondition", "not 2"},
		{"values too large", request{user: "alice", method: "POST", path: "/api/v1/secrets", body: `{"name":"big","values":{"k":"` + big + `"}}`}, 413, "too_large", "65536 bytes"},
		{"too many keys", request{user: "alice", method: "POST", path: "/api/v1/secrets", body: manyKeys(1001)}, 413, "too_large", "1000 keys"},
		{"body too large", request{user: "alice", method: "POST", path: "/api/v1/secrets", body: `{"name":"big","values":{"k":"` + strings.Repeat("x", 1<<20) + `"}}`}, 413, "too_large", "1 MiB"},
		{"wrong method", request{user: "alice", method: "PUT", path: "/api/v1/secrets/" + sec.ID}, 405, "invalid_argument", "PUT is not allowed"},
		{"replace_values on create", request{user: "alice", method: "POST", path: "/api/v1/secrets", body: `{"name":"rv","values":{},"replace_values":true}`}, 400, "invalid_argument", `unknown field "replace_values"`},
		{"whoami without token", request{method: "GET", path: "/api/v1/whoami"}, 401, "unauthenticated", "Authorization"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := h.do(tc.req)
			assert.Equal(t, tc.status, res.status, string(res.body))
			code, msg := res.errorOf(t)
			assert.Equal(t, tc.code, code)
			assert.Contains(t, msg, tc.message)
			assertSecurityHeaders(t, res.header)
			if tc.status == 401 {
				assert.Equal(t, "Bearer", res.header.Get("WWW-Authenticate"))
			}
			if tc.status == 405 {
				assert.Equal(t, "GET, PATCH, DELETE", res.header.Get("Allow"))
			}
		})
	}
	// Nothing was stored by the failed creates.
	assert.Equal(t, []string{"taken"}, h.listNames("alice", ""))
	for _, body := range h.seen {
		assert.NotContains(t, body, "VALUE-err-1")
		assert.NotContains(t, body, "xxxxxxxxxxxxxxxx", "a response quotes the oversized value")
	}
	h.assertNoValues("VALUE-err-1", "xxxxxxxxxxxxxxxx")
}

func manyKeys(n int) string {
	values := map[string]string{}
	for i := range n {
		values[fmt.Sprintf("k%d", i)] = "v"
	}
	b, _ := json.Marshal(map[string]any{"name": "many", "values": values})
	return string(b)
}

// TestServerFailures checks unavailable and internal answers: the client
// gets the code and, for internal, a generic message; the log gets the
// cause.
func TestServerFailures(t *testing.T) {
	cases := []struct {
		name    string
		err     error
		status  int
		code    string
		message string
		logged  string
	}{
		{"unavailable", errcode.Wrap(errcode.Unavailable, errors.New("connection refused"), "the database is not reachable; retry later"), 503, "unavailable", "retry later", "connection refused"},
		{"classified internal", errcode.Wrap(errcode.Internal, errors.New("disk on fire"), "schema is corrupt"), 500, "internal", "internal error", "disk on fire"},
		{"unclassified", errors.New("driver exploded"), 500, "internal", "internal error", "driver exploded"},
		{"deadline", context.DeadlineExceeded, 503, "unavailable", "retry later", "deadline"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarnessOver(t, faultyBackend{Backend: memstore.New(), err: tc.err})
			res := h.do(request{user: "alice", method: "GET", path: "/api/v1/secrets"})
			assert.Equal(t, tc.status, res.status)
			code, msg := res.errorOf(t)
			assert.Equal(t, tc.code, code)
			assert.Contains(t, msg, tc.message)
			assert.NotContains(t, msg, tc.logged, "the cause is not sent to the client")
			if tc.status == 503 {
				assert.Equal(t, "1", res.header.Get("Retry-After"))
			}
			if tc.status == 500 {
				assert.Contains(t, h.logs.String(), tc.logged, "the cause is logged")
			}
		})
	}
}

// panicAuthenticator panics with a value-bearing message.
type panicAuthenticator struct{}

func (panicAuthenticator) Authenticate(*http.Request) (identity.Principal, error) {
	panic("boom VALUE-panic-1")
}

func TestPanicIsRecoveredWithoutEcho(t *testing.T) {
	logs := &syncBuffer{}
	api := httpapi.New(store.New(memstore.New()), panicAuthenticator{}, httpapi.Options{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	w := httptest.NewRecorder()
	api.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/api/v1/secrets", nil))
	assert.Equal(t, http.StatusInternalServerError, w.Code)
	assert.JSONEq(t, `{"error":{"code":"internal","message":"internal error; the server log has the details"}}`, w.Body.String())
	assert.NotContains(t, logs.String(), "VALUE-panic-1")
	assert.Contains(t, logs.String(), "panic of type string")
}

// TestStrictDecoding sends bad bodies to create and update: each gets a
// clear 4xx and nothing is stored or changed.
func TestStrictDecoding(t *testing.T) {
	h := newHarness(t)
	sec := h.create("alice", "target", false, map[string]string{"k": "VALUE-strict-0"})
	cases := []struct {
		name     string
		body     string
		ctype    string // "" means application/json
		status   int
		message  string
		postOnly bool
	}{
		{"malformed", `{"name": "x", "values": {"k": "VALUE-strict-1"`, "", 400, "not valid JSON", false},
		{"bad syntax", `{"name" "VALUE-strict-1"}`, "", 400, "not valid JSON", false},
		{"empty body", ` `, "", 400, "empty", false},
		{"not an object", `["VALUE-strict-1"]`, "", 400, "must be a JSON object", false},
		{"null body", `null`, "", 400, "must be a JSON object", false},
		{"unknown field", `{"name":"x","valuez":{"k":"VALUE-strict-1"}}`, "", 400, `unknown field "valuez"`, false},
		{"trailing data", `{"name":"x"} {"name":"y"}`, "", 400, "data after the JSON object", false},
		{"trailing garbage", `{"name":"x"}VALUE-strict-1`, "", 400, "data after the JSON object", false},
		{"duplicate field", `{"name":"x","name":"y"}`, "", 400, "appears twice", false},
		{"duplicate key", `{"name":"x","values":{"k":"a","k":"VALUE-strict-1"}}`, "", 400, `key "k" appears twice`, false},
		{"number value", `{"name":"x","values":{"k":12345678}}`, "", 400, `value of key "k" must be a string`, false},
		{"bool value", `{"name":"x","values":{"k":true}}`, "", 400, `value of key "k" must be a string`, false},
		{"object value", `{"name":"x","values":{"k":{"v":"VALUE-strict-1"}}}`, "", 400, `value of key "k" must be a string`, false},
		{"array value", `{"name":"x","values":{"k":["VALUE-strict-1"]}}`, "", 400, `value of key "k" must be a string`, false},
		{"null value", `{"name":"x","values":{"k":null}}`, "", 400, `must be a string, not null`, true},
		{"values not object", `{"name":"x","values":"VALUE-strict-1"}`, "", 400, "values must be an object", false},
		{"values null", `{"name":"x","values":null}`, "", 400, "values must be an object", false},
		{"name not string", `{"name":12}`, "", 400, "name must be a string", false},
		{"name null", `{"name":null}`, "", 400, "name must be a string", false},
		{"private not bool", `{"name":"x","private":"yes"}`, "", 400, "private must be true or false", false},
		{"origin not string", `{"name":"x","origin":12}`, "", 400, "origin must be a string", false},
		{"origin null", `{"name":"x","origin":null}`, "", 400, "origin must be a string", false},
		{"origin too long", `{"name":"x","origin":"` + strings.Repeat("o", store.MaxOriginLength+1) + `"}`, "", 400, "origin is longer than 1024 bytes", false},
		{"lone high surrogate in a value", `{"name":"x","values":{"k":"VALUE-strict-1\ud800"}}`, "", 400, `value of key "k" in "values" has an unpaired UTF-16 surrogate`, false},
		{"lone low surrogate in a value", `{"name":"x","values":{"k":"\uDC00VALUE-strict-1"}}`, "", 400, `value of key "k" in "values" has an unpaired`, false},
		{"high surrogate at the end of a value", `{"name":"x","values":{"a":"ok","k":"VALUE-strict-1\ud83d"}}`, "", 400, `value of key "k" in "values" has an unpaired`, false},
		{"reversed pair", `{"name":"x","values":{"k":"\udd10\ud83dVALUE-strict-1"}}`, "", 400, `value of key "k" in "values" has an unpaired`, false},
		{"high surrogate then another escape", `{"name":"x","values":{"k":"\ud83d\u0041VALUE-strict-1"}}`, "", 400, `value of key "k" in "values" has an unpaired`, false},
		{"high surrogate then an escaped backslash", `{"name":"x","values":{"k":"\ud83d\\udd10"}}`, "", 400, `value of key "k" in "values" has an unpaired`, false},
		{"lone surrogate in a key", `{"name":"x","values":{"k\ud800":"VALUE-strict-1"}}`, "", 400, `in "values" has an unpaired`, false},
		{"lone surrogate in the name", `{"name":"x\ud800","values":{"k":"VALUE-strict-1"}}`, "", 400, `field "name" has an unpaired`, false},
		{"lone surrogate in the origin", `{"name":"x","origin":"\udfff"}`, "", 400, `field "origin" has an unpaired`, false},
		{"lone surrogate in a field name", `{"name":"x","\ud800":"VALUE-strict-1"}`, "", 400, "field name \"\ufffd\" has an unpaired", false},
		{"invalid utf-8", "{\"name\":\"x\",\"values\":{\"k\":\"\xff\"}}", "", 400, "not valid UTF-8", false},
		{"wrong content type", `{"name":"x"}`, "text/plain", 415, "Content-Type must be application/json", false},
		{"form content type", `name=x`, "application/x-www-form-urlencoded", 415, "Content-Type must be application/json", false},
		{"latin1 charset", `{"name":"x"}`, "application/json; charset=latin1", 415, "UTF-8", false},
		{"no content type", `{"name":"x"}`, "-", 415, "Content-Type must be application/json", false},
		{"over 1 MiB", `{"name":"x","values":{"k":"` + strings.Repeat("VALUE-strict-1", 80000) + `"}}`, "", 413, "1 MiB", false},
	}
	for _, tc := range cases {
		for _, method := range []string{"POST", "PATCH"} {
			if method == "PATCH" && tc.postOnly {
				continue // in an update, null removes a key (TestSecretLifecycle)
			}
			t.Run(method+" "+tc.name, func(t *testing.T) {
				path := "/api/v1/secrets"
				if method == "PATCH" {
					path += "/" + sec.ID
				}
				headers := map[string]string{}
				switch tc.ctype {
				case "":
				case "-":
					headers["Content-Type"] = ""
				default:
					headers["Content-Type"] = tc.ctype
				}
				res := h.do(request{user: "alice", method: method, path: path, body: tc.body, headers: headers})
				assert.Equal(t, tc.status, res.status, string(res.body))
				code, msg := res.errorOf(t)
				assert.Contains(t, msg, tc.message)
				assert.NotContains(t, msg, "VALUE-strict")
				wantCode := map[int]string{400: "invalid_argument", 413: "too_large", 415: "unsupported_media_type"}[tc.status]
				assert.Equal(t, wantCode, code, "each status has its own code")
			})
		}
	}
	assert.Equal(t, []string{"target"}, h.listNames("alice", ""), "nothing was stored")
	res := h.do(request{user: "alice", method: "GET", path: "/api/v1/secrets/" + sec.ID})
	assert.Equal(t, `"1"`, res.header.Get("ETag"), "nothing was changed")
	for _, body := range h.seen[1:] { // all but the GET above
		if strings.Contains(body, `"values"`) {
			continue
		}
		assert.NotContains(t, body, "VALUE-strict")
	}
	h.assertNoValues("VALUE-strict")
}

// TestSurrogatePairsAndEscapesRoundTrip: what checkSurrogates refuses is only
// the unpaired half; a complete pair, other escapes and an escaped backslash
// before a "u" are stored as sent.
func TestSurrogatePairsAndEscapesRoundTrip(t *testing.T) {
	h := newHarness(t)
	body := `{"name":"pairs","values":{"pair":"\ud83d\udd10","upper":"\uD83D\uDD10","bmp":"\u00e9\u0041","backslash_u":"\\ud800","mixed":"a\n\ud83d\udd10\\"}}`
	res := h.do(request{user: "alice", method: "POST", path: "/api/v1/secrets", body: body})
	require.Equal(t, http.StatusCreated, res.status, string(res.body))
	got := h.do(request{user: "alice", method: "GET", path: "/api/v1/secrets/" + decodeSecret(t, res).ID})
	assert.Equal(t, map[string]string{"pair": "🔐", "upper": "🔐", "bmp": "éA", "backslash_u": `\ud800`, "mixed": "a\n🔐\\"}, decodeSecret(t, got).Values)
}

func TestPatchStrict(t *testing.T) {
	h := newHarness(t)
	sec := h.create("alice", "p", false, map[string]string{"k": "v"})
	cases := []struct {
		name    string
		body    string
		headers map[string]string
		message string
	}{
		{"empty patch", `{}`, nil, "changes nothing"},
		{"If-Match garbage", `{"name":"q"}`, map[string]string{"If-Match": "yesterday"}, "If-Match must be one version"},
		{"If-Match weak", `{"name":"q"}`, map[string]string{"If-Match": `W/"1"`}, "If-Match must be one version"},
		{"If-Match zero", `{"name":"q"}`, map[string]string{"If-Match": `"0"`}, "If-Match must be one version"},
		{"idempotency key too long", `{"name":"q"}`, map[string]string{"Idempotency-Key": strings.Repeat("a", 256)}, "1 to 255 characters"},
		{"idempotency key with space", `{"name":"q"}`, map[string]string{"Idempotency-Key": "a b"}, "printable ASCII"},
		{"private null", `{"private":null}`, nil, "private must be true or false"},
		{"replace_values not bool", `{"replace_values":"yes","values":{}}`, nil, "replace_values must be true or false"},
		{"replace_values null", `{"replace_values":null,"values":{}}`, nil, "replace_values must be true or false"},
		{"replace_values without values", `{"replace_values":true}`, nil, "replace_values needs values"},
		{"replace_values with null value", `{"replace_values":true,"values":{"k":"VALUE-patch-1","gone":null}}`, nil, `value of key "gone" is null, but with replace_values true`},
		{"replace_values false alone", `{"replace_values":false}`, nil, "changes nothing"},
		{"origin alone too long", `{"origin":"` + strings.Repeat("o", store.MaxOriginLength+1) + `"}`, nil, "origin is longer than"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := h.do(request{user: "alice", method: "PATCH", path: "/api/v1/secrets/" + sec.ID, body: tc.body, headers: tc.headers})
			assert.Equal(t, http.StatusBadRequest, res.status, string(res.body))
			code, msg := res.errorOf(t)
			assert.Equal(t, "invalid_argument", code)
			assert.Contains(t, msg, tc.message)
			assert.NotContains(t, msg, "VALUE-patch")
		})
	}
	res := h.do(request{user: "alice", method: "GET", path: "/api/v1/secrets/" + sec.ID})
	assert.Equal(t, `"1"`, res.header.Get("ETag"), "no refused patch changed anything")
	h.assertNoValues("VALUE-patch")
	// If-Match without quotes and * are accepted.
	res = h.do(request{user: "alice", method: "PATCH", path: "/api/v1/secrets/" + sec.ID, body: `{"name":"q"}`, headers: map[string]string{"If-Match": "1"}})
	assert.Equal(t, http.StatusOK, res.status, string(res.body))
	res = h.do(request{user: "alice", method: "PATCH", path: "/api/v1/secrets/" + sec.ID, body: `{"name":"r"}`, headers: map[string]string{"If-Match": "*"}})
	assert.Equal(t, http.StatusOK, res.status, string(res.body))
}

func TestIfMatchAndETag(t *testing.T) {
	h := newHarness(t)
	sec := h.create("alice", "versioned", false, map[string]string{"k": "v1"})
	get := func() string {
		return h.do(request{user: "alice", method: "GET", path: "/api/v1/secrets/" + sec.ID}).header.Get("ETag")
	}
	tag := get()
	assert.Equal(t, `"1"`, tag)
	patch := func(tag, value string) response {
		return h.do(request{user: "alice", method: "PATCH", path: "/api/v1/secrets/" + sec.ID,
			body: `{"values":{"k":"` + value + `"}}`, headers: map[string]string{"If-Match": tag}})
	}
	assert.Equal(t, http.StatusOK, patch(tag, "v2").status)
	assert.Equal(t, `"2"`, get())
	res := patch(tag, "v3") // stale
	assert.Equal(t, http.StatusPreconditionFailed, res.status)
	code, _ := res.errorOf(t)
	assert.Equal(t, "failed_precondition", code)
	assert.Equal(t, `"2"`, get(), "the stale update changed nothing")
	res = h.do(request{user: "alice", method: "DELETE", path: "/api/v1/secrets/" + sec.ID, headers: map[string]string{"If-Match": `"2"`}})
	assert.Equal(t, http.StatusOK, res.status, "moved into the recovery window")
}

func TestIdempotencyKey(t *testing.T) {
	h := newHarness(t)
	key := map[string]string{"Idempotency-Key": "3f1c6a7e-create-1"}
	body := `{"name":"once","values":{"k":"VALUE-idem-1"}}`
	first := h.do(request{user: "alice", method: "POST", path: "/api/v1/secrets", body: body, headers: key})
	require.Equal(t, http.StatusCreated, first.status)
	retry := h.do(request{user: "alice", method: "POST", path: "/api/v1/secrets", body: body, headers: key})
	require.Equal(t, http.StatusCreated, retry.status, "a retry gets the first result, not a 409")
	assert.JSONEq(t, string(first.body), string(retry.body))

	// Another body under the same key is refused; without a key it is a 409.
	res := h.do(request{user: "alice", method: "POST", path: "/api/v1/secrets", body: `{"name":"once","values":{"k":"other"}}`, headers: key})
	assert.Equal(t, http.StatusBadRequest, res.status)
	_, msg := res.errorOf(t)
	assert.Contains(t, msg, "Idempotency-Key was already used")
	res = h.do(request{user: "alice", method: "POST", path: "/api/v1/secrets", body: body})
	assert.Equal(t, http.StatusConflict, res.status)

	// PATCH: a retry does not apply a second change.
	id := decodeSecret(t, first).ID
	pkey := map[string]string{"Idempotency-Key": "3f1c6a7e-update-1"}
	pbody := `{"values":{"n":"VALUE-idem-2"}}`
	p1 := h.do(request{user: "alice", method: "PATCH", path: "/api/v1/secrets/" + id, body: pbody, headers: pkey})
	require.Equal(t, http.StatusOK, p1.status)
	p2 := h.do(request{user: "alice", method: "PATCH", path: "/api/v1/secrets/" + id, body: pbody, headers: pkey})
	require.Equal(t, http.StatusOK, p2.status)
	assert.JSONEq(t, string(p1.body), string(p2.body))
	assert.Equal(t, int64(2), decodeSecret(t, p2).Version)
	res = h.do(request{user: "alice", method: "PATCH", path: "/api/v1/secrets/" + id, body: `{"values":{"n":"x"}}`, headers: pkey})
	assert.Equal(t, http.StatusBadRequest, res.status)
	h.assertNoValues("VALUE-idem-1", "VALUE-idem-2")
}

func TestPrivateVisibility(t *testing.T) {
	h := newHarness(t)
	mine := h.create("alice", "shared-name", true, map[string]string{"k": "VALUE-priv-1"})
	pub := h.create("bob", "shared-name", false, map[string]string{"k": "public"})
	for _, user := range []string{"admin", "bob"} {
		for _, req := range []request{
			{method: "GET", path: "/api/v1/secrets/" + mine.ID},
			{method: "PATCH", path: "/api/v1/secrets/" + mine.ID, body: `{"values":{"k":"x"}}`},
			{method: "DELETE", path: "/api/v1/secrets/" + mine.ID},
		} {
			req.user = user
			res := h.do(req)
			assert.Equal(t, http.StatusNotFound, res.status, "%s %s by %s", req.method, req.path, user)
		}
		assert.Equal(t, []string{"shared-name"}, h.listNames(user, ""), "%s sees only the public one", user)
		assert.Empty(t, h.listNames(user, "private=true"))
	}
	assert.Len(t, h.listNames("alice", "name=shared-name"), 2)
	assert.Equal(t, []string{"shared-name"}, h.listNames("alice", "private=true"))
	assert.Equal(t, []string{"shared-name"}, h.listNames("alice", "owner=bob"))
	res := h.do(request{user: "alice", method: "GET", path: "/api/v1/secrets/" + mine.ID})
	assert.Equal(t, http.StatusOK, res.status)
	_ = pub
}

func TestListParameters(t *testing.T) {
	h := newHarness(t)
	for _, n := range []string{"app.db", "app.cache", "web.db"} {
		h.create("alice", n, false, nil)
	}
	assert.Equal(t, []string{"app.cache", "app.db", "web.db"}, h.listNames("alice", ""))
	assert.Equal(t, []string{"web.db", "app.db", "app.cache"}, h.listNames("alice", "sort=-name"))
	assert.Equal(t, []string{"app.cache", "app.db"}, h.listNames("alice", "name_prefix=app."))
	assert.Equal(t, []string{"app.db", "web.db"}, h.listNames("alice", "name_contains=.db"))
	assert.Equal(t, []string{"app.db"}, h.listNames("alice", "name=app.db"))
	assert.Equal(t, []string{"app.db", "app.cache", "web.db"}, h.listNames("alice", "sort=created&private=false&owner=alice"))
	bad := []struct{ query, message string }{
		{"colour=blue", `unknown query parameter "colour"`},
		{"private=yes", "private must be true or false"},
		{"page_size=0", "page_size must be a whole number from 1 to 1000"},
		{"page_size=1001", "page_size must be a whole number from 1 to 1000"},
		{"page_size=ten", "page_size must be a whole number"},
		{"sort=size", "sort must be one of"},
		{"page_token=garbage", "page_token is not valid"},
		{"name=a&name=b", "given more than once"},
		{"name=%zz", "malformed"},
	}
	for _, tc := range bad {
		t.Run(tc.query, func(t *testing.T) {
			res := h.do(request{user: "alice", method: "GET", path: "/api/v1/secrets?" + tc.query})
			assert.Equal(t, http.StatusBadRequest, res.status)
			code, msg := res.errorOf(t)
			assert.Equal(t, "invalid_argument", code)
			assert.Contains(t, msg, tc.message)
		})
	}
}

func TestPagination(t *testing.T) {
	h := newHarness(t)
	var want []string
	for i := range 23 {
		name := fmt.Sprintf("s%03d", i)
		want = append(want, name)
		h.create("alice", name, false, map[string]string{"k": "v"})
	}
	var got []string
	token, pages := "", 0
	for {
		q := url.Values{"page_size": {"5"}}
		if token != "" {
			q.Set("page_token", token)
		}
		res := h.do(request{user: "alice", method: "GET", path: "/api/v1/secrets?" + q.Encode()})
		require.Equal(t, http.StatusOK, res.status, string(res.body))
		var page struct {
			Items         []secretBody `json:"items"`
			NextPageToken string       `json:"next_page_token"`
		}
		require.NoError(t, json.Unmarshal(res.body, &page))
		pages++
		for _, it := range page.Items {
			got = append(got, it.Name)
		}
		if page.NextPageToken == "" {
			break
		}
		token = page.NextPageToken
	}
	assert.Equal(t, want, got)
	assert.Equal(t, 5, pages)

	// A token from one query does not fit another.
	res := h.do(request{user: "alice", method: "GET", path: "/api/v1/secrets?page_size=5"})
	tok := string(mustField(t, res.body, "next_page_token"))
	var next string
	require.NoError(t, json.Unmarshal([]byte(tok), &next))
	res = h.do(request{user: "alice", method: "GET", path: "/api/v1/secrets?sort=-name&page_token=" + url.QueryEscape(next)})
	assert.Equal(t, http.StatusBadRequest, res.status)
}

func TestTokens(t *testing.T) {
	h := newHarness(t)
	res := h.do(request{user: "admin", method: "POST", path: "/api/v1/tokens", body: `{"user":"carol","role":"member"}`})
	require.Equal(t, http.StatusCreated, res.status, string(res.body))
	assert.Equal(t, "no-store", res.header.Get("Cache-Control"))
	var out map[string]string
	require.NoError(t, json.Unmarshal(res.body, &out))
	token := out["token"]
	require.True(t, strings.HasPrefix(token, identity.TokenPrefix))
	assert.Len(t, out, 1)
	assert.NotContains(t, h.logs.String(), token, "the token is never logged")
	assert.Contains(t, h.logs.String(), `"op":"create_token","status":201`)
	assert.Contains(t, h.logs.String(), `"token_for":"carol"`)

	// The new token works, as a member.
	h.tokens["carol"] = token
	res = h.do(request{user: "carol", method: "POST", path: "/api/v1/secrets", body: `{"name":"carols"}`})
	assert.Equal(t, http.StatusCreated, res.status)
	res = h.do(request{user: "carol", method: "POST", path: "/api/v1/tokens", body: `{"user":"dave"}`})
	assert.Equal(t, http.StatusForbidden, res.status)

	bad := []struct{ body, message string }{
		{`{"user":"dave","role":"root"}`, "role must be admin or member"},
		{`{"role":"admin"}`, "user must be 1 to"},
		{`{"user":"da ve"}`, "spaces"},
		{`{"user":"dave","extra":1}`, `unknown field "extra"`},
		{`{"user":1}`, "user must be a string"},
	}
	for _, tc := range bad {
		res := h.do(request{user: "admin", method: "POST", path: "/api/v1/tokens", body: tc.body})
		assert.Equal(t, http.StatusBadRequest, res.status, tc.body)
		_, msg := res.errorOf(t)
		assert.Contains(t, msg, tc.message)
	}

	// An admin-minted admin token is an admin.
	res = h.do(request{user: "admin", method: "POST", path: "/api/v1/tokens", body: `{"user":"ops","role":"admin"}`})
	require.Equal(t, http.StatusCreated, res.status)
	require.NoError(t, json.Unmarshal(res.body, &out))
	h.tokens["ops"] = out["token"]
	res = h.do(request{user: "ops", method: "POST", path: "/api/v1/tokens", body: `{"user":"eve"}`})
	assert.Equal(t, http.StatusCreated, res.status)
}

func TestTokensDisabledWithoutTokenStore(t *testing.T) {
	api := httpapi.New(store.New(memstore.New()), httpapi.ContextAuthenticator{}, httpapi.Options{})
	r := httptest.NewRequest("POST", "/api/v1/tokens", strings.NewReader(`{"user":"x"}`))
	r.Header.Set("Content-Type", "application/json")
	r = r.WithContext(identity.WithPrincipal(r.Context(), identity.Principal{Name: "root", Role: identity.Admin}))
	w := httptest.NewRecorder()
	api.Handler().ServeHTTP(w, r)
	assert.Equal(t, http.StatusNotFound, w.Code)
}

func TestContextAuthenticator(t *testing.T) {
	api := httpapi.New(store.New(memstore.New()), httpapi.ContextAuthenticator{}, httpapi.Options{})
	w := httptest.NewRecorder()
	api.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/api/v1/secrets", nil))
	assert.Equal(t, http.StatusUnauthorized, w.Code)
	assert.Empty(t, w.Header().Get("WWW-Authenticate"), "no bearer challenge behind an authorizer")

	r := httptest.NewRequest("GET", "/api/v1/secrets", nil)
	r = r.WithContext(identity.WithPrincipal(r.Context(), identity.Principal{Name: "arn:aws:iam::1:user/x", Role: identity.Member}))
	w = httptest.NewRecorder()
	api.Handler().ServeHTTP(w, r)
	assert.Equal(t, http.StatusOK, w.Code)
}

func TestOperationServesOnlyItsRoutes(t *testing.T) {
	h := newHarness(t)
	sec := h.create("alice", "op", false, map[string]string{"k": "v"})
	routes := map[string]request{
		"create": {method: "POST", path: "/api/v1/secrets", body: `{"name":"op2"}`},
		"list":   {method: "GET", path: "/api/v1/secrets"},
		"get":    {method: "GET", path: "/api/v1/secrets/" + sec.ID},
		"update": {method: "PATCH", path: "/api/v1/secrets/" + sec.ID, body: `{"values":{"k":"w"}}`},
		"delete": {method: "DELETE", path: "/api/v1/secrets/" + sec.ID},
		"whoami": {method: "GET", path: "/api/v1/whoami"},
	}
	for _, op := range []string{"list", "get", "update", "create", "whoami", "delete"} { // delete last
		handler := h.api.Operation(op)
		for other, req := range routes {
			r := httptest.NewRequest(req.method, req.path, strings.NewReader(req.body))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("Authorization", "Bearer "+h.tokens["alice"])
			w := httptest.NewRecorder()
			handler.ServeHTTP(w, r)
			if other == op {
				assert.Less(t, w.Code, 300, "%s serves %s", op, other)
			} else {
				assert.Equal(t, http.StatusNotFound, w.Code, "%s does not serve %s", op, other)
				assert.Contains(t, w.Body.String(), `"not_found"`)
			}
		}
	}
	assert.Panics(t, func() { h.api.Operation("frobnicate") })
}

// TestRequestLog checks the one line per request: operation, status,
// latency, principal and secret id, and never a value or a token.
func TestRequestLog(t *testing.T) {
	h := newHarness(t)
	sec := h.create("alice", "logged", false, map[string]string{"k": "VALUE-log-1"})
	h.do(request{user: "alice", method: "GET", path: "/api/v1/secrets/" + sec.ID})
	h.do(request{user: "alice", method: "PATCH", path: "/api/v1/secrets/" + sec.ID, body: `{"values":{"k":"VALUE-log-2"}}`})
	var lines []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(h.logs.String()), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m))
		if m["msg"] == "request" {
			lines = append(lines, m)
		}
	}
	require.Len(t, lines, 3)
	for i, op := range []string{"create", "get", "update"} {
		assert.Equal(t, op, lines[i]["op"])
		assert.Equal(t, "alice", lines[i]["principal"])
		assert.Equal(t, sec.ID, lines[i]["secret_id"])
		assert.Contains(t, lines[i], "latency")
		assert.Contains(t, lines[i], "status")
	}
	h.assertNoValues("VALUE-log-1", "VALUE-log-2", h.tokens["alice"])
}

// TestParallelRequests runs creates, gets, updates and lists concurrently
// (meaningful under -race): unconditional updates all apply.
func TestParallelRequests(t *testing.T) {
	h := newHarness(t)
	shared := h.create("alice", "counter", false, nil)
	srv := httptest.NewServer(h.h)
	defer srv.Close()
	const workers, each = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*each*4)
	send := func(method, path, user, body string) (int, error) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+h.tokens[user])
		req.Header.Set("Content-Type", "application/json")
		res, err := srv.Client().Do(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode, nil
	}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			user := []string{"alice", "bob"}[w%2]
			for i := range each {
				for _, c := range []struct {
					method, path, body string
					want               int
				}{
					{"POST", "/api/v1/secrets", fmt.Sprintf(`{"name":"w%d-%d","values":{"k":"v"}}`, w, i), 201},
					{"PATCH", "/api/v1/secrets/" + shared.ID, fmt.Sprintf(`{"values":{"w%d_%d":"v"}}`, w, i), 200},
					{"GET", "/api/v1/secrets/" + shared.ID, "", 200},
					{"GET", "/api/v1/secrets?page_size=7", "", 200},
				} {
					status, err := send(c.method, c.path, user, c.body)
					if err == nil && status != c.want {
						err = fmt.Errorf("%s %s: status %d", c.method, c.path, status)
					}
					if err != nil {
						errs <- err
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	res := h.do(request{user: "alice", method: "GET", path: "/api/v1/secrets/" + shared.ID})
	got := decodeSecret(t, res)
	assert.Len(t, got.Keys, workers*each, "every concurrent merge applied")
	assert.Equal(t, int64(1+workers*each), got.Version)
	assert.True(t, reflect.DeepEqual(len(got.Values), workers*each))
}

// TestOriginAndReplaceValues: origin is accepted on create and update and
// comes back in every metadata (create, get, list, update); replace_values
// makes the given values the complete new set.
func TestOriginAndReplaceValues(t *testing.T) {
	h := newHarness(t)
	const origin = "zenml-local:///tmp/secrets.yaml#none/db"
	res := h.do(request{user: "alice", method: "POST", path: "/api/v1/secrets",
		body: `{"name":"migrated","values":{"user":"app","password":"VALUE-origin-1"},"origin":"` + origin + `"}`})
	require.Equal(t, http.StatusCreated, res.status, string(res.body))
	id := decodeSecret(t, res).ID
	assert.Equal(t, origin, jsonString(t, mustField(t, res.body, "origin")), "create returns the origin")
	originOf := func() (got string, listed string) {
		res := h.do(request{user: "bob", method: "GET", path: "/api/v1/secrets/" + id})
		require.Equal(t, http.StatusOK, res.status)
		got = jsonString(t, mustField(t, res.body, "origin"))
		res = h.do(request{user: "bob", method: "GET", path: "/api/v1/secrets?name=migrated"})
		require.Equal(t, http.StatusOK, res.status)
		var page struct {
			Items []map[string]json.RawMessage `json:"items"`
		}
		require.NoError(t, json.Unmarshal(res.body, &page))
		require.Len(t, page.Items, 1)
		return got, jsonString(t, page.Items[0]["origin"])
	}
	got, listed := originOf()
	assert.Equal(t, origin, got, "GET returns the origin")
	assert.Equal(t, origin, listed, "list returns the origin")

	// A user's secret has no origin at all in its metadata.
	plain := h.create("alice", "plain", false, map[string]string{"k": "v"})
	res = h.do(request{user: "alice", method: "GET", path: "/api/v1/secrets/" + plain.ID})
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(res.body, &m))
	assert.NotContains(t, m, "origin")

	// replace_values: exactly the given keys remain, origin changes with it.
	const origin2 = "zenml-local:///tmp/secrets.yaml#global/db"
	res = h.do(request{user: "alice", method: "PATCH", path: "/api/v1/secrets/" + id, headers: map[string]string{"If-Match": `"1"`},
		body: `{"replace_values":true,"values":{"password":"VALUE-origin-2","host":"db"},"origin":"` + origin2 + `"}`})
	require.Equal(t, http.StatusOK, res.status, string(res.body))
	updated := decodeSecret(t, res)
	assert.Equal(t, []string{"host", "password"}, updated.Keys, "user was removed by the replace")
	assert.Equal(t, int64(2), updated.Version)
	assert.Equal(t, origin2, jsonString(t, mustField(t, res.body, "origin")), "update returns the new origin")
	got, listed = originOf()
	assert.Equal(t, origin2, got)
	assert.Equal(t, origin2, listed)
	res = h.do(request{user: "alice", method: "GET", path: "/api/v1/secrets/" + id})
	secrettest.AssertSameValues(t, map[string]string{"password": "VALUE-origin-2", "host": "db"}, decodeSecret(t, res).Values)

	// replace_values with {} removes every key; false merges as usual.
	res = h.do(request{user: "alice", method: "PATCH", path: "/api/v1/secrets/" + id, body: `{"replace_values":false,"values":{"extra":"x"}}`})
	require.Equal(t, http.StatusOK, res.status, string(res.body))
	assert.Equal(t, []string{"extra", "host", "password"}, decodeSecret(t, res).Keys, "replace_values false merges")
	res = h.do(request{user: "alice", method: "PATCH", path: "/api/v1/secrets/" + id, body: `{"replace_values":true,"values":{}}`})
	require.Equal(t, http.StatusOK, res.status, string(res.body))
	assert.Equal(t, []string{}, decodeSecret(t, res).Keys)

	// An origin alone is a change; "" clears it.
	res = h.do(request{user: "alice", method: "PATCH", path: "/api/v1/secrets/" + id, body: `{"origin":""}`})
	require.Equal(t, http.StatusOK, res.status, string(res.body))
	require.NoError(t, json.Unmarshal(res.body, &m))
	assert.NotContains(t, m, "origin")
	h.assertNoValues("VALUE-origin-1", "VALUE-origin-2")
}

func jsonString(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var s string
	require.NoError(t, json.Unmarshal(raw, &s))
	return s
}

func TestWhoAmI(t *testing.T) {
	h := newHarness(t)
	for user, role := range map[string]string{"admin": "admin", "alice": "member", "bob": "member"} {
		res := h.do(request{user: user, method: "GET", path: "/api/v1/whoami"})
		require.Equal(t, http.StatusOK, res.status, string(res.body))
		assert.JSONEq(t, `{"user":"`+user+`","role":"`+role+`"}`, string(res.body))
		assert.Equal(t, "no-store", res.header.Get("Cache-Control"))
	}
	res := h.do(request{user: "alice", method: "POST", path: "/api/v1/whoami", body: `{}`})
	assert.Equal(t, http.StatusMethodNotAllowed, res.status)
	assert.Equal(t, "GET", res.header.Get("Allow"))
	assert.Contains(t, h.logs.String(), `"op":"whoami"`)
	h.assertNoValues(h.tokens["alice"], h.tokens["admin"])
}

// TestEveryRouteRefusesUnknownQueryParameters: a parameter a route does not
// take is a 400 naming it, before anything is read or changed; it used to be
// ignored (GET /secrets/{id}?version=1 answered the current version before
// versions were kept).
func TestEveryRouteRefusesUnknownQueryParameters(t *testing.T) {
	h := newHarness(t)
	sec := h.create("alice", "kept", false, map[string]string{"k": "VALUE-query-1"})
	tokenID := "0190b5a2-7c3e-7d1a-9c1e-2f3a4b5c6d7e"
	cases := []request{
		{user: "alice", method: "POST", path: "/api/v1/secrets?bogus=1", body: `{"name":"new"}`},
		{user: "alice", method: "GET", path: "/api/v1/secrets?bogus=1"},
		{user: "alice", method: "GET", path: "/api/v1/secrets/" + sec.ID + "/versions?bogus=1"},
		{user: "alice", method: "GET", path: "/api/v1/secrets/" + sec.ID + "?bogus=1"},
		{user: "alice", method: "GET", path: "/api/v1/secrets/" + sec.ID + "?bogus"},
		{user: "alice", method: "PATCH", path: "/api/v1/secrets/" + sec.ID + "?bogus=1", body: `{"name":"renamed"}`},
		{user: "alice", method: "DELETE", path: "/api/v1/secrets/" + sec.ID + "?bogus=1"},
		{user: "admin", method: "POST", path: "/api/v1/tokens?bogus=1", body: `{"user":"carol"}`},
		{user: "admin", method: "GET", path: "/api/v1/tokens?bogus=1"},
		{user: "admin", method: "DELETE", path: "/api/v1/tokens/" + tokenID + "?bogus=1"},
		{user: "alice", method: "DELETE", path: "/api/v1/tokens/self?bogus=1"},
		{user: "alice", method: "GET", path: "/api/v1/whoami?bogus=1"},
		{method: "GET", path: "/healthz?bogus=1"},
	}
	for _, req := range cases {
		t.Run(req.method+" "+req.path, func(t *testing.T) {
			res := h.do(req)
			assert.Equal(t, http.StatusBadRequest, res.status, string(res.body))
			code, msg := res.errorOf(t)
			assert.Equal(t, "invalid_argument", code)
			assert.Contains(t, msg, "unknown query parameter")
		})
	}
	t.Run("malformed query", func(t *testing.T) {
		res := h.do(request{user: "alice", method: "GET", path: "/api/v1/secrets/" + sec.ID + "?a=%zz"})
		assert.Equal(t, http.StatusBadRequest, res.status)
		_, msg := res.errorOf(t)
		assert.Contains(t, msg, "malformed")
	})
	t.Run("authentication comes first", func(t *testing.T) {
		res := h.do(request{method: "GET", path: "/api/v1/secrets/" + sec.ID + "?bogus=1"})
		assert.Equal(t, http.StatusUnauthorized, res.status)
	})
	assert.Equal(t, []string{"kept"}, h.listNames("alice", ""), "nothing was created, renamed or deleted")
	res := h.do(request{user: "alice", method: "GET", path: "/api/v1/secrets/" + sec.ID})
	assert.Equal(t, `"1"`, res.header.Get("ETag"), "nothing was changed")
	res = h.do(request{user: "admin", method: "GET", path: "/api/v1/tokens"})
	assert.NotContains(t, string(res.body), "carol", "no token was minted")
	res = h.do(request{user: "alice", method: "GET", path: "/api/v1/whoami"})
	assert.Equal(t, http.StatusOK, res.status, "alice's token was not revoked")
}

// assertSecurityHeaders checks the headers every response carries.
func assertSecurityHeaders(t *testing.T, h http.Header) {
	t.Helper()
	assert.Equal(t, "no-store", h.Get("Cache-Control"))
	assert.Equal(t, "nosniff", h.Get("X-Content-Type-Options"))
}

// nonCanonicalPaths are paths net/http's ServeMux answers with a redirect
// to their cleaned form.
var nonCanonicalPaths = []string{
	"/api/v1//secrets",
	"//api/v1/secrets",
	"/api/v1/secrets/../tokens",
	"/api/v1/secrets/..",
	"/api/v1/./secrets",
	"/api/v1/secrets/.",
	"/./",
	"/api/v1/secrets/%2e%2e/tokens",
	"/api/v1/secrets/%2E/x",
	"/api/v1/secrets%2F..%2Ftokens",
	"/api/v1/secrets/.%2e/",
}

// TestNonCanonicalPathsAreRefusedNotRedirected: such a path used to get a
// 307 with an HTML body and without the API's headers; the API never
// redirects.
func TestNonCanonicalPathsAreRefusedNotRedirected(t *testing.T) {
	h := newHarness(t)
	handlers := map[string]http.Handler{"all routes": h.h, "one operation": h.api.Operation(httpapi.OpList)}
	for name, handler := range handlers {
		for _, method := range []string{"GET", "POST", "DELETE"} {
			for _, path := range nonCanonicalPaths {
				t.Run(name+" "+method+" "+path, func(t *testing.T) {
					r := httptest.NewRequest(method, path, nil)
					r.Header.Set("Authorization", "Bearer "+h.tokens["alice"])
					w := httptest.NewRecorder()
					handler.ServeHTTP(w, r)
					res := response{status: w.Code, header: w.Header(), body: w.Body.Bytes()}
					assert.Equal(t, http.StatusBadRequest, res.status, string(res.body))
					assert.Empty(t, res.header.Get("Location"))
					code, msg := res.errorOf(t)
					assert.Equal(t, "invalid_argument", code)
					assert.Contains(t, msg, "not canonical")
					assertSecurityHeaders(t, res.header)
				})
			}
		}
	}
	// A real server, as the local server runs it: nothing on the way
	// cleans the path either.
	srv := httptest.NewServer(h.h)
	t.Cleanup(srv.Close)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, path := range nonCanonicalPaths {
		t.Run("server "+path, func(t *testing.T) {
			req, err := http.NewRequest("GET", srv.URL+path, nil)
			require.NoError(t, err)
			resp, err := client.Do(req)
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			require.NoError(t, err)
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode, string(body))
			assert.Equal(t, "application/json; charset=utf-8", resp.Header.Get("Content-Type"))
			assertSecurityHeaders(t, resp.Header)
		})
	}
	// Canonical paths, a trailing slash included, are routed as before.
	assert.Equal(t, http.StatusOK, h.do(request{user: "alice", method: "GET", path: "/api/v1/secrets"}).status)
	assert.Equal(t, http.StatusNotFound, h.do(request{user: "alice", method: "GET", path: "/api/v1/secrets/"}).status)
}

// TestPurgeExpiredIsForAdmins: the scheduled purge's route destroys only
// deleted secrets whose window has ended, and only admins may call it.
func TestPurgeExpiredIsForAdmins(t *testing.T) {
	h := newHarness(t)
	res := h.do(request{user: "alice", method: "POST", path: "/api/v1/admin/purge"})
	assert.Equal(t, http.StatusForbidden, res.status)
	sec := h.create("alice", "recent", false, map[string]string{"k": "v"})
	require.Equal(t, http.StatusOK, h.do(request{user: "alice", method: "DELETE", path: "/api/v1/secrets/" + sec.ID}).status)
	res = h.do(request{user: "admin", method: "POST", path: "/api/v1/admin/purge"})
	require.Equal(t, http.StatusOK, res.status, string(res.body))
	assert.JSONEq(t, `{"purged":0}`, string(res.body), "a secret within its recovery window is kept")
	res = h.do(request{user: "alice", method: "POST", path: "/api/v1/secrets/" + sec.ID + "/restore"})
	assert.Equal(t, http.StatusOK, res.status, "and can still be restored")
}

// TestHistoryAPI walks the history routes: versions without values, a kept
// version with its values and ETag, rollback with If-Match, list of deleted
// secrets, and a restore that meets a taken name (409) then takes a new one.
func TestHistoryAPI(t *testing.T) {
	h := newHarness(t)
	sec := h.create("alice", "hist", false, map[string]string{"password": "HIST-VALUE-1"})
	for i := 2; i <= 3; i++ {
		res := h.do(request{user: "bob", method: "PATCH", path: "/api/v1/secrets/" + sec.ID, body: fmt.Sprintf(`{"values":{"password":"HIST-VALUE-%d"}}`, i)})
		require.Equal(t, http.StatusOK, res.status, string(res.body))
	}
	res := h.do(request{user: "alice", method: "GET", path: "/api/v1/secrets/" + sec.ID + "/versions"})
	require.Equal(t, http.StatusOK, res.status, string(res.body))
	var versions struct {
		Items []struct {
			Version   int64    `json:"version"`
			Principal string   `json:"principal"`
			Operation string   `json:"operation"`
			Changed   []string `json:"changed"`
			Current   bool     `json:"current"`
		} `json:"items"`
	}
	require.NoError(t, json.Unmarshal(res.body, &versions))
	require.Len(t, versions.Items, 3)
	assert.Equal(t, int64(3), versions.Items[0].Version)
	assert.True(t, versions.Items[0].Current)
	assert.Equal(t, "bob", versions.Items[0].Principal)
	assert.Equal(t, []string{"password"}, versions.Items[0].Changed)
	assert.Equal(t, "create", versions.Items[2].Operation)
	assert.NotContains(t, string(res.body), "HIST-VALUE", "versions never carry values")

	res = h.do(request{user: "alice", method: "GET", path: "/api/v1/secrets/" + sec.ID + "?version=1"})
	require.Equal(t, http.StatusOK, res.status)
	assert.Equal(t, `"1"`, res.header.Get("ETag"))
	secrettest.AssertSameValues(t, map[string]string{"password": "HIST-VALUE-1"}, decodeSecret(t, res).Values)
	for _, bad := range []string{"0", "x", "1&version=2"} {
		res = h.do(request{user: "alice", method: "GET", path: "/api/v1/secrets/" + sec.ID + "?version=" + bad})
		assert.Equal(t, http.StatusBadRequest, res.status, bad)
	}
	assert.Equal(t, http.StatusNotFound, h.do(request{user: "alice", method: "GET", path: "/api/v1/secrets/" + sec.ID + "?version=9"}).status)

	res = h.do(request{user: "alice", method: "POST", path: "/api/v1/secrets/" + sec.ID + "/rollback", body: `{"version":1}`, headers: map[string]string{"If-Match": `"2"`}})
	assert.Equal(t, http.StatusPreconditionFailed, res.status)
	res = h.do(request{user: "alice", method: "POST", path: "/api/v1/secrets/" + sec.ID + "/rollback", body: `{"version":"1"}`})
	assert.Equal(t, http.StatusBadRequest, res.status, "a version is a number")
	res = h.do(request{user: "alice", method: "POST", path: "/api/v1/secrets/" + sec.ID + "/rollback", body: `{"version":1}`, headers: map[string]string{"If-Match": `"3"`}})
	require.Equal(t, http.StatusOK, res.status, string(res.body))
	assert.Equal(t, `"4"`, res.header.Get("ETag"))
	res = h.do(request{user: "alice", method: "GET", path: "/api/v1/secrets/" + sec.ID})
	secrettest.AssertSameValues(t, map[string]string{"password": "HIST-VALUE-1"}, decodeSecret(t, res).Values)

	require.Equal(t, http.StatusOK, h.do(request{user: "alice", method: "DELETE", path: "/api/v1/secrets/" + sec.ID}).status)
	res = h.do(request{user: "bob", method: "GET", path: "/api/v1/secrets?deleted=true"})
	require.Equal(t, http.StatusOK, res.status)
	assert.Contains(t, string(res.body), `"purge_after"`)
	assert.Contains(t, string(res.body), sec.ID)
	h.create("bob", "hist", false, nil)
	res = h.do(request{user: "alice", method: "POST", path: "/api/v1/secrets/" + sec.ID + "/restore"})
	assert.Equal(t, http.StatusConflict, res.status, "the name was taken meanwhile")
	res = h.do(request{user: "alice", method: "POST", path: "/api/v1/secrets/" + sec.ID + "/restore", body: `{"name":"hist-2"}`})
	require.Equal(t, http.StatusOK, res.status, string(res.body))
	assert.Equal(t, "hist-2", decodeSecret(t, res).Name)
	h.assertNoValues("HIST-VALUE-1")
}
