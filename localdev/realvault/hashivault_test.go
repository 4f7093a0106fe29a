package realvault_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/localdev/realvault"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/valuestore"
	_ "github.com/lockwell/lockwell/shared/valuestore/hashivault"
	"github.com/lockwell/lockwell/shared/valuestore/valuestoretest"
)

// clearVaultEnv makes the tests independent of the developer's shell.
func clearVaultEnv(t *testing.T) {
	for _, k := range []string{"VAULT_TOKEN", "VAULT_ROLE_ID", "VAULT_SECRET_ID", "VAULT_NAMESPACE", "VAULT_ADDR", "VAULT_CACERT", "VAULT_CAPATH", "VAULT_MAX_RETRIES", "VAULT_CLIENT_TIMEOUT"} {
		t.Setenv(k, "")
		require.NoError(t, os.Unsetenv(k))
	}
}

func storeURL(v *realvault.Vault, mount, params string) string {
	u := "hashivault://" + strings.TrimPrefix(v.Addr, "http://") + "/" + mount + "?tls=false"
	if params != "" {
		u += "&" + params
	}
	return u
}

func openStore(t *testing.T, rawURL, deployment string) valuestore.Store {
	t.Helper()
	s, err := valuestore.Open(context.Background(), rawURL, valuestore.Options{Deployment: deployment})
	require.NoError(t, err)
	return s
}

// storePolicy is the policy the hashivault package documents for a
// deployment with prefix "lockwell" on mount.
func storePolicy(mount string) string {
	return `
path "` + mount + `/data/lockwell/*" { capabilities = ["create", "read", "update"] }
path "` + mount + `/metadata/lockwell/*" { capabilities = ["read", "list", "update", "delete"] }
path "` + mount + `/destroy/lockwell/*" { capabilities = ["update"] }
`
}

// TestHashivaultConformance runs the value store conformance suite against
// the real Vault. Throttling is not covered here: the real Vault cannot be
// told to answer the next N requests with 429 (its rate limit quotas are
// time based); the store's retries are covered against the local server in
// shared/valuestore/hashivault. Namespaces are Vault Enterprise only.
func TestHashivaultConformance(t *testing.T) {
	cases := []struct {
		name, mount, params string
		appRole             bool
	}{
		{"root token, mount secret", "secret", "prefix=lockwell", false},
		{"AppRole with the documented policy, nested mount", "team/kv", "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clearVaultEnv(t)
			v := realvault.Start(t)
			if tc.mount != "secret" {
				v.EnableKV(t, tc.mount)
			}
			if tc.appRole {
				v.PutPolicy(t, "lockwell", storePolicy(tc.mount))
				roleID, secretID := v.AddAppRole(t, "lockwell", 0, 0, "lockwell")
				t.Setenv("VAULT_ROLE_ID", roleID)
				t.Setenv("VAULT_SECRET_ID", secretID)
			} else {
				t.Setenv("VAULT_TOKEN", v.RootToken)
			}
			rawURL := storeURL(v, tc.mount, tc.params)
			valuestoretest.Run(t,
				func(t *testing.T) valuestore.Store { return openStore(t, rawURL, valuestoretest.Deployment) },
				valuestoretest.WithOtherDeployment(func(t *testing.T, deployment string) valuestore.Store {
					return openStore(t, rawURL, deployment)
				}),
				valuestoretest.WithForeignEntries(func(t *testing.T, id string, kind valuestoretest.ForeignKind) func() bool {
					return plant(t, v.Client, tc.mount, "lockwell/"+id, id, kind)
				}),
			)
		})
	}
}

