package azurekeyvault_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	localkv "github.com/lockwell/lockwell/localdev/azurekeyvault"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/valuestore"
	"github.com/lockwell/lockwell/shared/valuestore/azurekeyvault"
	"github.com/lockwell/lockwell/shared/valuestore/valuestoretest"
)

// env is one local vault, the environment that points the store at it (the
// store authenticates through DefaultAzureCredential's managed identity,
// served by the local vault), and a raw official client to plant and
// inspect entries with.
type env struct {
	srv *localkv.Server
	raw *azsecrets.Client
}

func newEnv(t *testing.T) *env { return newEnvWith(t, localkv.Config{}) }

func newEnvWith(t *testing.T, cfg localkv.Config) *env {
	t.Helper()
	cfg.StrictTokens = true
	srv, err := localkv.Start(cfg)
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, srv.WriteCACert(ca))
	for k, v := range map[string]string{
		azurekeyvault.EndpointEnv: srv.URL(),
		azurekeyvault.CAFileEnv:   ca,
		"AZURE_TOKEN_CREDENTIALS": "ManagedIdentityCredential",
		"IDENTITY_ENDPOINT":       srv.IdentityEndpoint(),
		"IDENTITY_HEADER":         srv.IdentityHeader(),
	} {
		t.Setenv(k, v)
	}
	for _, k := range []string{"AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZURE_FEDERATED_TOKEN_FILE", "MSI_ENDPOINT"} {
		t.Setenv(k, "") // restored after the test
		require.NoError(t, os.Unsetenv(k))
	}
	cred, err := azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{ClientOptions: azcore.ClientOptions{Transport: srv.Client()}})
	require.NoError(t, err)
	raw, err := azsecrets.NewClient(srv.URL(), cred, &azsecrets.ClientOptions{
		ClientOptions:                        azcore.ClientOptions{Transport: srv.Client(), Retry: policy.RetryOptions{MaxRetries: -1}},
		DisableChallengeResourceVerification: true,
	})
	require.NoError(t, err)
	return &env{srv: srv, raw: raw}
}

