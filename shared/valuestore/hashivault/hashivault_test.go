package hashivault_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	localvault "github.com/lockwell/lockwell/localdev/vault"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/valuestore"
	"github.com/lockwell/lockwell/shared/valuestore/hashivault"
	"github.com/lockwell/lockwell/shared/valuestore/valuestoretest"
)

// clearVaultEnv makes the test independent of the developer's shell.
func clearVaultEnv(t *testing.T) {
	for _, k := range []string{"VAULT_TOKEN", "VAULT_ROLE_ID", "VAULT_SECRET_ID", "VAULT_NAMESPACE", "VAULT_ADDR", "VAULT_CACERT", "VAULT_CAPATH", "VAULT_MAX_RETRIES", "VAULT_CLIENT_TIMEOUT"} {
		t.Setenv(k, "")
	}
}

// rawClient is the official client used directly, as another tool would.
func rawClient(t *testing.T, addr, token, ns string) *api.Client {
	cfg := api.DefaultConfig()
	cfg.Address = addr
	cfg.MaxRetries = 0
	c, err := api.NewClient(cfg)
	require.NoError(t, err)
	c.SetToken(token)
	c.SetNamespace(ns)
	return c
}

func openStore(t *testing.T, rawURL, deployment string) valuestore.Store {
	t.Helper()
	s, err := valuestore.Open(context.Background(), rawURL, valuestore.Options{Deployment: deployment})
	require.NoError(t, err)
	return s
}

