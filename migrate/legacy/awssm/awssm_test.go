package awssm_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/stretchr/testify/require"

	localsm "github.com/lockwell/lockwell/localdev/awssecretsmanager"
	"github.com/lockwell/lockwell/migrate/centraltest"
	"github.com/lockwell/lockwell/migrate/legacy"
	_ "github.com/lockwell/lockwell/migrate/legacy/awssm"
	"github.com/lockwell/lockwell/migrate/legacy/legacytest"
	"github.com/lockwell/lockwell/shared/errcode"
)

const uuid = "6b3e5e2a-0d7c-4f0f-9a51-2c1f8e4d9b10"

// setup starts the local Secrets Manager and points the SDK's standard
// variables at it, as a migration run against it would.
func setup(t *testing.T) *secretsmanager.Client {
	_, endpoint := localsm.Start(t)
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": endpoint,
		"AWS_ACCESS_KEY_ID":                "AKIDLOCAL",
		"AWS_SECRET_ACCESS_KEY":            "local-secret-key",
		"AWS_CONFIG_FILE":                  "/nonexistent/lockwell-test",
		"AWS_SHARED_CREDENTIALS_FILE":      "/nonexistent/lockwell-test",
		"AWS_EC2_METADATA_DISABLED":        "true",
	} {
		t.Setenv(k, v)
	}
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion("us-east-1"))
	require.NoError(t, err)
	return secretsmanager.NewFromConfig(cfg)
}

// plant writes s as ZenML's AWS manager would in the scope d.
func plant(t *testing.T, c *secretsmanager.Client, d legacy.Descriptor, s legacytest.Secret) {
	t.Helper()
	in := &secretsmanager.CreateSecretInput{Name: aws.String(d.FullName(s.Name, "/")), SecretString: aws.String(s.PayloadJSON())}
	if d.Scope != legacy.ScopeNone {
		tags := d.ScopeLabels()
		tags["zenml_secret_name"] = s.Name
		tags["zenml_component_name"] = "aws_sm"
		tags["zenml_component_uuid"] = uuid
		tags["zenml_secret_schema"] = s.Schema
		for k, v := range tags {
			in.Tags = append(in.Tags, types.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
	}
	_, err := c.CreateSecret(context.Background(), in)
	require.NoError(t, err)
}

func TestScopes(t *testing.T) {
	ctx := context.Background()
	c := setup(t)
	ref := legacytest.Reference()
	openai := legacytest.Secret{Name: "openai", Schema: "arbitrary", Values: map[string]any{"api_key": "sk-abc123", "org": "acme"}}
	dbMain := legacytest.Secret{Name: "db.main@prod", Schema: "basic_auth", Values: map[string]any{"username": "zenml-user", "password": "hunter2"}}
	byScope := []struct {
		d       legacy.Descriptor
		url     string
		secrets []legacytest.Secret
		skipped []string
	}{
		{legacy.Descriptor{Scope: legacy.ScopeNone}, "zenml-aws://?region=us-east-1&scope=none",
			append(legacytest.All(), legacytest.Typed()), []string{"some-app-secret", "binary-only"}},
		{legacy.Descriptor{Scope: legacy.ScopeGlobal}, "zenml-aws://?region=us-east-1&scope=global", ref[1:2], nil},
		{legacy.Descriptor{Scope: legacy.ScopeComponent, ComponentUUID: uuid}, "zenml-aws://?region=us-east-1&component_uuid=" + uuid,
			[]legacytest.Secret{openai, ref[0]}, nil},
		{legacy.Descriptor{Scope: legacy.ScopeNamespace, Namespace: "team-a"}, "zenml-aws://?region=us-east-1&scope=namespace&namespace=team-a",
			append([]legacytest.Secret{dbMain}, legacytest.EdgeCases()...), nil},
	}
	for _, sc := range byScope {
		for _, s := range sc.secrets {
			plant(t, c, sc.d, s)
		}
	}
	// Negative cases: a non-ZenML untagged secret, a binary one, an entry
	// of ZenML's centralized store, and another component's entry.
	_, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("some-app-secret"), SecretString: aws.String(`{"foo": "bar"}`)})
	require.NoError(t, err)
	_, err = c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("binary-only"), SecretBinary: []byte{1, 2}})
	require.NoError(t, err)
	_, err = c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("zenml/9f1c2d3e-1111-2222-3333-444455556666"),
		SecretString: aws.String(`{"x": "y"}`), Tags: []types.Tag{
			{Key: aws.String("zenml"), Value: aws.String("server-id")}, {Key: aws.String("zenml_secret_id"), Value: aws.String("9f1c2d3e-1111-2222-3333-444455556666")},
			{Key: aws.String("zenml_secret_name"), Value: aws.String("x")}, {Key: aws.String("zenml_secret_scope"), Value: aws.String("workspace")}}})
	require.NoError(t, err)
	plant(t, c, legacy.Descriptor{Scope: legacy.ScopeComponent, ComponentUUID: "00000000-0000-4000-8000-000000000000"}, openai)

	for _, sc := range byScope {
		t.Run(string(sc.d.Scope), func(t *testing.T) {
			src, err := legacy.Open(ctx, sc.url)
			require.NoError(t, err)
			require.Equal(t, sc.d.Scope, src.Describe().Scope)
			require.Equal(t, "us-east-1", src.Describe().Location)
			legacytest.CheckSource(t, src, sc.secrets, sc.skipped...) // the centralized entry: TestCentralizedNaming
			_, err = src.Read(ctx, "some-app-secret")
			require.Contains(t, []errcode.Code{errcode.FailedPrecondition, errcode.NotFound}, errcode.Of(err))
		})
	}

	src, err := legacy.Open(ctx, "zenml-aws://?region=us-east-1&scope=global")
	require.NoError(t, err)
	require.NoError(t, src.Delete(ctx, "aws_creds"))
	_, err = src.Read(ctx, "aws_creds")
	require.Equal(t, errcode.NotFound, errcode.Of(err))
}

