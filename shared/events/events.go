// Package events is Lockwell's change events: one Event for every committed
// change of a secret, and the local Broker that the self-hosted server's
// event stream (GET /api/v1/events) and its webhooks read from.
//
// An Event says what happened to which secret, by whom and when: its type
// (created, updated, deleted, restored, purged, rolled_back), the secret's
// id, name, visibility, owner and version, the principal and the time. It
// never carries values or key names, so it may go to any subscriber that may
// see the secret's metadata: a private secret's events only to its owner
// (VisibleTo).
//
// The store (store.WithEvents) publishes an event after each change has
// committed, in commit order per secret; a Publisher must never block or
// fail the write that made it (the Broker never blocks; webhooks queue;
// the cloud entry points publish from their own stream or after commit).
package events

import (
	"context"
	"time"

	"github.com/lockwell/lockwell/shared/secret"
)

// Type is what happened to a secret.
type Type string

// The event types.
const (
	Created    Type = "created"
	Updated    Type = "updated"
	Deleted    Type = "deleted" // moved into the recovery window
	Restored   Type = "restored"
	Purged     Type = "purged" // destroyed for good
	RolledBack Type = "rolled_back"
)

// Types lists every event type, in the order of the constants.
var Types = []Type{Created, Updated, Deleted, Restored, Purged, RolledBack}

// Valid reports whether t is one of Types.
func (t Type) Valid() bool {
	for _, k := range Types {
		if t == k {
			return true
		}
	}
	return false
}

// TypeOf returns the event type of a version made by operation op (a
// secret.Op* constant): rollback is rolled_back, restore restored, delete
// deleted, create created, and every other change (update, migrate, ...)
// updated.
func TypeOf(op string) Type {
	switch op {
	case secret.OpCreate:
		return Created
	case secret.OpRollback:
		return RolledBack
	case secret.OpRestore:
		return Restored
	case secret.OpDelete:
		return Deleted
	}
	return Updated
}

// Event is one committed change of a secret. It never holds values.
type Event struct {
	Type      Type      `json:"type"`
	ID        string    `json:"id"` // the secret's id
	Name      string    `json:"name"`
	Private   bool      `json:"private"`
	Owner     string    `json:"owner"`
	Version   int64     `json:"version"`
	Principal string    `json:"principal"` // who made the change
	Time      time.Time `json:"time"`
}

// Of returns the event of type t about s (whose values it ignores), made by
// principal at time at.
func Of(t Type, s *secret.Secret, principal string, at time.Time) Event {
	return Event{
		Type: t, ID: s.ID, Name: s.Name, Private: s.Private, Owner: s.Owner,
		Version: s.Version, Principal: principal, Time: at.UTC(),
	}
}

// VisibleTo reports whether principal may see e: everyone sees the events
// of public secrets, only the owner those of a private one (admins
// included, as with the secrets themselves).
func (e Event) VisibleTo(principal string) bool { return !e.Private || e.Owner == principal }

// Publisher receives every committed change. Publish must not block the
// write for long and cannot fail it: the change has committed already.
// Implementations report their own failures (log, metric) and are safe for
// concurrent use.
type Publisher interface {
	Publish(ctx context.Context, e Event)
}

// Publishers publishes each event to every publisher in turn.
type Publishers []Publisher

// Publish implements Publisher.
func (ps Publishers) Publish(ctx context.Context, e Event) {
	for _, p := range ps {
		p.Publish(ctx, e)
	}
}
