package realvault_test

import (
	"context"
	"testing"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/localdev/realvault"
	localvault "github.com/lockwell/lockwell/localdev/vault"
	"github.com/lockwell/lockwell/migrate/legacy"
	"github.com/lockwell/lockwell/migrate/legacy/legacytest"
	_ "github.com/lockwell/lockwell/migrate/legacy/vaultkv"
	"github.com/lockwell/lockwell/shared/errcode"
)

// TestLegacyVaultReader runs the scenario of migrate/legacy/vaultkv's
// TestScopes against the real Vault and, for comparison, the local server:
// ZenML's entries in every scope, an unrelated entry and a
// centralized-store entry, listed, read and deleted through the legacy
// reader (VAULT_ADDR points it at the server).
func TestLegacyVaultReader(t *testing.T) {
	servers := []struct {
		name  string
		start func(t *testing.T) (addr, token string)
	}{
		{"real", func(t *testing.T) (string, string) {
			v := realvault.Start(t)
			return v.Addr, v.RootToken
		}},
		{"local", func(t *testing.T) (string, string) {
			srv, addr := localvault.Start(t)
			return addr, srv.RootToken
		}},
	}
	for _, server := range servers {
		t.Run(server.name, func(t *testing.T) {
			clearVaultEnv(t)
			addr, token := server.start(t)
			t.Setenv("VAULT_ADDR", addr)
			t.Setenv("VAULT_TOKEN", token)
			legacyScenario(t, realvault.NewClient(t, addr, token))
		})
	}
}

func legacyScenario(t *testing.T, c *api.Client) {
	const component = "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a"
	ctx := context.Background()
	kv := c.KVv2("secret")
	put := func(path string, data map[string]any) {
		t.Helper()
		_, err := kv.Put(ctx, path, data)
		require.NoError(t, err, path)
	}

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
		{legacy.Descriptor{Scope: legacy.ScopeComponent, ComponentUUID: component}, "zenml-vault://vault.example:8200/secret?component_uuid=" + component, []legacytest.Secret{openai}, nil},
		{legacy.Descriptor{Scope: legacy.ScopeNamespace, Namespace: "team-a"}, "zenml-vault://vault.example:8200/secret?scope=namespace&namespace=team-a",
			append([]legacytest.Secret{dbMain}, legacytest.EdgeCases()...), nil},
	}
	for _, sc := range scopes {
		for _, s := range sc.secrets {
			put(sc.d.FullName(s.Name, "/"), s.Payload())
		}
	}
	put("unrelated", map[string]any{"x": "y"})
	put("zenml/9f1c2d3e-1111-2222-3333-444455556666", map[string]any{"zenml_secret_values": map[string]any{"a": "b"}, "zenml_secret_metadata": map[string]any{}})

	for _, sc := range scopes {
		t.Run(string(sc.d.Scope), func(t *testing.T) {
			src, err := legacy.Open(ctx, sc.url)
			require.NoError(t, err)
			legacytest.CheckSource(t, src, sc.secrets, append([]string{"zenml/9f1c2d3e-1111-2222-3333-444455556666"}, sc.skipped...)...)
		})
	}

	// A soft-deleted latest version hides the entry: the official client
	// answers it with nil Data and no error, which the reader takes as gone.
	_, err := c.Logical().DeleteWithContext(ctx, "secret/data/"+scopes[1].d.FullName(ref[1].Name, "/"))
	require.NoError(t, err)
	src, err := legacy.Open(ctx, scopes[1].url)
	require.NoError(t, err)
	legacytest.CheckSource(t, src, nil, "zenml/9f1c2d3e-1111-2222-3333-444455556666")
	_, err = src.Read(ctx, ref[1].Name)
	require.Equal(t, errcode.NotFound, errcode.Of(err), "a deleted latest version reads as not found")

	src, err = legacy.Open(ctx, scopes[3].url)
	require.NoError(t, err)
	require.NoError(t, src.Delete(ctx, "db.main"))
	_, err = src.Read(ctx, "db.main")
	require.Equal(t, errcode.NotFound, errcode.Of(err))
	require.Equal(t, errcode.NotFound, errcode.Of(src.Delete(ctx, "db.main")))
}
