//go:build !nocloud

package main

import (
	"context"
	"encoding/json"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/migrate"
	"github.com/lockwell/lockwell/migrate/legacy/legacytest"
	"github.com/lockwell/lockwell/shared/client"
	"github.com/lockwell/lockwell/shared/secret/secrettest"
)

// requireNoLegacyValues fails when output holds a legacy value (naming the
// secret and key, never the value).
func requireNoLegacyValues(t *testing.T, output string, secrets []legacytest.Secret) {
	t.Helper()
	for _, s := range secrets {
		for k, v := range s.Want() {
			if len(v) >= 4 {
				require.False(t, strings.Contains(output, v), "the value of %s.%s appears in the output", s.Name, k)
			}
		}
	}
}

// afterReading checks that a migrate command said which file it read, on
// its first line of stderr, and returns r without that line.
func afterReading(t *testing.T, r result, path string) result {
	t.Helper()
	first, rest, _ := strings.Cut(r.stderr, "\n")
	require.Equal(t, "Reading the local secrets file "+path+".", first)
	r.stderr = rest
	return r
}

// TestMigrateThroughTheCLI runs "lockwell migrate" end to end against the
// real local server, with the root command's connection settings: plan
// writes nothing and prints no value; run migrates as the caller.
func TestMigrateThroughTheCLI(t *testing.T) {
	srv := startServer(t)
	ctx := context.Background()
	secrets := legacytest.Reference()
	path := filepath.Join(t.TempDir(), "secrets.yaml")
	legacytest.WriteLocal(t, path, secrets, map[string]map[string]string{"not_zenml": {"x": "eQ=="}})
	source := (&url.URL{Scheme: "zenml-local", Path: path}).String()
	c, err := client.New(srv.url, client.BearerToken(srv.adminToken))
	require.NoError(t, err)
	_, err = c.CreateSecret(ctx, client.NewSecret{Name: "openai", Values: map[string]string{"api_key": "someone else's"}})
	require.NoError(t, err)
	inv := srv.as(t, srv.adminToken)

	r := ok(t, inv.run("migrate", "--help"))
	assert.Contains(t, r.stdout, "zenml-local:///PATH/secrets.yaml")
	for _, sub := range []string{"plan", "run", "start", "status", "retry"} {
		assert.Contains(t, r.stdout, "  "+sub+" ", "migrate --help lists %s", sub)
	}
	assert.Contains(t, ok(t, inv.run("--help")).stdout, "migrate", "the root lists the group")

	r = inv.run("migrate", "plan", "--source", source)
	oneLineError(t, afterReading(t, r, path), "1 of 4 entries would fail")
	requireNoLegacyValues(t, r.stdout+r.stderr, secrets)
	assert.Contains(t, r.stdout, "LEGACY NAME")
	for _, name := range []string{"mlflow_basic", "aws_creds", "openai", "not_zenml"} {
		assert.Contains(t, r.stdout, name)
	}
	r = inv.run("migrate", "plan", "--source", source, "-o", "json")
	requireNoLegacyValues(t, r.stdout+r.stderr, secrets)
	var plan []migrate.PlanItem
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &plan))
	outcomes := map[string]string{}
	for _, p := range plan {
		outcomes[p.Name] = string(p.Outcome) + "/" + p.Action
	}
	assert.Equal(t, map[string]string{"mlflow_basic": "migrated/create", "aws_creds": "migrated/create",
		"openai": "failed/none", "not_zenml": "skipped/none"}, outcomes)
	page, err := c.ListSecrets(ctx, client.ListOptions{}, "")
	require.NoError(t, err)
	assert.Len(t, page.Items, 1, "plan writes nothing")

	// run: the conflict fails (exit 1, one line), the rest is migrated with
	// its origin, owned by the caller; a re-run changes nothing.
	r = inv.run("migrate", "run", "--source", source)
	oneLineError(t, afterReading(t, r, path), "1 of 4 entries failed")
	requireNoLegacyValues(t, r.stdout+r.stderr, secrets)
	me, err := c.WhoAmI(ctx)
	require.NoError(t, err)
	for _, s := range secrets[:2] {
		got, err := c.GetSecretByName(ctx, s.Name)
		require.NoError(t, err)
		secrettest.AssertSameValues(t, s.Want(), got.Values)
		assert.Equal(t, me.Name, got.Owner)
		assert.True(t, strings.HasSuffix(got.Origin, "#none/"+s.Name), "%s records its origin", s.Name)
	}
	r = ok(t, inv.run("migrate", "run", "--source", source, "--on-conflict", "skip"))
	assert.Contains(t, r.stdout, "2 migrated, 2 skipped, 0 failed")
	for _, s := range secrets[:2] {
		got, err := c.GetSecretByName(ctx, s.Name)
		require.NoError(t, err)
		assert.EqualValues(t, 1, got.Version, "a re-run writes nothing")
	}
}
