package vaultkv_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/require"

	localvault "github.com/lockwell/lockwell/localdev/vault"
	"github.com/lockwell/lockwell/migrate/centraltest"
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

// TestCentralizedNaming plants centraltest.Fixture as ZenML's centralized
// Vault secrets store wrote it from 0.35 to 0.54.0 (KV v2 at zenml/<uuid>:
// zenml_secret_values and zenml_secret_metadata with the name, scope, user
// and workspace, since Vault has no tags), next to a values-only entry
// (0.54.1+) and a legacy entry, and migrates it.
func TestCentralizedNaming(t *testing.T) {
	ctx := context.Background()
	c := setup(t)
	users := map[string]string{"alice": "11111111-1111-4111-8111-111111111111", "bob": "22222222-2222-4222-8222-222222222222", "ci": "33333333-3333-4333-8333-333333333333"}
	owners := map[string]string{}
	for name, id := range users {
		owners[id] = centraltest.Owners[name]
	}
	for i, s := range centraltest.Fixture() {
		id := fmt.Sprintf("9f1c2d3e-0000-4000-8000-%012d", i)
		scope := "workspace"
		if s.Private {
			scope = "user"
		}
		values := map[string]any{}
		for k, v := range s.Values {
			values[k] = v
		}
		put(t, c, "zenml/"+id, map[string]any{"zenml_secret_values": values, "zenml_secret_metadata": map[string]any{
			"zenml": "server-1", "zenml_secret_id": id, "zenml_secret_name": s.Name, "zenml_secret_scope": scope,
			"zenml_secret_user": users[s.User], "zenml_secret_workspace": "44444444-4444-4444-8444-444444444444"}})
	}
	valuesOnly := "zenml/9f1c2d3e-ffff-4000-8000-000000000000"
	put(t, c, valuesOnly, map[string]any{"zenml_secret_values": map[string]any{"k": "v-values-only"},
		"zenml_secret_metadata": map[string]any{"zenml": "server-1", "zenml_secret_id": "9f1c2d3e-ffff-4000-8000-000000000000"}})
	put(t, c, "zenml/global/aws_creds", legacytest.Reference()[1].Payload())

	src, err := legacy.Open(ctx, "zenml-vault://vault.example:8200/secret?scope=none") // centralized entries are in every scope
	require.NoError(t, err)
	defer src.Close()
	centraltest.RequireMigrates(t, src, centraltest.Fixture(), owners, valuesOnly)
	require.Equal(t, errcode.FailedPrecondition, errcode.Of(src.Delete(ctx, "9f1c2d3e-0000-4000-8000-000000000000")), "centralized entries are never deleted")
}
