// Package migrate moves entries of ZenML's legacy secrets managers (read by
// package migrate/legacy) into the central store. It is platform neutral:
// the same core serves the CLI's in-process run, the SQS-triggered Lambda
// (migrate/lambda) and the Pub/Sub Cloud Function (migrate/gcp).
//
// One entry is migrated by Migrate, which is idempotent: the secret it
// creates records its Origin (flavor, location, scope, legacy name), so a
// redelivered or re-run message finds its own earlier work and does
// nothing. Queue-driven migrations are jobs: a job record (JobStore) holds
// the options and the owner, and one versioned Message per entry carries
// the job id and a reference to the legacy entry, never values. Processor
// handles one message with at-least-once semantics.
//
// # Job tracking
//
// Jobs live behind the small JobStore interface, opened by URL scheme
// (OpenJobStore): package migrate/sqljobs keeps them in two tables of the
// deployment's own SQL database (SQLite or PostgreSQL; by default the same
// database as the secrets, so a SQL deployment needs nothing more), and
// package migrate/dynamojobs in a DynamoDB table of their own for the AWS
// deployment, whose store is DynamoDB. Both pass one conformance suite
// (migrate/jobstoretest). A job record is not the source of truth for what
// was migrated (the central store's origins are), only for what to report
// and retry; so its one hard rule is that a final outcome is never replaced,
// which both implementations enforce with a single conditional write.
package migrate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"reflect"
	"strings"

	"github.com/lockwell/lockwell/migrate/legacy"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/metrics"
	"github.com/lockwell/lockwell/shared/secret"
)

// ConflictPolicy says what happens when the target name holds a secret with
// different values that did not come from this legacy entry.
type ConflictPolicy string

// The conflict policies. Fail is the default.
const (
	Fail      ConflictPolicy = "fail"      // leave the existing secret, report the entry failed
	Skip      ConflictPolicy = "skip"      // leave the existing secret, report the entry skipped
	Overwrite ConflictPolicy = "overwrite" // replace the existing secret's values exactly
	Rename    ConflictPolicy = "rename"    // create the secret under RenamedName
)

// ParseConflictPolicy accepts fail, skip, overwrite and rename; "" is fail.
func ParseConflictPolicy(s string) (ConflictPolicy, error) {
	switch p := ConflictPolicy(s); p {
	case "":
		return Fail, nil
	case Fail, Skip, Overwrite, Rename:
		return p, nil
	}
	return "", errcode.New(errcode.InvalidArgument, "on-conflict must be fail, skip, overwrite or rename, got %q", s)
}

// Options are a migration's choices.
type Options struct {
	Private      bool           `json:"private"`       // create private secrets of the owner instead of public ones (legacy entries only)
	OnConflict   ConflictPolicy `json:"on_conflict"`   // default fail
	DeleteSource bool           `json:"delete_source"` // delete each legacy entry once its central copy is verified
	// OwnerMap maps ZenML users (by name or id) to the Lockwell principals
	// that own their private secrets, for entries of ZenML's centralized
	// store, which keep their visibility (Private does not apply to them).
	OwnerMap map[string]string `json:"owner_map,omitempty"`
	// DefaultOwner owns the private secrets of unmapped ZenML users; empty
	// means the principal the migration runs as (the job's owner).
	DefaultOwner string `json:"default_owner,omitempty"`
}

// Placement is where one entry goes: the Lockwell name, the visibility
// and, for a private secret of ZenML's centralized store, the principal
// that will own it ("" for the principal the migration runs as).
type Placement struct {
	Name    string
	Private bool
	Owner   string
}

// Place decides where the entry read under ref goes: the one place that
// applies Options.Private to legacy entries and the owner map to
// centralized ones (which keep their ZenML name and visibility; a public
// one belongs to the principal the migration runs as).
func (o Options) Place(ref string, e *legacy.Entry) Placement {
	if e.Owned == nil {
		return Placement{Name: ref, Private: o.Private}
	}
	p := Placement{Name: e.Name, Private: e.Owned.Private}
	if p.Private {
		p.Owner = o.ownerOf(e.Owned)
	}
	return p
}

// ownerOf maps a ZenML user to its Lockwell principal: by id, then by
// name, else the default owner.
func (o Options) ownerOf(u *legacy.Owned) string {
	for _, k := range []string{u.UserID, u.UserName} {
		if p, ok := o.OwnerMap[k]; ok && k != "" {
			return p
		}
	}
	return o.DefaultOwner
}

