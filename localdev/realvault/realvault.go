// Package realvault runs the real HashiCorp Vault (v1.21.4, as a Go
// library) inside go test, to check Lockwell's Vault support against it:
// the hashivault value store's conformance suite, a differential test of
// the project's local Vault server (localdev/vault) against the real one,
// and the legacy ZenML Vault reader (migrate/legacy/vaultkv).
//
// It is a Go module of its own because the real Vault costs about 738 MB of
// module downloads and a long cold build; see README.md. Nothing in the
// product imports it.
//
// Start gives an unsealed in-memory Vault on a 127.0.0.1 port with KV v2 at
// "secret" (as "vault server -dev" has; the test core's own "secret" is KV
// v1 and is replaced) and the AppRole auth method at "approle". Namespaces
// are a Vault Enterprise feature: the open-source library cannot serve
// them, so nothing here covers them.
package realvault

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/hashicorp/vault/builtin/credential/approle"
	vaulthttp "github.com/hashicorp/vault/http"
	"github.com/hashicorp/vault/sdk/logical"
	"github.com/hashicorp/vault/vault"
)

// Vault is a running real Vault. Its methods fail the test on error; they
// are safe for concurrent use as far as the Vault API is.
type Vault struct {
	// Addr is http://127.0.0.1:PORT.
	Addr string
	// RootToken is the root token of the root namespace.
	RootToken string
	// Client is an official client with the root token.
	Client *api.Client
}

// Start starts a real Vault for the duration of the test (the core shuts
// down in the test's cleanup).
func Start(t testing.TB) *Vault {
	t.Helper()
	core, _, root := vault.TestCoreUnsealedWithConfig(t, &vault.CoreConfig{
		CredentialBackends: map[string]logical.Factory{"approle": approle.Factory},
	})
	_, addr := vaulthttp.TestServer(t, core)
	v := &Vault{Addr: addr, RootToken: root, Client: NewClient(t, addr, root)}

	// The test core mounts KV v1 at "secret"; make it KV v2, as in dev mode.
	v.request(t, "DELETE", "sys/mounts/secret", nil)
	v.EnableKV(t, "secret")
	v.request(t, "POST", "sys/auth/approle", map[string]any{"type": "approle"})
	return v
}

// NewClient returns an official client for addr with the token, no
// namespace and no retries, reading nothing from VAULT_* variables that
// matter here.
func NewClient(t testing.TB, addr, token string) *api.Client {
	t.Helper()
	cfg := api.DefaultConfig()
	if cfg.Error != nil {
		t.Fatalf("vault client config: %v", cfg.Error)
	}
	cfg.Address = addr
	cfg.MaxRetries = 0
	c, err := api.NewClient(cfg)
	if err != nil {
		t.Fatalf("vault client: %v", err)
	}
	c.SetToken(token)
	c.SetNamespace("")
	return c
}

func (v *Vault) request(t testing.TB, method, path string, body map[string]any) *api.Secret {
	t.Helper()
	var sec *api.Secret
	var err error
	ctx := context.Background()
	switch method {
	case "DELETE":
		sec, err = v.Client.Logical().DeleteWithContext(ctx, path)
	case "GET":
		sec, err = v.Client.Logical().ReadWithContext(ctx, path)
	default:
		sec, err = v.Client.Logical().WriteWithContext(ctx, path, body)
	}
	if err != nil {
		t.Fatalf("real vault %s %s: %v", method, path, err)
	}
	return sec
}

// EnableKV mounts a KV v2 engine at path (it may have several segments)
// and waits until the engine has finished its start-up upgrade and answers.
func (v *Vault) EnableKV(t testing.TB, path string) {
	t.Helper()
	v.request(t, "POST", "sys/mounts/"+path, map[string]any{"type": "kv", "options": map[string]any{"version": "2"}})
	deadline := time.Now().Add(20 * time.Second)
	for {
		// A fresh KV v2 mount answers 400 "Upgrading from non-versioned to
		// versioned data" until its upgrade is done.
		_, err := v.Client.Logical().ReadWithContext(context.Background(), path+"/config")
		if err == nil {
			return
		}
		var re *api.ResponseError
		if !errors.As(err, &re) || time.Now().After(deadline) {
			t.Fatalf("KV v2 mount %s never became ready: %v", path, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// PutPolicy writes an ACL policy (HCL).
func (v *Vault) PutPolicy(t testing.TB, name, hcl string) {
	t.Helper()
	v.request(t, "PUT", "sys/policies/acl/"+name, map[string]any{"policy": hcl})
}

// AddAppRole creates the AppRole role name, issuing tokens with the TTLs
// (0: Vault's defaults) and policies, and returns its role id and a new
// secret id.
func (v *Vault) AddAppRole(t testing.TB, name string, ttl, maxTTL time.Duration, policies ...string) (roleID, secretID string) {
	t.Helper()
	body := map[string]any{"token_policies": policies}
	if ttl > 0 {
		body["token_ttl"] = fmt.Sprintf("%ds", int(ttl.Seconds()))
	}
	if maxTTL > 0 {
		body["token_max_ttl"] = fmt.Sprintf("%ds", int(maxTTL.Seconds()))
	}
	v.request(t, "POST", "auth/approle/role/"+name, body)
	roleID, _ = v.request(t, "GET", "auth/approle/role/"+name+"/role-id", nil).Data["role_id"].(string)
	secretID, _ = v.request(t, "POST", "auth/approle/role/"+name+"/secret-id", nil).Data["secret_id"].(string)
	if roleID == "" || secretID == "" {
		t.Fatalf("AppRole %s: no role id or secret id returned", name)
	}
	return roleID, secretID
}

// AddToken creates a service token with the ttl (0: no expiry, as a root
// child with no TTL) and the default policy, and returns its id.
func (v *Vault) AddToken(t testing.TB, ttl time.Duration, renewable bool) string {
	t.Helper()
	body := map[string]any{"renewable": renewable, "policies": []string{"default"}, "no_parent": true}
	if ttl > 0 {
		body["ttl"] = fmt.Sprintf("%ds", int(ttl.Seconds()))
	}
	sec := v.request(t, "POST", "auth/token/create", body)
	if sec == nil || sec.Auth == nil || sec.Auth.ClientToken == "" {
		t.Fatal("auth/token/create returned no token")
	}
	return sec.Auth.ClientToken
}
