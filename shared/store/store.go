// Package store is the portable secrets store that every entry point calls:
// the HTTP handlers (and through them Lambda, Cloud Functions and the local
// server), the migrator and the admin tools. It wraps one backend.Backend and
// does, once for every backend, what the API promises:
//
//   - validation of names, keys, values and sizes (package secret), so that
//     bad input is rejected before anything is stored;
//   - visibility: a private secret exists only for its owner; everyone else,
//     admins included, gets not_found and never sees it listed;
//   - versions: 1 at creation, +1 on every change, with optimistic
//     concurrency (If-Match); concurrent unconditional updates queue under
//     the backend's lock or re-merge onto the newer version, so all apply;
//   - merge semantics of updates (a nil value removes a key);
//   - idempotent retries of creates and updates (Idempotency-Key): one
//     record per (principal, key), stored atomically with the write, answers
//     every retry for DefaultIdempotencyRetention;
//   - opaque keyset page tokens bound to their query;
//   - an audit record per operation that reads values or changes a secret
//     (WithAuditLog, audit.go), failing closed; never values.
//
// A Store is safe for concurrent use.
package store

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/lockwell/lockwell/shared/audit"
	"github.com/lockwell/lockwell/shared/backend"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/events"
	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/retry"
	"github.com/lockwell/lockwell/shared/secret"
)

// Store is the portable secrets store. Create one with New.
type Store struct {
	b         backend.Backend
	audit     *slog.Logger
	bgLog     *slog.Logger // what the background purge reports (history.go)
	log       *audit.Log
	now       func() time.Time
	retention time.Duration

	// History (history.go).
	keepVersions int
	keepFor      time.Duration
	recovery     time.Duration
	purgeOnWrite bool
	lastPurge    atomic.Int64     // unix nanoseconds of the last background purge
	events       events.Publisher // events.go
}

// Option configures a Store.
type Option func(*Store)

// WithAudit logs one line per operation to l: operation, principal, secret
// id and outcome code. Never values.
func WithAudit(l *slog.Logger) Option { return func(s *Store) { s.audit = l } }

// DefaultIdempotencyRetention is how long the store keeps the record of a
// create or update made with an Idempotency-Key, and so how long a retry
// with the same key and body is answered with the first result (24 hours,
// what payment APIs promise).
const DefaultIdempotencyRetention = 24 * time.Hour

// WithIdempotencyRetention sets how long idempotency records are kept
// (DefaultIdempotencyRetention when not given; at least a second).
func WithIdempotencyRetention(d time.Duration) Option {
	return func(s *Store) { s.retention = max(d, time.Second) }
}

