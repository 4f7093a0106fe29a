// Package azurekeyvault keeps secret values in Azure Key Vault. It
// registers the value-store URL scheme "azurekeyvault":
//
//	azurekeyvault://VAULT_NAME?prefix=lockwell&on_deleted=recover&old_versions=disable&purge_on_delete=false
//
// Parameters (all optional; unknown ones are invalid_argument):
//   - prefix: secret names are "<prefix>-<secret uuid>" (default
//     "lockwell"; letters, digits and '-', at most 90 characters).
//   - on_deleted: what Put does when the name is held by a soft-deleted
//     secret of this deployment: "recover" it (default; its old versions come
//     back, disabled or not as they were) or "purge" it first. A soft-deleted
//     secret that is not this deployment's is never touched: already_exists.
//   - old_versions: what Retire does to versions older than the one it
//     keeps, the oldest version the index keeps (so no kept Lockwell
//     version names them): "disable" (default) or "keep". Key Vault keeps
//     every version until the secret is deleted, so every version the index
//     keeps stays readable.
//   - purge_on_delete: "true" purges after the soft delete (needs the purge
//     permission; impossible on vaults with purge protection). Default false:
//     the vault's retention period applies.
//
// Each secret id has one Key Vault secret whose versions carry the tags
// lockwell-deployment and lockwell-secret-id (and lockwell-written, the
// write time in nanoseconds, which orders versions written within the same
// second) with content type application/json. Every Put is a new version and
// its ref is the version id. Get reads exactly that version and checks its
// tags; a secret whose tags name another deployment or secret id is foreign:
// never read, changed, listed or deleted, and Put over it is already_exists.
//
// The vault URL is https://VAULT_NAME.vault.azure.net. Credentials come from
// azidentity.NewDefaultAzureCredential (environment, workload identity,
// managed identity, Azure CLI, ...). For a local vault
// (localdev/azurekeyvault) set LOCKWELL_AZURE_KEYVAULT_ENDPOINT to its https
// URL and LOCKWELL_AZURE_KEYVAULT_CA_FILE to its certificate (PEM); the
// challenge resource is then not required to be a *.vault.azure.net host.
//
// The payload is the JSON encoding of the values map, at most 25,000 bytes;
// Put checks that before any call. Throttling (429), 408 and 5xx are retried
// through package retry, after waiting out the vault's Retry-After hint (at
// most 5 s, within the deadline); the SDK's own retries are turned off so
// that there is one retry policy.
package azurekeyvault

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/openurl"
	"github.com/lockwell/lockwell/shared/retry"
	"github.com/lockwell/lockwell/shared/secret"
	"github.com/lockwell/lockwell/shared/valuestore"
)

// Scheme is the URL scheme this package registers.
const Scheme = "azurekeyvault"

// The variables that point the store at a local vault.
const (
	EndpointEnv = "LOCKWELL_AZURE_KEYVAULT_ENDPOINT" // https URL of the vault
	CAFileEnv   = "LOCKWELL_AZURE_KEYVAULT_CA_FILE"  // PEM certificates to trust in addition to the system's
)

// Limit is the largest payload this store writes: 25,000 bytes (Key Vault's
// documented limit is 25 KB).
const Limit = 25000

// ContentType is the content type of every version this store writes.
const ContentType = "application/json"

// The tags every version this store writes carries.
const (
	DeploymentTag = "lockwell-deployment"
	SecretIDTag   = "lockwell-secret-id"
	WrittenTag    = "lockwell-written"
)

const storeName = "Azure Key Vault"

func init() { valuestore.Register(Scheme, openURL) }

// OnDeleted says what Put does with a soft-deleted secret of this deployment
// that holds the name.
type OnDeleted string

// The OnDeleted settings.
const (
	RecoverDeleted OnDeleted = "recover"
	PurgeDeleted   OnDeleted = "purge"
)

// Config is a parsed store URL.
type Config struct {
	VaultName     string
	Prefix        string
	OnDeleted     OnDeleted
	DisableOld    bool // old_versions=disable
	PurgeOnDelete bool
}

