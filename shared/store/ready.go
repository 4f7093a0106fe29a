package store

import (
	"context"

	"github.com/lockwell/lockwell/shared/backend"
	"github.com/lockwell/lockwell/shared/errcode"
)

// readinessViewer is the viewer of Ready's listing. It is not a valid
// principal name, so no private secret can match it.
const readinessViewer = "(readiness)"

// Ready reports whether the backend answers: it lists at most one public
// secret, the cheapest call every backend serves, and discards the result.
// With an external value store only the index is asked. Ready is what a
// readiness probe calls; it writes nothing and records no audit line.
// Errors: unavailable, whatever the backend's code, with a message that says
// nothing of the backend (probes are unauthenticated); the backend's error
// is its cause, for the log.
func (s *Store) Ready(ctx context.Context) error {
	if _, err := s.b.List(ctx, backend.Query{Viewer: readinessViewer, Limit: 1}); err != nil {
		return errcode.Wrap(errcode.Unavailable, err, "the store is not ready")
	}
	return nil
}