func TestURLsAndComponents(t *testing.T) {
	setup(t)
	ctx := context.Background()
	for _, bad := range []string{
		"zenml-aws://?region=us-east-1", // default scope component needs the UUID
		"zenml-aws://?region=us-east-1&scope=namespace",
		"zenml-aws://?region=us-east-1&scope=team",
		"zenml-aws://?region=us-east-1&scope=global&colour=red",
		"zenml-aws://?region=us-east-1&scope=global&namespace=x",
		"zenml-aws://host?region=us-east-1&scope=global",
		"zenml-aws://key:secret@?region=us-east-1&scope=global",
	} {
		_, err := legacy.Open(ctx, bad)
		require.Equal(t, errcode.InvalidArgument, errcode.Of(err), bad)
	}
	u, err := legacy.FromComponent("aws", []byte(`{"region_name": "eu-west-1"}`), "6b3e5e2a0d7c4f0f9a512c1f8e4d9b10")
	require.NoError(t, err)
	require.Equal(t, "zenml-aws://?component_uuid="+uuid+"&region=eu-west-1&scope=component", u)
	u, err = legacy.FromComponent("aws", []byte(`{"region_name": "eu-west-1", "scope": "namespace", "namespace": "team-a"}`), "")
	require.NoError(t, err)
	src, err := legacy.Open(ctx, u)
	require.NoError(t, err)
	require.Equal(t, legacy.Descriptor{Flavor: "aws", Location: "eu-west-1", Scope: legacy.ScopeNamespace, Namespace: "team-a"}, src.Describe())
}

// TestCentralizedNaming plants centraltest.Fixture as ZenML's centralized
// AWS secrets store wrote it from 0.35 to 0.54.0 (zenml/<uuid>, JSON of the
// values, tags zenml, zenml_secret_id, _name, _scope, _user, _workspace),
// next to a 0.54.1+ values-only entry and a legacy entry, and migrates it.
func TestCentralizedNaming(t *testing.T) {
	ctx := context.Background()
	c := setup(t)
	users := map[string]string{"alice": "11111111-1111-4111-8111-111111111111", "bob": "22222222-2222-4222-8222-222222222222", "ci": "33333333-3333-4333-8333-333333333333"}
	owners := map[string]string{}
	for name, id := range users {
		owners[id] = centraltest.Owners[name]
	}
	create := func(name string, values map[string]string, tags map[string]string) {
		body, err := json.Marshal(values)
		require.NoError(t, err)
		in := &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(string(body))}
		for k, v := range tags {
			in.Tags = append(in.Tags, types.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
		_, err = c.CreateSecret(ctx, in)
		require.NoError(t, err)
	}
	for i, s := range centraltest.Fixture() {
		id := fmt.Sprintf("9f1c2d3e-0000-4000-8000-%012d", i)
		scope := "workspace"
		if s.Private {
			scope = "user"
		}
		create("zenml/"+id, s.Values, map[string]string{"zenml": "server-1", "zenml_secret_id": id, "zenml_secret_name": s.Name,
			"zenml_secret_scope": scope, "zenml_secret_user": users[s.User], "zenml_secret_workspace": "44444444-4444-4444-8444-444444444444"})
	}
	valuesOnly := "zenml/9f1c2d3e-ffff-4000-8000-000000000000"
	create(valuesOnly, map[string]string{"k": "v-values-only"}, map[string]string{"zenml": "server-1", "zenml_secret_id": "9f1c2d3e-ffff-4000-8000-000000000000"})
	plant(t, c, legacy.Descriptor{Scope: legacy.ScopeNone}, legacytest.Reference()[0])

	src, err := legacy.Open(ctx, "zenml-aws://?region=us-east-1&scope=global") // centralized entries are in every scope
	require.NoError(t, err)
	defer src.Close()
	centraltest.RequireMigrates(t, src, centraltest.Fixture(), owners, valuesOnly)
	require.True(t, errcode.Is(src.Delete(ctx, "9f1c2d3e-0000-4000-8000-000000000000"), errcode.FailedPrecondition), "centralized entries are never deleted")
}
