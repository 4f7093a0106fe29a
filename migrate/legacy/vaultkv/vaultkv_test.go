package vaultkv_test

import (
	"context"
	"os"
	"testing"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/require"

	localvault "github.com/lockwell/lockwell/localdev/vault"
	"github.com/lockwell/lockwell/migrate/legacy"
	"github.com/lockwell/lockwell/migrate/legacy/legacytest"
	_ "github.com/lockwell/lockwell/migrate/legacy/vaultkv"
	"github.com/lockwell/lockwell/shared/errcode"
)

const uuid = "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a"

// setup starts the local Vault and points VAULT_ADDR and VAULT_TOKEN at it.
func setup(t *testing.T) *api.Client {
	srv, addr := localvault.Start(t)
	for _, k := range []string{"VAULT_NAMESPACE", "VAULT_CACERT", "VAULT_CAPATH", "VAULT_MAX_RETRIES"} {
		t.Setenv(k, "")
		require.NoError(t, os.Unsetenv(k))
	}
	t.Setenv("VAULT_ADDR", addr)
	t.Setenv("VAULT_TOKEN", srv.RootToken)
	cfg := api.DefaultConfig()
	cfg.Address = addr
	c, err := api.NewClient(cfg)
	require.NoError(t, err)
	c.SetToken(srv.RootToken)
	return c
}

func put(t *testing.T, c *api.Client, path string, data map[string]any) {
	t.Helper()
	_, err := c.KVv2("secret").Put(context.Background(), path, data)
	require.NoError(t, err, path)
}

func TestScopes(t *testing.T) {
	ctx := context.Background()
	c := setup(t)
	ref := legacytest.Reference()
	openai := ref[2]
	dbMain := legacytest.Secret{Name: "db.main", Schema: "basic_auth", Values: map[string]any{"username": "zenml-user", "password": "hunter2"}}
	scopes := []struct {
		d       legacy.Descriptor
		url     string
		secrets []legacytest.Secret
		skipped []string
	}{
		{legacy.Descriptor{Scope: legacy.ScopeNone}, "zenml-vault://vault.example:8200/secret?scope=none",
			append(legacytest.All(), legacytest.Typed()), []string{"unrelated"}},
		{legacy.Descriptor{Scope: legacy.ScopeGlobal}, "zenml-vault://vault.example:8200/secret?scope=global", ref[1:2], nil},
		{legacy.Descriptor{Scope: legacy.ScopeComponent, ComponentUUID: uuid}, "zenml-vault://vault.example:8200/secret?component_uuid=" + uuid, []legacytest.Secret{openai}, nil},
		{legacy.Descriptor{Scope: legacy.ScopeNamespace, Namespace: "team-a"}, "zenml-vault://vault.example:8200/secret?scope=namespace&namespace=team-a",
			append([]legacytest.Secret{dbMain}, legacytest.EdgeCases()...), nil},
	}
	for _, sc := range scopes {
		for _, s := range sc.secrets {
			put(t, c, sc.d.FullName(s.Name, "/"), s.Payload())
		}
	}
	put(t, c, "unrelated", map[string]any{"x": "y"})
	put(t, c, "zenml/9f1c2d3e-1111-2222-3333-444455556666", map[string]any{"zenml_secret_values": map[string]any{"a": "b"}, "zenml_secret_metadata": map[string]any{}})

	for _, sc := range scopes {
		t.Run(string(sc.d.Scope), func(t *testing.T) {
			src, err := legacy.Open(ctx, sc.url)
			require.NoError(t, err)
			require.Equal(t, "vault.example:8200/secret", src.Describe().Location)
			legacytest.CheckSource(t, src, sc.secrets, append([]string{"zenml/9f1c2d3e-1111-2222-3333-444455556666"}, sc.skipped...)...)
		})
	}
	src, err := legacy.Open(ctx, "zenml-vault://vault.example:8200/secret?scope=namespace&namespace=team-a")
	require.NoError(t, err)
	require.NoError(t, src.Delete(ctx, "db.main"))
	_, err = src.Read(ctx, "db.main")
	require.Equal(t, errcode.NotFound, errcode.Of(err))
	require.Equal(t, errcode.NotFound, errcode.Of(src.Delete(ctx, "db.main")))
}

// TestSoftDeletedLatestVersionIsGone: the official client answers a
// soft-deleted latest version with no data and no error; the reader takes
// the entry as deleted (not listed, not found), not as a foreign entry.
func TestSoftDeletedLatestVersionIsGone(t *testing.T) {
	ctx := context.Background()
	c := setup(t)
	ref := legacytest.Reference()
	global := legacy.Descriptor{Scope: legacy.ScopeGlobal}
	put(t, c, global.FullName(ref[1].Name, "/"), ref[1].Payload())
	_, err := c.Logical().DeleteWithContext(ctx, "secret/data/"+global.FullName(ref[1].Name, "/"))
	require.NoError(t, err)

	src, err := legacy.Open(ctx, "zenml-vault://vault.example:8200/secret?scope=global")
	require.NoError(t, err)
	legacytest.CheckSource(t, src, nil)
	_, err = src.Read(ctx, ref[1].Name)
	require.Equal(t, errcode.NotFound, errcode.Of(err))
}

func TestURLsAndCredentials(t *testing.T) {
	setup(t)
	ctx := context.Background()
	for _, bad := range []string{"zenml-vault://vault:8200?scope=global", "zenml-vault:///secret?scope=global", "zenml-vault://vault:8200/secret?scope=global&token=x"} {
		_, err := legacy.Open(ctx, bad)
		require.Equal(t, errcode.InvalidArgument, errcode.Of(err), bad)
	}
	u, err := legacy.FromComponent("vault", []byte(`{"url": "https://vault.example:8200", "token": "hvs.stored-token", "mount_point": "secret", "scope": "global"}`), "")
	require.NoError(t, err)
	require.Equal(t, "zenml-vault://vault.example:8200/secret?scope=global", u, "the stored token never reaches the URL")
	t.Setenv("VAULT_TOKEN", "")
	_, err = legacy.Open(ctx, u)
	require.Equal(t, errcode.InvalidArgument, errcode.Of(err))
}
