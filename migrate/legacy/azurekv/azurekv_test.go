package azurekv_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/stretchr/testify/require"

	localkv "github.com/lockwell/lockwell/localdev/azurekeyvault"
	"github.com/lockwell/lockwell/migrate/centraltest"
	"github.com/lockwell/lockwell/migrate/legacy"
	"github.com/lockwell/lockwell/migrate/legacy/azurekv"
	"github.com/lockwell/lockwell/migrate/legacy/legacytest"
	"github.com/lockwell/lockwell/shared/errcode"
)

const uuid = "3c2b1a09-8f7e-4d6c-b5a4-3e2f1d0c9b8a"

// setup starts a local vault and points the reader's environment at it; the
// reader authenticates through DefaultAzureCredential's managed identity,
// which the local vault serves. It returns a raw client to plant entries.
func setup(t *testing.T) *azsecrets.Client {
	srv, err := localkv.Start(localkv.Config{})
	legacytest.RequireEmulator(t, "local Azure Key Vault", err)
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, srv.WriteCACert(ca))
	for k, v := range map[string]string{
		azurekv.EndpointEnv:       srv.URL(),
		azurekv.CAFileEnv:         ca,
		"AZURE_TOKEN_CREDENTIALS": "ManagedIdentityCredential",
		"IDENTITY_ENDPOINT":       srv.IdentityEndpoint(),
		"IDENTITY_HEADER":         srv.IdentityHeader(),
	} {
		t.Setenv(k, v)
	}
	for _, k := range []string{"AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZURE_FEDERATED_TOKEN_FILE", "MSI_ENDPOINT"} {
		t.Setenv(k, "")
		require.NoError(t, os.Unsetenv(k))
	}
	cred, err := azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{ClientOptions: azcore.ClientOptions{Transport: srv.Client()}})
	require.NoError(t, err)
	raw, err := azsecrets.NewClient(srv.URL(), cred, &azsecrets.ClientOptions{
		ClientOptions:                        azcore.ClientOptions{Transport: srv.Client(), Retry: policy.RetryOptions{MaxRetries: -1}},
		DisableChallengeResourceVerification: true,
	})
	require.NoError(t, err)
	return raw
}

func set(t *testing.T, c *azsecrets.Client, name, value string, tags map[string]string) {
	t.Helper()
	p := map[string]*string{}
	for k, v := range tags {
		p[k] = &v
	}
	_, err := c.SetSecret(context.Background(), name, azsecrets.SetSecretParameters{Value: &value, Tags: p}, nil)
	require.NoError(t, err, name)
}

func plant(t *testing.T, c *azsecrets.Client, d legacy.Descriptor, s legacytest.Secret) {
	t.Helper()
	if d.Scope == legacy.ScopeNone {
		for k, v := range s.Values {
			set(t, c, azurekv.PerKeyName(s.Name, k), legacy.Stringify(v), map[string]string{"zenml-group-key": s.Name, "zenml-key-name": k, "zenml-schema-name": s.Schema})
		}
		return
	}
	tags := d.ScopeLabels()
	tags["zenml_secret_name"] = s.Name
	tags["zenml_component_name"] = "az_sm"
	tags["zenml_component_uuid"] = uuid
	tags["zenml_secret_schema"] = s.Schema
	set(t, c, d.FullName(s.Name, "-"), s.PayloadJSON(), tags)
}

func TestPerKeyNamesMatchTheReference(t *testing.T) {
	require.Equal(t, "zenml-59587031636d566659334a6c5a484d74593278705a57353058326c6b", azurekv.PerKeyName("azure_creds", "client_id"))
	require.Equal(t, "zenml-59587031636d566659334a6c5a484d74593278705a57353058334e6c59334a6c64413d3d", azurekv.PerKeyName("azure_creds", "client_secret"))
	require.Equal(t, "zenml-62586b746332566a636d56304c574677615639725a586b3d", azurekv.PerKeyName("my-secret", "api_key"))
	require.Equal(t, "zenml-5a4749746347467a63336476636d513d", azurekv.PerKeyName("db", "password"))
}