func plant(t *testing.T, c *api.Client, mount, path, id string, kind valuestoretest.ForeignKind) func() bool {
	ctx := context.Background()
	var data map[string]any
	switch kind {
	case valuestoretest.Plain:
		data = map[string]any{"password": "not lockwell's"}
	case valuestoretest.OtherDeployment:
		data = map[string]any{"values": map[string]any{"k": "v"}, "lockwell": map[string]any{"deployment": "someone-else", "secret_id": id}}
	case valuestoretest.OtherSecretID:
		data = map[string]any{"values": map[string]any{"k": "v"}, "lockwell": map[string]any{"deployment": valuestoretest.Deployment, "secret_id": uuid.NewString()}}
	}
	_, err := c.KVv2(mount).Put(ctx, path, data)
	require.NoError(t, err)
	return func() bool {
		got, err := c.KVv2(mount).Get(ctx, path)
		if err != nil || got.VersionMetadata.Version != 1 {
			return false
		}
		md, err := c.KVv2(mount).GetMetadata(ctx, path)
		return err == nil && md.CurrentVersion == 1 && len(md.Versions) == 1 && canonical(got.Data) == canonical(data)
	}
}

// canonical is the JSON of m with sorted keys, for comparing contents
// without printing them.
func canonical(m map[string]any) string {
	b, _ := json.Marshal(m)
	return string(b)
}

// TestHashivaultMaxVersionsAndRetire checks the stored shape, max_versions
// and Retire's destroy against the real Vault.
func TestHashivaultMaxVersionsAndRetire(t *testing.T) {
	clearVaultEnv(t)
	v := realvault.Start(t)
	t.Setenv("VAULT_TOKEN", v.RootToken)
	s := openStore(t, storeURL(v, "secret", "prefix=lw&max_versions=100"), "dep-1")
	defer s.Close()
	ctx := context.Background()
	id := uuid.NewString()
	ref, err := s.Put(ctx, id, map[string]string{"user": "u"})
	require.NoError(t, err)
	assert.Equal(t, "1", ref)

	kv := v.Client.KVv2("secret")
	got, err := kv.Get(ctx, "lw/"+id)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"deployment": "dep-1", "secret_id": id}, got.Data["lockwell"])
	md, err := kv.GetMetadata(ctx, "lw/"+id)
	require.NoError(t, err)
	assert.Equal(t, 100, md.MaxVersions)

	for i := 2; i <= 5; i++ {
		ref, err = s.Put(ctx, id, map[string]string{"user": "u", "n": strings.Repeat("x", i)})
		require.NoError(t, err)
	}
	assert.Equal(t, "5", ref)

	require.NoError(t, s.Retire(ctx, id, "4"))
	md, err = kv.GetMetadata(ctx, "lw/"+id)
	require.NoError(t, err)
	for _, mv := range md.Versions {
		assert.Equal(t, mv.Version < 4, mv.Destroyed, "version %d destroyed", mv.Version)
	}
	_, err = s.Get(ctx, id, "3")
	assert.Equal(t, errcode.NotFound, errcode.Of(err), "a destroyed version is not found")
	_, err = s.Get(ctx, id, "5")
	require.NoError(t, err)
}

// TestHashivaultMaxVersionsNeedsMetadataUpdate: with max_versions set, Put
// writes the new entry's metadata, so the documented policy grants update on
// <mount>/metadata/<prefix>/*; without it the real Vault refuses.
func TestHashivaultMaxVersionsNeedsMetadataUpdate(t *testing.T) {
	withoutUpdate := strings.Replace(storePolicy("secret"), `"read", "list", "update", "delete"`, `"read", "list", "delete"`, 1)
	cases := []struct {
		name   string
		policy string
		want   errcode.Code // "" for success
	}{
		{"documented policy", storePolicy("secret"), ""},
		{"without update on metadata", withoutUpdate, errcode.PermissionDenied},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clearVaultEnv(t)
			v := realvault.Start(t)
			v.PutPolicy(t, "lockwell", tc.policy)
			roleID, secretID := v.AddAppRole(t, "lockwell", 0, 0, "lockwell")
			t.Setenv("VAULT_ROLE_ID", roleID)
			t.Setenv("VAULT_SECRET_ID", secretID)
			s := openStore(t, storeURL(v, "secret", "max_versions=100"), "dep")
			defer s.Close()
			_, err := s.Put(context.Background(), uuid.NewString(), map[string]string{"a": "1"})
			assert.Equal(t, tc.want, errcode.Of(err), "Put with max_versions: %v", err)
		})
	}
}

