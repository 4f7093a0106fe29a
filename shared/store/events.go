package store

import (
	"context"

	"github.com/lockwell/lockwell/shared/events"
	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/secret"
)

// WithEvents publishes a change event (package events) to p after every
// committed change: created, updated, deleted, restored, purged,
// rolled_back. Events carry metadata and the principal, never values. A
// publisher cannot fail or undo the change; it must not block for long.
func WithEvents(p events.Publisher) Option { return func(s *Store) { s.events = p } }

// emit publishes the event of type t about sec (its metadata as committed)
// made by p. Call it only after the change has committed.
func (s *Store) emit(ctx context.Context, t events.Type, sec *secret.Secret, p identity.Principal) {
	if s.events == nil || sec == nil {
		return
	}
	s.events.Publish(context.WithoutCancel(ctx), events.Of(t, sec, p.Name, s.now()))
}