var (
	vaultNamePattern = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$`)
	prefixPattern    = regexp.MustCompile(`^[0-9a-zA-Z-]{1,90}$`)
	versionPattern   = regexp.MustCompile(`^[0-9a-fA-F]{32}$`)
)

// ParseURL checks an azurekeyvault URL. Errors are invalid_argument.
func ParseURL(u *url.URL) (Config, error) {
	if err := openurl.CheckParams(u, "prefix", "on_deleted", "old_versions", "purge_on_delete"); err != nil {
		return Config{}, err
	}
	if !vaultNamePattern.MatchString(u.Host) || (u.Path != "" && u.Path != "/") || u.Port() != "" {
		return Config{}, errcode.New(errcode.InvalidArgument, "an %s URL looks like %s://VAULT_NAME (3-24 letters, digits and '-')", Scheme, Scheme)
	}
	q := u.Query()
	c := Config{VaultName: u.Host, Prefix: "lockwell", OnDeleted: RecoverDeleted, DisableOld: true}
	if q.Has("prefix") {
		if !prefixPattern.MatchString(q.Get("prefix")) {
			return Config{}, errcode.New(errcode.InvalidArgument, "%s prefix must be 1-90 letters, digits or '-'", Scheme)
		}
		c.Prefix = q.Get("prefix")
	}
	switch o := OnDeleted(q.Get("on_deleted")); o {
	case "":
	case RecoverDeleted, PurgeDeleted:
		c.OnDeleted = o
	default:
		return Config{}, errcode.New(errcode.InvalidArgument, "%s on_deleted must be recover or purge", Scheme)
	}
	switch q.Get("old_versions") {
	case "", "disable":
	case "keep":
		c.DisableOld = false
	default:
		return Config{}, errcode.New(errcode.InvalidArgument, "%s old_versions must be disable or keep", Scheme)
	}
	switch q.Get("purge_on_delete") {
	case "", "false":
	case "true":
		c.PurgeOnDelete = true
	default:
		return Config{}, errcode.New(errcode.InvalidArgument, "%s purge_on_delete must be true or false", Scheme)
	}
	return c, nil
}

func openURL(ctx context.Context, u *url.URL, opts valuestore.Options) (valuestore.Store, error) {
	c, err := ParseURL(u)
	if err != nil {
		return nil, err
	}
	conn, err := connectionFromEnv(c.VaultName)
	if err != nil {
		return nil, err
	}
	return Open(ctx, c, opts, conn)
}

// Connection is how the store reaches the vault.
type Connection struct {
	VaultURL   string
	Credential azcore.TokenCredential
	Transport  policy.Transporter // nil: azcore's default
	// LocalVault disables the check that the vault's auth challenge names a
	// *.vault.azure.net resource, which a local vault cannot satisfy.
	LocalVault bool
}

// connectionFromEnv builds the connection for a vault name: the real vault
// unless EndpointEnv overrides it, with DefaultAzureCredential.
func connectionFromEnv(vaultName string) (Connection, error) {
	conn := Connection{VaultURL: "https://" + vaultName + ".vault.azure.net"}
	if endpoint := os.Getenv(EndpointEnv); endpoint != "" {
		u, err := url.Parse(endpoint)
		if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" {
			return Connection{}, errcode.New(errcode.InvalidArgument, "%s must be an https URL such as https://127.0.0.1:8443, without credentials", EndpointEnv)
		}
		conn.VaultURL = strings.TrimSuffix(endpoint, "/")
		conn.LocalVault = true
	}
	var credOpts azidentity.DefaultAzureCredentialOptions
	if caFile := os.Getenv(CAFileEnv); caFile != "" {
		pemBytes, err := os.ReadFile(caFile)
		if err != nil {
			return Connection{}, errcode.Wrap(errcode.InvalidArgument, err, "cannot read %s", CAFileEnv)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pemBytes) {
			return Connection{}, errcode.New(errcode.InvalidArgument, "%s holds no PEM certificate", CAFileEnv)
		}
		conn.Transport = &http.Client{Transport: &http.Transport{
			Proxy:           http.ProxyFromEnvironment,
			TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		}}
		credOpts.ClientOptions.Transport = conn.Transport
	}
	cred, err := azidentity.NewDefaultAzureCredential(&credOpts)
	if err != nil {
		return Connection{}, errcode.Wrap(errcode.Internal, errors.New(sanitize(err.Error())), "%s: no Azure credentials in the environment", storeName)
	}
	conn.Credential = cred
	return conn, nil
}

// Store is the Azure Key Vault value store. It is safe for concurrent use.
type Store struct {
	client     *azsecrets.Client
	cfg        Config
	deployment string
	policy     retry.Policy
	// settle is the policy for waiting out Key Vault's asynchronous
	// soft-delete, recovery and purge.
	settle retry.Policy
}

var _ valuestore.Store = (*Store)(nil)

// Open connects to the vault. Errors: invalid_argument for a missing or
// over-long deployment id.
func Open(_ context.Context, c Config, opts valuestore.Options, conn Connection) (*Store, error) {
	if opts.Deployment == "" || len(opts.Deployment) > 256 {
		return nil, errcode.New(errcode.InvalidArgument, "%s needs a deployment id of at most 256 characters (a tag value)", storeName)
	}
	clientOpts := &azsecrets.ClientOptions{DisableChallengeResourceVerification: conn.LocalVault}
	clientOpts.Retry = policy.RetryOptions{MaxRetries: -1} // one retry policy: ours
	clientOpts.Transport = conn.Transport
	client, err := azsecrets.NewClient(conn.VaultURL, credential{conn.Credential}, clientOpts)
	if err != nil {
		return nil, errcode.Wrap(errcode.InvalidArgument, errors.New(sanitize(err.Error())), "cannot create the %s client", storeName)
	}
	return &Store{
		client: client, cfg: c, deployment: opts.Deployment,
		settle: retry.Policy{Attempts: 10, Base: 100 * time.Millisecond, Max: 2 * time.Second},
	}, nil
}

// credential marks the errors of the token credential, so that classify
// calls them unauthenticated whatever their type.
type credential struct{ azcore.TokenCredential }

type credentialError struct{ err error }

func (e *credentialError) Error() string { return sanitize(e.err.Error()) }

func (c credential) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	tok, err := c.TokenCredential.GetToken(ctx, opts)
	if err != nil && ctx.Err() == nil {
		return tok, &credentialError{err}
	}
	return tok, err
}

// Name implements valuestore.Store.
func (s *Store) Name() string { return storeName }

// Limit implements valuestore.Store.
func (s *Store) Limit() int { return Limit }

// Close implements valuestore.Store.
func (s *Store) Close() error { return nil }

func (s *Store) secretName(secretID string) string { return s.cfg.Prefix + "-" + secretID }

func (s *Store) owns(tags map[string]*string, secretID string) bool {
	d, id := tags[DeploymentTag], tags[SecretIDTag]
	return d != nil && id != nil && *d == s.deployment && *id == secretID
}

// Put implements valuestore.Store. Errors: invalid_argument for a malformed
// secret id; too_large; already_exists when a foreign secret (live or
// soft-deleted) has the name; unavailable; permission_denied.
func (s *Store) Put(ctx context.Context, secretID string, values map[string]string) (string, error) {
	if err := secret.ValidateID(secretID); err != nil {
		return "", err
	}
	payload, err := valuestore.EncodeValues(values, Limit, storeName)
	if err != nil {
		return "", err
	}
	name := s.secretName(secretID)
	if err := s.checkLiveOwner(ctx, secretID); err != nil {
		return "", err
	}
	tags := map[string]*string{
		DeploymentTag: &s.deployment,
		SecretIDTag:   &secretID,
		WrittenTag:    ptr(strconv.FormatInt(time.Now().UnixNano(), 10)),
	}
	value := string(payload)
	var ref string
	err = retry.Do(ctx, s.settle, func(ctx context.Context) error {
		var resp azsecrets.SetSecretResponse
		err := s.call(ctx, "write the secret", func(ctx context.Context) error {
			var err error
			resp, err = s.client.SetSecret(ctx, name, azsecrets.SetSecretParameters{Value: &value, Tags: tags, ContentType: ptr(ContentType)}, nil)
			return err
		})
		if err == nil {
			ref = resp.ID.Version()
			return nil
		}
		if !isStatus(err, http.StatusConflict) {
			return nonRetryable(err)
		}
		return s.clearDeleted(ctx, secretID)
	})
	if err != nil {
		return "", unwrapNonRetryable(err)
	}
	return ref, nil
}

// checkLiveOwner returns nil when no live secret has the name or when it is
// this deployment's entry for secretID, and already_exists otherwise.
func (s *Store) checkLiveOwner(ctx context.Context, secretID string) error {
	tags, err := s.latestTags(ctx, secretID)
	switch {
	case errcode.Is(err, errcode.NotFound):
		return nil
	case err != nil:
		return err
	case !s.owns(tags, secretID):
		return errcode.New(errcode.AlreadyExists, "%s already has a secret named %s that is not this deployment's entry for secret %s", storeName, s.secretName(secretID), secretID)
	}
	return nil
}

// clearDeleted handles a Put that found the name taken by a soft-deleted
// secret: it recovers or purges it if it is this deployment's, and returns
// unavailable so that the write is tried again once Key Vault has settled.
func (s *Store) clearDeleted(ctx context.Context, secretID string) error {
	name := s.secretName(secretID)
	var d azsecrets.GetDeletedSecretResponse
	err := s.call(ctx, "read the deleted secret", func(ctx context.Context) error {
		var err error
		d, err = s.client.GetDeletedSecret(ctx, name, nil)
		return err
	})
	if errcode.Is(err, errcode.NotFound) { // being deleted or recovered right now
		return errcode.New(errcode.Unavailable, "%s secret %s is changing state; retry", storeName, name)
	}
	if err != nil {
		return nonRetryable(err)
	}
	if !s.owns(d.Tags, secretID) {
		return nonRetryable(errcode.New(errcode.AlreadyExists, "%s has a soft-deleted secret named %s that is not this deployment's entry for secret %s", storeName, name, secretID))
	}
	err = s.call(ctx, string(s.cfg.OnDeleted)+" the deleted secret", func(ctx context.Context) error {
		var err error
		if s.cfg.OnDeleted == PurgeDeleted {
			_, err = s.client.PurgeDeletedSecret(ctx, name, nil)
		} else {
			_, err = s.client.RecoverDeletedSecret(ctx, name, nil)
		}
		return err
	})
	if err != nil && !errcode.Is(err, errcode.NotFound) && !isStatus(err, http.StatusConflict) { // 404, 409: changing state
		return nonRetryable(err)
	}
	return errcode.New(errcode.Unavailable, "%s secret %s was soft-deleted and is now %sed; writing again", storeName, name, s.cfg.OnDeleted)
}

// latestTags returns the tags of the newest version of the live secret for
// secretID. Errors: not_found when there is no live secret.
func (s *Store) latestTags(ctx context.Context, secretID string) (map[string]*string, error) {
	name := s.secretName(secretID)
	var resp azsecrets.GetSecretResponse
	err := s.call(ctx, "read the secret", func(ctx context.Context) error {
		var err error
		resp, err = s.client.GetSecret(ctx, name, "", nil)
		return err
	})
	if err == nil {
		return resp.Tags, nil
	}
	if !errors.Is(err, errDisabled) {
		return nil, err
	}
	// The newest version is disabled: find it among the versions.
	versions, err := s.versions(ctx, name)
	if err != nil {
		return nil, err
	}
	var newest *azsecrets.SecretProperties
	for _, v := range versions {
		if newest == nil || newer(v, newest) {
			newest = v
		}
	}
	if newest == nil {
		return nil, errcode.New(errcode.NotFound, "no %s entry for secret %s", storeName, secretID)
	}
	return newest.Tags, nil
}

func (s *Store) versions(ctx context.Context, name string) ([]*azsecrets.SecretProperties, error) {
	var all []*azsecrets.SecretProperties
	pager := s.client.NewListSecretPropertiesVersionsPager(name, nil)
	for pager.More() {
		var page azsecrets.ListSecretPropertiesVersionsResponse
		err := s.call(ctx, "list secret versions", func(ctx context.Context) error {
			var err error
			page, err = pager.NextPage(ctx)
			return err
		})
		if err != nil {
			return nil, err
		}
		all = append(all, page.Value...)
	}
	return all, nil
}

// newer reports whether version a was written after b: by the write-time
// tag when both have it, else by creation time.
func newer(a, b *azsecrets.SecretProperties) bool {
	if wa, wb := written(a), written(b); wa != 0 && wb != 0 {
		return wa > wb
	}
	return created(a).After(created(b))
}

func written(p *azsecrets.SecretProperties) int64 {
	if t := p.Tags[WrittenTag]; t != nil {
		n, _ := strconv.ParseInt(*t, 10, 64)
		return n
	}
	return 0
}

func created(p *azsecrets.SecretProperties) time.Time {
	if p.Attributes != nil && p.Attributes.Created != nil {
		return *p.Attributes.Created
	}
	return time.Time{}
}

// Get implements valuestore.Store. Errors: not_found (also for a disabled
// version); unavailable; permission_denied; internal when the stored value
// is not a JSON object of strings.
func (s *Store) Get(ctx context.Context, secretID, ref string) (map[string]string, error) {
	notFound := errcode.New(errcode.NotFound, "%s has no version %q of secret %s", storeName, ref, secretID)
	if secret.ValidateID(secretID) != nil || !versionPattern.MatchString(ref) {
		return nil, notFound
	}
	var resp azsecrets.GetSecretResponse
	err := s.call(ctx, "read the secret version", func(ctx context.Context) error {
		var err error
		resp, err = s.client.GetSecret(ctx, s.secretName(secretID), ref, nil)
		return err
	})
	if errors.Is(err, errDisabled) {
		return nil, notFound
	}
	if err != nil {
		return nil, err
	}
	if !s.owns(resp.Tags, secretID) || resp.Value == nil {
		return nil, notFound
	}
	values := map[string]string{}
	if err := json.Unmarshal([]byte(*resp.Value), &values); err != nil {
		return nil, errcode.New(errcode.Internal, "%s entry for secret %s version %s is not a JSON object of strings", storeName, secretID, ref)
	}
	return values, nil
}

// Retire implements valuestore.Store: with old_versions=disable, every
// enabled version of this deployment written before keep is disabled; keep
// and newer ones are untouched. Errors: not_found when keep is not this
// deployment's version of the entry; unavailable.
func (s *Store) Retire(ctx context.Context, secretID, keep string) error {
	if !s.cfg.DisableOld {
		return nil
	}
	if secret.ValidateID(secretID) != nil || !versionPattern.MatchString(keep) {
		return errcode.New(errcode.NotFound, "%s has no version %q of secret %s", storeName, keep, secretID)
	}
	name := s.secretName(secretID)
	versions, err := s.versions(ctx, name)
	if err != nil {
		return err
	}
	var kept *azsecrets.SecretProperties
	for _, v := range versions {
		if v.ID != nil && strings.EqualFold(v.ID.Version(), keep) {
			kept = v
		}
	}
	if kept == nil || !s.owns(kept.Tags, secretID) {
		return errcode.New(errcode.NotFound, "%s has no version %q of secret %s", storeName, keep, secretID)
	}
	for _, v := range versions {
		if v == kept || !s.owns(v.Tags, secretID) || !newer(kept, v) || v.Attributes == nil || v.Attributes.Enabled == nil || !*v.Attributes.Enabled {
			continue
		}
		version := v.ID.Version()
		err := s.call(ctx, "disable an old version", func(ctx context.Context) error {
			_, err := s.client.UpdateSecretProperties(ctx, name, version, azsecrets.UpdateSecretPropertiesParameters{
				SecretAttributes: &azsecrets.SecretAttributes{Enabled: ptr(false)},
			}, nil)
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Delete implements valuestore.Store: a soft delete, then a purge when
// purge_on_delete is set. Errors: not_found for a missing or foreign entry;
// unavailable; permission_denied.
func (s *Store) Delete(ctx context.Context, secretID string) error {
	if secret.ValidateID(secretID) != nil {
		return errcode.New(errcode.NotFound, "no %s entry for secret %q", storeName, secretID)
	}
	tags, err := s.latestTags(ctx, secretID)
	if err != nil {
		return err
	}
	if !s.owns(tags, secretID) {
		return errcode.New(errcode.NotFound, "no %s entry for secret %s", storeName, secretID)
	}
	name := s.secretName(secretID)
	err = s.call(ctx, "delete the secret", func(ctx context.Context) error {
		_, err := s.client.DeleteSecret(ctx, name, nil)
		return err
	})
	if err != nil || !s.cfg.PurgeOnDelete {
		return err
	}
	// Key Vault finishes the soft delete asynchronously; purge once it has.
	return unwrapNonRetryable(retry.Do(ctx, s.settle, func(ctx context.Context) error {
		err := s.call(ctx, "purge the deleted secret", func(ctx context.Context) error {
			_, err := s.client.PurgeDeletedSecret(ctx, name, nil)
			return err
		})
		if errcode.Is(err, errcode.NotFound) || isStatus(err, http.StatusConflict) {
			return errcode.New(errcode.Unavailable, "%s secret %s is still being deleted; retry the purge", storeName, name)
		}
		return nonRetryable(err)
	}))
}

// Entries implements valuestore.Store. It lists the vault's secrets, 25 a
// page, and yields those whose newest version is tagged as this
// deployment's entry for the secret id in the name.
func (s *Store) Entries(ctx context.Context, fn func(secretID string) error) error {
	pager := s.client.NewListSecretPropertiesPager(nil)
	for pager.More() {
		var page azsecrets.ListSecretPropertiesResponse
		err := s.call(ctx, "list secrets", func(ctx context.Context) error {
			var err error
			page, err = pager.NextPage(ctx)
			return err
		})
		if err != nil {
			return err
		}
		for _, p := range page.Value {
			if p.ID == nil || p.Tags[SecretIDTag] == nil {
				continue
			}
			id := *p.Tags[SecretIDTag]
			if secret.ValidateID(id) != nil || !strings.EqualFold(p.ID.Name(), s.secretName(id)) || !s.owns(p.Tags, id) {
				continue
			}
			if err := fn(id); err != nil {
				return err
			}
		}
	}
	return nil
}

// errDisabled marks a read of a disabled version (403 with inner error
// SecretDisabled), which callers treat as not found.
var errDisabled = errors.New("the secret version is disabled")

// call runs one API call under the retry policy and classifies its error.
// When Key Vault throttles with a Retry-After hint, call waits for it (up to
// maxRetryAfter, and never past the deadline) before the policy's own
// backoff, except after the last attempt.
func (s *Store) call(ctx context.Context, what string, op func(ctx context.Context) error) error {
	attempts := s.policy.Attempts
	if attempts <= 0 {
		attempts = retry.Default.Attempts
	}
	attempt := 0
	return retry.Do(ctx, s.policy, func(ctx context.Context) error {
		attempt++
		err := op(ctx)
		if err == nil {
			return nil
		}
		if wait := retryAfter(err); wait > 0 && attempt < attempts {
			if deadline, ok := ctx.Deadline(); !ok || time.Until(deadline) > wait {
				t := time.NewTimer(wait)
				select {
				case <-ctx.Done():
					t.Stop()
				case <-t.C:
				}
			}
		}
		return classify(err, what)
	})
}

// maxRetryAfter caps how long one Retry-After hint is honoured.
const maxRetryAfter = 5 * time.Second

// retryAfter reads a throttling response's hint: retry-after-ms,
// x-ms-retry-after-ms or Retry-After (seconds), as azcore does.
func retryAfter(err error) time.Duration {
	var respErr *azcore.ResponseError
	if !errors.As(err, &respErr) || respErr.RawResponse == nil ||
		respErr.StatusCode != http.StatusTooManyRequests && respErr.StatusCode != http.StatusServiceUnavailable {
		return 0
	}
	h := respErr.RawResponse.Header
	var d time.Duration
	for _, name := range []string{"retry-after-ms", "x-ms-retry-after-ms"} {
		if ms, err := strconv.Atoi(h.Get(name)); err == nil && ms > 0 {
			d = time.Duration(ms) * time.Millisecond
			break
		}
	}
	if d == 0 {
		if secs, err := strconv.Atoi(h.Get("Retry-After")); err == nil && secs > 0 {
			d = time.Duration(secs) * time.Second
		}
	}
	return min(d, maxRetryAfter)
}

// statusMap is the one table from HTTP statuses to error codes.
var statusMap = map[int]errcode.Code{
	http.StatusBadRequest:            errcode.InvalidArgument,
	http.StatusUnauthorized:          errcode.Internal, // the store refused Lockwell, not the API caller
	http.StatusForbidden:             errcode.PermissionDenied,
	http.StatusNotFound:              errcode.NotFound,
	http.StatusConflict:              errcode.AlreadyExists,
	http.StatusRequestEntityTooLarge: errcode.TooLarge,
	http.StatusRequestTimeout:        errcode.Unavailable,
	http.StatusTooManyRequests:       errcode.Unavailable,
}

// responseStatus carries the HTTP status of a classified Key Vault error.
type responseStatus struct {
	status int
	code   string // Key Vault's error code, e.g. "SecretNotFound"
	inner  string // its inner error code, e.g. "SecretDisabled"
}

func (r *responseStatus) Error() string {
	s := fmt.Sprintf("HTTP %d %s", r.status, r.code)
	if r.inner != "" {
		s += "/" + r.inner
	}
	return s
}

// Throttled implements retry.Throttler (for the value-store throttle count).
func (r *responseStatus) Throttled() bool { return r.status == http.StatusTooManyRequests }

func (r *responseStatus) Is(target error) bool {
	return target == errDisabled && r.status == http.StatusForbidden && r.inner == "SecretDisabled"
}

func isStatus(err error, status int) bool {
	var r *responseStatus
	return errors.As(err, &r) && r.status == status
}

func classify(err error, what string) error {
	var respErr *azcore.ResponseError
	if errors.As(err, &respErr) {
		rs := &responseStatus{status: respErr.StatusCode, code: sanitizeCode(respErr.ErrorCode), inner: innerCode(respErr.RawResponse)}
		code, known := statusMap[respErr.StatusCode]
		switch {
		case known:
		case respErr.StatusCode >= 500:
			code = errcode.Unavailable
		default:
			code = errcode.Internal
		}
		switch code {
		case errcode.NotFound:
			return errcode.Wrap(code, rs, "%s: not found", storeName)
		case errcode.Unavailable:
			return errcode.Wrap(code, rs, "%s is throttling or unavailable (HTTP %d); retry later", storeName, respErr.StatusCode)
		}
		return errcode.Wrap(code, rs, "%s: cannot %s (HTTP %d %s)", storeName, what, respErr.StatusCode, rs.code)
	}
	var credErr *credentialError
	if errors.As(err, &credErr) {
		return errcode.Wrap(errcode.Internal, errors.New(sanitize(err.Error())), "%s refused Lockwell's Azure credential", storeName)
	}
	var netErr net.Error
	if errors.As(err, &netErr) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return errcode.Wrap(errcode.Unavailable, errors.New(sanitize(err.Error())), "%s did not answer; retry later", storeName)
	}
	return errcode.Wrap(errcode.Internal, errors.New(sanitize(err.Error())), "%s: cannot %s", storeName, what)
}

// innerCode reads Key Vault's inner error code from a buffered error body.
func innerCode(resp *http.Response) string {
	if resp == nil {
		return ""
	}
	body, err := runtime.Payload(resp)
	if err != nil {
		return ""
	}
	var e struct {
		Error struct {
			InnerError struct {
				Code string `json:"code"`
			} `json:"innererror"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	return sanitizeCode(e.Error.InnerError.Code)
}