func (e *env) open(t *testing.T, deployment, query string) valuestore.Store {
	t.Helper()
	s, err := valuestore.Open(context.Background(), "azurekeyvault://lockwell-test"+query, valuestore.Options{Deployment: deployment})
	require.NoError(t, err)
	return s
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestConformance(t *testing.T) {
	for _, query := range []string{"", "?prefix=lw-test&on_deleted=purge&old_versions=keep&purge_on_delete=true"} {
		t.Run("options="+query, func(t *testing.T) {
			e := newEnv(t)
			prefix := "lockwell"
			if query != "" {
				prefix = "lw-test"
			}
			valuestoretest.Run(t,
				func(t *testing.T) valuestore.Store { return e.open(t, valuestoretest.Deployment, query) },
				valuestoretest.WithOtherDeployment(func(t *testing.T, d string) valuestore.Store { return e.open(t, d, query) }),
				valuestoretest.WithForeignEntries(func(t *testing.T, id string, kind valuestoretest.ForeignKind) func() bool {
					return e.plant(t, prefix+"-"+id, id, kind)
				}),
				valuestoretest.WithThrottling(func(t *testing.T, op valuestoretest.Op, times int) {
					status := http.StatusTooManyRequests
					if times%2 == 0 {
						status = http.StatusServiceUnavailable
					}
					operation := map[valuestoretest.Op]string{
						valuestoretest.OpCreate: "SetSecret",
						valuestoretest.OpUpdate: "SetSecret",
						valuestoretest.OpGet:    "GetSecret",
					}[op]
					e.srv.FailNext(operation, status, times, 10*time.Millisecond)
				}))
		})
	}
}

// plant writes, with the official client, two versions under name, foreign
// as kind says.
func (e *env) plant(t *testing.T, name, secretID string, kind valuestoretest.ForeignKind) func() bool {
	var tags map[string]*string
	switch kind {
	case valuestoretest.OtherDeployment:
		tags = map[string]*string{azurekeyvault.DeploymentTag: ptr("someone-else"), azurekeyvault.SecretIDTag: &secretID}
	case valuestoretest.OtherSecretID:
		tags = map[string]*string{azurekeyvault.DeploymentTag: ptr(valuestoretest.Deployment), azurekeyvault.SecretIDTag: ptr(uuid.NewString())}
	}
	values := []string{`{"theirs":"1"}`, "not json"}
	var versions []string
	for _, v := range values {
		resp, err := e.raw.SetSecret(context.Background(), name, azsecrets.SetSecretParameters{Value: ptr(v), Tags: tags}, nil)
		require.NoError(t, err)
		versions = append(versions, resp.ID.Version())
	}
	return func() bool {
		for i, version := range versions {
			got, err := e.raw.GetSecret(context.Background(), name, version, nil)
			if err != nil || got.Value == nil || *got.Value != values[i] || len(got.Tags) != len(tags) {
				return false
			}
		}
		return true
	}
}

func ptr[T any](v T) *T { return &v }

func TestParseURL(t *testing.T) {
	cases := []struct {
		url     string
		want    azurekeyvault.Config
		wantErr bool
	}{
		{url: "azurekeyvault://my-vault", want: azurekeyvault.Config{VaultName: "my-vault", Prefix: "lockwell", OnDeleted: "recover", DisableOld: true}},
		{url: "azurekeyvault://myvault01?prefix=acme-prod&on_deleted=purge&old_versions=keep&purge_on_delete=true",
			want: azurekeyvault.Config{VaultName: "myvault01", Prefix: "acme-prod", OnDeleted: "purge", PurgeOnDelete: true}},
		{url: "azurekeyvault://ab", wantErr: true},
		{url: "azurekeyvault://my_vault", wantErr: true},
		{url: "azurekeyvault://my-vault/path", wantErr: true},
		{url: "azurekeyvault://my-vault:443", wantErr: true},
		{url: "azurekeyvault://my-vault?tenant=x", wantErr: true},
		{url: "azurekeyvault://my-vault?prefix=a_b", wantErr: true},
		{url: "azurekeyvault://my-vault?on_deleted=ignore", wantErr: true},
		{url: "azurekeyvault://my-vault?old_versions=destroy", wantErr: true},
		{url: "azurekeyvault://my-vault?purge_on_delete=yes", wantErr: true},
	}
	for _, c := range cases {
		t.Run(c.url, func(t *testing.T) {
			u, err := url.Parse(c.url)
			require.NoError(t, err)
			got, err := azurekeyvault.ParseURL(u)
			if c.wantErr {
				assert.Equal(t, errcode.InvalidArgument, errcode.Of(err))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.want, got)
		})
	}
}

func TestEndpointRules(t *testing.T) {
	_, err := valuestore.Open(context.Background(), "azurekeyvault://user:pw@my-vault", valuestore.Options{Deployment: "d"})
	assert.Equal(t, errcode.InvalidArgument, errcode.Of(err), "credentials in the URL")
	t.Setenv(azurekeyvault.EndpointEnv, "http://127.0.0.1:1234")
	_, err = valuestore.Open(context.Background(), "azurekeyvault://my-vault", valuestore.Options{Deployment: "d"})
	assert.Equal(t, errcode.InvalidArgument, errcode.Of(err), "plain http endpoint")
	t.Setenv(azurekeyvault.EndpointEnv, "https://127.0.0.1:1234")
	t.Setenv(azurekeyvault.CAFileEnv, filepath.Join(t.TempDir(), "missing.pem"))
	_, err = valuestore.Open(context.Background(), "azurekeyvault://my-vault", valuestore.Options{Deployment: "d"})
	assert.Equal(t, errcode.InvalidArgument, errcode.Of(err), "unreadable CA file")
}

func TestTagsContentTypeAndRetire(t *testing.T) {
	e := newEnv(t)
	s := e.open(t, "Acme Prod", "")
	id := uuid.NewString()
	var refs []string
	for _, v := range []string{"1", "2", "3"} {
		ref, err := s.Put(ctx(t), id, map[string]string{"v": v})
		require.NoError(t, err)
		assert.Regexp(t, `^[0-9a-f]{32}$`, ref, "refs are version ids")
		refs = append(refs, ref)
	}
	got, err := e.raw.GetSecret(ctx(t), "lockwell-"+id, refs[2], nil)
	require.NoError(t, err)
	assert.Equal(t, azurekeyvault.ContentType, *got.ContentType)
	assert.Equal(t, "Acme Prod", *got.Tags[azurekeyvault.DeploymentTag])
	assert.Equal(t, id, *got.Tags[azurekeyvault.SecretIDTag])
	assert.NotEmpty(t, *got.Tags[azurekeyvault.WrittenTag])

	require.NoError(t, s.Retire(ctx(t), id, refs[1]))
	enabled := map[string]bool{}
	pager := e.raw.NewListSecretPropertiesVersionsPager("lockwell-"+id, nil)
	for pager.More() {
		page, err := pager.NextPage(ctx(t))
		require.NoError(t, err)
		for _, v := range page.Value {
			enabled[v.ID.Version()] = *v.Attributes.Enabled
		}
	}
	assert.Equal(t, map[string]bool{refs[0]: false, refs[1]: true, refs[2]: true}, enabled)
	_, err = s.Get(ctx(t), id, refs[0])
	assert.Equal(t, errcode.NotFound, errcode.Of(err), "a disabled version is not found")

	// With the newest version disabled by hand, the entry is still ours to delete.
	_, err = e.raw.UpdateSecretProperties(ctx(t), "lockwell-"+id, refs[2], azsecrets.UpdateSecretPropertiesParameters{SecretAttributes: &azsecrets.SecretAttributes{Enabled: ptr(false)}}, nil)
	require.NoError(t, err)
	require.NoError(t, s.Delete(ctx(t), id))
	_, err = e.raw.GetDeletedSecret(ctx(t), "lockwell-"+id, nil)
	assert.NoError(t, err, "Delete is a soft delete by default")
}

func TestSoftDeletedNames(t *testing.T) {
	for _, mode := range []string{"recover", "purge", "recover-slowly", "purge-slowly"} {
		t.Run(mode, func(t *testing.T) {
			// "-slowly": deletion and recovery take time, as in Key Vault.
			e := newEnvWith(t, localkv.Config{SettleDelay: map[bool]time.Duration{true: 300 * time.Millisecond}[strings.HasSuffix(mode, "-slowly")]})
			mode := strings.TrimSuffix(mode, "-slowly")
			s := e.open(t, "dep", "?on_deleted="+mode)
			id := uuid.NewString()
			old := map[string]string{"v": "old"}
			oldRef, err := s.Put(ctx(t), id, old)
			require.NoError(t, err)
			require.NoError(t, s.Delete(ctx(t), id))
			_, err = s.Get(ctx(t), id, oldRef)
			assert.Equal(t, errcode.NotFound, errcode.Of(err), "soft-deleted values are gone for Get")

			newValues := map[string]string{"v": "new"}
			ref, err := s.Put(ctx(t), id, newValues)
			require.NoError(t, err, "Put over a soft-deleted name of this deployment")
			got, err := s.Get(ctx(t), id, ref)
			require.NoError(t, err)
			valuestoretest.RequireSameValues(t, newValues, got, "values written after "+mode)
			_, err = s.Get(ctx(t), id, oldRef)
			if mode == "recover" {
				require.NoError(t, err, "recovery brings the old version back")
			} else {
				assert.Equal(t, errcode.NotFound, errcode.Of(err), "purge removes the old version")
			}
			_, err = e.raw.GetDeletedSecret(ctx(t), "lockwell-"+id, nil)
			assert.True(t, isStatus(err, http.StatusNotFound), "no deleted secret remains")
		})
	}

	t.Run("foreign", func(t *testing.T) {
		e := newEnv(t)
		s := e.open(t, "dep", "?on_deleted=purge")
		id := uuid.NewString()
		name := "lockwell-" + id
		_, err := e.raw.SetSecret(ctx(t), name, azsecrets.SetSecretParameters{Value: ptr("theirs"), Tags: map[string]*string{azurekeyvault.DeploymentTag: ptr("other"), azurekeyvault.SecretIDTag: &id}}, nil)
		require.NoError(t, err)
		_, err = e.raw.DeleteSecret(ctx(t), name, nil)
		require.NoError(t, err)
		_, err = s.Put(ctx(t), id, map[string]string{"mine": "1"})
		assert.Equal(t, errcode.AlreadyExists, errcode.Of(err))
		_, err = e.raw.GetDeletedSecret(ctx(t), name, nil)
		assert.NoError(t, err, "another deployment's deleted secret is neither purged nor recovered")
		assert.Zero(t, e.srv.Calls("PurgeDeletedSecret")+e.srv.Calls("RecoverDeletedSecret"))
	})

	t.Run("purge_on_delete", func(t *testing.T) {
		e := newEnvWith(t, localkv.Config{SettleDelay: 300 * time.Millisecond})
		s := e.open(t, "dep", "?purge_on_delete=true")
		id := uuid.NewString()
		_, err := s.Put(ctx(t), id, map[string]string{"k": "v"})
		require.NoError(t, err)
		require.NoError(t, s.Delete(ctx(t), id))
		_, err = e.raw.GetDeletedSecret(ctx(t), "lockwell-"+id, nil)
		assert.True(t, isStatus(err, http.StatusNotFound), "purged")
	})
}

func isStatus(err error, status int) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re) && re.StatusCode == status
}

