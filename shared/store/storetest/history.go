package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/secret"
	"github.com/lockwell/lockwell/shared/secret/secrettest"
	"github.com/lockwell/lockwell/shared/store"
)

var admin = identity.Principal{Name: "root", Role: identity.Admin}

// testHistoryLifecycle is the sequence through the store: 30
// updates, read version 12, roll back to it, delete, restore, purge.
func testHistoryLifecycle(t *testing.T, st *store.Store) {
	ctx := context.Background()
	sec, err := st.Create(ctx, alice, store.CreateRequest{Name: "lifecycle", Values: map[string]string{"n": "1", "keep": "x"}})
	require.NoError(t, err)
	id := sec.ID
	for i := 2; i <= 31; i++ {
		who := alice
		if i%2 == 0 {
			who = bob
		}
		_, err := st.Update(ctx, who, id, store.UpdateRequest{Values: map[string]*string{"n": ptr(fmt.Sprint(i))}})
		require.NoError(t, err, "update %d", i)
	}

	vs, err := st.Versions(ctx, alice, id)
	require.NoError(t, err)
	require.Len(t, vs, store.DefaultKeepVersions, "the default retention")
	assert.Equal(t, int64(31), vs[0].Version)
	assert.True(t, vs[0].Current)
	assert.Equal(t, int64(12), vs[len(vs)-1].Version, "the oldest kept version")
	assert.Equal(t, "bob", vs[len(vs)-1].Principal, "version 12 was bob's")
	assert.Equal(t, secret.OpUpdate, vs[0].Operation)
	assert.Equal(t, []string{"n"}, vs[0].Changed)

	v12, err := st.GetVersion(ctx, alice, id, 12)
	require.NoError(t, err)
	secrettest.RequireSameValues(t, map[string]string{"n": "12", "keep": "x"}, v12.Values)
	_, err = st.GetVersion(ctx, alice, id, 11)
	assert.Equal(t, errcode.NotFound, errcode.Of(err), "a pruned version")

	_, err = st.Rollback(ctx, alice, id, store.RollbackRequest{Version: 12, IfMatch: 30})
	assert.Equal(t, errcode.FailedPrecondition, errcode.Of(err), "a rollback with a stale If-Match")
	rolled, err := st.Rollback(ctx, alice, id, store.RollbackRequest{Version: 12, IfMatch: 31})
	require.NoError(t, err)
	assert.Equal(t, int64(32), rolled.Version, "a rollback makes a new version")
	cur, err := st.Get(ctx, alice, id)
	require.NoError(t, err)
	secrettest.RequireSameValues(t, v12.Values, cur.Values, "the rollback copies version 12's values")
	vs, err = st.Versions(ctx, alice, id)
	require.NoError(t, err)
	assert.Equal(t, secret.OpRollback, vs[0].Operation)
	assert.Equal(t, int64(12), vs[0].From)

	deleted, err := st.Delete(ctx, bob, id, store.DeleteRequest{})
	require.NoError(t, err)
	require.NotNil(t, deleted, "a delete with a recovery window returns the deleted secret")
	assert.Equal(t, store.DefaultRecoveryWindow, deleted.PurgeAfter.Sub(deleted.Deleted))
	_, err = st.Get(ctx, alice, id)
	assert.Equal(t, errcode.NotFound, errcode.Of(err), "a deleted secret is gone for get")
	_, err = st.Lookup(ctx, alice, "lifecycle")
	assert.Equal(t, errcode.NotFound, errcode.Of(err), "and for lookup")
	page, err := st.List(ctx, alice, store.ListRequest{Deleted: true})
	require.NoError(t, err)
	require.Len(t, page.Items, 1, "listed as deleted")
	assert.Equal(t, id, page.Items[0].ID)

	taker, err := st.Create(ctx, bob, store.CreateRequest{Name: "lifecycle"})
	require.NoError(t, err, "the name of a deleted secret is free")
	_, err = st.Restore(ctx, alice, id, store.RestoreRequest{})
	assert.Equal(t, errcode.AlreadyExists, errcode.Of(err), "restore onto a taken name")
	restored, err := st.Restore(ctx, alice, id, store.RestoreRequest{Name: ptr("lifecycle-restored")})
	require.NoError(t, err)
	assert.Equal(t, "lifecycle-restored", restored.Name)
	cur, err = st.Get(ctx, alice, id)
	require.NoError(t, err)
	secrettest.RequireSameValues(t, v12.Values, cur.Values, "a restore keeps the values")
	_, err = st.Restore(ctx, alice, id, store.RestoreRequest{})
	assert.Equal(t, errcode.FailedPrecondition, errcode.Of(err), "restore of a live secret")

	_, err = st.Delete(ctx, bob, id, store.DeleteRequest{Purge: true})
	assert.Equal(t, errcode.PermissionDenied, errcode.Of(err), "only the owner or an admin purges")
	gone, err := st.Delete(ctx, admin, id, store.DeleteRequest{Purge: true})
	require.NoError(t, err)
	assert.Nil(t, gone, "a purge returns nothing")
	_, err = st.Versions(ctx, alice, id)
	assert.Equal(t, errcode.NotFound, errcode.Of(err), "nothing is left after a purge")
	_, err = st.Restore(ctx, alice, id, store.RestoreRequest{})
	assert.Equal(t, errcode.NotFound, errcode.Of(err), "a purged secret cannot be restored")
	_, err = st.Get(ctx, bob, taker.ID)
	require.NoError(t, err, "the other secret of the name is untouched")
}

// testPrivateHistory: a private secret's history and deleted entry exist
// only for its owner; a version made while private stays the owner's after
// the secret is made public.
func testPrivateHistory(t *testing.T, st *store.Store) {
	ctx := context.Background()
	sec, err := st.Create(ctx, alice, store.CreateRequest{Name: "private-history", Private: true, Values: map[string]string{"k": "private"}})
	require.NoError(t, err)
	_, err = st.Versions(ctx, bob, sec.ID)
	assert.Equal(t, errcode.NotFound, errcode.Of(err))
	_, err = st.Update(ctx, alice, sec.ID, store.UpdateRequest{Private: ptrBool(false), Values: map[string]*string{"k": ptr("public")}})
	require.NoError(t, err)
	_, err = st.GetVersion(ctx, bob, sec.ID, 1)
	assert.Equal(t, errcode.NotFound, errcode.Of(err), "a version made while private stays private")
	vs, err := st.Versions(ctx, bob, sec.ID)
	require.NoError(t, err)
	require.Len(t, vs, 1, "others see only the public versions")
	_, err = st.Rollback(ctx, bob, sec.ID, store.RollbackRequest{Version: 1})
	assert.Equal(t, errcode.NotFound, errcode.Of(err), "nor roll back to one")

	mine, err := st.Create(ctx, alice, store.CreateRequest{Name: "private-deleted", Private: true})
	require.NoError(t, err)
	_, err = st.Delete(ctx, alice, mine.ID, store.DeleteRequest{})
	require.NoError(t, err)
	page, err := st.List(ctx, bob, store.ListRequest{Deleted: true, Name: "private-deleted"})
	require.NoError(t, err)
	assert.Empty(t, page.Items, "a deleted private secret is listed only for its owner")
	_, err = st.Restore(ctx, bob, mine.ID, store.RestoreRequest{})
	assert.Equal(t, errcode.NotFound, errcode.Of(err), "and restored only by its owner")
}

func ptrBool(b bool) *bool { return &b }
