// Package backend defines the interface every storage backend implements, the
// query it answers, and the registry that opens a backend from a URL.
//
// A backend is a dumb, durable, concurrent-safe map of secrets keyed by id
// with two uniqueness rules. It knows nothing of callers, permissions,
// idempotency or merging: the portable store (package store) does all of
// that once, above every backend. Backends are complete stores (SQL,
// DynamoDB: metadata and encrypted values together) or an index paired with
// an external value store (package valuestore).
//
// The contract below is checked by the conformance suite in package
// backendtest; every backend runs it.
package backend

import (
	"context"
	"errors"
	"time"

	"github.com/lockwell/lockwell/shared/secret"
)

// Backend stores secrets. All methods are safe for concurrent use, also from
// several processes sharing one database. Errors are classified with package
// errcode: the codes each method may return are listed on it; a failure of
// the underlying service is unavailable (retryable) or internal.
//
// Backends never put a value into an error, a log line or a panic.
type Backend interface {
	// Create stores s, which the caller has validated and completed (ID,
	// Owner, Keys, Version 1, Created, Updated, Change). Values may be nil
	// for an index whose values live elsewhere (then ValuesRef is set).
	//
	// Uniqueness: at most one live public secret per Name, and at most one
	// live private secret per (Owner, Name). A private and a public secret
	// may share a name; a deleted secret (in the recovery window) holds no
	// name. A clash returns already_exists and stores nothing; of two
	// concurrent creates of the same name exactly one succeeds.
	//
	// Idempotency records: when s.Idempotency is set, the backend stores the
	// record with the secret, atomically (both are durable or neither is).
	// If an unexpired record with the same Key exists, it stores nothing and
	// returns an error that wraps ErrIdempotencyKeyUsed (code
	// already_exists). An expired record under the key is replaced. The same
	// holds for Update.
	Create(ctx context.Context, s *secret.Secret) error

	// Get returns the current version of the secret with the id, values
	// included (nil for an index whose values live elsewhere), Change set.
	// A deleted secret is returned too, with Deleted set: hiding it is the
	// store's business. Errors: not_found (never created, or purged).
	Get(ctx context.Context, id string) (*secret.Secret, error)

	// List returns up to q.Limit secrets that match q, in q.Sort order (ties
	// broken by ID in the same direction), starting strictly after q.After.
	// It never returns values: Values is nil in every item, Keys is set.
	// Only live secrets match, or with q.Deleted only deleted ones.
	List(ctx context.Context, q Query) ([]*secret.Secret, error)

	// Update replaces the stored secret s.ID with s, if and only if the
	// stored version is expectedVersion; s.Version is expectedVersion+1. Of
	// two updates with the same expected version exactly one succeeds.
	// Errors: not_found; failed_precondition when the stored version differs;
	// already_exists when the new version would hold a name that another
	// live secret holds (as in Create): a changed name or visibility, or a
	// deleted secret made live again (restore). Owner, ID and Created never
	// change. s.Idempotency is stored as in Create.
	//
	// Deleting and restoring are updates: setting Deleted (and PurgeAfter)
	// moves the secret into the recovery window and frees its name at once;
	// clearing Deleted makes it live again.
	//
	// History: when s.Keep is set, the version being replaced is kept as a
	// past version, with its values (or ValuesRef) sealed as they were and
	// its Change, and the past versions s.Keep does not keep are removed, in
	// the same write: when the update succeeds, GetVersion returns exactly
	// the versions s.Keep keeps. Without s.Keep no past version is kept and
	// past versions already stored are left alone. A failed update changes
	// no history.
	Update(ctx context.Context, s *secret.Secret, expectedVersion int64) error

	// Versions returns the metadata (Values nil, Change set) of every stored
	// version of the secret id, the current one included, newest first.
	// Errors: not_found when the secret does not exist.
	Versions(ctx context.Context, id string) ([]*secret.Secret, error)

	// GetVersion returns the given version of the secret id with its values
	// (or ValuesRef), as Get returns the current one; the current version
	// too. Errors: not_found when the secret or that version does not exist
	// (never made, or pruned).
	GetVersion(ctx context.Context, id string, version int64) (*secret.Secret, error)

	// Expired returns the metadata of up to limit deleted secrets of any
	// owner whose PurgeAfter is before t, in no particular order, for the
	// purge of expired secrets.
	Expired(ctx context.Context, t time.Time, limit int) ([]*secret.Secret, error)

	// Idempotency returns the record stored under key by a Create or Update
	// while it has not expired, whatever happened to the secret since.
	// Errors: not_found (no record, or only an expired one); unavailable
	// when the write the record belongs to may still be in flight (the
	// caller retries later).
	Idempotency(ctx context.Context, key string) (*secret.Idempotency, error)

	// Delete destroys the secret with the id, with all its past versions,
	// live or deleted (this is the purge; a recoverable delete is an
	// Update). When expectedVersion is not 0 it deletes only if the stored
	// version matches (failed_precondition otherwise). Errors: not_found.
	Delete(ctx context.Context, id string, expectedVersion int64) error

	// Close releases the backend's resources.
	Close() error
}