func TestScopes(t *testing.T) {
	ctx := context.Background()
	c := setup(t)
	unscoped := []legacytest.Secret{
		{Name: "azure_creds", Schema: "azure", Values: map[string]any{"client_id": "11111111-2222-3333-4444-555555555555", "client_secret": "azsecret~1", "tenant_id": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"}},
		{Name: "my-secret", Schema: "arbitrary", Values: map[string]any{"api_key": "sk-abc123"}},
		{Name: "my", Schema: "arbitrary", Values: map[string]any{"secret-key": "splits as my-secret/key by name; the tags say my/secret-key"}},
		{Name: "odd.name@x+y=z", Schema: "arbitrary", Values: map[string]any{"client-id": "päss wörd ✓ 日本 🔑", "_hidden": "", "blank": ""}},
	}
	scopes := []struct {
		d       legacy.Descriptor
		url     string
		secrets []legacytest.Secret
	}{
		{legacy.Descriptor{Scope: legacy.ScopeNone}, "zenml-azure://my-kv?scope=none", unscoped},
		{legacy.Descriptor{Scope: legacy.ScopeGlobal}, "zenml-azure://my-kv?scope=global",
			[]legacytest.Secret{{Name: "mlflow-basic", Schema: "basic_auth", Values: map[string]any{"username": "admin", "password": "s3cr3t!"}}}},
		{legacy.Descriptor{Scope: legacy.ScopeComponent, ComponentUUID: uuid}, "zenml-azure://my-kv?component_uuid=" + uuid,
			[]legacytest.Secret{{Name: "storage", Schema: "azure", Values: map[string]any{"account_name": "mystorage", "account_key": "a2V5"}}}},
		{legacy.Descriptor{Scope: legacy.ScopeNamespace, Namespace: "team-a"}, "zenml-azure://my-kv?scope=namespace&namespace=team-a",
			[]legacytest.Secret{{Name: "openai", Schema: "arbitrary", Values: map[string]any{"api_key": "sk-abc123", "empty": "", "note": "ü"}}}},
	}
	for _, sc := range scopes {
		for _, s := range sc.secrets {
			plant(t, c, sc.d, s)
		}
	}
	set(t, c, "zenml-9f1c2d3e-1111-2222-3333-444455556666", `{}`, map[string]string{"zenml": "server", "zenml_secret_id": "9f1c2d3e-1111-2222-3333-444455556666", "zenml_secret_scope": "workspace"})
	set(t, c, "unrelated", "x", nil)

	for _, sc := range scopes {
		t.Run(string(sc.d.Scope), func(t *testing.T) {
			src, err := legacy.Open(ctx, sc.url)
			require.NoError(t, err)
			require.Equal(t, "my-kv", src.Describe().Location)
			legacytest.CheckSource(t, src, sc.secrets, "zenml-9f1c2d3e-1111-2222-3333-444455556666")
		})
	}

	src, err := legacy.Open(ctx, "zenml-azure://my-kv?scope=none")
	require.NoError(t, err)
	require.NoError(t, src.Delete(ctx, "azure_creds"))
	_, err = src.Read(ctx, "azure_creds")
	require.Equal(t, errcode.NotFound, errcode.Of(err))
	src, err = legacy.Open(ctx, "zenml-azure://my-kv?scope=global")
	require.NoError(t, err)
	require.NoError(t, src.Delete(ctx, "mlflow-basic"))
	_, err = src.Read(ctx, "mlflow-basic")
	require.Equal(t, errcode.NotFound, errcode.Of(err))
}

func TestURLs(t *testing.T) {
	setup(t)
	for _, bad := range []string{"zenml-azure://?scope=global", "zenml-azure://kv/x?scope=global", "zenml-azure://kv?scope=global&tenant=x"} {
		_, err := legacy.Open(context.Background(), bad)
		require.Equal(t, errcode.InvalidArgument, errcode.Of(err), bad)
	}
	u, err := legacy.FromComponent("azure", []byte(`{"key_vault_name": "my-kv", "scope": "none"}`), "")
	require.NoError(t, err)
	require.Equal(t, "zenml-azure://my-kv?scope=none", u)
}

// TestCentralizedNaming plants centraltest.Fixture as ZenML's centralized
// Azure secrets store wrote it from 0.35 to 0.54.0 (secret zenml-<uuid>
// holding the JSON of the values, tags zenml, zenml_secret_id, _name,
// _scope, _user, _workspace, _created, _updated), next to a values-only
// entry (0.54.1+) and a legacy per-key entry, and migrates it.
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
		body, err := json.Marshal(s.Values)
		require.NoError(t, err)
		set(t, c, "zenml-"+id, string(body), map[string]string{"zenml": "server-1", "zenml_secret_id": id, "zenml_secret_name": s.Name,
			"zenml_secret_scope": scope, "zenml_secret_user": users[s.User], "zenml_secret_workspace": "44444444-4444-4444-8444-444444444444",
			"zenml_secret_created": "2024-01-02T03:04:05", "zenml_secret_updated": "2024-01-02T03:04:05"})
	}
	valuesOnly := "zenml-9f1c2d3e-ffff-4000-8000-000000000000"
	set(t, c, valuesOnly, `{"k": "v-values-only"}`, map[string]string{"zenml": "server-1", "zenml_secret_id": "9f1c2d3e-ffff-4000-8000-000000000000"})
	plant(t, c, legacy.Descriptor{Scope: legacy.ScopeNone}, legacytest.Secret{Name: "db", Schema: "basic_auth", Values: map[string]any{"username": "admin"}})

	src, err := legacy.Open(ctx, "zenml-azure://my-kv?scope=global") // centralized entries are in every scope
	require.NoError(t, err)
	defer src.Close()
	centraltest.RequireMigrates(t, src, centraltest.Fixture(), owners, valuesOnly)
	require.Equal(t, errcode.FailedPrecondition, errcode.Of(src.Delete(ctx, "9f1c2d3e-0000-4000-8000-000000000000")), "centralized entries are never deleted")
}
