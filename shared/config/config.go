// Package config reads a deployment's configuration from the environment
// and opens what it names: the backend (by URL scheme), the external value
// store if any, the key that encrypts values at rest, and the portable store
// over them. Every serverless entry point calls it once per cold start.
//
// Which backends a binary can open depends on what it links: import
// shared/sqlstore, shared/dynamostore, a value store or envelope/awskms for
// its side effect of registering its URL scheme.
//
// Variables:
//
//	LOCKWELL_STORE       backend URL: sqlite:///path/lockwell.db, postgres://host:5432/db, mysql://host:3306/db, dynamodb://table
//	LOCKWELL_VALUES      optional external value store URL: awssecretsmanager://?region=..., gcpsecretmanager://projects/P,
//	                     azurekeyvault://NAME, hashivault://host:8200/secret, or a custom scheme
//	LOCKWELL_DEPLOYMENT  this deployment's id; required with LOCKWELL_VALUES (value entries are tagged with it)
//	LOCKWELL_KEY         key that wraps data keys: localkey:///path/store.key, envkey://VARIABLE or
//	                     awskms://alias/name?region=R; required unless LOCKWELL_VALUES is set (then the backend is
//	                     an index that holds no values, and it refuses to store any)
//	LOCKWELL_ADMINS      comma-separated principals with the admin role (for platform identities)
//	LOCKWELL_AUTH        how callers authenticate to functions: "platform" (the API Gateway authorizer or the
//	                     verified Google identity; default) or "bearer" (Lockwell API tokens)
//
// Credentials never appear in these URLs; they come from the platform's
// credential chain or the variables each backend documents.
package config

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/lockwell/lockwell/shared/backend"
	"github.com/lockwell/lockwell/shared/envelope"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/events"
	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/instrumented"
	"github.com/lockwell/lockwell/shared/store"
	"github.com/lockwell/lockwell/shared/valuestore"
)

// Auth modes.
const (
	AuthPlatform = "platform"
	AuthBearer   = "bearer"
)

// Config is a deployment's configuration.
type Config struct {
	StoreURL   string
	ValuesURL  string
	Deployment string
	KeyURL     string
	Admins     []string
	Auth       string
	// Events, when set, gets a change event after every committed change
	// (store.WithEvents); set by the entry point, not read from the
	// environment.
	Events events.Publisher
}

// FromEnv reads the configuration from LOCKWELL_* variables and checks it.
func FromEnv() (Config, error) {
	c := Config{
		StoreURL:   os.Getenv("LOCKWELL_STORE"),
		ValuesURL:  os.Getenv("LOCKWELL_VALUES"),
		Deployment: os.Getenv("LOCKWELL_DEPLOYMENT"),
		KeyURL:     os.Getenv("LOCKWELL_KEY"),
		Auth:       os.Getenv("LOCKWELL_AUTH"),
	}
	for _, a := range strings.Split(os.Getenv("LOCKWELL_ADMINS"), ",") {
		if a = strings.TrimSpace(a); a != "" {
			c.Admins = append(c.Admins, a)
		}
	}
	return c, c.Check()
}

// Check reports the first problem with c as invalid_argument.
func (c *Config) Check() error {
	if c.Auth == "" {
		c.Auth = AuthPlatform
	}
	switch {
	case c.StoreURL == "":
		return errcode.New(errcode.InvalidArgument, "LOCKWELL_STORE is not set: name the backend, e.g. dynamodb://lockwell-secrets")
	case c.ValuesURL != "" && c.Deployment == "":
		return errcode.New(errcode.InvalidArgument, "LOCKWELL_DEPLOYMENT must be set with LOCKWELL_VALUES: value entries are tagged with it")
	case c.KeyURL == "" && c.ValuesURL == "":
		return errcode.New(errcode.InvalidArgument, "LOCKWELL_KEY is not set: values are always encrypted at rest; use localkey:///path/store.key or awskms://KEY")
	case c.Auth != AuthPlatform && c.Auth != AuthBearer:
		return errcode.New(errcode.InvalidArgument, "LOCKWELL_AUTH must be %q or %q", AuthPlatform, AuthBearer)
	}
	for _, a := range c.Admins {
		if err := identity.ValidateName(a); err != nil {
			return fmt.Errorf("LOCKWELL_ADMINS: %w", err)
		}
	}
	return nil
}

// Deployment is what a configuration opens.
type Deployment struct {
	Config
	Store *store.Store
	// Tokens keeps API tokens when the backend can (the SQL backend does);
	// nil otherwise.
	Tokens identity.TokenStore
	// Index is the metadata backend and Values the external value store
	// (nil when the backend keeps values itself), for admin tools.
	Index  backend.Backend
	Values valuestore.Store
}

// Open opens the deployment c describes. The caller closes it with Close.
// logger receives the store's audit lines; nil discards them.
func (c Config) Open(ctx context.Context, logger *slog.Logger) (*Deployment, error) {
	if err := c.Check(); err != nil {
		return nil, err
	}
	// Without a key (allowed only with an external value store) the index
	// gets a sealer that refuses, so no value is ever stored in the clear.
	opts := backend.Options{Sealer: envelope.NewSealer(envelope.NoKey{})}
	if c.KeyURL != "" {
		w, err := envelope.OpenWrapper(ctx, c.KeyURL)
		if err != nil {
			return nil, err
		}
		opts.Sealer = envelope.NewSealer(w)
	}
	index, err := backend.Open(ctx, c.StoreURL, opts)
	if err != nil {
		return nil, err
	}
	d := &Deployment{Config: c, Index: index}
	if tokens, ok := index.(identity.TokenStore); ok {
		d.Tokens = tokens
	}
	b := index
	if c.ValuesURL != "" {
		if d.Values, err = valuestore.Open(ctx, c.ValuesURL, valuestore.Options{Deployment: c.Deployment}); err != nil {
			index.Close()
			return nil, err
		}
		b = valuestore.Indexed(index, instrumented.Values(d.Values, instrumented.Label(c.ValuesURL, "")))
	}
	// Metrics and spans per backend call (package instrumented); they cost
	// next to nothing until an exporter or tracer is installed.
	b = instrumented.Backend(b, instrumented.Label(c.StoreURL, c.ValuesURL))
	var sopts []store.Option
	if logger != nil {
		sopts = append(sopts, store.WithAudit(logger))
	}
	if c.Events != nil {
		sopts = append(sopts, store.WithEvents(c.Events))
	}
	d.Store = store.New(b, sopts...)
	return d, nil
}

// Principal returns the principal of an identity the platform verified,
// with the admin role when it is listed in LOCKWELL_ADMINS.
func (d *Deployment) Principal(name string) identity.Principal {
	for _, a := range d.Admins {
		if a == name {
			return identity.Principal{Name: name, Role: identity.Admin}
		}
	}
	return identity.Principal{Name: name, Role: identity.Member}
}

// Close closes the store and everything under it.
func (d *Deployment) Close() error { return d.Store.Close() }
