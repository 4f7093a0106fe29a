package migrate_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/stretchr/testify/require"

	localsm "github.com/lockwell/lockwell/localdev/awssecretsmanager"
	"github.com/lockwell/lockwell/migrate"
	"github.com/lockwell/lockwell/migrate/legacy"
	_ "github.com/lockwell/lockwell/migrate/legacy/awssm"
	"github.com/lockwell/lockwell/migrate/legacy/legacytest"
	"github.com/lockwell/lockwell/shared/backend/memstore"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/store"
)

// TestTwoScopesOneName migrates the same ZenML name from two AWS scopes:
// the first creates it, the second is renamed, a re-run of both changes
// nothing, and --delete-source removes each legacy entry only once its copy
// is verified.
func TestTwoScopesOneName(t *testing.T) {
	ctx := context.Background()
	_, endpoint := localsm.Start(t)
	for k, v := range map[string]string{"AWS_ENDPOINT_URL_SECRETS_MANAGER": endpoint, "AWS_ACCESS_KEY_ID": "AKIDLOCAL",
		"AWS_SECRET_ACCESS_KEY": "local", "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_EC2_METADATA_DISABLED": "true"} {
		t.Setenv(k, v)
	}
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("eu-west-1"))
	require.NoError(t, err)
	sm := secretsmanager.NewFromConfig(cfg)
	const uuid = "6b3e5e2a-0d7c-4f0f-9a51-2c1f8e4d9b10"
	global := legacytest.Secret{Name: "openai", Schema: "arbitrary", Values: map[string]any{"api_key": "global-key"}}
	component := legacytest.Secret{Name: "openai", Schema: "arbitrary", Values: map[string]any{"api_key": "component-key", "org": "acme"}}
	for _, p := range []struct {
		d legacy.Descriptor
		s legacytest.Secret
	}{{legacy.Descriptor{Scope: legacy.ScopeGlobal}, global}, {legacy.Descriptor{Scope: legacy.ScopeComponent, ComponentUUID: uuid}, component}} {
		tags := p.d.ScopeLabels()
		tags["zenml_secret_name"], tags["zenml_secret_schema"], tags["zenml_component_uuid"] = p.s.Name, p.s.Schema, uuid
		in := &secretsmanager.CreateSecretInput{Name: aws.String(p.d.FullName(p.s.Name, "/")), SecretString: aws.String(p.s.PayloadJSON())}
		for k, v := range tags {
			in.Tags = append(in.Tags, types.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
		_, err := sm.CreateSecret(ctx, in)
		require.NoError(t, err)
	}

	st := store.New(memstore.New())
	tgt := migrate.StoreTarget{Store: st, Principal: alice}
	opts := migrate.Options{OnConflict: migrate.Rename, DeleteSource: true}
	urls := []string{"zenml-aws://?region=eu-west-1&scope=global", "zenml-aws://?region=eu-west-1&component_uuid=" + uuid}
	for round := range 2 {
		for i, u := range urls {
			src, err := legacy.Open(ctx, u)
			require.NoError(t, err)
			results, err := migrate.Run(ctx, src, tgt, opts, nil, 2, nil)
			require.NoError(t, err)
			if round == 1 {
				require.Empty(t, results, "the legacy entries are gone after round one")
				continue
			}
			require.Len(t, results, 1)
			r := results[0]
			require.Equal(t, migrate.Migrated, r.Outcome, r.Reason)
			require.True(t, r.SourceDeleted)
			if i == 1 {
				require.True(t, strings.HasPrefix(r.Target, "openai-legacy-"), r.Target)
			}
			_, err = src.Read(ctx, "openai")
			require.Equal(t, errcode.NotFound, errcode.Of(err))
		}
	}
	got, err := st.Lookup(ctx, alice, "openai")
	require.NoError(t, err)
	legacytest.RequireSameValues(t, global.Want(), got.Values, "openai (global)")
	require.Equal(t, "zenml-aws://eu-west-1#global/openai", got.Origin)
	renamed := migrate.RenamedName("openai", "zenml-aws://eu-west-1#component/"+uuid+"/openai")
	got, err = st.Lookup(ctx, alice, renamed)
	require.NoError(t, err)
	legacytest.RequireSameValues(t, component.Want(), got.Values, renamed)

	// A redelivered message after the source was deleted is still a no-op.
	src, err := legacy.Open(ctx, urls[1])
	require.NoError(t, err)
	r, err := migrate.Migrate(ctx, src, tgt, opts, "openai")
	require.NoError(t, err)
	require.Equal(t, migrate.Migrated, r.Outcome)
	require.Equal(t, renamed, r.Target)
}
