// Package storetest checks, against a real backend, the promises the
// portable store makes on top of the backend contract: idempotent retries
// answered from their record whatever happened to the secret since,
// concurrent unconditional merges that all apply, and history (versions,
// rollback, the recovery window, restore and purge) with its permissions. Every backend's tests run
// it next to backendtest.Run, so each promise is checked on SQLite,
// PostgreSQL, DynamoDB and every index/value-store pairing alike.
//
// Failure messages never print secret values.
package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/backend/backendtest"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/secret/secrettest"
	"github.com/lockwell/lockwell/shared/store"
)

var (
	alice = identity.Principal{Name: "alice", Role: identity.Member}
	bob   = identity.Principal{Name: "bob", Role: identity.Member}
)

// ConcurrentMerges is how many unconditional merges ConcurrentMergesAllApply
// sends at once.
const ConcurrentMerges = 64

// Run runs the checks against stores over the backends open returns.
func Run(t *testing.T, open backendtest.Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, st *store.Store)
	}{
		{"RetriedUpdateAfterAnotherWriteReturnsFirstResult", testRetriedUpdate},
		{"RetriedCreateAfterAnUpdateReturnsFirstResult", testRetriedCreateAfterUpdate},
		{"RetriedCreateAfterDeleteCreatesNothing", testRetriedCreateAfterDelete},
		{"KeyReusedWithAnotherBodyIsRefused", testKeyReused},
		{"KeysArePerPrincipal", testKeysPerPrincipal},
		{"ConcurrentMergesAllApply", testConcurrentMerges},
		{"HistoryLifecycle", testHistoryLifecycle},
		{"PrivateHistory", testPrivateHistory},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, store.New(open(t))) })
	}
}

func ptr(s string) *string { return &s }

// key returns an Idempotency-Key no other run uses (tables may be shared).
func key(what string) string { return what + "-" + fmt.Sprint(time.Now().UnixNano()) }

// The sequence: PATCH with K1, PATCH without a key, PATCH with K1
// again: the retry must return the first result and change nothing.
func testRetriedUpdate(t *testing.T, st *store.Store) {
	ctx := context.Background()
	created, err := st.Create(ctx, alice, store.CreateRequest{Name: "idem1", Values: map[string]string{"a": "0"}})
	require.NoError(t, err)
	k1 := key("k1")
	first, err := st.Update(ctx, alice, created.ID, store.UpdateRequest{Values: map[string]*string{"a": ptr("1")}, IdempotencyKey: k1})
	require.NoError(t, err)
	require.Equal(t, int64(2), first.Version)
	_, err = st.Update(ctx, alice, created.ID, store.UpdateRequest{Values: map[string]*string{"a": ptr("2")}})
	require.NoError(t, err)

	retry, err := st.Update(ctx, alice, created.ID, store.UpdateRequest{Values: map[string]*string{"a": ptr("1")}, IdempotencyKey: k1})
	require.NoError(t, err, "a retry with the same key and body")
	assert.Equal(t, int64(2), retry.Version, "the retry gets the first result (version 2)")
	assert.True(t, first.Updated.Equal(retry.Updated), "the retry gets the first result's time")

	got, err := st.Get(ctx, alice, created.ID)
	require.NoError(t, err)
	assert.Equal(t, int64(3), got.Version, "the retry made no version")
	secrettest.RequireSameValues(t, map[string]string{"a": "2"}, got.Values, "the later write is kept")
}

func testRetriedCreateAfterUpdate(t *testing.T, st *store.Store) {
	ctx := context.Background()
	req := store.CreateRequest{Name: "created-once", Values: map[string]string{"a": "0"}, IdempotencyKey: key("create")}
	first, err := st.Create(ctx, alice, req)
	require.NoError(t, err)
	_, err = st.Update(ctx, bob, first.ID, store.UpdateRequest{Values: map[string]*string{"b": ptr("1")}})
	require.NoError(t, err, "someone else updates the secret")

	retry, err := st.Create(ctx, alice, req)
	require.NoError(t, err, "a retried create learns that its first attempt succeeded, not 409")
	assert.Equal(t, first.ID, retry.ID)
	assert.Equal(t, int64(1), retry.Version, "the first result")
	assert.Equal(t, []string{"a"}, retry.Keys, "the first result's keys")
}

