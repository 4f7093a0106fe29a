// Package vaultkv reads ZenML's HashiCorp Vault secrets manager (flavor
// vault): KV v2 secrets under the mount at S, zenml/global/S,
// zenml/component/UUID/S or zenml/namespace/NS/S, whose data is the values
// plus zenml_schema_name (reference §3.4). Vault stores no metadata, so an
// unscoped listing includes whatever else lives at the mount root; entries
// without zenml_schema_name are skipped. Centralized-store entries
// (zenml/<uuid>) are reported as skipped.
//
// Source URL: zenml-vault://HOST:PORT/MOUNT[?scope=...]. The address is
// https://HOST:PORT unless VAULT_ADDR overrides it (local servers); the CA
// bundle comes from VAULT_CACERT / VAULT_CAPATH and the token from
// VAULT_TOKEN (never from the URL or ZenML's stored configuration), the
// Enterprise namespace from VAULT_NAMESPACE.
package vaultkv

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"

	"github.com/google/uuid"
	"github.com/hashicorp/vault/api"

	"github.com/lockwell/lockwell/migrate/legacy"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/openurl"
	"github.com/lockwell/lockwell/shared/retry"
)

func init() {
	legacy.Register(legacy.Flavor{Name: "vault", Scoped: true, Open: open, URLFromConfig: urlFromConfig})
}

var hostPattern = regexp.MustCompile(`^[A-Za-z0-9.-]+(:[0-9]{1,5})?$|^\[[0-9a-fA-F:]+\](:[0-9]{1,5})?$`)

func urlFromConfig(cfg map[string]any, _ string) (string, error) {
	raw, err := legacy.ConfigString(cfg, "vault", "url")
	if err != nil {
		return "", err
	}
	mount, err := legacy.ConfigString(cfg, "vault", "mount_point")
	if err != nil {
		return "", err
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", errcode.New(errcode.InvalidArgument, "vault secrets manager url must be like https://HOST:PORT")
	}
	return "zenml-vault://" + u.Host + "/" + strings.Trim(mount, "/"), nil
}

func open(ctx context.Context, u *url.URL, d legacy.Descriptor) (legacy.Source, error) {
	if err := openurl.CheckParams(u, legacy.ScopeParams...); err != nil {
		return nil, err
	}
	mount := strings.Trim(u.Path, "/")
	if !hostPattern.MatchString(u.Host) || mount == "" {
		return nil, errcode.New(errcode.InvalidArgument, "zenml-vault URL must be zenml-vault://HOST:PORT/MOUNT")
	}
	token := os.Getenv("VAULT_TOKEN")
	if token == "" {
		return nil, errcode.New(errcode.InvalidArgument, "zenml-vault needs VAULT_TOKEN in the environment")
	}
	vc := api.DefaultConfig() // reads VAULT_ADDR, VAULT_CACERT, ... from the environment
	if vc.Error != nil {
		return nil, errcode.New(errcode.InvalidArgument, "cannot configure the Vault client (check VAULT_CACERT and friends)")
	}
	if os.Getenv("VAULT_ADDR") == "" {
		vc.Address = "https://" + u.Host
	}
	vc.MaxRetries = 0 // one retry policy: package retry
	client, err := api.NewClient(vc)
	if err != nil {
		return nil, errcode.New(errcode.InvalidArgument, "cannot create the Vault client")
	}
	client.SetToken(token)
	if ns := os.Getenv("VAULT_NAMESPACE"); ns != "" {
		client.SetNamespace(strings.Trim(ns, "/"))
	}
	d.Location = u.Host + "/" + mount
	return &Source{client: client, mount: mount, desc: d}, nil
}

// Source reads one mount and scope. Safe for concurrent use.
type Source struct {
	client *api.Client
	mount  string
	desc   legacy.Descriptor
}

// Describe implements legacy.Source.
func (s *Source) Describe() legacy.Descriptor { return s.desc }

// Close implements legacy.Source.
func (s *Source) Close() error { return nil }

// keys lists the entries directly under folder ("" for the mount root).
func (s *Source) keys(ctx context.Context, folder string) ([]string, error) {
	var keys []string
	err := retry.Do(ctx, retry.Default, func(ctx context.Context) error {
		sec, err := s.client.Logical().ListWithContext(ctx, s.mount+"/metadata/"+folder)
		if err != nil {
			return classify(err, "list secrets")
		}
		keys = nil
		if sec == nil || sec.Data == nil {
			return nil // no such folder: an empty list, as ZenML saw it
		}
		raw, _ := sec.Data["keys"].([]any)
		for _, k := range raw {
			if str, ok := k.(string); ok {
				keys = append(keys, str)
			}
		}
		return nil
	})
	return keys, err
}

