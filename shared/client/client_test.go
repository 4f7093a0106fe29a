package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/retry"
	"github.com/lockwell/lockwell/shared/secret"
	"github.com/lockwell/lockwell/shared/secretref"
)

// A Client resolves references: secretref.Source is LookupSecret.
var _ secretref.Source = (*Client)(nil)

// These tests pin the client's side of the wire protocol of issue 2 with
// small handlers; the CLI's end-to-end tests run the client against the real
// server.

const testToken = "lw_test-token-value"

var fastRetry = WithRetryPolicy(retry.Policy{Attempts: 4, Base: time.Millisecond, Max: 2 * time.Millisecond})

func newTestClient(t *testing.T, h http.HandlerFunc, opts ...Option) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := New(srv.URL, BearerToken(testToken), append([]Option{fastRetry}, opts...)...)
	require.NoError(t, err)
	return c
}

func writeAPIError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

const id1 = "0190b5a2-7c3e-7d1a-9c1e-2f3a4b5c6d7e"
const id2 = "0190b5a2-7c3e-7d1a-9c1e-2f3a4b5c6d7f"

func TestErrorsCarryTheAPICode(t *testing.T) {
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		writeAPIError(w, 404, "not_found", "secret "+id1+" not found")
	})
	_, err := c.GetSecret(context.Background(), id1)
	require.Error(t, err)
	assert.Equal(t, errcode.NotFound, errcode.Of(err))
	assert.Equal(t, "secret "+id1+" not found", errcode.Message(err))
	var apiErr *APIError
	require.True(t, errors.As(err, &apiErr))
	assert.Equal(t, 404, apiErr.Status)
}

// A gateway's error body may quote request headers; it is never echoed.
func TestForeignErrorBodiesAreNotEchoed(t *testing.T) {
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `{"message":"The request signature we calculated does not match. x-amz-security-token:SESSION-SECRET"}`)
	})
	_, err := c.GetSecret(context.Background(), id1)
	require.Error(t, err)
	assert.Equal(t, errcode.PermissionDenied, errcode.Of(err))
	assert.NotContains(t, err.Error(), "SESSION-SECRET")
	assert.Contains(t, err.Error(), "HTTP 403")
}

// A gateway's or proxy's 415 without the API's error body still has the
// code the API gives a 415.
func TestForeignUnsupportedMediaTypeHasItsOwnCode(t *testing.T) {
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnsupportedMediaType)
		_, _ = io.WriteString(w, "<html>Unsupported Media Type</html>")
	})
	_, err := c.CreateSecret(context.Background(), NewSecret{Name: "db", Values: map[string]string{"k": "v"}})
	assert.Equal(t, errcode.UnsupportedMediaType, errcode.Of(err))
}

func TestRetriesUnavailableReads(t *testing.T) {
	var calls atomic.Int32
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) < 3 {
			writeAPIError(w, 503, "unavailable", "database busy")
			return
		}
		w.Header().Set("ETag", `"7"`)
		_ = json.NewEncoder(w).Encode(map[string]any{"id": id1, "name": "db", "version": 7, "values": map[string]string{"k": "v"}, "keys": []string{"k"}})
	})
	s, err := c.GetSecret(context.Background(), id1)
	require.NoError(t, err)
	assert.EqualValues(t, 3, calls.Load())
	assert.EqualValues(t, 7, s.Version)
	assert.Equal(t, []string{"k"}, s.Keys)
}

func TestDoesNotRetryOtherErrors(t *testing.T) {
	var calls atomic.Int32
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		writeAPIError(w, 409, "already_exists", "a public secret named db already exists")
	})
	_, err := c.CreateSecret(context.Background(), NewSecret{Name: "db", Values: map[string]string{"k": "v"}})
	assert.Equal(t, errcode.AlreadyExists, errcode.Of(err))
	assert.EqualValues(t, 1, calls.Load())
}