// ParseOwnerMap parses --owner-map values "zenml-user=lockwell-principal"
// (repeatable). Errors: invalid_argument.
func ParseOwnerMap(pairs []string) (map[string]string, error) {
	if len(pairs) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(pairs))
	for _, p := range pairs {
		user, principal, ok := strings.Cut(p, "=")
		if !ok || user == "" {
			return nil, errcode.New(errcode.InvalidArgument, "--owner-map takes zenml-user=lockwell-principal, got %q", p)
		}
		if err := identity.ValidateName(principal); err != nil {
			return nil, errcode.New(errcode.InvalidArgument, "--owner-map %s: %s", user, errcode.Message(err))
		}
		m[user] = principal
	}
	return m, nil
}

// OwnerTarget is a Target that can act as another principal, so that the
// private secrets of a ZenML user are created as (and visible only to) the
// principal the user maps to. StoreTarget always can; the API client
// (migrate/cli) can only as its own principal.
type OwnerTarget interface {
	Target
	// As returns the target acting as owner. Errors: permission_denied
	// when this target cannot act as owner; invalid_argument for a bad name.
	As(ctx context.Context, owner string) (Target, error)
}

// targetFor returns tgt acting as p.Owner.
func targetFor(ctx context.Context, tgt Target, p Placement) (Target, error) {
	if p.Owner == "" {
		return tgt, nil
	}
	ot, ok := tgt.(OwnerTarget)
	if !ok {
		return nil, errcode.New(errcode.PermissionDenied, "this migration cannot create secrets owned by %s", p.Owner)
	}
	return ot.As(ctx, p.Owner)
}

// Outcome is the result of one entry.
type Outcome string

// The outcomes. Pending is only ever stored in a job record.
const (
	Pending       Outcome = "pending"
	Migrated      Outcome = "migrated"
	Skipped       Outcome = "skipped"
	Failed        Outcome = "failed"
	NotMigratable Outcome = "not_migratable"
)

func init() {
	metrics.Allow(metrics.Outcome, string(Migrated), string(Skipped), string(Failed), string(NotMigratable))
}

// Final reports whether o is an outcome a later delivery may not change:
// migrated, skipped and not_migratable. Failed entries can be retried.
func (o Outcome) Final() bool { return o == Migrated || o == Skipped || o == NotMigratable }

// Result is what happened to one legacy entry. It never holds values.
type Result struct {
	Name          string  `json:"name"` // the entry's reference (legacy.Item.Ref): its legacy name, or the ZenML secret id of a centralized entry
	Outcome       Outcome `json:"outcome"`
	Reason        string  `json:"reason,omitempty"`    // why skipped, failed or not migratable; what happened for migrated
	Target        string  `json:"target,omitempty"`    // the central secret's name
	TargetID      string  `json:"target_id,omitempty"` // the central secret's id
	SourceDeleted bool    `json:"source_deleted,omitempty"`
}

// Target is the central store as the migrator uses it, bound to the
// principal that will own what it creates. Implementations: StoreTarget (in
// process, for the functions) and the HTTP client adapter in migrate/cli.
// Errors are classified with errcode.
type Target interface {
	// Find returns the secret with exactly this name and visibility (for
	// private, the principal's own), values included. Errors: not_found.
	Find(ctx context.Context, name string, private bool) (*secret.Secret, error)
	// Create creates a secret recording origin. Errors: already_exists,
	// invalid_argument, too_large.
	Create(ctx context.Context, name string, private bool, values map[string]string, origin string) (*secret.Secret, error)
	// Replace sets the values of secret id to exactly values and its origin
	// to origin, if its version is still version. Errors: not_found,
	// failed_precondition.
	Replace(ctx context.Context, id string, version int64, values map[string]string, origin string) (*secret.Secret, error)
	// Get returns the secret with its values. Errors: not_found.
	Get(ctx context.Context, id string) (*secret.Secret, error)
}

// RenamedName is the name the rename policy gives a migrated secret: the
// legacy name plus a suffix derived from its origin, so that a re-run picks
// the same name again instead of creating a second copy.
func RenamedName(name, origin string) string {
	sum := sha256.Sum256([]byte(origin))
	suffix := "-legacy-" + hex.EncodeToString(sum[:4])
	if len(name)+len(suffix) > secret.MaxNameLength {
		name = name[:secret.MaxNameLength-len(suffix)]
	}
	return name + suffix
}

// maxDecisions bounds how often Migrate re-decides after losing a race with
// another writer of the same name.
const maxDecisions = 5

