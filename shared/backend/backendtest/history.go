package backendtest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/backend"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/secret"
)

// historyTests are the cases of the history contract: past versions,
// retention, the recovery window and expiry. Run runs them.
var historyTests = []struct {
	name string
	fn   func(t *testing.T, b backend.Backend)
}{
	{"ChangeRoundTrips", testChangeRoundTrips},
	{"HistoryKeepsPastVersions", testHistoryKeeps},
	{"HistoryPrunesByCount", testHistoryPrunesByCount},
	{"HistoryPrunesByAge", testHistoryPrunesByAge},
	{"HistoryWithoutKeepKeepsNothing", testHistoryWithoutKeep},
	{"HistoryKeepsNameAndVisibility", testHistoryNameVisibility},
	{"FailedUpdateChangesNoHistory", testFailedUpdateNoHistory},
	{"ConcurrentUpdatesKeepOneHistory", testConcurrentHistory},
	{"DeleteIsAnUpdateThatFreesTheName", testSoftDelete},
	{"DeletedListingVisibility", testDeletedVisibility},
	{"RestoreClaimsTheName", testRestore},
	{"ExpiredListsOnlyExpiredDeleted", testExpired},
	{"PurgeRemovesHistory", testPurge},
}

// WithHistory returns the next version of s with change applied, the change
// record set and keep as its retention.
func WithHistory(s *secret.Secret, keep *secret.Retention, op string, change func(*secret.Secret)) *secret.Secret {
	n := Next(s, change)
	n.Keep = keep
	n.Change = secret.Change{Operation: op, Principal: "alice"}
	if n.Values != nil && s.Values != nil {
		n.Change.Added, n.Change.Removed, n.Change.Changed = secret.Diff(s.Values, n.Values)
	}
	return n
}

func keepN(n int) *secret.Retention { return &secret.Retention{Versions: n} }

// versionNumbers lists the version numbers Versions returns, in its order.
func versionNumbers(t *testing.T, b backend.Backend, id string) []int64 {
	t.Helper()
	vs, err := b.Versions(context.Background(), id)
	require.NoError(t, err, "versions")
	out := make([]int64, len(vs))
	for i, v := range vs {
		out[i] = v.Version
		assert.Nil(t, v.Values, "Versions never returns values (version %d)", v.Version)
	}
	return out
}

// chain creates a secret and updates it n-1 times with keep, setting key
// "v" to the version number each time; it returns every version written.
func chain(t *testing.T, b backend.Backend, name string, n int, keep *secret.Retention) []*secret.Secret {
	t.Helper()
	ctx := context.Background()
	s := New(name, "alice", false, map[string]string{"v": "1", "fixed": "x"})
	s.Change = secret.Change{Operation: secret.OpCreate, Principal: "alice", Added: []string{"fixed", "v"}}
	require.NoError(t, b.Create(ctx, s))
	all := []*secret.Secret{s}
	for i := 2; i <= n; i++ {
		cur := all[len(all)-1]
		next := WithHistory(cur, keep, secret.OpUpdate, func(x *secret.Secret) { x.Values["v"] = fmt.Sprint(i) })
		require.NoError(t, b.Update(ctx, next, cur.Version), "update to version %d", i)
		all = append(all, next)
	}
	return all
}

func testChangeRoundTrips(t *testing.T, b backend.Backend) {
	ctx := context.Background()
	all := chain(t, b, "changes", 2, keepN(5))
	got, err := b.Get(ctx, all[1].ID)
	require.NoError(t, err)
	assert.Equal(t, all[1].Change, got.Change, "Get returns the current version's change")
	first, err := b.GetVersion(ctx, all[0].ID, 1)
	require.NoError(t, err)
	assert.Equal(t, all[0].Change, first.Change, "a past version keeps its change")
	vs, err := b.Versions(ctx, all[0].ID)
	require.NoError(t, err)
	require.Len(t, vs, 2)
	assert.Equal(t, secret.Change{Operation: secret.OpUpdate, Principal: "alice", Changed: []string{"v"}}, vs[0].Change)
	assert.Equal(t, all[0].Change, vs[1].Change)
}

