package store

import (
	"context"
	"log/slog"
	"time"

	"github.com/lockwell/lockwell/shared/backend"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/events"
	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/secret"
)

// History defaults, what a deployment gets without LOCKWELL_KEEP_VERSIONS,
// LOCKWELL_KEEP_DAYS and LOCKWELL_RECOVERY_DAYS.
const (
	DefaultKeepVersions   = 20
	DefaultRecoveryWindow = 7 * 24 * time.Hour
	// MaxKeepVersions bounds the retention: the versions API answers every
	// kept version in one response.
	MaxKeepVersions = 1000
)

// WithKeepVersions keeps n versions of every secret, the current one
// counted (DefaultKeepVersions when not given; 1 keeps no past version; at
// most MaxKeepVersions).
func WithKeepVersions(n int) Option {
	return func(s *Store) { s.keepVersions = min(max(n, 1), MaxKeepVersions) }
}

// WithKeepFor prunes past versions older than d (0, the default, prunes by
// count only). The current version is always kept.
func WithKeepFor(d time.Duration) Option { return func(s *Store) { s.keepFor = max(d, 0) } }

// WithRecoveryWindow sets how long a deleted secret can be restored
// (DefaultRecoveryWindow when not given); 0 destroys a secret when it is
// deleted.
func WithRecoveryWindow(d time.Duration) Option {
	return func(s *Store) { s.recovery = max(d, 0) }
}

// WithPurgeOnWrite makes the store purge expired secrets in the background
// after writes, at most once a minute. For long-running servers (lockwell
// serve); serverless functions leave it off: a scheduled function purges
// there, and a request's function has neither the time nor the grants.
func WithPurgeOnWrite() Option { return func(s *Store) { s.purgeOnWrite = true } }

// WithLogger receives what the store does in the background (the purge of
// expired secrets after writes). Nil discards.
func WithLogger(l *slog.Logger) Option { return func(s *Store) { s.bgLog = l } }

// keep is the retention every write passes to the backend.
func (s *Store) keep(now time.Time) *secret.Retention {
	r := &secret.Retention{Versions: s.keepVersions}
	if s.keepFor > 0 {
		r.Since = now.Add(-s.keepFor)
	}
	return r
}

// RecoveryWindow is how long a deleted secret can be restored; 0 when
// deletes destroy at once.
func (s *Store) RecoveryWindow() time.Duration { return s.recovery }

// Version is one entry of a secret's history: which version, when and by
// whom it was made, how, and which keys it added, removed or changed
// against the version before. Never values.
type Version struct {
	Version   int64     `json:"version"`
	Created   time.Time `json:"created"`
	Name      string    `json:"name"`
	Private   bool      `json:"private"`
	Keys      []string  `json:"keys"`
	Principal string    `json:"principal"`
	Operation string    `json:"operation"`
	Added     []string  `json:"added"`
	Removed   []string  `json:"removed"`
	Changed   []string  `json:"changed"`
	// From is the version a rollback copied.
	From int64 `json:"from,omitempty"`
	// Current marks the secret's current version.
	Current bool `json:"current"`
}

func versionOf(v *secret.Secret, current int64) Version {
	nonNil := func(l []string) []string {
		if l == nil {
			return []string{}
		}
		return l
	}
	return Version{
		Version: v.Version, Created: v.Updated, Name: v.Name, Private: v.Private, Keys: nonNil(v.Keys),
		Principal: v.Change.Principal, Operation: v.Change.Operation,
		Added: nonNil(v.Change.Added), Removed: nonNil(v.Change.Removed), Changed: nonNil(v.Change.Changed),
		From: v.Change.From, Current: v.Version == current,
	}
}

// Versions returns the kept versions of a live secret p may see, newest
// first, without values. Errors: invalid_argument, not_found.
func (s *Store) Versions(ctx context.Context, p identity.Principal, id string) (_ []Version, err error) {
	defer s.record(ctx, "versions", p, &id, nil, &err)
	if err := secret.ValidateID(id); err != nil {
		return nil, err
	}
	cur, err := s.visibleMetadata(ctx, p, id)
	if err != nil {
		return nil, err
	}
	vs, err := s.b.Versions(ctx, id)
	if err != nil {
		return nil, err
	}
	out := make([]Version, 0, len(vs))
	for _, v := range vs {
		if v.VisibleTo(p.Name) {
			out = append(out, versionOf(v, cur.Version))
		}
	}
	return out, nil
}

