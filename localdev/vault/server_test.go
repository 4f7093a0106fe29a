package vault_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	localvault "github.com/lockwell/lockwell/localdev/vault"
)

var ctx = context.Background()

func client(t *testing.T, addr, token, ns string) *api.Client {
	cfg := api.DefaultConfig()
	cfg.Address = addr
	cfg.MaxRetries = 0
	c, err := api.NewClient(cfg)
	require.NoError(t, err)
	c.SetToken(token)
	c.SetNamespace(ns)
	return c
}

func statusOf(err error) int {
	var re *api.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

func TestKVv2VersionsThroughTheOfficialClient(t *testing.T) {
	srv, addr := localvault.Start(t)
	kv := client(t, addr, srv.RootToken, "").KVv2("secret")

	v1, err := kv.Put(ctx, "app/db", map[string]any{"password": "one"}, api.WithCheckAndSet(0))
	require.NoError(t, err)
	assert.Equal(t, 1, v1.VersionMetadata.Version)
	_, err = kv.Put(ctx, "app/db", map[string]any{"password": "again"}, api.WithCheckAndSet(0))
	assert.Equal(t, http.StatusBadRequest, statusOf(err), "cas=0 refuses an existing secret")
	v2, err := kv.Put(ctx, "app/db", map[string]any{"password": "two"}, api.WithCheckAndSet(1))
	require.NoError(t, err)
	assert.Equal(t, 2, v2.VersionMetadata.Version)

	got, err := kv.Get(ctx, "app/db")
	require.NoError(t, err)
	assert.True(t, got.Data["password"] == "two", "current version's password differs")
	old, err := kv.GetVersion(ctx, "app/db", 1)
	require.NoError(t, err)
	assert.True(t, old.Data["password"] == "one", "version 1's password differs")

	// Soft delete, undelete, destroy.
	// A deleted version answers 404 with its metadata and no data, which the
	// client returns as a secret with nil Data, as with the real Vault.
	require.NoError(t, kv.DeleteVersions(ctx, "app/db", []int{1}))
	gone, err := kv.GetVersion(ctx, "app/db", 1)
	require.NoError(t, err)
	assert.Nil(t, gone.Data)
	assert.False(t, gone.VersionMetadata.DeletionTime.IsZero())
	require.NoError(t, kv.Undelete(ctx, "app/db", []int{1}))
	_, err = kv.GetVersion(ctx, "app/db", 1)
	require.NoError(t, err)
	require.NoError(t, kv.Destroy(ctx, "app/db", []int{1}))
	gone, err = kv.GetVersion(ctx, "app/db", 1)
	require.NoError(t, err)
	assert.Nil(t, gone.Data)
	assert.True(t, gone.VersionMetadata.Destroyed)
	require.NoError(t, kv.Delete(ctx, "app/db"))
	gone, err = kv.Get(ctx, "app/db")
	require.NoError(t, err)
	assert.Nil(t, gone.Data, "latest version soft-deleted")
	_, err = kv.GetVersion(ctx, "app/db", 7)
	assert.ErrorIs(t, err, api.ErrSecretNotFound, "a version that never existed")

	md, err := kv.GetMetadata(ctx, "app/db")
	require.NoError(t, err)
	assert.Equal(t, 2, md.CurrentVersion)
	require.Len(t, md.Versions, 2)
	assert.True(t, md.Versions["1"].Destroyed)
	assert.False(t, md.Versions["2"].DeletionTime.IsZero())

	require.NoError(t, kv.DeleteMetadata(ctx, "app/db"))
	_, err = kv.GetMetadata(ctx, "app/db")
	assert.Error(t, err)
}

func TestMaxVersionsAndCASRequired(t *testing.T) {
	srv, addr := localvault.Start(t)
	kv := client(t, addr, srv.RootToken, "").KVv2("secret")
	require.NoError(t, kv.PutMetadata(ctx, "s", api.KVMetadataPutInput{MaxVersions: 2, CASRequired: true}))
	_, err := kv.Put(ctx, "s", map[string]any{"n": "1"})
	assert.Equal(t, http.StatusBadRequest, statusOf(err), "cas_required")
	for i := range 3 {
		_, err := kv.Put(ctx, "s", map[string]any{"n": "x"}, api.WithCheckAndSet(i))
		require.NoError(t, err)
	}
	md, err := kv.GetMetadata(ctx, "s")
	require.NoError(t, err)
	assert.Len(t, md.Versions, 2)
	assert.Equal(t, 2, md.OldestVersion)
	_, err = kv.GetVersion(ctx, "s", 1)
	assert.ErrorIs(t, err, api.ErrSecretNotFound)
}

func TestListMetadata(t *testing.T) {
	srv, addr := localvault.Start(t)
	c := client(t, addr, srv.RootToken, "")
	for _, p := range []string{"zenml/a", "zenml/b", "zenml/nested/c", "other"} {
		_, err := c.KVv2("secret").Put(ctx, p, map[string]any{"k": "v"})
		require.NoError(t, err)
	}
	list, err := c.Logical().List("secret/metadata/zenml")
	require.NoError(t, err)
	assert.Equal(t, []any{"a", "b", "nested/"}, list.Data["keys"])
	list, err = c.Logical().List("secret/metadata/none")
	require.NoError(t, err)
	assert.Nil(t, list, "an empty listing is a 404, which the client returns as nil")
}

func TestTokensAppRoleAndNamespaces(t *testing.T) {
	srv, addr := localvault.Start(t)
	srv.EnableKV("team-a", "kv")
	srv.EnableKV("team-b", "kv")
	srv.AddAppRole("team-a", localvault.AppRole{RoleID: "role", SecretID: "sid", TokenTTL: time.Minute, TokenMaxTTL: 90 * time.Second})

	anon := client(t, addr, "", "team-a")
	anon.ClearToken()
	_, err := anon.Logical().Write("auth/approle/login", map[string]any{"role_id": "role", "secret_id": "wrong"})
	assert.Equal(t, http.StatusBadRequest, statusOf(err))
	login, err := anon.Logical().Write("auth/approle/login", map[string]any{"role_id": "role", "secret_id": "sid"})
	require.NoError(t, err)
	require.NotNil(t, login.Auth)
	assert.Equal(t, 60, login.Auth.LeaseDuration)
	assert.True(t, login.Auth.Renewable)

	a := client(t, addr, login.Auth.ClientToken, "team-a")
	self, err := a.Auth().Token().LookupSelf()
	require.NoError(t, err)
	ttl, err := self.TokenTTL()
	require.NoError(t, err)
	assert.InDelta(t, 60, ttl.Seconds(), 1)

	renewed, err := a.Auth().Token().RenewSelf(60)
	require.NoError(t, err)
	assert.Equal(t, 60, renewed.Auth.LeaseDuration)

	_, err = a.KVv2("kv").Put(ctx, "x", map[string]any{"k": "a"})
	require.NoError(t, err)
	// Namespaces are separate trees; a namespace's token does not work in
	// another one, the root token works everywhere.
	b := client(t, addr, login.Auth.ClientToken, "team-b")
	_, err = b.KVv2("kv").Get(ctx, "x")
	assert.Equal(t, http.StatusForbidden, statusOf(err))
	rootB := client(t, addr, srv.RootToken, "team-b")
	_, err = rootB.KVv2("kv").Get(ctx, "x")
	assert.ErrorIs(t, err, api.ErrSecretNotFound)

	// Tokens expire on the server's clock.
	now := time.Now()
	srv.Now = func() time.Time { return now.Add(2 * time.Minute) }
	_, err = a.Auth().Token().LookupSelf()
	assert.Equal(t, http.StatusForbidden, statusOf(err))

	none := client(t, addr, "hvs.nope", "")
	_, err = none.KVv2("secret").Get(ctx, "x")
	var re *api.ResponseError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, []string{"permission denied"}, re.Errors)
}

func TestFaultsAndHealth(t *testing.T) {
	srv, addr := localvault.Start(t)
	c := client(t, addr, srv.RootToken, "")
	srv.InjectFault(localvault.DataRead, localvault.Fault{Status: 503, Errors: []string{"Vault is sealed"}})
	_, err := c.KVv2("secret").Get(ctx, "x")
	assert.Equal(t, 503, statusOf(err))
	_, err = c.KVv2("secret").Get(ctx, "x")
	assert.ErrorIs(t, err, api.ErrSecretNotFound)
	assert.Equal(t, 2, srv.Calls(localvault.DataRead))

	h, err := c.Sys().Health()
	require.NoError(t, err)
	assert.True(t, h.Initialized)
	assert.False(t, h.Sealed)
}