// TestHashivaultAppRoleRenewalAndRelogin: with tokens of 2 s TTL and 3 s
// max TTL, the store renews and logs in again, and reads keep working past
// the max TTL.
func TestHashivaultAppRoleRenewalAndRelogin(t *testing.T) {
	clearVaultEnv(t)
	v := realvault.Start(t)
	v.PutPolicy(t, "lockwell", storePolicy("secret"))
	roleID, secretID := v.AddAppRole(t, "lockwell", 2*time.Second, 3*time.Second, "lockwell")
	t.Setenv("VAULT_ROLE_ID", roleID)
	t.Setenv("VAULT_SECRET_ID", secretID)
	s := openStore(t, storeURL(v, "secret", ""), "dep")
	defer s.Close()
	ctx := context.Background()
	id := uuid.NewString()
	ref, err := s.Put(ctx, id, map[string]string{"a": "1"})
	require.NoError(t, err)
	deadline := time.Now().Add(4500 * time.Millisecond)
	for time.Now().Before(deadline) {
		_, err := s.Get(ctx, id, ref)
		require.NoError(t, err)
		time.Sleep(200 * time.Millisecond)
	}
}

// TestHashivaultRevokedTokensLogInAgain revokes every AppRole token: the
// next request gets Vault's 403 and the store logs in again.
func TestHashivaultRevokedTokensLogInAgain(t *testing.T) {
	clearVaultEnv(t)
	v := realvault.Start(t)
	v.PutPolicy(t, "lockwell", storePolicy("secret"))
	roleID, secretID := v.AddAppRole(t, "lockwell", 0, 0, "lockwell")
	t.Setenv("VAULT_ROLE_ID", roleID)
	t.Setenv("VAULT_SECRET_ID", secretID)
	s := openStore(t, storeURL(v, "secret", ""), "dep")
	defer s.Close()
	ctx := context.Background()
	id := uuid.NewString()
	ref, err := s.Put(ctx, id, map[string]string{"a": "1"})
	require.NoError(t, err)
	_, err = v.Client.Logical().WriteWithContext(ctx, "sys/leases/revoke-prefix/auth/approle", nil)
	require.NoError(t, err)
	_, err = s.Get(ctx, id, ref)
	require.NoError(t, err, "read after every AppRole token was revoked")
}

func TestHashivaultAuthFailures(t *testing.T) {
	clearVaultEnv(t)
	v := realvault.Start(t)
	roleID, _ := v.AddAppRole(t, "lockwell", 0, 0, "default")
	rawURL := storeURL(v, "secret", "")

	t.Setenv("VAULT_ROLE_ID", roleID)
	t.Setenv("VAULT_SECRET_ID", "wrong-secret-value")
	_, err := valuestore.Open(context.Background(), rawURL, valuestore.Options{Deployment: "d"})
	assert.Equal(t, errcode.PermissionDenied, errcode.Of(err), "wrong secret id: %v", err)
	if err != nil {
		assert.NotContains(t, err.Error(), "wrong-secret-value")
	}

	t.Setenv("VAULT_TOKEN", "hvs.not-a-token")
	_, err = valuestore.Open(context.Background(), rawURL, valuestore.Options{Deployment: "d"})
	assert.Equal(t, errcode.PermissionDenied, errcode.Of(err), "bad token: %v", err)
	if err != nil {
		assert.NotContains(t, err.Error(), "hvs.not-a-token")
	}

	// A token without access to the mount opens (lookup-self is allowed by
	// the default policy) but every operation is denied.
	t.Setenv("VAULT_TOKEN", v.AddToken(t, time.Hour, true))
	s := openStore(t, rawURL, "d")
	defer s.Close()
	_, err = s.Put(context.Background(), uuid.NewString(), map[string]string{"a": "1"})
	assert.Equal(t, errcode.PermissionDenied, errcode.Of(err), "token without policy: %v", err)
}