func testHistoryKeeps(t *testing.T, b backend.Backend) {
	ctx := context.Background()
	all := chain(t, b, "kept", 4, keepN(10))
	id := all[0].ID
	assert.Equal(t, []int64{4, 3, 2, 1}, versionNumbers(t, b, id), "every version, newest first")
	for _, want := range all {
		got, err := b.GetVersion(ctx, id, want.Version)
		require.NoError(t, err, "version %d", want.Version)
		sameMetadata(t, want, got)
		SameValues(t, want.Values, got.Values, "values of version %d", want.Version)
	}
	_, err := b.GetVersion(ctx, id, 5)
	code(t, errcode.NotFound, err, "a version never made")
	_, err = b.GetVersion(ctx, secret.NewID(), 1)
	code(t, errcode.NotFound, err, "a version of a missing secret")
	_, err = b.Versions(ctx, secret.NewID())
	code(t, errcode.NotFound, err, "versions of a missing secret")
	cur, err := b.Get(ctx, id)
	require.NoError(t, err)
	SameValues(t, all[3].Values, cur.Values, "the current version is unchanged by history")
}

func testHistoryPrunesByCount(t *testing.T, b backend.Backend) {
	ctx := context.Background()
	all := chain(t, b, "pruned", 31, keepN(20))
	id := all[0].ID
	vs := versionNumbers(t, b, id)
	require.Len(t, vs, 20, "20 versions kept, the current one counted")
	assert.Equal(t, int64(31), vs[0])
	assert.Equal(t, int64(12), vs[19])
	_, err := b.GetVersion(ctx, id, 11)
	code(t, errcode.NotFound, err, "a pruned version")
	got, err := b.GetVersion(ctx, id, 12)
	require.NoError(t, err)
	SameValues(t, all[11].Values, got.Values, "the oldest kept version")

	// A smaller retention prunes in the next write.
	next := WithHistory(all[30], keepN(2), secret.OpUpdate, func(x *secret.Secret) { x.Values["v"] = "32" })
	require.NoError(t, b.Update(ctx, next, 31))
	assert.Equal(t, []int64{32, 31}, versionNumbers(t, b, id))
}

func testHistoryPrunesByAge(t *testing.T, b backend.Backend) {
	ctx := context.Background()
	all := chain(t, b, "aged", 4, keepN(10)) // versions made 1 ms apart
	cutoff := all[2].Updated                 // keep versions made at or after version 3
	next := WithHistory(all[3], &secret.Retention{Versions: 10, Since: cutoff}, secret.OpUpdate, func(x *secret.Secret) { x.Values["v"] = "5" })
	require.NoError(t, b.Update(ctx, next, 4))
	assert.Equal(t, []int64{5, 4, 3}, versionNumbers(t, b, all[0].ID), "versions made before Since are pruned")
	_, err := b.GetVersion(ctx, all[0].ID, 2)
	code(t, errcode.NotFound, err, "a version pruned by age")
}

func testHistoryWithoutKeep(t *testing.T, b backend.Backend) {
	ctx := context.Background()
	all := chain(t, b, "nokeep", 3, nil)
	assert.Equal(t, []int64{3}, versionNumbers(t, b, all[0].ID), "without Keep no past version is kept")
	_, err := b.GetVersion(ctx, all[0].ID, 2)
	code(t, errcode.NotFound, err, "a replaced version without history")
}

func testHistoryNameVisibility(t *testing.T, b backend.Backend) {
	ctx := context.Background()
	s := New("before-rename", "alice", false, map[string]string{"k": "v"})
	require.NoError(t, b.Create(ctx, s))
	next := WithHistory(s, keepN(5), secret.OpUpdate, func(x *secret.Secret) { x.Name, x.Private = "after-rename", true })
	require.NoError(t, b.Update(ctx, next, 1))
	old, err := b.GetVersion(ctx, s.ID, 1)
	require.NoError(t, err)
	assert.Equal(t, "before-rename", old.Name, "a past version keeps its name")
	assert.False(t, old.Private, "a past version keeps its visibility")
	require.NoError(t, b.Create(ctx, New("before-rename", "bob", false, nil)), "a past version holds no name")
}

func testFailedUpdateNoHistory(t *testing.T, b backend.Backend) {
	ctx := context.Background()
	all := chain(t, b, "failed", 2, keepN(5))
	require.NoError(t, b.Create(ctx, New("taken", "alice", false, nil)))
	stale := WithHistory(all[0], keepN(5), secret.OpUpdate, func(x *secret.Secret) { x.Values["v"] = "stale" })
	code(t, errcode.FailedPrecondition, b.Update(ctx, stale, 1), "update from a stale version")
	clash := WithHistory(all[1], keepN(1), secret.OpUpdate, func(x *secret.Secret) { x.Name = "taken" })
	code(t, errcode.AlreadyExists, b.Update(ctx, clash, 2), "rename onto a taken name")
	assert.Equal(t, []int64{2, 1}, versionNumbers(t, b, all[0].ID), "failed updates neither add nor prune versions")
	got, err := b.GetVersion(ctx, all[0].ID, 1)
	require.NoError(t, err)
	SameValues(t, all[0].Values, got.Values)
}

