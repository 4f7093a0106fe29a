package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestIdempotentRetriesAfterOtherWrites is the sequence of issue 10: every
// retry inside the retention gets the first response (status, body, ETag,
// Location) whatever happened to the secret since, and changes nothing.
func TestIdempotentRetriesAfterOtherWrites(t *testing.T) {
	h := newHarness(t)
	created := h.do(request{user: "alice", method: "POST", path: "/api/v1/secrets", body: `{"name":"idem1","values":{"a":"0"}}`})
	require.Equal(t, http.StatusCreated, created.status)
	id := decodeSecret(t, created).ID
	path := "/api/v1/secrets/" + id
	k1 := map[string]string{"Idempotency-Key": "K1-issue10"}

	first := h.do(request{user: "alice", method: "PATCH", path: path, body: `{"values":{"a":"1"}}`, headers: k1})
	require.Equal(t, http.StatusOK, first.status)
	other := h.do(request{user: "alice", method: "PATCH", path: path, body: `{"values":{"a":"2"}}`})
	require.Equal(t, http.StatusOK, other.status)
	retry := h.do(request{user: "alice", method: "PATCH", path: path, body: `{"values":{"a":"1"}}`, headers: k1})
	require.Equal(t, http.StatusOK, retry.status)
	assert.JSONEq(t, string(first.body), string(retry.body), "the retry gets the v2 result")
	assert.Equal(t, first.header.Get("ETag"), retry.header.Get("ETag"))
	assert.Equal(t, `"2"`, retry.header.Get("ETag"))

	got := h.do(request{user: "alice", method: "GET", path: path})
	require.Equal(t, http.StatusOK, got.status)
	body := decodeSecret(t, got)
	assert.Equal(t, int64(3), body.Version, "the retry made no version")
	assert.True(t, body.Values["a"] == "2", "the a=2 write is kept")

	// A retried POST after someone else's update, and after a delete.
	ck := map[string]string{"Idempotency-Key": "K2-issue10"}
	post := h.do(request{user: "alice", method: "POST", path: "/api/v1/secrets", body: `{"name":"idem2","values":{"a":"0"}}`, headers: ck})
	require.Equal(t, http.StatusCreated, post.status)
	id2 := decodeSecret(t, post).ID
	require.Equal(t, http.StatusOK, h.do(request{user: "bob", method: "PATCH", path: "/api/v1/secrets/" + id2, body: `{"values":{"b":"1"}}`}).status)
	again := h.do(request{user: "alice", method: "POST", path: "/api/v1/secrets", body: `{"name":"idem2","values":{"a":"0"}}`, headers: ck})
	require.Equal(t, http.StatusCreated, again.status, "the client learns that its create succeeded")
	assert.JSONEq(t, string(post.body), string(again.body))
	assert.Equal(t, post.header.Get("Location"), again.header.Get("Location"))
	assert.Equal(t, post.header.Get("ETag"), again.header.Get("ETag"))

	require.Equal(t, http.StatusOK, h.do(request{user: "alice", method: "DELETE", path: "/api/v1/secrets/" + id2}).status)
	afterDelete := h.do(request{user: "alice", method: "POST", path: "/api/v1/secrets", body: `{"name":"idem2","values":{"a":"0"}}`, headers: ck})
	require.Equal(t, http.StatusCreated, afterDelete.status)
	assert.JSONEq(t, string(post.body), string(afterDelete.body), "the first result again")
	assert.Equal(t, []string{}, h.listNames("alice", "name=idem2"), "no second secret was created")
}