var codePattern = regexp.MustCompile(`^[A-Za-z0-9_.]{1,64}$`)

// sanitizeCode keeps an error code only if it looks like one.
func sanitizeCode(code string) string {
	if codePattern.MatchString(code) {
		return code
	}
	return ""
}

var tokenPattern = regexp.MustCompile(`(?i)(bearer|token|secret|password|assertion|key)([=: "]+)[^\s"&]+`)

// sanitize keeps transport and credential error text fit for logs: no
// token-like words, at most 300 characters.
func sanitize(msg string) string {
	msg = tokenPattern.ReplaceAllString(msg, "$1$2[redacted]")
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	return msg
}

// stopError stops an outer retry loop on an error it must not repeat.
type stopError struct{ err error }

func (e *stopError) Error() string { return e.err.Error() }
func (e *stopError) Unwrap() error { return e.err }

// nonRetryable marks an error that call already retried, so that an outer
// retry loop returns it instead of multiplying the attempts.
func nonRetryable(err error) error {
	if err == nil || !errcode.Is(err, errcode.Unavailable) {
		return err
	}
	// Already retried by call: wrap so the outer loop does not multiply it.
	return errcode.Wrap(errcode.Internal, &stopError{err}, "%s", errcode.Message(err))
}

func unwrapNonRetryable(err error) error {
	var stop *stopError
	if errors.As(err, &stop) {
		return stop.err
	}
	return err
}

func ptr[T any](v T) *T { return &v }
