// Package azurekv reads ZenML's Azure Key Vault secrets manager (flavor
// azure) in both of its storage modes (reference §3.3):
//
//   - scope none, the legacy per-key mapping: one Key Vault secret per key,
//     named "zenml-" + hex(base64("<name>-<key>")), value the raw value, tags
//     zenml-group-key, zenml-key-name and zenml-schema-name (dashes). The key
//     comes from the zenml-key-name tag, never from decoding the name (both
//     parts may contain "-");
//   - scoped: one secret per ZenML secret named zenml-global-S,
//     zenml-component-UUID-S or zenml-namespace-NS-S, value the JSON payload,
//     tags zenml_scope, zenml_secret_name, ... (underscores).
//
// Source URL: zenml-azure://VAULT_NAME[?scope=...]. Credentials come from
// azidentity's DefaultAzureCredential. For a local vault
// (localdev/azurekeyvault) set LOCKWELL_AZURE_KEYVAULT_ENDPOINT to its https
// URL and LOCKWELL_AZURE_KEYVAULT_CA_FILE to its certificate, as for the
// Azure value store.
package azurekv

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/lockwell/lockwell/migrate/legacy"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/openurl"
	"github.com/lockwell/lockwell/shared/retry"
)

// The variables that point the reader at a local vault.
const (
	EndpointEnv = "LOCKWELL_AZURE_KEYVAULT_ENDPOINT"
	CAFileEnv   = "LOCKWELL_AZURE_KEYVAULT_CA_FILE"
)

// The tags of the legacy per-key mode.
const (
	groupTag  = "zenml-group-key"
	keyTag    = "zenml-key-name"
	schemaTag = "zenml-schema-name"
)

// PerKeyName is the Key Vault name ZenML gave key of secret name in the
// legacy per-key mode.
func PerKeyName(name, key string) string {
	return "zenml-" + hex.EncodeToString([]byte(base64.StdEncoding.EncodeToString([]byte(name+"-"+key))))
}

func init() {
	legacy.Register(legacy.Flavor{Name: "azure", Scoped: true, Open: open, URLFromConfig: urlFromConfig})
}

func urlFromConfig(cfg map[string]any, _ string) (string, error) {
	name, err := legacy.ConfigString(cfg, "azure", "key_vault_name")
	if err != nil {
		return "", err
	}
	return "zenml-azure://" + name, nil
}

func open(ctx context.Context, u *url.URL, d legacy.Descriptor) (legacy.Source, error) {
	if err := openurl.CheckParams(u, legacy.ScopeParams...); err != nil {
		return nil, err
	}
	if u.Host == "" || (u.Path != "" && u.Path != "/") {
		return nil, errcode.New(errcode.InvalidArgument, "zenml-azure URL must be zenml-azure://KEY_VAULT_NAME")
	}
	vaultURL := "https://" + u.Host + ".vault.azure.net"
	clientOpts := &azsecrets.ClientOptions{}
	clientOpts.Retry = policy.RetryOptions{MaxRetries: -1} // one retry policy: package retry
	if endpoint := os.Getenv(EndpointEnv); endpoint != "" {
		e, err := url.Parse(endpoint)
		if err != nil || e.Scheme != "https" || e.Host == "" || e.User != nil || e.RawQuery != "" {
			return nil, errcode.New(errcode.InvalidArgument, "%s must be an https URL such as https://127.0.0.1:8443, without credentials", EndpointEnv)
		}
		vaultURL = strings.TrimSuffix(endpoint, "/")
		clientOpts.DisableChallengeResourceVerification = true // a local vault is not *.vault.azure.net
	}
	var credOpts azidentity.DefaultAzureCredentialOptions
	if caFile := os.Getenv(CAFileEnv); caFile != "" {
		pemBytes, err := os.ReadFile(caFile)
		if err != nil {
			return nil, errcode.New(errcode.InvalidArgument, "cannot read %s", CAFileEnv)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pemBytes) {
			return nil, errcode.New(errcode.InvalidArgument, "%s holds no PEM certificate", CAFileEnv)
		}
		transport := &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment,
			TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
		clientOpts.Transport = transport
		credOpts.ClientOptions.Transport = transport
	}
	cred, err := azidentity.NewDefaultAzureCredential(&credOpts)
	if err != nil {
		return nil, errcode.New(errcode.Unauthenticated, "no Azure credentials in the environment")
	}
	client, err := azsecrets.NewClient(vaultURL, cred, clientOpts)
	if err != nil {
		return nil, errcode.New(errcode.InvalidArgument, "cannot create the Azure Key Vault client")
	}
	d.Location = u.Host
	return New(client, d), nil
}

