package client_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/client"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/server"
	"github.com/lockwell/lockwell/shared/server/servertest"
)

// realClient runs the local server (the real httpapi handler over a SQLite
// store) and returns an admin client of it.
func realClient(t *testing.T) *client.Client {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	srv := servertest.Run(t, server.Config{DataDir: dir, Logger: slog.New(slog.DiscardHandler)})
	c, err := client.New(srv.URL, client.BearerToken(servertest.AdminToken(t, dir)))
	require.NoError(t, err)
	return c
}

func TestVersionsGetVersionAndRollback(t *testing.T) {
	ctx := context.Background()
	c := realClient(t)
	s, err := c.CreateSecret(ctx, client.NewSecret{Name: "db", Values: map[string]string{"user": "alice", "password": "one"}})
	require.NoError(t, err)
	_, err = c.UpdateSecret(ctx, s.ID, client.Update{Values: map[string]*string{"password": client.Set("two"), "port": client.Set("5432")}})
	require.NoError(t, err)
	_, err = c.UpdateSecret(ctx, s.ID, client.Update{Values: map[string]*string{"user": nil}})
	require.NoError(t, err)

	vs, err := c.SecretVersions(ctx, s.ID)
	require.NoError(t, err)
	require.Len(t, vs, 3)
	byVersion := map[int64]client.SecretVersion{}
	for _, v := range vs {
		byVersion[v.Version] = v
	}
	assert.Equal(t, []string{"port"}, byVersion[2].Added)
	assert.Equal(t, []string{"password"}, byVersion[2].Changed)
	assert.Equal(t, []string{"user"}, byVersion[3].Removed)
	assert.True(t, byVersion[3].Current)
	assert.False(t, byVersion[1].Current)
	assert.Equal(t, "admin", byVersion[2].Principal)

	v1, err := c.GetSecretVersion(ctx, s.ID, 1)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"user": "alice", "password": "one"}, v1.Values)
	assert.EqualValues(t, 1, v1.Version)
	_, err = c.GetSecretVersion(ctx, s.ID, 99)
	assert.Equal(t, errcode.NotFound, errcode.Of(err))
	_, err = c.GetSecretVersion(ctx, s.ID, 0)
	assert.Equal(t, errcode.InvalidArgument, errcode.Of(err))

	_, err = c.RollbackSecret(ctx, s.ID, 1, 2)
	assert.Equal(t, errcode.FailedPrecondition, errcode.Of(err), "a stale If-Match is refused")
	back, err := c.RollbackSecret(ctx, s.ID, 1, 3)
	require.NoError(t, err)
	assert.EqualValues(t, 4, back.Version)
	cur, err := c.GetSecret(ctx, s.ID)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"user": "alice", "password": "one"}, cur.Values)
	vs, err = c.SecretVersions(ctx, s.ID)
	require.NoError(t, err)
	for _, v := range vs {
		if v.Version == 4 {
			assert.EqualValues(t, 1, v.From)
		}
	}
}

func TestDeleteRestoreAndPurge(t *testing.T) {
	ctx := context.Background()
	c := realClient(t)
	s, err := c.CreateSecret(ctx, client.NewSecret{Name: "db", Values: map[string]string{"k": "v"}})
	require.NoError(t, err)

	before := time.Now()
	del, err := c.DeleteSecretWith(ctx, s.ID, client.DeleteOptions{})
	require.NoError(t, err)
	require.NotNil(t, del, "the default deployment keeps deleted secrets for a recovery window")
	assert.Equal(t, s.ID, del.ID)
	assert.True(t, del.PurgeAfter.After(before.Add(6*24*time.Hour)), "purge after %s", del.PurgeAfter)

	_, err = c.FindSecret(ctx, "db")
	assert.Equal(t, errcode.NotFound, errcode.Of(err), "a deleted secret is not found by name")
	page, err := c.ListSecrets(ctx, client.ListOptions{Deleted: true}, "")
	require.NoError(t, err)
	require.Len(t, page.Items, 1)
	assert.Equal(t, s.ID, page.Items[0].ID)
	assert.False(t, page.Items[0].Deleted.IsZero())
	page, err = c.ListSecrets(ctx, client.ListOptions{}, "")
	require.NoError(t, err)
	assert.Empty(t, page.Items)

	// Another secret takes the name: restore under it fails, under a new one works.
	other, err := c.CreateSecret(ctx, client.NewSecret{Name: "db", Values: map[string]string{"k": "w"}})
	require.NoError(t, err)
	found, err := c.FindDeletedSecret(ctx, "db")
	require.NoError(t, err)
	assert.Equal(t, s.ID, found.ID)
	_, err = c.RestoreSecret(ctx, s.ID, client.RestoreOptions{})
	assert.Equal(t, errcode.AlreadyExists, errcode.Of(err))
	restored, err := c.RestoreSecret(ctx, s.ID, client.RestoreOptions{Name: "db-old"})
	require.NoError(t, err)
	assert.Equal(t, "db-old", restored.Name)
	assert.True(t, restored.Deleted.IsZero())
	got, err := c.GetSecretByName(ctx, "db-old")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"k": "v"}, got.Values)

	// Two deleted secrets of one name: the lookup asks for the id.
	_, err = c.DeleteSecretWith(ctx, other.ID, client.DeleteOptions{})
	require.NoError(t, err)
	third, err := c.CreateSecret(ctx, client.NewSecret{Name: "db", Values: map[string]string{"k": "x"}})
	require.NoError(t, err)
	require.NoError(t, c.DeleteSecret(ctx, third.ID), "DeleteSecret keeps working")
	_, err = c.FindDeletedSecret(ctx, "db")
	assert.Equal(t, errcode.FailedPrecondition, errcode.Of(err))
	assert.Contains(t, errcode.Message(err), other.ID)
	assert.Contains(t, errcode.Message(err), third.ID)

	// Purge destroys at once: nothing to restore.
	gone, err := c.DeleteSecretWith(ctx, restored.ID, client.DeleteOptions{Purge: true})
	require.NoError(t, err)
	assert.Nil(t, gone)
	_, err = c.RestoreSecret(ctx, restored.ID, client.RestoreOptions{})
	assert.Equal(t, errcode.NotFound, errcode.Of(err))
	_, err = c.FindDeletedSecret(ctx, restored.ID)
	assert.Equal(t, errcode.NotFound, errcode.Of(err))
}
