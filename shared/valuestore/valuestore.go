// Package valuestore pairs an index backend (SQL or DynamoDB, which keeps
// every secret's metadata) with an external store that keeps only the values:
// AWS Secrets Manager, GCP Secret Manager, Azure Key Vault, HashiCorp Vault,
// or a custom store registered by URL scheme. This is how ZenML has split
// secrets since 0.54.1: listing never touches the external store.
//
// Each secret's values live in one external entry named from the secret id
// (for example "lockwell/<uuid>") and tagged with the deployment id and the
// secret id, so entries of other deployments or of other tools are never
// read or overwritten. Every change of values writes a new version of the
// entry and the index records which version each Lockwell version uses
// (Secret.ValuesRef, kept with each past version), so that a writer that
// loses an optimistic-concurrency race cannot clobber the values of the one
// that won, and past versions read their own values. Store versions older
// than the oldest version the index keeps are retired (see Indexed).
package valuestore

import (
	"fmt"

	"context"
	"github.com/lockwell/lockwell/shared/openurl"
	"net/url"
)

// Store keeps secret values outside the index. Implementations are safe for
// concurrent use and classify errors with package errcode. They never put a
// value into an error, a log line or a panic, and sanitize provider error
// text, which may echo request content.
type Store interface {
	// Put writes values as a new version of the entry for secretID, creating
	// the entry (named and tagged as the package doc says) when it does not
	// exist, and returns a reference to exactly this version. The ref names
	// this write forever: no other Put returns it with other values (not a
	// concurrent one, not one that stalled between choosing and writing its
	// version, not one after the version was retired), and the version it
	// names is never changed, or the index could record one writer as the
	// winner while the ref reads another's values. Errors:
	// too_large when the serialized values exceed Limit (the message names
	// the store and its limit); unavailable when throttled or down after
	// retries.
	Put(ctx context.Context, secretID string, values map[string]string) (ref string, err error)

	// Get returns the values of the version ref of the entry for secretID,
	// any version not yet retired: past versions of the index's history
	// read through it. A store that drops old versions by itself says in
	// its doc how that relates to LOCKWELL_KEEP_VERSIONS. Errors:
	// not_found when the entry or version does not exist, or the entry is
	// not tagged as this deployment's entry for secretID.
	Get(ctx context.Context, secretID, ref string) (map[string]string, error)

	// Retire discards the versions of the entry for secretID that were
	// written before keep, as the store's configuration says (disable,
	// destroy, or keep them). keep is the ref of the oldest version the
	// index keeps, so keep and every version written after it stay
	// readable: the index's past versions name them, and a concurrent
	// writer's newer version may already be current. It is best effort
	// (Sweep retires again).
	Retire(ctx context.Context, secretID, keep string) error

	// Delete removes the entry for secretID with all its versions. Errors:
	// not_found.
	Delete(ctx context.Context, secretID string) error

	// Entries calls fn with the secret id of every entry this deployment
	// owns (by its tags), for sweeping orphans and for backups. It stops at
	// the first error fn returns and returns it.
	Entries(ctx context.Context, fn func(secretID string) error) error

	// Limit is the largest serialized values payload, in bytes, the store
	// accepts.
	Limit() int

	// Name names the store in messages, for example "AWS Secrets Manager".
	Name() string

	// Close releases the store's resources.
	Close() error
}

// Options are what a value store may need beyond its URL.
type Options struct {
	// Deployment identifies this Lockwell deployment. Entries are tagged with
	// it and entries tagged otherwise are never read, changed or deleted.
	Deployment string
}

// Opener opens a value store from its URL. It must reject unknown query
// parameters with invalid_argument and never accept credentials in the URL.
type Opener func(ctx context.Context, u *url.URL, opts Options) (Store, error)

var registry = openurl.NewRegistry[Opener]("value store")

// Register makes a value store available under a URL scheme, for example
// "awssecretsmanager"; call it from an init function. Custom stores register
// the same way (see package valuestore/example).
func Register(scheme string, open Opener) { registry.Register(scheme, open) }

// Open opens the value store that rawURL names by its scheme.
func Open(ctx context.Context, rawURL string, opts Options) (Store, error) {
	open, u, err := registry.Lookup(rawURL)
	if err != nil {
		return nil, err
	}
	s, err := open(ctx, u, opts)
	if err != nil {
		return nil, fmt.Errorf("open %s value store: %w", u.Scheme, err)
	}
	return s, nil
}

// Schemes lists the schemes linked into this binary.
func Schemes() []string { return registry.Schemes() }