// Creates and updates carry one Idempotency-Key across every attempt, so the
// server applies them once; token creation is never retried.
func TestWritesRetryWithOneIdempotencyKey(t *testing.T) {
	var mu sync.Mutex
	keys := map[string][]string{}
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		keys[r.Method] = append(keys[r.Method], r.Header.Get("Idempotency-Key"))
		n := len(keys[r.Method])
		mu.Unlock()
		if n == 1 {
			writeAPIError(w, 503, "unavailable", "try again")
			return
		}
		switch r.Method {
		case http.MethodPost:
			if r.URL.Path == "/api/v1/tokens" {
				t.Error("token creation was retried")
			}
			w.WriteHeader(201)
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"id": id1, "name": "db", "version": 2, "keys": []string{}})
	})
	ctx := context.Background()
	_, err := c.CreateSecret(ctx, NewSecret{Name: "db", Values: map[string]string{"k": "v"}})
	require.NoError(t, err)
	_, err = c.UpdateSecret(ctx, id1, Update{Values: map[string]*string{"k": Set("w")}})
	require.NoError(t, err)
	for _, m := range []string{http.MethodPost, http.MethodPatch} {
		require.Len(t, keys[m], 2, m)
		assert.NotEmpty(t, keys[m][0])
		assert.Equal(t, keys[m][0], keys[m][1], "%s must resend the same Idempotency-Key", m)
	}

	mu.Lock()
	keys = map[string][]string{}
	mu.Unlock()
	_, err = c.CreateToken(ctx, "alice", "member")
	assert.Equal(t, errcode.Unavailable, errcode.Of(err))
	assert.Len(t, keys[http.MethodPost], 1)
	assert.Empty(t, keys[http.MethodPost][0], "tokens are not sent with an Idempotency-Key")
}

func TestUpdateBodyAndIfMatch(t *testing.T) {
	var body map[string]any
	var ifm string
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		ifm = r.Header.Get("If-Match")
		require.NoError(t, json.NewDecoder(r.Body).Decode(&body))
		writeAPIError(w, 412, "failed_precondition", "the secret is at version 4, not 3")
	})
	_, err := c.UpdateSecret(context.Background(), id1, Update{
		Private: Set(false),
		Values:  map[string]*string{"add": Set(""), "gone": nil},
		IfMatch: 3,
	})
	assert.Equal(t, errcode.FailedPrecondition, errcode.Of(err))
	assert.Equal(t, `"3"`, ifm)
	_, hasName := body["name"]
	assert.False(t, hasName, "unset fields are not sent")
	assert.Equal(t, false, body["private"])
	values := body["values"].(map[string]any)
	assert.Contains(t, values, "gone")
	assert.Nil(t, values["gone"], "a removed key is sent as null")
	assert.Equal(t, "", values["add"])
}

func TestDeleteAfterUncertainAttempt(t *testing.T) {
	var calls atomic.Int32
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 { // deleted, but the response was lost
			writeAPIError(w, 503, "unavailable", "timeout")
			return
		}
		writeAPIError(w, 404, "not_found", "gone")
	})
	require.NoError(t, c.DeleteSecret(context.Background(), id1))

	c = newTestClient(t, func(w http.ResponseWriter, r *http.Request) { writeAPIError(w, 404, "not_found", "gone") })
	assert.Equal(t, errcode.NotFound, errcode.Of(c.DeleteSecret(context.Background(), id1)))
}

func TestTransportErrorsAreUnavailable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	c, err := New(srv.URL, BearerToken(testToken), fastRetry)
	require.NoError(t, err)
	_, err = c.GetSecret(context.Background(), id1)
	require.Error(t, err)
	assert.Equal(t, errcode.Unavailable, errcode.Of(err))
	assert.Contains(t, errcode.Message(err), "cannot reach")
	assert.NotContains(t, err.Error(), testToken)
}

// TestContextDeadlineBoundsRetries: a server that never answers would hold
// each of the ten attempts for a minute; the caller's 100ms deadline ends
// the call instead. The one-minute watchdog fails a client that ignores the
// deadline without depending on how fast the machine is.
func TestContextDeadlineBoundsRetries(t *testing.T) {
	var calls atomic.Int64
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		select {
		case <-r.Context().Done():
		case <-time.After(time.Minute):
		}
	}, WithRetryPolicy(retry.Policy{Attempts: 10, Base: 10 * time.Millisecond}))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := c.GetSecret(ctx, id1)
		done <- err
	}()
	select {
	case err := <-done:
		assert.Equal(t, errcode.Unavailable, errcode.Of(err))
		assert.LessOrEqual(t, calls.Load(), int64(1), "no attempt after the deadline")
	case <-time.After(time.Minute):
		t.Fatal("the call outlived its 100ms deadline by a minute")
	}
}

func TestBadIDsNeverReachTheServer(t *testing.T) {
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) { t.Error("request sent") })
	for _, id := range []string{"", "../tokens", "0190B5A2-7C3E-7D1A-9C1E-2F3A4B5C6D7E", "db"} {
		_, err := c.GetSecret(context.Background(), id)
		assert.Equal(t, errcode.InvalidArgument, errcode.Of(err), id)
	}
	_, err := c.CreateSecret(context.Background(), NewSecret{Name: "bad name"})
	assert.Equal(t, errcode.InvalidArgument, errcode.Of(err))
}

func TestParseServerURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:8080":          "http://127.0.0.1:8080",
		"https://h.example/prod/":        "https://h.example/prod",
		"https://h.example/prod/api/v1/": "https://h.example/prod",
		" http://h ":                     "http://h",
	} {
		u, err := ParseServerURL(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, u.String())
	}
	for _, bad := range []string{"", "h:8080", "ftp://h", "https://user:pw@h", "https://h?token=x", "https://h#f"} {
		_, err := ParseServerURL(bad)
		require.Error(t, err, bad)
		assert.NotContains(t, err.Error(), "pw")
		assert.NotContains(t, err.Error(), "token=x")
	}
}

func TestListPagesAndFilters(t *testing.T) {
	var queries []string
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		queries = append(queries, r.URL.RawQuery)
		switch r.URL.Query().Get("page_token") {
		case "":
			_ = json.NewEncoder(w).Encode(map[string]any{"items": []map[string]any{{"id": id1, "name": "a"}}, "next_page_token": "t2"})
		case "t2":
			_ = json.NewEncoder(w).Encode(map[string]any{"items": []map[string]any{{"id": id2, "name": "b"}}})
		}
	})
	var names []string
	for s, err := range c.AllSecrets(context.Background(), ListOptions{NamePrefix: "a b", Private: Set(true), Sort: "-created", PageSize: 1}) {
		require.NoError(t, err)
		names = append(names, s.Name)
	}
	assert.Equal(t, []string{"a", "b"}, names)
	assert.Equal(t, []string{"name_prefix=a+b&page_size=1&private=true&sort=-created", "name_prefix=a+b&page_size=1&page_token=t2&private=true&sort=-created"}, queries)
}

// lookupServer answers exact-name lists with the secrets it holds, as the
// real server does for the caller (only the caller's private secrets and
// the public ones are visible).
func lookupServer(t *testing.T, items []*secret.Secret) *Client {
	return newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+testToken {
			writeAPIError(w, 401, "unauthenticated", "bad token")
			return
		}
		if strings.HasPrefix(r.URL.Path, "/api/v1/secrets/") {
			id := strings.TrimPrefix(r.URL.Path, "/api/v1/secrets/")
			for _, s := range items {
				if s.ID == id {
					c := *s
					c.Values = map[string]string{"k": "v"}
					_ = json.NewEncoder(w).Encode(&c)
					return
				}
			}
			writeAPIError(w, 404, "not_found", "no such secret")
			return
		}
		q := r.URL.Query()
		out := []*secret.Secret{}
		for _, s := range items {
			if s.Name == q.Get("name") && (q.Get("private") == "" || q.Get("private") == map[bool]string{true: "true", false: "false"}[s.Private]) {
				out = append(out, s)
			}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"items": out})
	})
}

func TestFindSecretPrivateFirst(t *testing.T) {
	ctx := context.Background()
	c := lookupServer(t, []*secret.Secret{
		{ID: id1, Name: "db", Private: false},
		{ID: id2, Name: "db", Private: true},
		{ID: "0190b5a2-7c3e-7d1a-9c1e-000000000001", Name: "pub", Private: false},
		{ID: "0190b5a2-7c3e-7d1a-9c1e-000000000002", Name: id1, Private: false}, // a name that looks like an id
	})
	s, err := c.FindSecret(ctx, "db")
	require.NoError(t, err)
	assert.Equal(t, id2, s.ID, "the private secret shadows the public one")

	s, err = c.FindSecretByName(ctx, "db", OnlyPublic)
	require.NoError(t, err)
	assert.Equal(t, id1, s.ID)

	s, err = c.FindSecret(ctx, "pub")
	require.NoError(t, err)
	assert.False(t, s.Private)

	s, err = c.FindSecret(ctx, id1)
	require.NoError(t, err)
	assert.Equal(t, "db", s.Name, "a full UUID is an id first")

	s, err = c.GetSecretByName(ctx, "pub")
	require.NoError(t, err)
	assert.NotNil(t, s.Values)

	_, err = c.FindSecret(ctx, "nope")
	assert.Equal(t, errcode.NotFound, errcode.Of(err))
	assert.Equal(t, "no secret named nope: neither a private one of yours nor a public one", errcode.Message(err))

	_, err = c.FindSecretByName(ctx, "pub", OnlyPrivate)
	assert.Equal(t, "you have no private secret named pub", errcode.Message(err))
}