// GetVersion returns a kept version of a live secret with its values. p
// must see the secret as it is now and as it was then (a version made while
// the secret was private to its owner stays the owner's). Errors:
// invalid_argument, not_found (no such secret or version, or pruned).
func (s *Store) GetVersion(ctx context.Context, p identity.Principal, id string, version int64) (out *secret.Secret, err error) {
	defer s.record(ctx, "get_version", p, &id, &out, &err)
	return s.getVersion(ctx, p, id, version)
}

// getVersion is GetVersion without its audit record, for the operations
// that read a version on the way (rollback).
func (s *Store) getVersion(ctx context.Context, p identity.Principal, id string, version int64) (*secret.Secret, error) {
	if err := secret.ValidateID(id); err != nil {
		return nil, err
	}
	if version < 1 {
		return nil, errcode.New(errcode.InvalidArgument, "version must be a positive integer")
	}
	if _, err := s.visibleMetadata(ctx, p, id); err != nil {
		return nil, err
	}
	v, err := s.b.GetVersion(ctx, id, version)
	if err != nil {
		return nil, err
	}
	if !v.VisibleTo(p.Name) {
		return nil, errcode.New(errcode.NotFound, "secret %s has no version %d", id, version)
	}
	v.Deleted, v.PurgeAfter = time.Time{}, time.Time{}
	return v, nil
}

// RollbackRequest is the input of Rollback.
type RollbackRequest struct {
	// Version is the kept version whose name, visibility and values the new
	// version copies.
	Version int64
	// IfMatch, when not 0, makes the rollback conditional on the current
	// version.
	IfMatch int64
}

// Rollback makes a new version of a live secret whose name, visibility and
// values are those of an earlier kept version, and returns its metadata.
// Only the owner may change whether the secret is private. Errors:
// invalid_argument, not_found (no such secret or version), failed_precondition
// (IfMatch is stale), already_exists (the version's name is taken now),
// permission_denied.
func (s *Store) Rollback(ctx context.Context, p identity.Principal, id string, req RollbackRequest) (out *secret.Secret, err error) {
	defer s.record(ctx, "rollback", p, &id, &out, &err)
	if err := s.begin(ctx, "rollback", p, id, ""); err != nil {
		return nil, err
	}
	if err := secret.ValidateID(id); err != nil {
		return nil, err
	}
	if req.Version < 1 || req.IfMatch < 0 {
		return nil, errcode.New(errcode.InvalidArgument, "version and If-Match must be positive integers")
	}
	// A kept version never changes, so it is read once, outside the change.
	target, err := s.getVersion(ctx, p, id, req.Version)
	if err != nil {
		return nil, err
	}
	var result *secret.Secret
	err = s.change(ctx, id, req.IfMatch == 0, func(current *secret.Secret) (*secret.Secret, error) {
		if err := s.changeable(p, current, req.IfMatch); err != nil {
			return nil, err
		}
		if target.Private != current.Private && current.Owner != p.Name {
			return nil, errcode.New(errcode.PermissionDenied, "only the owner of secret %s can change whether it is private", id)
		}
		next := current.Clone()
		next.Name, next.Private, next.Values = target.Name, target.Private, target.Values
		next.Keys = secret.KeysOf(target.Values)
		s.stamp(p, current, next, secret.OpRollback)
		next.Change.From = target.Version
		result = next
		return next, nil
	})
	if err != nil {
		return nil, err
	}
	s.emit(ctx, events.RolledBack, result, p)
	return result.Metadata(), nil
}

// changeable checks that current may be changed by p: it is live, visible
// to p, and at ifMatch when that is not 0.
func (s *Store) changeable(p identity.Principal, current *secret.Secret, ifMatch int64) error {
	if current.IsDeleted() || !current.VisibleTo(p.Name) {
		return notFound(current.ID)
	}
	if ifMatch != 0 && current.Version != ifMatch {
		return errcode.New(errcode.FailedPrecondition, "secret %s is at version %d, not %d", current.ID, current.Version, ifMatch)
	}
	return nil
}

// stamp makes next the version after current: its number, time, change
// record (operation, principal, keys changed) and retention.
func (s *Store) stamp(p identity.Principal, current, next *secret.Secret, op string) {
	next.Version = current.Version + 1
	next.Updated = s.now()
	if !next.Updated.After(current.Updated) { // clocks may step back; keep updated monotonic
		next.Updated = current.Updated.Add(time.Microsecond)
	}
	next.Change = secret.Change{Operation: op, Principal: p.Name}
	if current.Values != nil && next.Values != nil {
		next.Change.Added, next.Change.Removed, next.Change.Changed = secret.Diff(current.Values, next.Values)
	}
	next.Keep = s.keep(next.Updated)
	next.ChangeKey, next.Idempotency = "", nil
}