// List implements legacy.Source.
func (s *Source) List(ctx context.Context) ([]legacy.Item, error) {
	folder := strings.Join(s.desc.ScopePath(), "/")
	if folder != "" {
		folder += "/"
	}
	names, err := s.keys(ctx, folder)
	if err != nil {
		return nil, err
	}
	var items []legacy.Item
	for _, name := range names {
		if strings.HasSuffix(name, "/") {
			continue // a sub-folder: another scope's entries
		}
		item := legacy.Item{Name: name, Location: s.mount + "/" + folder + name, Status: legacy.Migratable}
		entry, err := s.Read(ctx, name)
		switch {
		case errcode.Is(err, errcode.FailedPrecondition):
			item.Status, item.Reason = legacy.Skipped, errcode.Message(err)
		case errcode.Is(err, errcode.NotFound):
			continue // its latest version is deleted
		case err != nil:
			return nil, err
		default:
			item.Schema, item.Keys = entry.Schema, legacy.SortedKeys(entry.Values)
		}
		items = append(items, item)
	}
	central, err := s.keys(ctx, "zenml/")
	if err != nil {
		return nil, err
	}
	for _, name := range central {
		if _, err := uuid.Parse(name); err == nil && !strings.HasSuffix(name, "/") {
			items = append(items, legacy.Item{Name: "zenml/" + name, Location: s.mount + "/zenml/" + name, Status: legacy.Skipped, Reason: legacy.CentralizedReason})
		}
	}
	legacy.SortItems(items)
	return items, nil
}

func (s *Source) path(name string) string { return s.desc.FullName(name, "/") }

// Read implements legacy.Source.
func (s *Source) Read(ctx context.Context, name string) (*legacy.Entry, error) {
	if name == "" || strings.Contains(name, "/") {
		return nil, errcode.New(errcode.NotFound, "no secret %q in this scope", name)
	}
	var data map[string]any
	err := retry.Do(ctx, retry.Default, func(ctx context.Context) error {
		sec, err := s.client.KVv2(s.mount).Get(ctx, s.path(name))
		if errors.Is(err, api.ErrSecretNotFound) {
			return errcode.New(errcode.NotFound, "no secret %q in this scope", name)
		}
		if err != nil {
			return classify(err, "read secret")
		}
		if sec.Data == nil {
			// The client answers a soft-deleted (or destroyed) latest
			// version with no data and no error: the entry is gone.
			return errcode.New(errcode.NotFound, "secret %q in this scope is deleted", name)
		}
		data = sec.Data
		return nil
	})
	if err != nil {
		return nil, err
	}
	if _, ok := data["zenml_secret_values"]; ok {
		return nil, errcode.New(errcode.FailedPrecondition, legacy.CentralizedReason)
	}
	schema, values, ok := legacy.Decode(data)
	if !ok {
		return nil, errcode.New(errcode.FailedPrecondition, legacy.NotZenMLReason)
	}
	return &legacy.Entry{Name: name, Schema: schema, Values: values}, nil
}

// Delete implements legacy.Source: the metadata and every version, as ZenML
// deleted.
func (s *Source) Delete(ctx context.Context, name string) error {
	if _, err := s.Read(ctx, name); errcode.Is(err, errcode.NotFound) {
		return err
	}
	return retry.Do(ctx, retry.Default, func(ctx context.Context) error {
		return classify(s.client.KVv2(s.mount).DeleteMetadata(ctx, s.path(name)), "delete secret")
	})
}

// classify maps a Vault error by its status only; Vault's error text is not
// copied.
func classify(err error, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return errcode.New(errcode.Unavailable, "Vault did not answer in time (%s)", what)
	}
	var re *api.ResponseError
	if !errors.As(err, &re) {
		return errcode.New(errcode.Unavailable, "Vault is unreachable (%s)", what)
	}
	code := errcode.Internal
	switch {
	case re.StatusCode == http.StatusNotFound:
		code = errcode.NotFound
	case re.StatusCode == http.StatusForbidden:
		code = errcode.PermissionDenied
	case re.StatusCode == http.StatusBadRequest:
		code = errcode.InvalidArgument
	case re.StatusCode == http.StatusTooManyRequests, re.StatusCode >= 500:
		code = errcode.Unavailable
	}
	return errcode.New(code, "Vault: HTTP %d (%s)", re.StatusCode, what)
}