// Migrate moves the legacy entry name from src into tgt and returns what
// happened. It is idempotent and safe to run concurrently with itself for
// the same entry: a secret whose Origin is this entry's is recognised as
// its own earlier result. A returned error is transient (the store or the
// source was unavailable) and the call should be retried; every permanent
// problem is a Result with Outcome failed and a reason.
//
// Every call is counted by outcome (metrics.MigrationEntry; "retry" for a
// returned error).
func Migrate(ctx context.Context, src legacy.Source, tgt Target, opts Options, ref string) (Result, error) {
	res, err := migrateEntry(ctx, src, tgt, opts, ref)
	outcome := string(res.Outcome)
	if err != nil {
		outcome = "retry"
	}
	metrics.MigrationEntry(outcome)
	return res, err
}

func migrateEntry(ctx context.Context, src legacy.Source, tgt Target, opts Options, ref string) (Result, error) {
	d := src.Describe()
	origin := d.Origin(ref)
	res := Result{Name: ref}
	entry, err := src.Read(ctx, ref)
	switch {
	case errcode.Is(err, errcode.NotFound):
		return alreadyMoved(ctx, tgt, opts, ref, origin)
	case errcode.Is(err, errcode.FailedPrecondition):
		res.Outcome, res.Reason = Skipped, errcode.Message(err)
		if d.Flavor == "github" {
			res.Outcome = NotMigratable
		}
		return res, nil
	case errcode.Is(err, errcode.InvalidArgument):
		return failed(res, "cannot read legacy entry: "+errcode.Message(err)), nil
	case err != nil:
		return res, err
	}
	origin = d.OriginOf(ref, entry)
	place := opts.Place(ref, entry)
	name := place.Name
	res.Target = name // also for an entry that fails below, as Plan shows it
	if tgt, err = targetFor(ctx, tgt, place); err != nil {
		return permanentOrRetry(res, err)
	}
	if err := checkEntry(name, entry.Values); err != nil {
		return failed(res, errcode.Message(err)), nil
	}
	target := name
	for range maxDecisions {
		res.Target = target
		existing, err := tgt.Find(ctx, target, place.Private)
		if errcode.Is(err, errcode.NotFound) {
			existing, err = nil, nil
		}
		if err != nil {
			return permanentOrRetry(res, err)
		}
		d := decide(existing, entry.Values, origin, opts.OnConflict, name, target)
		if existing != nil {
			res.TargetID = existing.ID
		}
		switch d.action {
		case actionCreate:
			created, err := tgt.Create(ctx, target, place.Private, entry.Values, origin)
			if errcode.Is(err, errcode.AlreadyExists) {
				continue // another writer got there first: decide again
			}
			if err != nil {
				return permanentOrRetry(res, err)
			}
			res.Outcome, res.TargetID, res.Reason = Migrated, created.ID, d.reason
			return verifyAndDelete(ctx, src, tgt, opts, entry, res)
		case actionReplace:
			// Our own earlier copy (the legacy entry changed since), or
			// overwrite: replace exactly, only if nobody changed it meanwhile.
			updated, err := tgt.Replace(ctx, existing.ID, existing.Version, entry.Values, origin)
			if errcode.Is(err, errcode.FailedPrecondition) || errcode.Is(err, errcode.NotFound) {
				continue
			}
			if err != nil {
				return permanentOrRetry(res, err)
			}
			res.Outcome, res.TargetID, res.Reason = Migrated, updated.ID, d.reason
			return verifyAndDelete(ctx, src, tgt, opts, entry, res)
		case actionRename:
			target = d.target
			continue
		}
		res.Outcome, res.Reason = d.outcome, d.reason
		if d.outcome == Failed || d.reason == reasonSkipConflict {
			return res, nil
		}
		return verifyAndDelete(ctx, src, tgt, opts, entry, res)
	}
	return res, errcode.New(errcode.Unavailable, "secret %s kept changing while migrating; retry", target)
}

// checkEntry is what Migrate checks of a legacy entry before it looks at
// the target: the name and values must be valid in the central store. Plan
// checks the same, so that it fails the entries a run would fail.
func checkEntry(name string, values map[string]string) error {
	if err := secret.ValidateName(name); err != nil {
		return err
	}
	return secret.ValidateValues(values)
}

// The writes a decision asks for.
const (
	actionNone    = ""
	actionCreate  = "create"
	actionReplace = "replace"
	actionRename  = "rename" // decide again for decision.target
)