// DeleteRequest is the input of Delete.
type DeleteRequest struct {
	// IfMatch, when not 0, deletes only that version.
	IfMatch int64
	// Purge destroys the secret at once instead of moving it into the
	// recovery window: only its owner or an admin may. A secret already in
	// the recovery window can be purged too.
	Purge bool
}

// Delete moves a live secret into the recovery window (RecoveryWindow) and
// returns its metadata, with Deleted and PurgeAfter set: it disappears from
// get and list, its name is free, and Restore brings it back until
// PurgeAfter. With req.Purge, or a recovery window of 0, the secret and its
// history are destroyed and Delete returns nil. Errors: invalid_argument,
// not_found, failed_precondition (IfMatch is stale), permission_denied (a
// purge by neither owner nor admin), unavailable (without IfMatch, the
// deadline passed while other writers kept changing the secret).
func (s *Store) Delete(ctx context.Context, p identity.Principal, id string, req DeleteRequest) (out *secret.Secret, err error) {
	op := "delete"
	if req.Purge {
		op = "purge"
	}
	defer s.record(ctx, op, p, &id, &out, &err)
	if err := s.begin(ctx, op, p, id, ""); err != nil {
		return nil, err
	}
	if err := secret.ValidateID(id); err != nil {
		return nil, err
	}
	if req.IfMatch < 0 {
		return nil, errcode.New(errcode.InvalidArgument, "If-Match version must be positive")
	}
	if req.Purge || s.recovery == 0 {
		purged, err := s.purge(ctx, p, id, req)
		if err != nil {
			return nil, err
		}
		s.emit(ctx, events.Purged, purged, p)
		return nil, nil
	}
	var result *secret.Secret
	err = s.change(ctx, id, req.IfMatch == 0, func(current *secret.Secret) (*secret.Secret, error) {
		if err := s.changeable(p, current, req.IfMatch); err != nil {
			return nil, err
		}
		next := current.Clone()
		s.stamp(p, current, next, secret.OpDelete)
		next.Deleted = next.Updated
		next.PurgeAfter = next.Updated.Add(s.recovery)
		result = next
		return next, nil
	})
	if err != nil {
		return nil, err
	}
	s.emit(ctx, events.Deleted, result, p)
	s.purgeExpiredSoon()
	return result.Metadata(), nil
}

// purge destroys a secret, live or deleted, that p may see: only its owner
// or an admin may purge, and a plain delete of a deployment without a
// recovery window is a purge by whoever may delete.
func (s *Store) purge(ctx context.Context, p identity.Principal, id string, req DeleteRequest) (*secret.Secret, error) {
	if _, ok := ctx.Deadline(); !ok && req.IfMatch == 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, unconditionalBudget)
		defer cancel()
	}
	for attempt := 1; ; attempt++ {
		current, err := s.metadataOf(ctx, id)
		if err != nil {
			return nil, err
		}
		if !current.VisibleTo(p.Name) || (current.IsDeleted() && !req.Purge) {
			return nil, notFound(id)
		}
		if req.Purge && current.Owner != p.Name && !p.IsAdmin() {
			return nil, errcode.New(errcode.PermissionDenied, "only the owner of secret %s or an admin can purge it", id)
		}
		if req.IfMatch != 0 && current.Version != req.IfMatch {
			return nil, errcode.New(errcode.FailedPrecondition, "secret %s is at version %d, not %d", id, current.Version, req.IfMatch)
		}
		// Delete exactly the version whose visibility was checked, so a
		// concurrent change (say, made private by its owner) is not deleted
		// on the strength of a stale check.
		err = s.b.Delete(ctx, id, current.Version)
		if err == nil {
			return current, nil
		}
		if !errcode.Is(err, errcode.FailedPrecondition) || req.IfMatch != 0 {
			return nil, err
		}
		if werr := raceBackoff.Wait(ctx, attempt); werr != nil {
			return nil, tooManyWriters(id, err)
		}
	}
}

// metadataOf reads a secret, live or deleted, without its values when the
// backend can.
func (s *Store) metadataOf(ctx context.Context, id string) (*secret.Secret, error) {
	if m, ok := s.b.(backend.MetadataGetter); ok {
		return m.GetMetadata(ctx, id)
	}
	sec, err := s.b.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return sec.Metadata(), nil
}

