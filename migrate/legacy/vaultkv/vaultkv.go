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
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"

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
		id, ok := legacy.CentralizedRef(name)
		if !ok || strings.HasSuffix(name, "/") {
			continue
		}
		location := s.mount + "/zenml/" + name
		meta, values, err := s.readCentralizedData(ctx, id)
		switch {
		case errcode.Is(err, errcode.NotFound):
			continue
		case err != nil:
			return nil, err
		}
		item := legacy.CentralizedItem("zenml/"+name, meta)
		item.Location = location
		if item.Status == legacy.Migratable {
			entry, err := legacy.DecodeCentralized(id, meta, values)
			if err != nil {
				item.Status, item.Reason = legacy.Skipped, errcode.Message(err)
			} else {
				item.Keys = legacy.SortedKeys(entry.Values)
			}
		}
		items = append(items, item)
	}
	legacy.SortItems(items)
	return items, nil
}

func (s *Source) path(name string) string { return s.desc.FullName(name, "/") }

// readCentralizedData reads zenml/<id>, where ZenML's centralized Vault
// store kept {"zenml_secret_values": {...}, "zenml_secret_metadata":
// {...}} (Vault has no tags), and returns the metadata as strings and the
// values as JSON.
func (s *Source) readCentralizedData(ctx context.Context, id string) (map[string]string, []byte, error) {
	var data map[string]any
	err := retry.Do(ctx, retry.Default, func(ctx context.Context) error {
		sec, err := s.client.KVv2(s.mount).Get(ctx, "zenml/"+id)
		if errors.Is(err, api.ErrSecretNotFound) {
			return errcode.New(errcode.NotFound, "no ZenML secret %s", id)
		}
		if err != nil {
			return classify(err, "read secret")
		}
		if sec.Data == nil {
			return errcode.New(errcode.NotFound, "ZenML secret %s is deleted", id)
		}
		data = sec.Data
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	meta := map[string]string{}
	if m, ok := data["zenml_secret_metadata"].(map[string]any); ok {
		for k, v := range m {
			if v != nil {
				meta[k] = legacy.Stringify(v)
			}
		}
	}
	values, _ := json.Marshal(data["zenml_secret_values"])
	return meta, values, nil
}

func (s *Source) readCentralized(ctx context.Context, id string) (*legacy.Entry, error) {
	meta, values, err := s.readCentralizedData(ctx, id)
	if err != nil {
		return nil, err
	}
	return legacy.DecodeCentralized(id, meta, values)
}

// Read implements legacy.Source.
func (s *Source) Read(ctx context.Context, name string) (*legacy.Entry, error) {
	if id, ok := legacy.CentralizedRef(name); ok {
		return s.readCentralized(ctx, id)
	}
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
// deleted. Entries of the centralized store are never deleted.
func (s *Source) Delete(ctx context.Context, name string) error {
	if _, ok := legacy.CentralizedRef(name); ok {
		return errcode.New(errcode.FailedPrecondition, "entries of ZenML's centralized store are not deleted by the migration")
	}
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