// Reasons a plan and a run share word for word.
const (
	reasonCreated       = "created"
	reasonAlready       = "already migrated"
	reasonUpdatedCopy   = "updated earlier copy"
	reasonOverwrote     = "overwrote existing secret"
	reasonSameValues    = "a secret with the same name and the same values already exists"
	reasonSkipConflict  = "a secret with the same name and different values exists (on-conflict skip)"
	reasonFailConflictF = "a secret named %s already exists with different values; rerun with --on-conflict skip, overwrite or rename"
)

// decision is what to do with a legacy entry given what the target name
// holds.
type decision struct {
	action  string
	outcome Outcome // the outcome once the action is done
	reason  string
	target  string // for actionRename: the name to decide again for
}

// decide is the one place that says what a legacy entry becomes, given the
// secret existing at target (nil when there is none), for Migrate and Plan
// alike. name is the entry's Lockwell name (Placement.Name); target is name
// or its renamed form.
func decide(existing *secret.Secret, values map[string]string, origin string, policy ConflictPolicy, name, target string) decision {
	if policy == "" {
		policy = Fail
	}
	if existing == nil {
		return decision{action: actionCreate, outcome: Migrated, reason: reasonCreated}
	}
	same := sameValues(existing.Values, values)
	switch {
	case existing.Origin == origin && same:
		return decision{outcome: Migrated, reason: reasonAlready}
	case existing.Origin == origin:
		return decision{action: actionReplace, outcome: Migrated, reason: reasonUpdatedCopy}
	case !same && policy == Overwrite:
		return decision{action: actionReplace, outcome: Migrated, reason: reasonOverwrote}
	case same:
		return decision{outcome: Skipped, reason: reasonSameValues}
	case policy == Skip:
		return decision{outcome: Skipped, reason: reasonSkipConflict}
	case policy == Rename && target == name:
		return decision{action: actionRename, target: RenamedName(name, origin)}
	}
	// fail, or rename whose new name is taken too
	return decision{outcome: Failed, reason: fmt.Sprintf(reasonFailConflictF, target)}
}

// alreadyMoved handles a legacy entry that is gone: with delete-source, a
// redelivery after the source was deleted finds its central copy by origin.
func alreadyMoved(ctx context.Context, tgt Target, opts Options, name, origin string) (Result, error) {
	res := Result{Name: name}
	for _, target := range []string{name, RenamedName(name, origin)} {
		existing, err := tgt.Find(ctx, target, opts.Private)
		if errcode.Is(err, errcode.NotFound) {
			continue
		}
		if err != nil {
			return res, err
		}
		if existing.Origin == origin {
			res.Outcome, res.Reason, res.Target, res.TargetID = Migrated, "already migrated; legacy entry already deleted", target, existing.ID
			res.SourceDeleted = opts.DeleteSource
			return res, nil
		}
	}
	return failed(res, "legacy entry not found"), nil
}

// verifyAndDelete deletes the legacy entry when asked, only after reading
// the central copy back and finding the same values.
func verifyAndDelete(ctx context.Context, src legacy.Source, tgt Target, opts Options, entry *legacy.Entry, res Result) (Result, error) {
	if !opts.DeleteSource {
		return res, nil
	}
	if entry.Owned != nil {
		res.Reason += "; ZenML's centralized store is left as it is"
		return res, nil
	}
	back, err := tgt.Get(ctx, res.TargetID)
	if err != nil {
		return res, err
	}
	if !sameValues(back.Values, entry.Values) {
		return failed(res, "central copy read back differs from the legacy entry; legacy entry kept"), nil
	}
	if err := src.Delete(ctx, res.Name); err != nil && !errcode.Is(err, errcode.NotFound) {
		return res, err
	}
	res.SourceDeleted = true
	return res, nil
}

func failed(res Result, reason string) Result {
	res.Outcome, res.Reason = Failed, reason
	return res
}

// permanentOrRetry turns a client-side error into a failed result and
// leaves everything else (unavailable, internal) to be retried.
func permanentOrRetry(res Result, err error) (Result, error) {
	switch errcode.Of(err) {
	case errcode.InvalidArgument, errcode.TooLarge, errcode.PermissionDenied, errcode.Unauthenticated, errcode.AlreadyExists,
		errcode.FailedPrecondition: // e.g. two secrets of one name and visibility: needs a person
		return failed(res, errcode.Message(err)), nil
	}
	return res, err
}

// sameValues compares two value maps exactly, as ZenML did (an empty map
// equals a nil one).
func sameValues(a, b map[string]string) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return reflect.DeepEqual(a, b)
}