func TestConformance(t *testing.T) {
	cases := []struct {
		name, mount, ns string
		appRole         bool
	}{
		{"token root namespace", "kv", "", false},
		{"approle in a namespace with a nested mount", "team/kv", "team-a", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clearVaultEnv(t)
			srv, addr := localvault.Start(t)
			srv.EnableKV(tc.ns, tc.mount)
			if tc.appRole {
				srv.AddAppRole(tc.ns, localvault.AppRole{RoleID: "role-1", SecretID: "secret-1"})
				t.Setenv("VAULT_ROLE_ID", "role-1")
				t.Setenv("VAULT_SECRET_ID", "secret-1")
			} else {
				t.Setenv("VAULT_TOKEN", srv.RootToken)
			}
			rawURL := "hashivault://" + strings.TrimPrefix(addr, "http://") + "/" + tc.mount + "?tls=false&prefix=lockwell"
			if tc.ns != "" {
				rawURL += "&namespace=" + tc.ns
			}
			raw := rawClient(t, addr, srv.RootToken, tc.ns)
			valuestoretest.Run(t,
				func(t *testing.T) valuestore.Store { return openStore(t, rawURL, valuestoretest.Deployment) },
				valuestoretest.WithOtherDeployment(func(t *testing.T, deployment string) valuestore.Store {
					return openStore(t, rawURL, deployment)
				}),
				valuestoretest.WithForeignEntries(func(t *testing.T, id string, kind valuestoretest.ForeignKind) func() bool {
					return plant(t, raw, tc.mount, "lockwell/"+id, id, kind)
				}),
				valuestoretest.WithThrottling(func(t *testing.T, op valuestoretest.Op, times int) {
					kind := localvault.DataWrite
					if op == valuestoretest.OpGet {
						kind = localvault.DataRead
					}
					for i := range times {
						f := localvault.Fault{Status: http.StatusTooManyRequests, Errors: []string{"rate limit quota exceeded"}}
						if i%2 == 1 {
							f = localvault.Fault{Status: http.StatusServiceUnavailable, Errors: []string{"Vault is sealed"}}
						}
						srv.InjectFault(kind, f)
					}
					t.Cleanup(srv.ClearFaults)
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

func TestStoredShapeCASAndMaxVersions(t *testing.T) {
	clearVaultEnv(t)
	srv, addr := localvault.Start(t)
	t.Setenv("VAULT_TOKEN", srv.RootToken)
	s := openStore(t, "hashivault://"+strings.TrimPrefix(addr, "http://")+"/secret?tls=false&prefix=lw&max_versions=100", "dep-1")
	defer s.Close()
	ctx := context.Background()
	id := uuid.NewString()
	ref, err := s.Put(ctx, id, map[string]string{"user": "u"})
	require.NoError(t, err)
	assert.Equal(t, "1", ref)

	raw := rawClient(t, addr, srv.RootToken, "")
	got, err := raw.KVv2("secret").Get(ctx, "lw/"+id)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"deployment": "dep-1", "secret_id": id}, got.Data["lockwell"])
	md, err := raw.KVv2("secret").GetMetadata(ctx, "lw/"+id)
	require.NoError(t, err)
	assert.Equal(t, 100, md.MaxVersions)

	before := srv.Calls(localvault.DataWrite)
	for i := 2; i <= 5; i++ {
		ref, err = s.Put(ctx, id, map[string]string{"user": "u", "n": strings.Repeat("x", i)})
		require.NoError(t, err)
	}
	assert.Equal(t, "5", ref)
	assert.Equal(t, before+4, srv.Calls(localvault.DataWrite), "one check-and-set write per Put without contention")

	// Retire destroys older versions only.
	require.NoError(t, s.Retire(ctx, id, "4"))
	md, err = raw.KVv2("secret").GetMetadata(ctx, "lw/"+id)
	require.NoError(t, err)
	for _, v := range md.Versions {
		assert.Equal(t, v.Version < 4, v.Destroyed, "version %d destroyed", v.Version)
	}
}

// TestNewEntriesKeepManyVersionsByDefault: Vault's default of 10 let ten
// losing writers destroy the version the index points at.
func TestNewEntriesKeepManyVersionsByDefault(t *testing.T) {
	clearVaultEnv(t)
	srv, addr := localvault.Start(t)
	t.Setenv("VAULT_TOKEN", srv.RootToken)
	s := openStore(t, "hashivault://"+strings.TrimPrefix(addr, "http://")+"/secret?tls=false&prefix=lw", "dep-1")
	defer s.Close()
	id := uuid.NewString()
	_, err := s.Put(context.Background(), id, map[string]string{"k": "v"})
	require.NoError(t, err)
	md, err := rawClient(t, addr, srv.RootToken, "").KVv2("secret").GetMetadata(context.Background(), "lw/"+id)
	require.NoError(t, err)
	assert.Equal(t, hashivault.DefaultMaxVersions, md.MaxVersions)
}

// TestConcurrentPutsRetryTheCheckAndSet holds the writers' first data writes
// until all of them have sent one, so that every writer has read the same
// current version and all but one must lose the check-and-set, however the
// machine schedules them.
func TestConcurrentPutsRetryTheCheckAndSet(t *testing.T) {
	clearVaultEnv(t)
	srv := localvault.New()
	const writers = 6
	var (
		mu      sync.Mutex
		arrived int
		all     = make(chan struct{})
		gating  bool
	)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		gate := gating && r.Method != http.MethodGet && strings.HasPrefix(r.URL.Path, "/v1/secret/data/") && arrived < writers
		if gate {
			if arrived++; arrived == writers {
				close(all)
			}
		}
		mu.Unlock()
		if gate {
			select {
			case <-all:
			case <-time.After(time.Minute):
				t.Error("not every writer sent its write within a minute")
			}
		}
		srv.ServeHTTP(w, r)
	}))
	defer front.Close()
	t.Setenv("VAULT_TOKEN", srv.RootToken)
	s := openStore(t, "hashivault://"+strings.TrimPrefix(front.URL, "http://")+"/secret?tls=false", "dep")
	defer s.Close()
	ctx := context.Background()
	id := uuid.NewString()
	_, err := s.Put(ctx, id, map[string]string{"n": "0"})
	require.NoError(t, err)
	mu.Lock()
	gating = true
	mu.Unlock()
	refs := make(chan string, writers)
	errs := make(chan error, writers)
	for i := range writers {
		go func() {
			ref, err := s.Put(ctx, id, map[string]string{"n": strings.Repeat("x", i+1)})
			refs <- ref
			errs <- err
		}()
	}
	seen := map[string]bool{}
	for range writers {
		require.NoError(t, <-errs)
		ref := <-refs
		assert.False(t, seen[ref], "two writers got version %s", ref)
		seen[ref] = true
	}
	assert.GreaterOrEqual(t, srv.Calls(localvault.DataWrite), 1+writers+writers-1, "the writes that lost the check-and-set were retried")
}

func TestAppRoleRenewalAndRelogin(t *testing.T) {
	clearVaultEnv(t)
	srv, addr := localvault.Start(t)
	srv.AddAppRole("", localvault.AppRole{RoleID: "r", SecretID: "s", TokenTTL: time.Second, TokenMaxTTL: 1500 * time.Millisecond})
	t.Setenv("VAULT_ROLE_ID", "r")
	t.Setenv("VAULT_SECRET_ID", "s")
	s := openStore(t, "hashivault://"+strings.TrimPrefix(addr, "http://")+"/secret?tls=false", "dep")
	ctx := context.Background()
	id := uuid.NewString()
	ref, err := s.Put(ctx, id, map[string]string{"a": "1"})
	require.NoError(t, err)
	assert.Equal(t, 1, srv.Calls(localvault.Login))

	// The token is renewed at half its TTL, reaches its 1.5 s max TTL, and
	// the store logs in again; reads keep working throughout. This takes
	// about 1.5 s; the bound only fails a store that never gets there.
	limit := time.Now().Add(time.Minute)
	for srv.Calls(localvault.RenewSelf) < 1 || srv.Calls(localvault.Login) < 2 {
		require.True(t, time.Now().Before(limit), "no renewal and new login within a minute: %d renewals, %d logins",
			srv.Calls(localvault.RenewSelf), srv.Calls(localvault.Login))
		_, err := s.Get(ctx, id, ref)
		require.NoError(t, err)
		time.Sleep(20 * time.Millisecond)
	}
	_, err = s.Get(ctx, id, ref)
	require.NoError(t, err, "reads work after the new login")

	// Close waits for the renewal loop to end; a loop left running would
	// renew within 0.5 s (half the TTL). The wait below can only make a
	// slow machine pass, never fail.
	require.NoError(t, s.Close())
	renewals := srv.Calls(localvault.RenewSelf)
	time.Sleep(800 * time.Millisecond)
	assert.Equal(t, renewals, srv.Calls(localvault.RenewSelf), "Close stops renewal")
}

func TestRevokedTokenLogsInAgainWithAppRole(t *testing.T) {
	clearVaultEnv(t)
	srv, addr := localvault.Start(t)
	srv.AddAppRole("", localvault.AppRole{RoleID: "r", SecretID: "s"})
	t.Setenv("VAULT_ROLE_ID", "r")
	t.Setenv("VAULT_SECRET_ID", "s")
	s := openStore(t, "hashivault://"+strings.TrimPrefix(addr, "http://")+"/secret?tls=false", "dep")
	defer s.Close()
	ctx := context.Background()
	id := uuid.NewString()
	ref, err := s.Put(ctx, id, map[string]string{"a": "1"})
	require.NoError(t, err)
	srv.ClearFaults()
	// Revoke every token the server issued by expiring them: simplest is a
	// fresh 403 on the next read, answered by a new login.
	srv.InjectFault(localvault.DataRead, localvault.Fault{Status: http.StatusForbidden, Errors: []string{"permission denied"}})
	_, err = s.Get(ctx, id, ref)
	require.NoError(t, err)
	assert.Equal(t, 2, srv.Calls(localvault.Login))
}

func TestAuthFailures(t *testing.T) {
	clearVaultEnv(t)
	srv, addr := localvault.Start(t)
	host := strings.TrimPrefix(addr, "http://")
	srv.AddAppRole("", localvault.AppRole{RoleID: "r", SecretID: "right"})

	_, err := valuestore.Open(context.Background(), "hashivault://"+host+"/secret?tls=false", valuestore.Options{Deployment: "d"})
	assert.Equal(t, errcode.InvalidArgument, errcode.Of(err), "no credentials: %v", err)

	t.Setenv("VAULT_ROLE_ID", "r")
	t.Setenv("VAULT_SECRET_ID", "wrong-secret-value")
	_, err = valuestore.Open(context.Background(), "hashivault://"+host+"/secret?tls=false", valuestore.Options{Deployment: "d"})
	assert.Equal(t, errcode.PermissionDenied, errcode.Of(err), "%v", err)
	assert.NotContains(t, err.Error(), "wrong-secret-value")

	t.Setenv("VAULT_TOKEN", "hvs.not-a-token")
	_, err = valuestore.Open(context.Background(), "hashivault://"+host+"/secret?tls=false", valuestore.Options{Deployment: "d"})
	assert.Equal(t, errcode.PermissionDenied, errcode.Of(err), "%v", err)
	assert.NotContains(t, err.Error(), "hvs.not-a-token")

	// A token of one namespace does not work in another.
	tok := srv.AddToken("team-b", time.Hour, true)
	srv.EnableKV("team-c", "secret")
	t.Setenv("VAULT_TOKEN", tok)
	_, err = valuestore.Open(context.Background(), "hashivault://"+host+"/secret?tls=false&namespace=team-c", valuestore.Options{Deployment: "d"})
	assert.Equal(t, errcode.PermissionDenied, errcode.Of(err), "%v", err)
}

func TestErrorsAreSanitizedAndUnreachableIsUnavailable(t *testing.T) {
	clearVaultEnv(t)
	srv, addr := localvault.Start(t)
	t.Setenv("VAULT_TOKEN", srv.RootToken)
	s := openStore(t, "hashivault://"+strings.TrimPrefix(addr, "http://")+"/secret?tls=false", "dep")
	defer s.Close()
	srv.InjectFault(localvault.DataRead, localvault.Fault{Status: 400, Errors: []string{"echo of pa55-SECRET"}})
	_, err := s.Put(context.Background(), uuid.NewString(), map[string]string{"k": "pa55-SECRET"})
	require.Error(t, err)
	assert.Equal(t, errcode.InvalidArgument, errcode.Of(err))
	assert.NotContains(t, err.Error(), "pa55-SECRET")

	t.Setenv("VAULT_TOKEN", "hvs.x")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err = valuestore.Open(ctx, "hashivault://127.0.0.1:1/secret?tls=false", valuestore.Options{Deployment: "d"})
	assert.Equal(t, errcode.Unavailable, errcode.Of(err), "%v", err)
}

func TestOpenRejectsBadURLs(t *testing.T) {
	clearVaultEnv(t)
	t.Setenv("VAULT_TOKEN", "hvs.x")
	for _, raw := range []string{
		"hashivault://127.0.0.1:8200/secret?colour=blue",
		"hashivault:///secret",
		"hashivault://127.0.0.1:8200",
		"hashivault://127.0.0.1:8200/secret?max_versions=1",
		"hashivault://127.0.0.1:8200/secret?max_versions=10",
		"hashivault://127.0.0.1:8200/secret?max_versions=1001",
		"hashivault://127.0.0.1:8200/secret?tls=maybe",
		"hashivault://127.0.0.1:8200/secret?prefix=a/b",
		"hashivault://127.0.0.1:8200/sec ret",
		"hashivault://tok:hvs.y@127.0.0.1:8200/secret",
	} {
		_, err := valuestore.Open(context.Background(), raw, valuestore.Options{Deployment: "d"})
		assert.Equal(t, errcode.InvalidArgument, errcode.Of(err), "%s: %v", raw, err)
		if err != nil {
			assert.NotContains(t, err.Error(), "hvs.y")
		}
	}
	_ = hashivault.Scheme
}

func TestCallsPerOperation(t *testing.T) {
	clearVaultEnv(t)
	srv, addr := localvault.Start(t)
	t.Setenv("VAULT_TOKEN", srv.RootToken)
	s := openStore(t, "hashivault://"+strings.TrimPrefix(addr, "http://")+"/secret?tls=false", "dep")
	defer s.Close()
	ctx := context.Background()
	kinds := []localvault.Kind{localvault.DataRead, localvault.DataWrite, localvault.MetadataRead, localvault.MetadataDelete, localvault.Destroy, localvault.MetadataList}
	count := func() map[localvault.Kind]int {
		m := map[localvault.Kind]int{}
		for _, k := range kinds {
			if n := srv.Calls(k); n > 0 {
				m[k] = n
			}
		}
		return m
	}
	diff := func(op func()) map[localvault.Kind]int {
		before := count()
		op()
		after := count()
		for k, n := range before {
			after[k] -= n
			if after[k] == 0 {
				delete(after, k)
			}
		}
		return after
	}
	id := uuid.NewString()
	var ref string
	assert.Equal(t, map[localvault.Kind]int{localvault.DataRead: 1, localvault.DataWrite: 1}, diff(func() {
		var err error
		ref, err = s.Put(ctx, id, map[string]string{"a": "1"})
		require.NoError(t, err)
	}), "create")
	assert.Equal(t, map[localvault.Kind]int{localvault.DataRead: 1, localvault.DataWrite: 1}, diff(func() {
		var err error
		ref, err = s.Put(ctx, id, map[string]string{"a": "2"})
		require.NoError(t, err)
	}), "update")
	assert.Equal(t, map[localvault.Kind]int{localvault.DataRead: 1}, diff(func() {
		_, err := s.Get(ctx, id, ref)
		require.NoError(t, err)
	}), "get")
	assert.Equal(t, map[localvault.Kind]int{localvault.DataRead: 1, localvault.MetadataRead: 1, localvault.Destroy: 1}, diff(func() {
		require.NoError(t, s.Retire(ctx, id, ref))
	}), "retire")
	assert.Equal(t, map[localvault.Kind]int{localvault.DataRead: 1, localvault.MetadataList: 1}, diff(func() {
		require.NoError(t, s.Entries(ctx, func(string) error { return nil }))
	}), "entries of one")
	assert.Equal(t, map[localvault.Kind]int{localvault.DataRead: 1, localvault.MetadataDelete: 1}, diff(func() {
		require.NoError(t, s.Delete(ctx, id))
	}), "delete")
}

// BenchmarkUpdateAndGet measures an update plus a read of 1 KiB of values
// through the official client against the local server (both on this
// machine).
func BenchmarkUpdateAndGet(b *testing.B) {
	srv, addr := localvault.Start(b)
	b.Setenv("VAULT_TOKEN", srv.RootToken)
	b.Setenv("VAULT_ROLE_ID", "")
	s, err := valuestore.Open(context.Background(), "hashivault://"+strings.TrimPrefix(addr, "http://")+"/secret?tls=false", valuestore.Options{Deployment: "dep"})
	require.NoError(b, err)
	defer s.Close()
	ctx := context.Background()
	id := uuid.NewString()
	values := valuestoretest.ValuesOfSize(b, 1024)
	for i := 0; b.Loop(); i++ {
		values["k0"] = fmt.Sprintf("%08d", i) + values["k0"][8:]
		ref, err := s.Put(ctx, id, values)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Get(ctx, id, ref); err != nil {
			b.Fatal(err)
		}
	}
}

// TestIndexedPassesTheBackendConformanceSuite runs the backend suite, racing
// writers included, against an index paired with this store.
func TestIndexedPassesTheBackendConformanceSuite(t *testing.T) {
	clearVaultEnv(t)
	srv, addr := localvault.Start(t)
	srv.EnableKV("", "kv")
	t.Setenv("VAULT_TOKEN", srv.RootToken)
	rawURL := "hashivault://" + strings.TrimPrefix(addr, "http://") + "/kv?tls=false&prefix=lockwell"
	valuestoretest.RunIndexed(t, func(t *testing.T) valuestore.Store {
		return openStore(t, rawURL, valuestoretest.Deployment)
	})
}