func testRetriedCreateAfterDelete(t *testing.T, st *store.Store) {
	ctx := context.Background()
	req := store.CreateRequest{Name: "deleted-after", Values: map[string]string{"a": "0"}, IdempotencyKey: key("create")}
	first, err := st.Create(ctx, alice, req)
	require.NoError(t, err)
	require.NoError(t, deleteErr(st, ctx, alice, first.ID, 0))

	retry, err := st.Create(ctx, alice, req)
	require.NoError(t, err)
	assert.Equal(t, first.ID, retry.ID, "the retry answers with the first result")
	_, err = st.Lookup(ctx, alice, "deleted-after")
	assert.Equal(t, errcode.NotFound, errcode.Of(err), "the retry created no second secret: %v", err)
}

func testKeyReused(t *testing.T, st *store.Store) {
	ctx := context.Background()
	k := key("reused")
	created, err := st.Create(ctx, alice, store.CreateRequest{Name: "reused", Values: map[string]string{"a": "0"}, IdempotencyKey: k})
	require.NoError(t, err)
	_, err = st.Create(ctx, alice, store.CreateRequest{Name: "reused-other", IdempotencyKey: k})
	assert.Equal(t, errcode.InvalidArgument, errcode.Of(err), "the key with another create body: %v", err)
	_, err = st.Update(ctx, alice, created.ID, store.UpdateRequest{Values: map[string]*string{"a": ptr("1")}, IdempotencyKey: k})
	assert.Equal(t, errcode.InvalidArgument, errcode.Of(err), "the key of a create reused for an update: %v", err)
	_, err = st.Lookup(ctx, alice, "reused-other")
	assert.Equal(t, errcode.NotFound, errcode.Of(err), "nothing was stored for the refused request")
	got, err := st.Get(ctx, alice, created.ID)
	require.NoError(t, err)
	assert.Equal(t, int64(1), got.Version, "nothing was changed by the refused update")
}

func testKeysPerPrincipal(t *testing.T, st *store.Store) {
	ctx := context.Background()
	k := key("shared")
	a, err := st.Create(ctx, alice, store.CreateRequest{Name: "alices", Private: true, IdempotencyKey: k, Values: map[string]string{"a": "0"}})
	require.NoError(t, err)
	b, err := st.Create(ctx, bob, store.CreateRequest{Name: "bobs", Private: true, IdempotencyKey: k, Values: map[string]string{"a": "0"}})
	require.NoError(t, err, "another principal's identical key is another request")
	assert.NotEqual(t, a.ID, b.ID)
}

func testConcurrentMerges(t *testing.T, st *store.Store) {
	// A generous bound, never reached on a working backend; the assertion is
	// that every merge lands, not how fast.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	created, err := st.Create(ctx, alice, store.CreateRequest{Name: "merged", Values: map[string]string{"seed": "0"}})
	require.NoError(t, err)
	errs := make([]error, ConcurrentMerges)
	var wg sync.WaitGroup
	for i := range ConcurrentMerges {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = st.Update(ctx, alice, created.ID, store.UpdateRequest{Values: map[string]*string{fmt.Sprintf("k%02d", i): ptr("v")}})
		}()
	}
	wg.Wait()
	failed := 0
	for i, err := range errs {
		if err != nil {
			failed++
			t.Errorf("merge %d: %s: %s", i, errcode.Of(err), errcode.Message(err))
		}
	}
	require.Zero(t, failed, "unconditional merges that failed")
	got, err := st.Get(ctx, alice, created.ID)
	require.NoError(t, err)
	assert.Equal(t, int64(ConcurrentMerges+1), got.Version, "one version per merge")
	assert.Len(t, got.Keys, ConcurrentMerges+1, "every merge's key, and the seed, are present")
}

// deleteErr deletes as the API does without a purge and returns only the
// error.
func deleteErr(st *store.Store, ctx context.Context, p identity.Principal, id string, ifMatch int64) error {
	_, err := st.Delete(ctx, p, id, store.DeleteRequest{IfMatch: ifMatch})
	return err
}
