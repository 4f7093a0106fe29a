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
//	LOCKWELL_AUDIT_KEY   optional key the audit chain's key comes from instead of LOCKWELL_KEY: a local key
//	                     (envkey://VARIABLE) derives it; a KMS key (awskms://...) wraps a random one the
//	                     backend keeps (needed for an index with LOCKWELL_VALUES, which has no store key);
//	                     see OpenAuditLog
//	LOCKWELL_AUDIT_RETENTION  optional, DynamoDB only: audit records expire (table TTL) after this duration
//	LOCKWELL_AUDIT_FILE  optional: also write audit records as JSON lines to this file ("-": standard output)
//	LOCKWELL_ADMINS      comma-separated principals with the admin role (for platform identities)
//	LOCKWELL_AUTH        how callers authenticate to functions: "platform" (the API Gateway authorizer or the
//	                     verified Google identity; default) or "bearer" (Lockwell API tokens)
//	LOCKWELL_KEEP_VERSIONS  versions kept per secret, the current one counted (default 20, 1 to 1000)
//	LOCKWELL_KEEP_DAYS   optionally, prune past versions older than this many days
//	LOCKWELL_RECOVERY_DAYS  days a deleted secret can be restored (default 7; 0 destroys at once)
//
// Credentials never appear in these URLs; they come from the platform's
// credential chain or the variables each backend documents.
package config

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

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
	History    History
	// AuditKeyURL (LOCKWELL_AUDIT_KEY) and AuditFile (LOCKWELL_AUDIT_FILE):
	// see OpenAuditLog.
	AuditKeyURL string
	AuditFile   string
	// AuditRetention (LOCKWELL_AUDIT_RETENTION, a Go duration): DynamoDB
	// audit records expire after it; 0 keeps them.
	AuditRetention time.Duration
	// Events, when set, gets a change event after every committed change
	// (store.WithEvents); set by the entry point, not read from the
	// environment.
	Events events.Publisher
}

// History is how much history the store keeps (package store's history
// options). The zero value is the store's defaults.
type History struct {
	KeepVersions int // 0: store.DefaultKeepVersions
	KeepDays     int // 0: no age limit
	// RecoveryDays is how long a deleted secret can be restored; nil:
	// store.DefaultRecoveryWindow; 0 destroys at once.
	RecoveryDays *int
	// PurgeOnWrite purges expired secrets in the background after writes
	// (store.WithPurgeOnWrite): for long-running servers, not functions.
	PurgeOnWrite bool
}

// HistoryFromEnv reads LOCKWELL_KEEP_VERSIONS, LOCKWELL_KEEP_DAYS and
// LOCKWELL_RECOVERY_DAYS through getenv (os.Getenv when nil).
func HistoryFromEnv(getenv func(string) string) (History, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	var h History
	for _, v := range []struct {
		name     string
		min, max int
		set      func(int)
	}{
		{"LOCKWELL_KEEP_VERSIONS", 1, store.MaxKeepVersions, func(n int) { h.KeepVersions = n }},
		{"LOCKWELL_KEEP_DAYS", 1, 36500, func(n int) { h.KeepDays = n }},
		{"LOCKWELL_RECOVERY_DAYS", 0, 3650, func(n int) { h.RecoveryDays = &n }},
	} {
		raw := getenv(v.name)
		if strings.TrimSpace(raw) == "" {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(raw))
		if err != nil || n < v.min || n > v.max {
			return h, errcode.New(errcode.InvalidArgument, "%s must be a whole number from %d to %d", v.name, v.min, v.max)
		}
		v.set(n)
	}
	return h, nil
}

// Options returns the store options h stands for.
func (h History) Options() []store.Option {
	var opts []store.Option
	if h.KeepVersions > 0 {
		opts = append(opts, store.WithKeepVersions(h.KeepVersions))
	}
	if h.KeepDays > 0 {
		opts = append(opts, store.WithKeepFor(time.Duration(h.KeepDays)*24*time.Hour))
	}
	if h.RecoveryDays != nil {
		opts = append(opts, store.WithRecoveryWindow(time.Duration(*h.RecoveryDays)*24*time.Hour))
	}
	if h.PurgeOnWrite {
		opts = append(opts, store.WithPurgeOnWrite())
	}
	return opts
}

// FromEnv reads the configuration from LOCKWELL_* variables and checks it.
func FromEnv() (Config, error) {
	history, err := HistoryFromEnv(nil)
	if err != nil {
		return Config{}, err
	}
	c := Config{
		History:     history,
		StoreURL:    os.Getenv("LOCKWELL_STORE"),
		ValuesURL:   os.Getenv("LOCKWELL_VALUES"),
		Deployment:  os.Getenv("LOCKWELL_DEPLOYMENT"),
		KeyURL:      os.Getenv("LOCKWELL_KEY"),
		Auth:        os.Getenv("LOCKWELL_AUTH"),
		AuditKeyURL: os.Getenv("LOCKWELL_AUDIT_KEY"),
		AuditFile:   os.Getenv("LOCKWELL_AUDIT_FILE"),
	}
	if v := os.Getenv("LOCKWELL_AUDIT_RETENTION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return Config{}, errcode.New(errcode.InvalidArgument, "LOCKWELL_AUDIT_RETENTION must be a duration such as 2160h (90 days)")
		}
		c.AuditRetention = d
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
	// closeAudit closes the audit log's JSON lines file.
	closeAudit func() error
}

// Open opens the deployment c describes. The caller closes it with Close.
// logger receives the store's audit lines; nil discards them.
func (c Config) Open(ctx context.Context, logger *slog.Logger) (*Deployment, error) {
	if err := c.Check(); err != nil {
		return nil, err
	}
	// Without a key (allowed only with an external value store) the index
	// gets a sealer that refuses, so no value is ever stored in the clear.
	var wrapper envelope.KeyWrapper = envelope.NoKey{}
	if c.KeyURL != "" {
		w, err := envelope.OpenWrapper(ctx, c.KeyURL)
		if err != nil {
			return nil, err
		}
		wrapper = w
	}
	opts := backend.Options{Sealer: envelope.NewSealer(wrapper)}
	index, err := backend.Open(ctx, c.StoreURL, opts)
	if err != nil {
		return nil, err
	}
	d := &Deployment{Config: c, Index: index}
	auditLog, closeAudit, err := OpenAuditLog(ctx, index, wrapper, c.AuditKeyURL, c.AuditFile, c.AuditRetention, logger)
	if err != nil {
		index.Close()
		return nil, err
	}
	d.closeAudit = closeAudit
	if tokens, ok := index.(identity.TokenStore); ok {
		d.Tokens = tokens
	}
	b := index
	if c.ValuesURL != "" {
		if d.Values, err = valuestore.Open(ctx, c.ValuesURL, valuestore.Options{Deployment: c.Deployment}); err != nil {
			index.Close()
			_ = closeAudit()
			return nil, err
		}
		b = valuestore.Indexed(index, instrumented.Values(d.Values, instrumented.Label(c.ValuesURL, "")))
	}
	// Metrics and spans per backend call (package instrumented); they cost
	// next to nothing until an exporter or tracer is installed.
	b = instrumented.Backend(b, instrumented.Label(c.StoreURL, c.ValuesURL))
	sopts := c.History.Options()
	if logger != nil {
		sopts = append(sopts, store.WithAudit(logger), store.WithLogger(logger))
	}
	if auditLog != nil {
		sopts = append(sopts, store.WithAuditLog(auditLog))
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
func (d *Deployment) Close() error {
	err := d.Store.Close()
	if cerr := d.closeAudit(); err == nil {
		err = cerr
	}
	return err
}