func testConcurrentHistory(t *testing.T, b backend.Backend) {
	ctx := context.Background()
	s := New("history-race", "alice", false, map[string]string{"v": "original"})
	require.NoError(t, b.Create(ctx, s))
	const n = 8
	writes := make([]*secret.Secret, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		writes[i] = WithHistory(s, keepN(5), secret.OpUpdate, func(x *secret.Secret) { x.Values["v"] = fmt.Sprint("writer", i) })
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = b.Update(ctx, writes[i], 1)
		}()
	}
	wg.Wait()
	var winner *secret.Secret
	for i, err := range errs {
		if err == nil {
			require.Nil(t, winner, "two updates of version 1 succeeded")
			winner = writes[i]
		}
	}
	require.NotNil(t, winner, "one update of version 1 succeeds")
	assert.Equal(t, []int64{2, 1}, versionNumbers(t, b, s.ID))
	v1, err := b.GetVersion(ctx, s.ID, 1)
	require.NoError(t, err)
	SameValues(t, s.Values, v1.Values, "version 1 keeps the original values")
	v2, err := b.GetVersion(ctx, s.ID, 2)
	require.NoError(t, err)
	SameValues(t, winner.Values, v2.Values, "version 2 holds the winner's values")
}

// deleteOf returns the version of s that moves it into the recovery window.
func deleteOf(s *secret.Secret, keep *secret.Retention) *secret.Secret {
	return WithHistory(s, keep, secret.OpDelete, func(x *secret.Secret) {
		x.Deleted = x.Updated
		x.PurgeAfter = x.Updated.Add(7 * 24 * time.Hour)
	})
}

// restoreOf returns the version of s that makes it live again.
func restoreOf(s *secret.Secret, keep *secret.Retention) *secret.Secret {
	return WithHistory(s, keep, secret.OpRestore, func(x *secret.Secret) { x.Deleted, x.PurgeAfter = time.Time{}, time.Time{} })
}

func testSoftDelete(t *testing.T, b backend.Backend) {
	ctx := context.Background()
	s := New("to-delete", "alice", false, map[string]string{"k": "v"})
	require.NoError(t, b.Create(ctx, s))
	del := deleteOf(s, keepN(5))
	require.NoError(t, b.Update(ctx, del, 1))

	got, err := b.Get(ctx, s.ID)
	require.NoError(t, err, "a deleted secret can still be read by id")
	assert.True(t, got.IsDeleted(), "Get shows it is deleted")
	assert.True(t, del.Deleted.Equal(got.Deleted), "deleted time round-trips")
	assert.True(t, del.PurgeAfter.Equal(got.PurgeAfter), "purge time round-trips")
	SameValues(t, s.Values, got.Values, "a deleted secret keeps its values")

	live, err := b.List(ctx, backend.Query{Viewer: "bob", Limit: 10})
	require.NoError(t, err)
	assert.NotContains(t, names(live), "to-delete", "a deleted secret is not listed")
	gone, err := b.List(ctx, backend.Query{Viewer: "bob", Deleted: true, Limit: 10})
	require.NoError(t, err)
	require.Equal(t, []string{"to-delete"}, names(gone), "a deleted secret is listed with Deleted")
	assert.True(t, gone[0].IsDeleted())
	byName, err := b.List(ctx, backend.Query{Viewer: "bob", Name: "to-delete", Limit: 10})
	require.NoError(t, err)
	assert.Empty(t, byName, "a deleted secret is not found by name")

	again := New("to-delete", "bob", false, nil)
	require.NoError(t, b.Create(ctx, again), "the name of a deleted secret is free")
	assert.Equal(t, []int64{2, 1}, versionNumbers(t, b, s.ID), "the delete made a version")
}

