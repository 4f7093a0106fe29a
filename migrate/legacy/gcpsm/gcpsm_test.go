package gcpsm_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	secretmanager "cloud.google.com/go/secretmanager/apiv1"
	pb "cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"github.com/stretchr/testify/require"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	localgcp "github.com/lockwell/lockwell/localdev/gcpsecretmanager"
	"github.com/lockwell/lockwell/migrate/centraltest"
	"github.com/lockwell/lockwell/migrate/legacy"
	"github.com/lockwell/lockwell/migrate/legacy/gcpsm"
	"github.com/lockwell/lockwell/migrate/legacy/legacytest"
	"github.com/lockwell/lockwell/shared/errcode"
)

const (
	project = "my-gcp-project"
	uuid    = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
)

func setup(t *testing.T) *secretmanager.Client {
	srv, err := localgcp.Start()
	legacytest.RequireEmulator(t, "local GCP Secret Manager", err)
	t.Cleanup(srv.Close)
	t.Setenv(gcpsm.EndpointEnv, srv.Addr())
	c, err := secretmanager.NewClient(context.Background(), option.WithEndpoint(srv.Addr()), option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

func create(t *testing.T, c *secretmanager.Client, id string, labels map[string]string, payload string) {
	t.Helper()
	ctx := context.Background()
	_, err := c.CreateSecret(ctx, &pb.CreateSecretRequest{Parent: "projects/" + project, SecretId: id, Secret: &pb.Secret{
		Labels: labels, Replication: &pb.Replication{Replication: &pb.Replication_Automatic_{Automatic: &pb.Replication_Automatic{}}}}})
	require.NoError(t, err, id)
	_, err = c.AddSecretVersion(ctx, &pb.AddSecretVersionRequest{Parent: "projects/" + project + "/secrets/" + id, Payload: &pb.SecretPayload{Data: []byte(payload)}})
	require.NoError(t, err, id)
}

// plant writes s as ZenML's GCP manager would in scope d.
func plant(t *testing.T, c *secretmanager.Client, d legacy.Descriptor, s legacytest.Secret) {
	t.Helper()
	if d.Scope == legacy.ScopeNone { // one secret per key, dash-style labels
		for k, v := range s.Values {
			create(t, c, s.Name+"_"+k, map[string]string{"zenml-group-key": s.Name, "zenml-schema-name": s.Schema}, legacy.Stringify(v))
		}
		return
	}
	labels := d.ScopeLabels()
	labels["zenml_secret_name"] = s.Name
	labels["zenml_component_name"] = "gcp_sm"
	labels["zenml_component_uuid"] = uuid
	labels["zenml_secret_schema"] = s.Schema
	create(t, c, d.FullName(s.Name, "-"), labels, s.PayloadJSON())
}

func TestScopes(t *testing.T) {
	ctx := context.Background()
	c := setup(t)
	unscoped := []legacytest.Secret{
		{Name: "db", Schema: "basic_auth", Values: map[string]any{"username": "admin", "password": "s3cr3t!"}},
		{Name: "my_api", Schema: "arbitrary", Values: map[string]any{"token_a": "abc", "_b": "def"}},
		{Name: "square_", Schema: "arbitrary", Values: map[string]any{"square": "päss wörd ✓ 日本 🔑"}},
		{Name: "db-prod", Schema: "basic_auth", Values: map[string]any{"username": "x", "password": ""}}, // "db" is a prefix of it
	}
	basic := legacytest.Secret{Name: "mlflow_basic", Schema: "basic_auth", Values: map[string]any{"username": "admin", "password": "s3cr3t!"}}
	gcpSA := legacytest.Secret{Name: "gcp_sa", Schema: "gcp", Values: map[string]any{"token": `{"type": "service_account", "project_id": "my-gcp-project"}`}}
	openai := legacytest.Secret{Name: "openai", Schema: "arbitrary", Values: map[string]any{"api_key": "sk-abc123", "empty": "", "_under": "ü"}}
	scopes := []struct {
		d       legacy.Descriptor
		url     string
		secrets []legacytest.Secret
	}{
		{legacy.Descriptor{Scope: legacy.ScopeNone}, "zenml-gcp://" + project + "?scope=none", unscoped},
		{legacy.Descriptor{Scope: legacy.ScopeGlobal}, "zenml-gcp://" + project + "?scope=global", []legacytest.Secret{basic}},
		{legacy.Descriptor{Scope: legacy.ScopeComponent, ComponentUUID: uuid}, "zenml-gcp://" + project + "?component_uuid=" + uuid, []legacytest.Secret{gcpSA, basic}},
		{legacy.Descriptor{Scope: legacy.ScopeNamespace, Namespace: "team-a"}, "zenml-gcp://" + project + "?scope=namespace&namespace=team-a", []legacytest.Secret{openai}},
	}
	for _, sc := range scopes {
		for _, s := range sc.secrets {
			plant(t, c, sc.d, s)
		}
	}
	create(t, c, "unrelated", map[string]string{"team": "x"}, "not zenml")
	create(t, c, "zenml-9f1c2d3e-1111-2222-3333-444455556666", map[string]string{"zenml": "server", "zenml_secret_id": "9f1c2d3e-1111-2222-3333-444455556666", "zenml_secret_scope": "workspace"}, `{}`)
	create(t, c, "zenml-namespace-team-a-other", map[string]string{"zenml_scope": "namespace", "zenml_secret_name": "other", "zenml_namespace": "team-b"}, `{"a": "b", "zenml_schema_name": "arbitrary"}`)

	for _, sc := range scopes {
		t.Run(string(sc.d.Scope), func(t *testing.T) {
			src, err := legacy.Open(ctx, sc.url)
			require.NoError(t, err)
			defer src.Close()
			legacytest.CheckSource(t, src, sc.secrets, "zenml-9f1c2d3e-1111-2222-3333-444455556666")
		})
	}

	src, err := legacy.Open(ctx, "zenml-gcp://"+project+"?scope=none")
	require.NoError(t, err)
	require.NoError(t, src.Delete(ctx, "db"))
	_, err = src.Read(ctx, "db")
	require.Equal(t, errcode.NotFound, errcode.Of(err))
	_, err = src.Read(ctx, "db-prod")
	require.NoError(t, err, "deleting db leaves db-prod alone")
	src, err = legacy.Open(ctx, "zenml-gcp://"+project+"?scope=namespace&namespace=team-a")
	require.NoError(t, err)
	_, err = src.Read(ctx, "other")
	require.Equal(t, errcode.NotFound, errcode.Of(err), "labels of another namespace do not match")
	require.NoError(t, src.Delete(ctx, "openai"))
	_, err = src.Read(ctx, "openai")
	require.Equal(t, errcode.NotFound, errcode.Of(err))
}

func TestURLs(t *testing.T) {
	setup(t)
	for _, bad := range []string{"zenml-gcp://?scope=global", "zenml-gcp://p/x?scope=global", "zenml-gcp://p?scope=global&region=x"} {
		_, err := legacy.Open(context.Background(), bad)
		require.Equal(t, errcode.InvalidArgument, errcode.Of(err), bad)
	}
	u, err := legacy.FromComponent("gcp", []byte(`{"project_id": "my-gcp-project", "scope": "global"}`), "")
	require.NoError(t, err)
	require.Equal(t, "zenml-gcp://my-gcp-project?scope=global", u)
}

// TestCentralizedNaming plants centraltest.Fixture as ZenML's centralized
// GCP secrets store wrote it from 0.35 to 0.54.0 (secret id zenml-<uuid>,
// a version holding the JSON of the values, labels zenml, zenml_secret_id,
// _name, _scope, _user, _workspace; names restricted to label values, so
// s3.bucket becomes s3_bucket), next to a values-only entry (0.54.1+) and
// a legacy per-key entry, and migrates it.
func TestCentralizedNaming(t *testing.T) {
	ctx := context.Background()
	c := setup(t)
	users := map[string]string{"alice": "11111111-1111-4111-8111-111111111111", "bob": "22222222-2222-4222-8222-222222222222", "ci": "33333333-3333-4333-8333-333333333333"}
	owners := map[string]string{}
	for name, id := range users {
		owners[id] = centraltest.Owners[name]
	}
	var want []centraltest.Secret
	for i, s := range centraltest.Fixture() {
		s.Name = strings.ReplaceAll(s.Name, ".", "_")
		want = append(want, s)
		id := fmt.Sprintf("9f1c2d3e-0000-4000-8000-%012d", i)
		scope := "workspace"
		if s.Private {
			scope = "user"
		}
		body, err := json.Marshal(s.Values)
		require.NoError(t, err)
		create(t, c, "zenml-"+id, map[string]string{"zenml": "server-1", "zenml_secret_id": id, "zenml_secret_name": s.Name,
			"zenml_secret_scope": scope, "zenml_secret_user": users[s.User], "zenml_secret_workspace": "44444444-4444-4444-8444-444444444444",
			"zenml-secret-created": "2024-01-02-03-04-05", "zenml-secret-updated": "2024-01-02-03-04-05"}, string(body))
	}
	valuesOnly := "zenml-9f1c2d3e-ffff-4000-8000-000000000000"
	create(t, c, valuesOnly, map[string]string{"zenml": "server-1", "zenml_secret_id": "9f1c2d3e-ffff-4000-8000-000000000000"}, `{"k": "v-values-only"}`)
	plant(t, c, legacy.Descriptor{Scope: legacy.ScopeNone}, legacytest.Secret{Name: "db", Schema: "basic_auth", Values: map[string]any{"username": "admin"}})

	src, err := legacy.Open(ctx, "zenml-gcp://"+project+"?scope=global") // centralized entries are in every scope
	require.NoError(t, err)
	defer src.Close()
	centraltest.RequireMigrates(t, src, want, owners, valuesOnly)
	require.Equal(t, errcode.FailedPrecondition, errcode.Of(src.Delete(ctx, "9f1c2d3e-0000-4000-8000-000000000000")), "centralized entries are never deleted")
}