// New returns a Store over b.
func New(b backend.Backend, opts ...Option) *Store {
	s := &Store{
		b: b, now: secret.Now, retention: DefaultIdempotencyRetention,
		keepVersions: DefaultKeepVersions, recovery: DefaultRecoveryWindow,
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Backend returns the backend the store wraps, for admin tools that work on
// raw storage (sweep, backup).
func (s *Store) Backend() backend.Backend { return s.b }

// Close closes the backend.
func (s *Store) Close() error { return s.b.Close() }

// MaxOriginLength bounds Secret.Origin.
const MaxOriginLength = 1024

// CreateRequest is the input of Create.
type CreateRequest struct {
	Name    string
	Private bool
	Values  map[string]string
	// Origin records where a migrated secret came from; empty for users.
	Origin string
	// IdempotencyKey, when set, makes a retry of the same request return
	// the first result instead of already_exists.
	IdempotencyKey string
}

// Create stores a new secret owned by p and returns its metadata (no values).
// With an IdempotencyKey, a retry of the same request within the retention
// (DefaultIdempotencyRetention) returns the first result, whatever happened
// to the secret since (updated, renamed, deleted). Errors: invalid_argument,
// too_large, already_exists (a public secret with that name exists, or p
// has a private one), invalid_argument when the idempotency key was used for
// a different request, and unavailable when a first attempt with the same
// key may still be in flight.
func (s *Store) Create(ctx context.Context, p identity.Principal, req CreateRequest) (out *secret.Secret, err error) {
	var id string
	defer s.record(ctx, "create", p, &id, &out, &err)
	if err := s.begin(ctx, "create", p, "", req.Name); err != nil {
		return nil, err
	}
	if err := s.validateCreate(req); err != nil {
		return nil, err
	}
	rec := s.newRecord(p, req.IdempotencyKey, "create", req)
	if first, ok, err := s.replay(ctx, rec); err != nil || ok {
		if ok {
			id = first.ID
		}
		return first, err
	}
	values := req.Values
	if values == nil {
		values = map[string]string{}
	}
	now := s.now()
	sec := &secret.Secret{
		ID: secret.NewID(), Name: req.Name, Private: req.Private, Owner: p.Name,
		Values: values, Keys: secret.KeysOf(values), Version: 1,
		Created: now, Updated: now, Origin: req.Origin,
		Change: secret.Change{Operation: secret.OpCreate, Principal: p.Name, Added: secret.KeysOf(values)},
	}
	if req.Origin != "" {
		sec.Change.Operation = secret.OpMigrate
	}
	id = sec.ID
	sec.ChangeKey, sec.Idempotency = rec.attach(sec)
	err = s.b.Create(ctx, sec)
	if errors.Is(err, backend.ErrIdempotencyKeyUsed) {
		return s.replayRace(ctx, rec)
	}
	if err != nil {
		return nil, err
	}
	s.purgeExpiredSoon()
	s.emit(ctx, events.Created, sec, p)
	return sec.Metadata(), nil
}

func (s *Store) validateCreate(req CreateRequest) error {
	if err := secret.ValidateName(req.Name); err != nil {
		return err
	}
	if len(req.Origin) > MaxOriginLength {
		return errcode.New(errcode.InvalidArgument, "origin is longer than %d bytes", MaxOriginLength)
	}
	return secret.ValidateValues(req.Values)
}

// pendingRecord is the idempotency record of a request being made; nil
// without an Idempotency-Key.
type pendingRecord struct {
	key, request, operation string
	created, expires        time.Time
}

// newRecord derives the record of a request: the key is a hash of the
// principal and the Idempotency-Key; the request is an HMAC of the body
// keyed by the principal and the raw key. The record is stored in the clear
// and the body holds values: keyed by a client-chosen random key that is
// never stored, the HMAC gives someone who reads the database nothing to
// brute-force a low-entropy value (a PIN) against.
func (s *Store) newRecord(p identity.Principal, key, operation string, body any) *pendingRecord {
	if key == "" {
		return nil
	}
	k := sha256.Sum256([]byte(p.Name + "\x00" + key))
	b, _ := json.Marshal(body) // request types always marshal
	mac := hmac.New(sha256.New, []byte(p.Name+"\x00"+key+"\x01"))
	mac.Write(b)
	now := s.now()
	return &pendingRecord{
		key:       hex.EncodeToString(k[:16]),
		request:   hex.EncodeToString(mac.Sum(nil)[:16]),
		operation: operation,
		created:   now,
		expires:   now.Add(s.retention),
	}
}

// attach returns the change key and the idempotency record of the write
// that makes next (both empty without a record).
func (r *pendingRecord) attach(next *secret.Secret) (string, *secret.Idempotency) {
	if r == nil {
		return "", nil
	}
	result := next.Metadata()
	result.ChangeKey, result.ValuesRef = "", ""
	return r.key + "." + r.request, &secret.Idempotency{
		Key: r.key, Request: r.request, Operation: r.operation, Result: result,
		Created: r.created, Expires: r.expires,
	}
}

// replay answers a retried request from its stored record: the first result
// when the record holds the same request, invalid_argument when the key
// came with another request, and nothing (ok false) when there is no
// unexpired record.
func (s *Store) replay(ctx context.Context, r *pendingRecord) (*secret.Secret, bool, error) {
	if r == nil {
		return nil, false, nil
	}
	stored, err := s.b.Idempotency(ctx, r.key)
	if errcode.Is(err, errcode.NotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if stored.Request != r.request || stored.Operation != r.operation || stored.Result == nil {
		return nil, false, errcode.New(errcode.InvalidArgument, "Idempotency-Key was already used for a different request; use a new key")
	}
	return stored.Result.Metadata(), true, nil
}

// replayRace answers a request whose write found its key taken: a
// concurrent attempt with the same key stored its record first.
func (s *Store) replayRace(ctx context.Context, r *pendingRecord) (*secret.Secret, error) {
	first, ok, err := s.replay(ctx, r)
	if err != nil || ok {
		return first, err
	}
	return nil, errcode.New(errcode.Unavailable, "a request with this Idempotency-Key is being made at the same time; retry")
}

// Get returns the secret with its values. Errors: invalid_argument (bad id),
// not_found (no such secret, or private to someone else).
func (s *Store) Get(ctx context.Context, p identity.Principal, id string) (out *secret.Secret, err error) {
	defer s.record(ctx, "get", p, &id, &out, &err)
	if err := secret.ValidateID(id); err != nil {
		return nil, err
	}
	return s.visible(ctx, p, id)
}

func (s *Store) visible(ctx context.Context, p identity.Principal, id string) (*secret.Secret, error) {
	sec, err := s.b.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if sec.IsDeleted() || !sec.VisibleTo(p.Name) {
		return nil, notFound(id)
	}
	return sec, nil
}

// visibleMetadata is visible without the values, for operations that do not
// need them, when the backend can read metadata more cheaply.
func (s *Store) visibleMetadata(ctx context.Context, p identity.Principal, id string) (*secret.Secret, error) {
	m, ok := s.b.(backend.MetadataGetter)
	if !ok {
		return s.visible(ctx, p, id)
	}
	sec, err := m.GetMetadata(ctx, id)
	if err != nil {
		return nil, err
	}
	if sec.IsDeleted() || !sec.VisibleTo(p.Name) {
		return nil, notFound(id)
	}
	return sec, nil
}

func notFound(id string) error { return errcode.New(errcode.NotFound, "secret %s not found", id) }

// Lookup returns the secret named name as p sees it, values included: p's
// private secret of that name if there is one, else the public one. This is
// how references ({{name.key}}) and the CLI resolve names. Errors:
// invalid_argument, not_found.
func (s *Store) Lookup(ctx context.Context, p identity.Principal, name string) (out *secret.Secret, err error) {
	defer s.record(ctx, "lookup", p, &name, &out, &err)
	if err := secret.ValidateName(name); err != nil {
		return nil, err
	}
	found, err := s.b.List(ctx, backend.Query{Viewer: p.Name, Name: name, Limit: 2})
	if err != nil {
		return nil, err
	}
	var pick *secret.Secret
	for _, f := range found {
		if f.Private && f.Owner == p.Name {
			pick = f
			break
		}
		if !f.Private {
			pick = f
		}
	}
	if pick == nil {
		return nil, errcode.New(errcode.NotFound, "secret %q not found", name)
	}
	return s.visible(ctx, p, pick.ID)
}

// UpdateRequest is the input of Update. Nil fields are left unchanged.
type UpdateRequest struct {
	Name    *string
	Private *bool
	// Values are merged: a key with a non-nil value is set, a key with a nil
	// value is removed, keys not mentioned stay.
	Values map[string]*string
	// ReplaceValues makes the non-nil entries of Values the complete new set
	// of values (used by the migrator's overwrite).
	ReplaceValues bool
	// IfMatch, when not 0, makes the update conditional on the current
	// version: failed_precondition when it differs.
	IfMatch int64
	Origin  *string
	// IdempotencyKey, when set, makes a retry of the same request return the
	// first result instead of applying a second change.
	IdempotencyKey string
}

func (r UpdateRequest) empty() bool {
	return r.Name == nil && r.Private == nil && r.Values == nil && !r.ReplaceValues && r.Origin == nil
}

// raceBackoff is how an unconditional change backs off after losing a
// compare-and-set to another writer, on backends that cannot lock
// (backend.Modifier): short waits, so a queue of writers drains quickly.
var raceBackoff = retry.Policy{Base: 2 * time.Millisecond, Max: 100 * time.Millisecond}

// unconditionalBudget bounds how long an unconditional change keeps
// re-merging when its context has no deadline of its own.
const unconditionalBudget = time.Minute

// Update changes a secret and returns its new metadata (no values). Without
// IfMatch, an update never fails because of other writers: on a backend that
// can lock the secret (backend.Modifier: SQL, memstore) concurrent updates
// queue; elsewhere an update that lost a race is re-merged onto the newer
// version, with backoff, until it lands or ctx's deadline passes. Only the
// owner may change whether a secret is private. With an IdempotencyKey, a
// retry within the retention returns the first result (see Create).
// Errors: invalid_argument, too_large, not_found, failed_precondition
// (IfMatch is stale), already_exists (the new name is taken in the target
// scope), permission_denied, and unavailable when the deadline passed first.
func (s *Store) Update(ctx context.Context, p identity.Principal, id string, req UpdateRequest) (out *secret.Secret, err error) {
	defer s.record(ctx, "update", p, &id, &out, &err)
	if err := s.begin(ctx, "update", p, id, ""); err != nil {
		return nil, err
	}
	if err := validateUpdate(id, req); err != nil {
		return nil, err
	}
	rec := s.newRecord(p, req.IdempotencyKey, "update", struct {
		ID  string
		Req UpdateRequest
	}{id, req})
	if first, ok, err := s.replay(ctx, rec); err != nil || ok {
		return first, err
	}
	change := func(current *secret.Secret) (*secret.Secret, error) {
		if err := s.changeable(p, current, req.IfMatch); err != nil {
			return nil, err
		}
		next, err := s.apply(p, current, req)
		if err != nil {
			return nil, err
		}
		next.ChangeKey, next.Idempotency = rec.attach(next)
		return next, nil
	}
	var result *secret.Secret
	err = s.change(ctx, id, req.IfMatch == 0, func(current *secret.Secret) (*secret.Secret, error) {
		next, err := change(current)
		result = next
		return next, err
	})
	if errors.Is(err, backend.ErrIdempotencyKeyUsed) {
		return s.replayRace(ctx, rec)
	}
	if err != nil {
		return nil, err
	}
	s.purgeExpiredSoon()
	s.emit(ctx, events.Updated, result, p)
	return result.Metadata(), nil
}

// change applies fn to the current version of secret id and stores the
// result: under the backend's lock when it has one, else by compare-and-set,
// re-reading and re-applying after a lost race when unconditional is set.
func (s *Store) change(ctx context.Context, id string, unconditional bool, fn func(*secret.Secret) (*secret.Secret, error)) error {
	if m, ok := s.b.(backend.Modifier); ok {
		return m.Modify(ctx, id, fn)
	}
	if _, ok := ctx.Deadline(); !ok && unconditional {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, unconditionalBudget)
		defer cancel()
	}
	for attempt := 1; ; attempt++ {
		current, err := s.b.Get(ctx, id)
		if err != nil {
			return err
		}
		next, err := fn(current)
		if err != nil {
			return err
		}
		err = s.b.Update(ctx, next, current.Version)
		if !errcode.Is(err, errcode.FailedPrecondition) || !unconditional {
			return err
		}
		if werr := raceBackoff.Wait(ctx, attempt); werr != nil {
			return tooManyWriters(id, err)
		}
	}
}

func validateUpdate(id string, req UpdateRequest) error {
	if err := secret.ValidateID(id); err != nil {
		return err
	}
	if req.Name != nil {
		if err := secret.ValidateName(*req.Name); err != nil {
			return err
		}
	}
	if req.Origin != nil && len(*req.Origin) > MaxOriginLength {
		return errcode.New(errcode.InvalidArgument, "origin is longer than %d bytes", MaxOriginLength)
	}
	if req.IfMatch < 0 {
		return errcode.New(errcode.InvalidArgument, "If-Match version must be positive")
	}
	// Validate the requested keys and values themselves; the size limits are
	// checked on the merged result.
	set := make(map[string]string, len(req.Values))
	for k, v := range req.Values {
		if err := secret.ValidateKey(k); err != nil {
			return err
		}
		if v != nil {
			set[k] = *v
		}
	}
	if req.empty() {
		return errcode.New(errcode.InvalidArgument, "update changes nothing: give name, private or values")
	}
	return secret.ValidateValues(set)
}

// apply returns the next version of current with req applied.
func (s *Store) apply(p identity.Principal, current *secret.Secret, req UpdateRequest) (*secret.Secret, error) {
	next := current.Clone()
	if req.Name != nil {
		next.Name = *req.Name
	}
	if req.Private != nil && *req.Private != current.Private {
		if current.Owner != p.Name {
			return nil, errcode.New(errcode.PermissionDenied, "only the owner of secret %s can change whether it is private", current.ID)
		}
		next.Private = *req.Private
	}
	if req.Origin != nil {
		next.Origin = *req.Origin
	}
	if req.Values != nil || req.ReplaceValues {
		if req.ReplaceValues || next.Values == nil {
			next.Values = map[string]string{}
		}
		for k, v := range req.Values {
			if v == nil {
				delete(next.Values, k)
			} else {
				next.Values[k] = *v
			}
		}
		if err := secret.ValidateValues(next.Values); err != nil {
			return nil, err
		}
		next.Keys = secret.KeysOf(next.Values)
	}
	op := secret.OpUpdate
	if req.Origin != nil {
		op = secret.OpMigrate
	}
	s.stamp(p, current, next, op)
	return next, nil
}

// tooManyWriters is what an unconditional change gets when the deadline
// passed while it kept losing races for the current version: not failed_precondition, which means "your
// If-Match is stale" to a caller who sent none, but unavailable, so that it
// retries.
func tooManyWriters(id string, err error) error {
	return errcode.Wrap(errcode.Unavailable, err, "secret %s is being changed by too many writers at once; retry later", id)
}

// MaxIdempotencyKeyLength bounds an Idempotency-Key header.
const MaxIdempotencyKeyLength = 255