func testDeletedVisibility(t *testing.T, b backend.Backend) {
	ctx := context.Background()
	mine := New("mine", "alice", true, nil)
	theirs := New("theirs", "bob", true, nil)
	public := New("public", "bob", false, nil)
	for _, s := range []*secret.Secret{mine, theirs, public} {
		require.NoError(t, b.Create(ctx, s))
		require.NoError(t, b.Update(ctx, deleteOf(s, keepN(5)), 1))
	}
	got, err := b.List(ctx, backend.Query{Viewer: "alice", Deleted: true, Sort: backend.Sort{Field: backend.ByName}, Limit: 10})
	require.NoError(t, err)
	assert.Equal(t, []string{"mine(alice)", "public"}, names(got), "deleted listings follow the visibility rules")
	got, err = b.List(ctx, backend.Query{Viewer: "alice", Deleted: true, Private: ptr(true), Limit: 10})
	require.NoError(t, err)
	assert.Equal(t, []string{"mine(alice)"}, names(got), "deleted listings take the filters")
}

func ptr[T any](v T) *T { return &v }

func testRestore(t *testing.T, b backend.Backend) {
	ctx := context.Background()
	s := New("restorable", "alice", false, map[string]string{"k": "v"})
	require.NoError(t, b.Create(ctx, s))
	del := deleteOf(s, keepN(5))
	require.NoError(t, b.Update(ctx, del, 1))
	taker := New("restorable", "bob", false, nil)
	require.NoError(t, b.Create(ctx, taker))

	code(t, errcode.AlreadyExists, b.Update(ctx, restoreOf(del, keepN(5)), 2), "restore onto a name taken meanwhile")
	got, err := b.Get(ctx, s.ID)
	require.NoError(t, err)
	assert.True(t, got.IsDeleted(), "a refused restore leaves the secret deleted")

	renamed := restoreOf(del, keepN(5))
	renamed.Name = "restorable-2"
	require.NoError(t, b.Update(ctx, renamed, 2), "restore under a new name")
	got, err = b.Get(ctx, s.ID)
	require.NoError(t, err)
	assert.False(t, got.IsDeleted())
	assert.Equal(t, "restorable-2", got.Name)
	live, err := b.List(ctx, backend.Query{Viewer: "carol", Name: "restorable-2", Limit: 10})
	require.NoError(t, err)
	assert.Equal(t, []string{"restorable-2"}, names(live), "a restored secret is listed again")
	code(t, errcode.AlreadyExists, b.Create(ctx, New("restorable-2", "carol", false, nil)), "a restored secret holds its name")
	assert.Equal(t, []int64{3, 2, 1}, versionNumbers(t, b, s.ID))
}

func testExpired(t *testing.T, b backend.Backend) {
	ctx := context.Background()
	now := secret.Now()
	expired := New("expired", "alice", true, nil)
	waiting := New("waiting", "bob", false, nil)
	live := New("live", "bob", false, nil)
	for _, s := range []*secret.Secret{expired, waiting, live} {
		require.NoError(t, b.Create(ctx, s))
	}
	del := deleteOf(expired, nil)
	del.PurgeAfter = now.Add(-time.Hour)
	require.NoError(t, b.Update(ctx, del, 1))
	del = deleteOf(waiting, nil)
	del.PurgeAfter = now.Add(time.Hour)
	require.NoError(t, b.Update(ctx, del, 1))

	got, err := b.Expired(ctx, now, 10)
	require.NoError(t, err)
	require.Equal(t, []string{"expired(alice)"}, names(got), "only deleted secrets past PurgeAfter, of any owner")
	assert.Nil(t, got[0].Values)
	got, err = b.Expired(ctx, now.Add(2*time.Hour), 1)
	require.NoError(t, err)
	assert.Len(t, got, 1, "Expired takes a limit")
}

func testPurge(t *testing.T, b backend.Backend) {
	ctx := context.Background()
	all := chain(t, b, "purged", 3, keepN(5))
	id := all[0].ID
	del := deleteOf(all[2], keepN(5))
	require.NoError(t, b.Update(ctx, del, 3))
	require.NoError(t, b.Delete(ctx, id, 0))
	_, err := b.Get(ctx, id)
	code(t, errcode.NotFound, err, "get after purge")
	_, err = b.Versions(ctx, id)
	code(t, errcode.NotFound, err, "versions after purge")
	for v := int64(1); v <= 4; v++ {
		_, err = b.GetVersion(ctx, id, v)
		code(t, errcode.NotFound, err, fmt.Sprintf("version %d after purge", v))
	}
	gone, err := b.List(ctx, backend.Query{Viewer: "alice", Deleted: true, Limit: 10})
	require.NoError(t, err)
	assert.Empty(t, gone, "a purged secret is not listed as deleted")
}
