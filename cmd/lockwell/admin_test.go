//go:build !nocloud

package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/audit"
	"github.com/lockwell/lockwell/shared/backend/backendtest"
	deployconfig "github.com/lockwell/lockwell/shared/config"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/secret"
	"github.com/lockwell/lockwell/shared/server"
	"github.com/lockwell/lockwell/shared/store"
)

// TestAdminSweepBackupRestore runs the admin commands on a deployment whose
// index is SQLite and whose values live in the file-based example store.
func TestAdminSweepBackupRestore(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{
		"LOCKWELL_STORE":      "sqlite://" + filepath.Join(dir, "index.db"),
		"LOCKWELL_KEY":        "localkey://" + filepath.Join(dir, "store.key"),
		"LOCKWELL_VALUES":     "filevalues://" + filepath.Join(dir, "primary"),
		"LOCKWELL_DEPLOYMENT": "dep-1",
	}
	ctx := context.Background()
	c := deployconfig.Config{StoreURL: env["LOCKWELL_STORE"], KeyURL: env["LOCKWELL_KEY"], ValuesURL: env["LOCKWELL_VALUES"], Deployment: "dep-1"}
	d, err := c.Open(ctx, nil)
	require.NoError(t, err)
	alice := identity.Principal{Name: "alice"}
	s, err := d.Store.Create(ctx, alice, store.CreateRequest{Name: "db", Values: map[string]string{"password": "pw"}})
	require.NoError(t, err)
	orphan := secret.NewID()
	_, err = d.Values.Put(ctx, orphan, map[string]string{"k": "v"})
	require.NoError(t, err)
	require.NoError(t, d.Close())

	inv := invocation{env: env}
	r := ok(t, inv.run("admin", "sweep", "--dry-run"))
	assert.Contains(t, r.stdout, "orphan "+orphan)
	assert.Contains(t, r.stdout, "found 1 orphaned")
	r = ok(t, inv.run("admin", "sweep", "--grace", "1ms"))
	assert.Contains(t, r.stdout, "removed 1 orphaned")

	manifest := filepath.Join(dir, "backup.manifest")
	backupURL := "filevalues://" + filepath.Join(dir, "backup")
	r = ok(t, inv.run("admin", "backup", "--to", backupURL, "--manifest", manifest))
	assert.Contains(t, r.stdout, "backup: 1 copied, 0 skipped, 0 failed")
	r = ok(t, inv.run("admin", "backup", "--to", backupURL, "--manifest", manifest))
	assert.Contains(t, r.stdout, "backup: 0 copied, 1 skipped", "a second backup resumes")

	// Lose the primary's copy, then restore it.
	d, err = c.Open(ctx, nil)
	require.NoError(t, err)
	require.NoError(t, d.Values.Delete(ctx, s.ID))
	require.NoError(t, d.Close())
	r = ok(t, inv.run("admin", "restore", "--from", backupURL, "--manifest", manifest))
	assert.Contains(t, r.stdout, "restore: 1 copied")

	d, err = c.Open(ctx, nil)
	require.NoError(t, err)
	defer d.Close()
	got, err := d.Store.Get(ctx, alice, s.ID)
	require.NoError(t, err)
	backendtest.SameValues(t, map[string]string{"password": "pw"}, got.Values)

	r = inv.run("admin", "backup", "--to", backupURL)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "--manifest")
	r = invocation{env: map[string]string{}}.run("admin", "sweep")
	assert.NotEqual(t, 0, r.code)
	assert.Contains(t, r.stderr, "LOCKWELL_VALUES")
}