func TestErrorsAndRetries(t *testing.T) {
	e := newEnv(t)
	s := e.open(t, "dep", "")
	id := uuid.NewString()

	e.srv.FailNext("SetSecret", http.StatusTooManyRequests, 3, 100*time.Millisecond)
	start := time.Now()
	ref, err := s.Put(ctx(t), id, map[string]string{"k": "v"})
	require.NoError(t, err, "429 is retried")
	assert.Equal(t, 4, e.srv.Calls("SetSecret"), "no SDK retries on top of ours")
	assert.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond, "Retry-After is honoured")

	e.srv.FailNext("GetSecret", http.StatusInternalServerError, 1, 0)
	_, err = s.Get(ctx(t), id, ref)
	require.NoError(t, err, "500 is retried")

	before := e.srv.Calls("GetSecret")
	e.srv.FailNext("GetSecret", http.StatusServiceUnavailable, 100, 0)
	_, err = s.Get(ctx(t), id, ref)
	assert.Equal(t, errcode.Unavailable, errcode.Of(err))
	assert.Equal(t, 5, e.srv.Calls("GetSecret")-before, "bounded by the retry policy")
	assert.NotContains(t, errcode.Message(err), "injected", "provider text stays out of the client message")

	// A token the vault did not issue is refused: unauthenticated, not retried.
	srv, err := localkv.Start(localkv.Config{StrictTokens: true})
	require.NoError(t, err)
	defer srv.Close()
	conn := azurekeyvault.Connection{VaultURL: srv.URL(), Credential: fixedToken{}, Transport: srv.Client(), LocalVault: true}
	u, _ := url.Parse("azurekeyvault://lockwell-test")
	c, err := azurekeyvault.ParseURL(u)
	require.NoError(t, err)
	bad, err := azurekeyvault.Open(ctx(t), c, valuestore.Options{Deployment: "dep"}, conn)
	require.NoError(t, err)
	_, err = bad.Put(ctx(t), uuid.NewString(), map[string]string{"k": "v"})
	assert.Equal(t, errcode.Internal, errcode.Of(err)) // the caller is not at fault: not a 401
	assert.NotContains(t, err.Error(), "forged-token", "tokens never appear in errors")
}

