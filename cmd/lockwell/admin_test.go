//go:build !nocloud

package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/backend/backendtest"
	deployconfig "github.com/lockwell/lockwell/shared/config"
	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/secret"
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