// TestAdminPurge: admin purge destroys the deleted secrets whose recovery
// window has ended, and leaves live secrets and those still in their window.
func TestAdminPurge(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{
		"LOCKWELL_STORE": "sqlite://" + filepath.Join(dir, "index.db"),
		"LOCKWELL_KEY":   "localkey://" + filepath.Join(dir, "store.key"),
	}
	ctx := context.Background()
	c := deployconfig.Config{StoreURL: env["LOCKWELL_STORE"], KeyURL: env["LOCKWELL_KEY"]}
	d, err := c.Open(ctx, nil)
	require.NoError(t, err)
	defer d.Close()
	alice := identity.Principal{Name: "alice"}
	create := func(name string) string {
		s, err := d.Store.Create(ctx, alice, store.CreateRequest{Name: name, Values: map[string]string{"k": "v"}})
		require.NoError(t, err)
		return s.ID
	}
	live, kept := create("live"), create("kept")
	expired := []string{create("gone-1"), create("gone-2")}
	_, err = d.Store.Delete(ctx, alice, kept, store.DeleteRequest{}) // the default window: 7 days
	require.NoError(t, err)
	// A store with a recovery window of 1ns deletes secrets that expire at once.
	short := store.New(d.Index, store.WithRecoveryWindow(time.Nanosecond))
	for _, id := range expired {
		_, err = short.Delete(ctx, alice, id, store.DeleteRequest{})
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool {
		batch, err := d.Index.Expired(ctx, time.Now(), 10)
		return err == nil && len(batch) == 2
	}, 30*time.Second, 10*time.Millisecond, "the two deletes expire")

	inv := invocation{env: env}
	r := ok(t, inv.run("admin", "purge"))
	assert.Equal(t, "purged 2 expired deleted secrets\n", r.stdout)
	r = ok(t, inv.run("admin", "purge"))
	assert.Equal(t, "purged 0 expired deleted secrets\n", r.stdout, "nothing left to purge")

	_, err = d.Store.Get(ctx, alice, live)
	require.NoError(t, err, "a live secret stays")
	_, err = d.Store.Restore(ctx, alice, kept, store.RestoreRequest{})
	require.NoError(t, err, "a secret still in its window stays restorable")
	for _, id := range expired {
		_, err = d.Store.Restore(ctx, alice, id, store.RestoreRequest{})
		assert.Equal(t, errcode.NotFound, errcode.Of(err), "an expired secret is gone")
	}

	r = invocation{env: map[string]string{}}.run("admin", "purge")
	assert.NotEqual(t, 0, r.code)
	assert.Contains(t, r.stderr, "LOCKWELL_STORE")
}

// TestAdminPurgeDataDir: admin purge --data-dir purges the local server's
// data directory, recording the purge in its audit log; it never creates
// a store where there is none.
func TestAdminPurgeDataDir(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	require.NoError(t, os.Mkdir(dir, 0o700))
	b, err := server.OpenBackend(ctx, dir)
	require.NoError(t, err)
	alice := identity.Principal{Name: "alice"}
	st := store.New(b)
	kept, err := st.Create(ctx, alice, store.CreateRequest{Name: "kept", Values: map[string]string{"k": "v"}})
	require.NoError(t, err)
	_, err = st.Delete(ctx, alice, kept.ID, store.DeleteRequest{})
	require.NoError(t, err)
	short := store.New(b, store.WithRecoveryWindow(time.Nanosecond))
	gone, err := short.Create(ctx, alice, store.CreateRequest{Name: "gone", Values: map[string]string{"k": "v"}})
	require.NoError(t, err)
	_, err = short.Delete(ctx, alice, gone.ID, store.DeleteRequest{})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		batch, err := b.Expired(ctx, time.Now(), 10)
		return err == nil && len(batch) == 1
	}, 30*time.Second, 10*time.Millisecond, "the delete expires")
	require.NoError(t, b.Close())

	inv := invocation{env: map[string]string{}}
	r := ok(t, inv.run("admin", "purge", "--data-dir", dir))
	assert.Equal(t, "purged 1 expired deleted secrets\n", r.stdout)
	l, ab, err := server.OpenAuditLog(ctx, dir)
	require.NoError(t, err)
	recs, err := l.Read(ctx, audit.Query{Limit: 100, Filter: audit.Filter{Operation: "purge_expired", Secret: gone.ID}})
	require.NoError(t, err)
	assert.NotEmpty(t, recs, "the purge is in the data directory's audit log")
	require.NoError(t, ab.Close())
	r = ok(t, inv.run("admin", "purge", "--data-dir", dir))
	assert.Equal(t, "purged 0 expired deleted secrets\n", r.stdout)

	empty := t.TempDir()
	fails(t, inv.run("admin", "purge", "--data-dir", empty), exitNotFound, "is not a lockwell data directory: it has no lockwell.db")
	entries, err := os.ReadDir(empty)
	require.NoError(t, err)
	assert.Empty(t, entries, "no store or key created")
	fails(t, inv.run("admin", "purge"), exitError, "LOCKWELL_STORE is not set: name the deployment's store (with LOCKWELL_KEY), or give --data-dir DIR for the local server's data directory")
}