// Source reads one vault and scope. Safe for concurrent use.
type Source struct {
	client *azsecrets.Client
	desc   legacy.Descriptor

	// The per-key groups of the last listing, so that reading N legacy
	// secrets lists the vault about once instead of N times (Key Vault has
	// no tag filter). Refreshed when older than groupsTTL or when a name is
	// missing from it; dropped by Delete.
	mu       sync.Mutex
	groups   map[string][]property
	groupsAt time.Time
}

const groupsTTL = time.Minute

// New returns a source over client (Location is the vault name).
func New(client *azsecrets.Client, d legacy.Descriptor) *Source {
	return &Source{client: client, desc: d}
}

// Describe implements legacy.Source.
func (s *Source) Describe() legacy.Descriptor { return s.desc }

// Close implements legacy.Source.
func (s *Source) Close() error { return nil }

type property struct {
	name string
	tags map[string]string
}

// properties lists every secret of the vault with its tags (no values).
func (s *Source) properties(ctx context.Context) ([]property, error) {
	var out []property
	err := retry.Do(ctx, retry.Default, func(ctx context.Context) error {
		out = out[:0]
		pager := s.client.NewListSecretPropertiesPager(nil)
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				return classify(err, "list secrets")
			}
			for _, p := range page.Value {
				if p.ID == nil {
					continue
				}
				tags := map[string]string{}
				for k, v := range p.Tags {
					if v != nil {
						tags[k] = *v
					}
				}
				out = append(out, property{name: p.ID.Name(), tags: tags})
			}
		}
		return nil
	})
	return out, err
}

// List implements legacy.Source.
func (s *Source) List(ctx context.Context) ([]legacy.Item, error) {
	props, err := s.properties(ctx)
	if err != nil {
		return nil, err
	}
	var items []legacy.Item
	groups := map[string]*legacy.Item{}
	for _, p := range props {
		switch {
		case legacy.IsCentralized(p.tags): // zenml-<uuid>, listed in every scope
			items = append(items, legacy.CentralizedItem(p.name, p.tags))
		case s.desc.Scope == legacy.ScopeNone:
			group, ok := p.tags[groupTag]
			if !ok {
				continue
			}
			it := groups[group]
			if it == nil {
				it = &legacy.Item{Name: group, Status: legacy.Migratable, Keys: []string{}}
				groups[group] = it
			}
			it.Schema = p.tags[schemaTag]
			it.AddLocation(p.name)
			key := p.tags[keyTag]
			if key == "" || key == "name" {
				it.Status, it.Reason = legacy.Skipped, "per-key secret "+p.name+" has no usable zenml-key-name tag"
				continue
			}
			it.Keys = append(it.Keys, key)
		default:
			name := p.tags["zenml_secret_name"]
			if name == "" || !s.desc.MatchesScope(p.tags) || !strings.EqualFold(p.name, s.desc.FullName(name, "-")) {
				continue
			}
			items = append(items, legacy.Item{Name: name, Location: p.name, Schema: p.tags["zenml_secret_schema"], Status: legacy.Migratable})
		}
	}
	for _, it := range groups {
		sort.Strings(it.Keys)
		items = append(items, *it)
	}
	return legacy.CompleteItems(ctx, s, items)
}

func (s *Source) get(ctx context.Context, name string) (azsecrets.GetSecretResponse, error) {
	var resp azsecrets.GetSecretResponse
	err := retry.Do(ctx, retry.Default, func(ctx context.Context) (err error) {
		resp, err = s.client.GetSecret(ctx, name, "", nil)
		return classify(err, "read secret")
	})
	return resp, err
}

// members returns the names and keys of the per-key secrets of group name.
func (s *Source) members(ctx context.Context, name string) ([]property, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m, ok := s.groups[name]; ok && time.Since(s.groupsAt) < groupsTTL {
		return m, nil
	}
	props, err := s.properties(ctx)
	if err != nil {
		return nil, err
	}
	s.groups, s.groupsAt = map[string][]property{}, time.Now()
	for _, p := range props {
		if g, ok := p.tags[groupTag]; ok {
			s.groups[g] = append(s.groups[g], p)
		}
	}
	return s.groups[name], nil
}

func (s *Source) forgetGroups() {
	s.mu.Lock()
	s.groups = nil
	s.mu.Unlock()
}

