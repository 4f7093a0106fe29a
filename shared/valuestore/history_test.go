package valuestore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/backend/backendtest"
	"github.com/lockwell/lockwell/shared/backend/memstore"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/secret"
	"github.com/lockwell/lockwell/shared/store"
	"github.com/lockwell/lockwell/shared/valuestore"
)

// recordingValues records the value store calls the pairing makes.
type recordingValues struct {
	valuestore.Store
	mu      sync.Mutex
	puts    int
	retires []string
}

func (r *recordingValues) Put(ctx context.Context, id string, values map[string]string) (string, error) {
	r.mu.Lock()
	r.puts++
	r.mu.Unlock()
	return r.Store.Put(ctx, id, values)
}

func (r *recordingValues) Retire(ctx context.Context, id, keep string) error {
	r.mu.Lock()
	r.retires = append(r.retires, keep)
	r.mu.Unlock()
	return r.Store.Retire(ctx, id, keep)
}

func (r *recordingValues) counts() (int, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.puts, append([]string(nil), r.retires...)
}

func str(s string) *string { return &s }

func TestChangesWithoutNewValuesWriteNoValuesVersion(t *testing.T) {
	ctx := context.Background()
	values := &recordingValues{Store: fileValues(t)}
	st := store.New(valuestore.Indexed(memstore.New(), values))
	alice := identity.Principal{Name: "alice"}
	s, err := st.Create(ctx, alice, store.CreateRequest{Name: "x", Values: map[string]string{"k": "v1"}})
	require.NoError(t, err)
	_, err = st.Update(ctx, alice, s.ID, store.UpdateRequest{Name: str("renamed")})
	require.NoError(t, err)
	_, err = st.Update(ctx, alice, s.ID, store.UpdateRequest{Values: map[string]*string{"k": str("v1")}})
	require.NoError(t, err, "setting a key to the value it has")
	_, err = st.Delete(ctx, alice, s.ID, store.DeleteRequest{})
	require.NoError(t, err)
	_, err = st.Restore(ctx, alice, s.ID, store.RestoreRequest{})
	require.NoError(t, err)
	puts, _ := values.counts()
	assert.Equal(t, 1, puts, "rename, a no-op value change, delete and restore reuse the create's values version")

	_, err = st.Update(ctx, alice, s.ID, store.UpdateRequest{Values: map[string]*string{"k": str("v2")}})
	require.NoError(t, err)
	puts, _ = values.counts()
	assert.Equal(t, 2, puts, "a changed value is a new values version")
	for v, want := range map[int64]string{1: "v1", 5: "v1", 6: "v2"} {
		got, err := st.GetVersion(ctx, alice, s.ID, v)
		require.NoError(t, err, "version %d", v)
		backendtest.SameValues(t, map[string]string{"k": want}, got.Values, "version %d", v)
	}
}

// TestAChangedValueNeverReusesTheReadVersion: a caller that reads a secret
// (its ValuesRef marked by Get) and changes a value in place must get a new
// values version, whatever it leaves in ValuesRef.
func TestAChangedValueNeverReusesTheReadVersion(t *testing.T) {
	ctx := context.Background()
	values := &recordingValues{Store: fileValues(t)}
	b := valuestore.Indexed(memstore.New(), values)
	s := backendtest.New("x", "alice", false, map[string]string{"k": "old"})
	require.NoError(t, b.Create(ctx, s))
	cur, err := b.Get(ctx, s.ID)
	require.NoError(t, err)

	same := backendtest.WithHistory(cur, &secret.Retention{Versions: 5}, secret.OpUpdate, func(x *secret.Secret) { x.Name = "y" })
	same.ValuesRef = cur.ValuesRef
	require.NoError(t, b.Update(ctx, same, 1))
	changed := backendtest.WithHistory(same, &secret.Retention{Versions: 5}, secret.OpUpdate, func(x *secret.Secret) { x.Values["k"] = "new" })
	changed.ValuesRef = cur.ValuesRef // a mark for version 1 and the old values
	require.NoError(t, b.Update(ctx, changed, 2))
	stale := backendtest.WithHistory(changed, &secret.Retention{Versions: 5}, secret.OpUpdate, func(x *secret.Secret) { x.Values["k"] = "old" })
	stale.ValuesRef = cur.ValuesRef // the right values, but a mark for version 1, not 3
	require.NoError(t, b.Update(ctx, stale, 3))

	puts, _ := values.counts()
	assert.Equal(t, 3, puts, "only the rename reused the values version")
	for v, want := range map[int64]string{1: "old", 2: "old", 3: "new", 4: "old"} {
		got, err := b.GetVersion(ctx, s.ID, v)
		require.NoError(t, err, "version %d", v)
		backendtest.SameValues(t, map[string]string{"k": want}, got.Values, "version %d", v)
	}
}