func TestFindSecretAmbiguity(t *testing.T) {
	c := lookupServer(t, []*secret.Secret{{ID: id1, Name: "db"}, {ID: id2, Name: "db"}})
	_, err := c.FindSecret(context.Background(), "db")
	require.Error(t, err)
	assert.Equal(t, "2 public secrets are named db; use one of their ids: "+id1+", "+id2, errcode.Message(err))
}

func TestTokenSourceAndGoogleIDToken(t *testing.T) {
	var auth string
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		auth = r.Header.Get("Authorization")
		_ = json.NewEncoder(w).Encode(map[string]any{"items": []any{}})
	})
	c.auth = TokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "id-token"}))
	_, err := c.ListSecrets(context.Background(), ListOptions{}, "")
	require.NoError(t, err)
	assert.Equal(t, "Bearer id-token", auth)

	_, err = GoogleIDToken(context.Background(), "")
	assert.Equal(t, errcode.InvalidArgument, errcode.Of(err))
}

func TestOriginAndReplaceValuesOnTheWire(t *testing.T) {
	var mu sync.Mutex
	var bodies []map[string]any
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		require.NoError(t, json.NewDecoder(r.Body).Decode(&body))
		mu.Lock()
		bodies = append(bodies, body)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"id": id1, "name": "db", "version": 1, "keys": []string{"k"}, "origin": "zenml-local:///x#none/db"})
	})
	ctx := context.Background()
	s, err := c.CreateSecret(ctx, NewSecret{Name: "db", Values: map[string]string{"k": "v"}, Origin: "zenml-local:///x#none/db"})
	require.NoError(t, err)
	assert.Equal(t, "zenml-local:///x#none/db", s.Origin, "the origin is decoded from the metadata")
	_, err = c.CreateSecret(ctx, NewSecret{Name: "db2"})
	require.NoError(t, err)
	_, err = c.UpdateSecret(ctx, id1, Update{Values: map[string]*string{"k": Set("w")}, ReplaceValues: true, Origin: Set("o2")})
	require.NoError(t, err)
	_, err = c.UpdateSecret(ctx, id1, Update{Origin: Set("")})
	require.NoError(t, err)
	require.Len(t, bodies, 4)
	assert.Equal(t, "zenml-local:///x#none/db", bodies[0]["origin"])
	assert.NotContains(t, bodies[1], "origin", "no origin is sent for a user's secret")
	assert.Equal(t, true, bodies[2]["replace_values"])
	assert.Equal(t, "o2", bodies[2]["origin"])
	assert.Equal(t, map[string]any{"origin": ""}, bodies[3], "an empty origin is sent (it clears); replace_values false is left out")
}

func TestReplaceValuesNeedsACompleteSet(t *testing.T) {
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) { t.Error("request sent") })
	for name, u := range map[string]Update{
		"nil values": {ReplaceValues: true},
		"nil entry":  {ReplaceValues: true, Values: map[string]*string{"k": Set("v"), "gone": nil}},
	} {
		_, err := c.UpdateSecret(context.Background(), id1, u)
		assert.Equal(t, errcode.InvalidArgument, errcode.Of(err), name)
	}
}

func TestWhoAmI(t *testing.T) {
	var calls atomic.Int32
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, http.MethodGet, r.Method)
		assert.Equal(t, "/api/v1/whoami", r.URL.Path)
		assert.Equal(t, "Bearer "+testToken, r.Header.Get("Authorization"))
		if calls.Add(1) == 1 {
			writeAPIError(w, 503, "unavailable", "busy")
			return
		}
		_, _ = io.WriteString(w, `{"user":"alice@example.com","role":"admin"}`)
	})
	p, err := c.WhoAmI(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "alice@example.com", p.Name)
	assert.True(t, p.IsAdmin())
	assert.EqualValues(t, 2, calls.Load(), "a read is retried")

	c = newTestClient(t, func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, `{}`) })
	_, err = c.WhoAmI(context.Background())
	assert.Equal(t, errcode.Internal, errcode.Of(err))
	c = newTestClient(t, func(w http.ResponseWriter, r *http.Request) { writeAPIError(w, 404, "not_found", "no such route") })
	_, err = c.WhoAmI(context.Background())
	assert.Equal(t, errcode.NotFound, errcode.Of(err))
}