// RestoreRequest is the input of Restore.
type RestoreRequest struct {
	// Name, when set, restores the secret under this name (when its own is
	// taken meanwhile).
	Name *string
	// IfMatch, when not 0, restores only that version of the deleted secret.
	IfMatch int64
}

// Restore brings a secret p may see back from the recovery window, as a new
// version, and returns its metadata. Errors: invalid_argument, not_found (no
// such deleted secret, or purged), failed_precondition (the secret is not
// deleted, or IfMatch is stale), already_exists (its name is taken: restore
// under another name).
func (s *Store) Restore(ctx context.Context, p identity.Principal, id string, req RestoreRequest) (out *secret.Secret, err error) {
	defer s.record(ctx, "restore", p, &id, &out, &err)
	if err := s.begin(ctx, "restore", p, id, ""); err != nil {
		return nil, err
	}
	if err := secret.ValidateID(id); err != nil {
		return nil, err
	}
	if req.Name != nil {
		if err := secret.ValidateName(*req.Name); err != nil {
			return nil, err
		}
	}
	if req.IfMatch < 0 {
		return nil, errcode.New(errcode.InvalidArgument, "If-Match version must be positive")
	}
	var result *secret.Secret
	err = s.change(ctx, id, req.IfMatch == 0, func(current *secret.Secret) (*secret.Secret, error) {
		if !current.VisibleTo(p.Name) {
			return nil, notFound(id)
		}
		if !current.IsDeleted() {
			return nil, errcode.New(errcode.FailedPrecondition, "secret %s is not deleted", id)
		}
		if req.IfMatch != 0 && current.Version != req.IfMatch {
			return nil, errcode.New(errcode.FailedPrecondition, "secret %s is at version %d, not %d", id, current.Version, req.IfMatch)
		}
		next := current.Clone()
		if req.Name != nil {
			next.Name = *req.Name
		}
		s.stamp(p, current, next, secret.OpRestore)
		next.Deleted, next.PurgeAfter = time.Time{}, time.Time{}
		result = next
		return next, nil
	})
	if errcode.Is(err, errcode.AlreadyExists) {
		return nil, errcode.Wrap(errcode.AlreadyExists, err, "the name of secret %s is taken by another secret; restore it under a new name", id)
	}
	if err != nil {
		return nil, err
	}
	s.emit(ctx, events.Restored, result, p)
	return result.Metadata(), nil
}

// purger is the principal the purge of expired secrets acts as, in the
// audit log and in change events.
var purger = identity.Principal{Name: "lockwell", Role: identity.Admin}

// expiredBatch is how many expired secrets one backend call returns to the
// purge.
const expiredBatch = 100

// PurgeExpired destroys every deleted secret whose recovery window ended
// before now, of every owner, and returns how many it destroyed. It is what
// `lockwell admin purge` and the scheduled functions run; with
// WithPurgeOnWrite the store also runs it in the background after creates,
// updates and deletes, at most once a minute per Store.
func (s *Store) PurgeExpired(ctx context.Context) (n int, err error) {
	for {
		batch, err := s.b.Expired(ctx, s.now(), expiredBatch)
		if err != nil {
			return n, err
		}
		purged := 0
		for _, sec := range batch {
			if err := s.begin(ctx, "purge_expired", purger, sec.ID, sec.Name); err != nil {
				return n, err
			}
			err := s.b.Delete(ctx, sec.ID, sec.Version)
			switch {
			case err == nil:
				purged++
				s.emit(ctx, events.Purged, sec, purger)
				s.record(ctx, "purge_expired", purger, &sec.ID, &sec, &err)
			case errcode.Is(err, errcode.NotFound), errcode.Is(err, errcode.FailedPrecondition):
				// Purged or restored meanwhile.
			default:
				return n, err
			}
		}
		n += purged
		if len(batch) < expiredBatch || purged == 0 {
			return n, nil
		}
	}
}

// purgeInterval is how often the store purges expired secrets in the
// background after writes.
const purgeInterval = time.Minute

// purgeExpiredSoon starts a background purge of expired secrets unless one
// ran within purgeInterval.
func (s *Store) purgeExpiredSoon() {
	if !s.purgeOnWrite {
		return
	}
	now := s.now().UnixNano()
	last := s.lastPurge.Load()
	if now-last < int64(purgeInterval) || !s.lastPurge.CompareAndSwap(last, now) {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), purgeInterval)
		defer cancel()
		if n, err := s.PurgeExpired(ctx); err != nil && s.bgLog != nil {
			s.bgLog.Warn("purge of expired secrets failed", "purged", n, "error_code", string(errcode.Of(err)))
		}
	}()
}