type fixedToken struct{}

func (fixedToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: "forged-token", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func TestTooLargeIsCheckedBeforeWriting(t *testing.T) {
	e := newEnv(t)
	s := e.open(t, "dep", "")
	_, err := s.Put(ctx(t), uuid.NewString(), valuestoretest.ValuesOfSize(t, azurekeyvault.Limit+1))
	require.Equal(t, errcode.TooLarge, errcode.Of(err))
	assert.Contains(t, errcode.Message(err), "Azure Key Vault")
	assert.Contains(t, errcode.Message(err), "25000")
	assert.Zero(t, e.srv.Calls("GetSecret")+e.srv.Calls("SetSecret"), "no call was made")

	// Unicode and JSON escaping grow the request, not the stored value.
	values := map[string]string{"quote\"d": "✓ \"escaped\" \\ <html> & \u2028", "": ""}
	id := uuid.NewString()
	ref, err := s.Put(ctx(t), id, values)
	require.NoError(t, err)
	got, err := s.Get(ctx(t), id, ref)
	require.NoError(t, err)
	assert.True(t, reflect.DeepEqual(values, got), "values with unicode and escapes differ")
}

func TestEntriesPagesThroughManySecrets(t *testing.T) {
	e := newEnv(t)
	s := e.open(t, "paging", "")
	want := map[string]bool{}
	for range 60 {
		id := uuid.NewString()
		_, err := s.Put(ctx(t), id, map[string]string{"k": "v"})
		require.NoError(t, err)
		want[id] = true
	}
	got := map[string]bool{}
	require.NoError(t, s.Entries(ctx(t), func(id string) error { got[id] = true; return nil }))
	assert.Equal(t, want, got)
	assert.Equal(t, 3, e.srv.Calls("ListSecrets"), "pages of 25")
}

// TestIndexedPassesTheBackendConformanceSuite runs the backend suite, racing
// writers included, against an index paired with this store.
func TestIndexedPassesTheBackendConformanceSuite(t *testing.T) {
	e := newEnv(t)
	valuestoretest.RunIndexed(t, func(t *testing.T) valuestore.Store {
		return e.open(t, valuestoretest.Deployment, "")
	})
}