// Read implements legacy.Source.
func (s *Source) Read(ctx context.Context, name string) (*legacy.Entry, error) {
	if id, ok := legacy.CentralizedRef(name); ok {
		return s.readCentralized(ctx, id)
	}
	if s.desc.Scope == legacy.ScopeNone {
		members, err := s.members(ctx, name)
		if err != nil {
			return nil, err
		}
		if len(members) == 0 {
			return nil, errcode.New(errcode.NotFound, "no secret %q in this scope", name)
		}
		e := &legacy.Entry{Name: name, Values: map[string]string{}}
		for _, m := range members {
			key := m.tags[keyTag]
			if key == "" || key == "name" {
				return nil, errcode.New(errcode.FailedPrecondition, "per-key secret %s has no usable zenml-key-name tag", m.name)
			}
			resp, err := s.get(ctx, m.name)
			if err != nil {
				return nil, err
			}
			if resp.Value != nil {
				e.Values[key] = *resp.Value
			} else {
				e.Values[key] = ""
			}
			e.Schema = m.tags[schemaTag]
		}
		return e, nil
	}
	resp, err := s.get(ctx, s.desc.FullName(name, "-"))
	if err != nil {
		return nil, err
	}
	tags := map[string]string{}
	for k, v := range resp.Tags {
		if v != nil {
			tags[k] = *v
		}
	}
	if !s.desc.MatchesScope(tags) || tags["zenml_secret_name"] != name {
		return nil, errcode.New(errcode.NotFound, "no secret %q in this scope", name)
	}
	if resp.Value == nil {
		return nil, errcode.New(errcode.FailedPrecondition, legacy.NotZenMLReason)
	}
	schema, values, ok := legacy.DecodeJSON([]byte(*resp.Value))
	if !ok {
		return nil, errcode.New(errcode.FailedPrecondition, legacy.NotZenMLReason)
	}
	return &legacy.Entry{Name: name, Schema: schema, Values: values}, nil
}

// readCentralized reads the centralized-store secret zenml-<id>, whose
// value is the JSON of the values and whose tags carry the metadata, as
// ZenML's Azure secrets store wrote it.
func (s *Source) readCentralized(ctx context.Context, id string) (*legacy.Entry, error) {
	resp, err := s.get(ctx, "zenml-"+id)
	if err != nil {
		return nil, err
	}
	tags := map[string]string{}
	for k, v := range resp.Tags {
		if v != nil {
			tags[k] = *v
		}
	}
	value := ""
	if resp.Value != nil {
		value = *resp.Value
	}
	return legacy.DecodeCentralized(id, tags, []byte(value))
}

// Delete implements legacy.Source: Key Vault's (soft) delete of the secret,
// or of every per-key secret of the group, as ZenML deleted. Entries of
// the centralized store are never deleted.
func (s *Source) Delete(ctx context.Context, name string) error {
	if _, ok := legacy.CentralizedRef(name); ok {
		return errcode.New(errcode.FailedPrecondition, "entries of ZenML's centralized store are not deleted by the migration")
	}
	names := []string{s.desc.FullName(name, "-")}
	if s.desc.Scope == legacy.ScopeNone {
		members, err := s.members(ctx, name)
		if err != nil {
			return err
		}
		if len(members) == 0 {
			return errcode.New(errcode.NotFound, "no secret %q in this scope", name)
		}
		names = names[:0]
		for _, m := range members {
			names = append(names, m.name)
		}
	}
	defer s.forgetGroups()
	for _, n := range names {
		err := retry.Do(ctx, retry.Default, func(ctx context.Context) error {
			_, err := s.client.DeleteSecret(ctx, n, nil)
			return classify(err, "delete secret")
		})
		if err != nil && !(errcode.Is(err, errcode.NotFound) && len(names) > 1) {
			return err
		}
	}
	return nil
}

// classify maps an Azure error by its status and error code only; provider
// text is not copied.
func classify(err error, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return errcode.New(errcode.Unavailable, "Azure Key Vault did not answer in time (%s)", what)
	}
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return errcode.New(errcode.Unavailable, "Azure Key Vault is unreachable or refused the credentials (%s)", what)
	}
	code := errcode.Internal
	switch {
	case re.StatusCode == http.StatusNotFound:
		code = errcode.NotFound
	case re.StatusCode == http.StatusUnauthorized:
		code = errcode.Unauthenticated
	case re.StatusCode == http.StatusForbidden:
		code = errcode.PermissionDenied
		if re.ErrorCode == "SecretDisabled" {
			code = errcode.NotFound
		}
	case re.StatusCode == http.StatusBadRequest:
		code = errcode.InvalidArgument
	case re.StatusCode == http.StatusTooManyRequests, re.StatusCode == http.StatusRequestTimeout, re.StatusCode >= 500:
		code = errcode.Unavailable
	}
	return errcode.New(code, "Azure Key Vault: %d %s (%s)", re.StatusCode, re.ErrorCode, what)
}
