package valuestore_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/backend/backendtest"
	"github.com/lockwell/lockwell/shared/backend/memstore"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/secret"
	"github.com/lockwell/lockwell/shared/store"
	"github.com/lockwell/lockwell/shared/valuestore"
	"github.com/lockwell/lockwell/shared/valuestore/example"
)

func TestBackupThenRestoreRoundTrips(t *testing.T) {
	ctx := context.Background()
	index, primary, backup := memstore.New(), fileValues(t), fileValues(t)
	st := store.New(valuestore.Indexed(index, primary))
	alice := identity.Principal{Name: "alice"}
	want := map[string]map[string]string{}
	for _, name := range []string{"one", "two", "three"} {
		s, err := st.Create(ctx, alice, store.CreateRequest{Name: name, Private: name == "two", Values: map[string]string{"k": name + "-value", "u": "ü"}})
		require.NoError(t, err)
		want[s.ID] = map[string]string{"k": name + "-value", "u": "ü"}
	}
	manifest := filepath.Join(t.TempDir(), "backup.manifest")

	rep, err := valuestore.Backup(ctx, index, primary, backup, valuestore.CopyOptions{Manifest: manifest})
	require.NoError(t, err)
	assert.Equal(t, valuestore.CopyReport{Copied: 3}, rep)
	raw, err := os.ReadFile(manifest)
	require.NoError(t, err)
	assert.False(t, strings.Contains(string(raw), "-value"), "the manifest holds no values")
	info, err := os.Stat(manifest)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	rep, err = valuestore.Backup(ctx, index, primary, backup, valuestore.CopyOptions{Manifest: manifest})
	require.NoError(t, err)
	assert.Equal(t, valuestore.CopyReport{Skipped: 3}, rep, "a second run resumes: nothing to copy")

	// Lose the primary's values, then restore them from the backup.
	for id := range want {
		require.NoError(t, primary.Delete(ctx, id))
	}
	rep, err = valuestore.Restore(ctx, index, primary, backup, valuestore.CopyOptions{Manifest: manifest})
	require.NoError(t, err)
	assert.Equal(t, 3, rep.Copied)
	assert.Empty(t, rep.Failed)
	for id, values := range want {
		got, err := st.Get(ctx, alice, id)
		require.NoError(t, err)
		backendtest.SameValues(t, values, got.Values)
		assert.Equal(t, int64(2), got.Version, "a restore is a new version")
	}
}

func TestRestoreSkipsSecretsChangedSinceTheBackup(t *testing.T) {
	ctx := context.Background()
	index, primary, backup := memstore.New(), fileValues(t), fileValues(t)
	st := store.New(valuestore.Indexed(index, primary))
	alice := identity.Principal{Name: "alice"}
	s, err := st.Create(ctx, alice, store.CreateRequest{Name: "x", Values: map[string]string{"k": "old"}})
	require.NoError(t, err)
	manifest := filepath.Join(t.TempDir(), "m")
	_, err = valuestore.Backup(ctx, index, primary, backup, valuestore.CopyOptions{Manifest: manifest})
	require.NoError(t, err)
	newer := "new"
	_, err = st.Update(ctx, alice, s.ID, store.UpdateRequest{Values: map[string]*string{"k": &newer}})
	require.NoError(t, err)

	rep, err := valuestore.Restore(ctx, index, primary, backup, valuestore.CopyOptions{Manifest: manifest})
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Skipped)
	got, err := st.Get(ctx, alice, s.ID)
	require.NoError(t, err)
	backendtest.SameValues(t, map[string]string{"k": "new"}, got.Values, "newer values are not overwritten without --force")

	rep, err = valuestore.Restore(ctx, index, primary, backup, valuestore.CopyOptions{Manifest: manifest, Force: true})
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Copied)
	got, err = st.Get(ctx, alice, s.ID)
	require.NoError(t, err)
	backendtest.SameValues(t, map[string]string{"k": "old"}, got.Values)
}

func TestBackupCarriesDeletedSecretsAndRestoreKeepsHistory(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	primary, err := example.New(dir, "lockwell", "deployment-1")
	require.NoError(t, err)
	index, backup := memstore.New(), fileValues(t)
	st := store.New(valuestore.Indexed(index, primary))
	alice := identity.Principal{Name: "alice"}
	live, err := st.Create(ctx, alice, store.CreateRequest{Name: "live", Values: map[string]string{"k": "v1", "gone": "x"}})
	require.NoError(t, err)
	_, err = st.Update(ctx, alice, live.ID, store.UpdateRequest{Values: map[string]*string{"k": str("v2"), "gone": nil, "new": str("n")}})
	require.NoError(t, err)
	deleted, err := st.Create(ctx, alice, store.CreateRequest{Name: "deleted", Values: map[string]string{"d": "kept"}})
	require.NoError(t, err)
	_, err = st.Delete(ctx, alice, deleted.ID, store.DeleteRequest{})
	require.NoError(t, err)

	manifest := filepath.Join(t.TempDir(), "m")
	rep, err := valuestore.Backup(ctx, index, primary, backup, valuestore.CopyOptions{Manifest: manifest})
	require.NoError(t, err)
	assert.Equal(t, valuestore.CopyReport{Copied: 2}, rep, "the live and the deleted secret")

	// Lose the current values of the live secret only: its past version's
	// values stay in the primary.
	cur, err := index.Get(ctx, live.ID)
	require.NoError(t, err)
	// (an emptied file is a lost version to filevalues; its number stays taken)
	require.NoError(t, os.Truncate(filepath.Join(dir, "lockwell", live.ID, "v"+cur.ValuesRef+".json"), 0))
	_, err = st.Get(ctx, alice, live.ID)
	require.Equal(t, errcode.Internal, errcode.Of(err), "the current values are lost")

	rep, err = valuestore.Restore(ctx, index, primary, backup, valuestore.CopyOptions{Manifest: manifest, Principal: "ops"})
	require.NoError(t, err)
	assert.Equal(t, 2, rep.Copied)
	assert.Empty(t, rep.Failed)

	got, err := st.Get(ctx, alice, live.ID)
	require.NoError(t, err)
	backendtest.SameValues(t, map[string]string{"k": "v2", "new": "n"}, got.Values)
	vs, err := st.Versions(ctx, alice, live.ID)
	require.NoError(t, err)
	require.Len(t, vs, 3, "the restore is a new version and keeps the history")
	assert.Equal(t, "ops", vs[0].Principal)
	assert.Equal(t, secret.OpUpdate, vs[0].Operation)
	assert.Equal(t, []string{"k", "new"}, vs[0].Changed, "keys of values lost before the restore count as changed")
	first, err := st.GetVersion(ctx, alice, live.ID, 1)
	require.NoError(t, err, "a past version's values are still readable after the restore")
	backendtest.SameValues(t, map[string]string{"k": "v1", "gone": "x"}, first.Values)

	d, err := index.Get(ctx, deleted.ID)
	require.NoError(t, err)
	assert.True(t, d.IsDeleted(), "a restore leaves a deleted secret deleted")
	restored, err := st.Restore(ctx, alice, deleted.ID, store.RestoreRequest{})
	require.NoError(t, err)
	got, err = st.Get(ctx, alice, restored.ID)
	require.NoError(t, err)
	backendtest.SameValues(t, map[string]string{"d": "kept"}, got.Values)
}