// Query selects and orders secrets for List. The zero value of each filter
// matches everything.
type Query struct {
	// Viewer is the principal listing. Only public secrets and the private
	// secrets Viewer owns match. Required.
	Viewer string

	Name         string // exact name
	NamePrefix   string // case-sensitive prefix of the name
	NameContains string // case-sensitive substring of the name
	Private      *bool  // only private (true) or only public (false) secrets
	Owner        string // only secrets this principal owns
	// Deleted lists the secrets in the recovery window instead of the live
	// ones (the same visibility rules apply).
	Deleted bool

	Sort  Sort
	After *Cursor // resume after this position; nil starts at the beginning
	Limit int     // at most this many items; at least 1
}

// SortField is what List orders by.
type SortField string

// The fields List can order by.
const (
	ByName    SortField = "name"
	ByCreated SortField = "created"
	ByUpdated SortField = "updated"
)

// Sort is the order of a List: a field, then ID, both ascending or both
// descending.
type Sort struct {
	Field SortField
	Desc  bool
}

// Cursor is a position in a sorted listing: the sort field's value and the
// id of the last item returned. Only the field named by the query's Sort is
// meaningful.
type Cursor struct {
	Name string
	Time time.Time
	ID   string
}

// CursorAfter returns the cursor that resumes a listing sorted by field after
// s.
func CursorAfter(s *secret.Secret, field SortField) *Cursor {
	c := &Cursor{ID: s.ID}
	switch field {
	case ByCreated:
		c.Time = s.Created
	case ByUpdated:
		c.Time = s.Updated
	default:
		c.Name = s.Name
	}
	return c
}

// ErrIdempotencyKeyUsed is wrapped by the error of a Create or Update whose
// idempotency record's key is already taken by an unexpired record: the
// write was not made, and the caller answers from the stored record.
var ErrIdempotencyKeyUsed = errors.New("idempotency key already used")

// Modifier is implemented by backends that can change a secret under an
// exclusive lock: Modify reads the secret with the id (values included),
// calls change with it, and stores what change returns (as Update would,
// with its idempotency record) before any other writer can change the
// secret. So concurrent unconditional changes queue instead of failing
// their compare-and-set. change may be called more than once if the backend
// must retry (it must not have side effects); an error from change is
// returned as it is and nothing is stored. Errors: not_found, already_exists
// (as Update), unavailable, internal.
type Modifier interface {
	Modify(ctx context.Context, id string, change func(current *secret.Secret) (*secret.Secret, error)) error
}

// MetadataGetter is implemented by backends that can read a secret without
// its values more cheaply than Get: without decrypting, or without a call to
// an external value store. The store uses it where values are not needed
// (delete). It returns what Get returns, with Values nil. Errors: not_found.
type MetadataGetter interface {
	GetMetadata(ctx context.Context, id string) (*secret.Secret, error)
}