func TestUpdatesRetireOnlyValuesNoKeptVersionNames(t *testing.T) {
	ctx := context.Background()
	files := fileValues(t)
	values := &recordingValues{Store: files}
	index := memstore.New()
	st := store.New(valuestore.Indexed(index, values), store.WithKeepVersions(5))
	alice := identity.Principal{Name: "alice"}
	s, err := st.Create(ctx, alice, store.CreateRequest{Name: "x", Values: map[string]string{"n": "1"}})
	require.NoError(t, err)
	for i := 2; i <= 12; i++ {
		_, err := st.Update(ctx, alice, s.ID, store.UpdateRequest{Values: map[string]*string{"n": str(fmt.Sprint(i))}})
		require.NoError(t, err)
		if i == 5 {
			_, retires := values.counts()
			assert.Empty(t, retires, "nothing to retire while every version is kept")
		}
	}
	vs, err := index.Versions(ctx, s.ID)
	require.NoError(t, err)
	require.Len(t, vs, 5)
	for _, v := range vs {
		got, err := files.Get(ctx, s.ID, v.ValuesRef)
		require.NoError(t, err, "the values of kept version %d are still held", v.Version)
		assert.Equal(t, fmt.Sprint(v.Version), got["n"])
	}
	_, retires := values.counts()
	require.NotEmpty(t, retires)
	assert.Equal(t, vs[4].ValuesRef, retires[len(retires)-1], "the last update retired up to the oldest kept version")
	for ref := 1; ref < 8; ref++ { // filevalues refs are the write numbers 1..12
		_, err := files.Get(ctx, s.ID, fmt.Sprint(ref))
		assert.Equal(t, errcode.NotFound, errcode.Of(err), "values version %d, of a pruned version, is retired", ref)
	}
}

func TestGetVersionOfValuesTheStoreDroppedIsNotFound(t *testing.T) {
	ctx := context.Background()
	files := fileValues(t)
	index := memstore.New()
	b := valuestore.Indexed(index, files)
	all := []*secret.Secret{backendtest.New("x", "alice", false, map[string]string{"n": "1"})}
	require.NoError(t, b.Create(ctx, all[0]))
	next := backendtest.WithHistory(all[0], &secret.Retention{Versions: 5}, secret.OpUpdate, func(x *secret.Secret) { x.Values["n"] = "2" })
	require.NoError(t, b.Update(ctx, next, 1))
	// A store that drops versions by its own limits (AWS beyond 100).
	cur, err := index.Get(ctx, all[0].ID)
	require.NoError(t, err)
	require.NoError(t, files.Retire(ctx, all[0].ID, cur.ValuesRef))
	_, err = b.GetVersion(ctx, all[0].ID, 1)
	assert.Equal(t, errcode.NotFound, errcode.Of(err))
	got, err := b.GetVersion(ctx, all[0].ID, 2)
	require.NoError(t, err)
	backendtest.SameValues(t, map[string]string{"n": "2"}, got.Values)
}

// noRetire drops every Retire, as updates whose retire failed do.
type noRetire struct{ valuestore.Store }

func (noRetire) Retire(context.Context, string, string) error {
	return errcode.New(errcode.Unavailable, "retire lost")
}

func TestSweepRetiresWhatUpdatesLeftAndKeepsEveryKeptVersion(t *testing.T) {
	ctx := context.Background()
	files := fileValues(t)
	index := memstore.New()
	st := store.New(valuestore.Indexed(index, noRetire{files}), store.WithKeepVersions(3))
	alice := identity.Principal{Name: "alice"}
	s, err := st.Create(ctx, alice, store.CreateRequest{Name: "x", Values: map[string]string{"n": "1"}})
	require.NoError(t, err)
	for i := 2; i <= 6; i++ {
		_, err := st.Update(ctx, alice, s.ID, store.UpdateRequest{Values: map[string]*string{"n": str(fmt.Sprint(i))}})
		require.NoError(t, err)
	}
	_, err = st.Delete(ctx, alice, s.ID, store.DeleteRequest{}) // deleted, in the recovery window
	require.NoError(t, err)
	for ref := 1; ref <= 6; ref++ {
		_, err := files.Get(ctx, s.ID, fmt.Sprint(ref))
		require.NoError(t, err, "nothing retired yet: values version %d", ref)
	}

	n, err := valuestore.Sweep(ctx, index, files, valuestore.SweepOptions{DryRun: true})
	require.NoError(t, err)
	assert.Zero(t, n)
	_, err = files.Get(ctx, s.ID, "1")
	require.NoError(t, err, "a dry run retires nothing")

	n, err = valuestore.Sweep(ctx, index, files, valuestore.SweepOptions{Grace: time.Millisecond,
		RetireFailed: func(id string, err error) { t.Errorf("retire of %s failed: %v", id, err) }})
	require.NoError(t, err)
	assert.Zero(t, n, "a deleted secret's entry is not an orphan")
	for ref := 1; ref <= 6; ref++ {
		_, err := files.Get(ctx, s.ID, fmt.Sprint(ref))
		if ref < 5 { // versions 5, 6 and the delete (7, values of 6) are kept
			assert.Equal(t, errcode.NotFound, errcode.Of(err), "values version %d is retired", ref)
		} else {
			assert.NoError(t, err, "values version %d, of a kept version, stays", ref)
		}
	}
	for v := int64(5); v <= 7; v++ {
		got, err := valuestore.Indexed(index, files).GetVersion(ctx, s.ID, v)
		require.NoError(t, err, "version %d", v)
		assert.Equal(t, fmt.Sprint(min(v, 6)), got.Values["n"])
	}
}
