package valuestore

import (
	"context"
	"time"

	"github.com/lockwell/lockwell/shared/backend"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/secret"
)

// Indexed returns a backend that keeps every secret's metadata in index and
// its values in values. It passes the same conformance suite as a complete
// backend, so the store and the handlers cannot tell the difference.
//
// Consistency between the two: create writes the values first and the index
// entry second, and removes the values if the index write fails; delete
// removes the index entry first. A crash between two steps leaves at most an
// orphaned value entry (removed by Sweep), never an index entry without
// values. An update writes a new version of the values, then moves the index
// to it with the version check; the loser of a race only leaves an unused
// version behind, never overwrites the winner's values.
func Indexed(index backend.Backend, values Store) backend.Backend {
	return &indexed{index: index, values: values}
}

type indexed struct {
	index  backend.Backend
	values Store
}

// cleanupTimeout bounds compensating writes made after the caller's context
// may already have ended.
const cleanupTimeout = 10 * time.Second

// checkSize refuses values the value store cannot hold, before writing.
func (x *indexed) checkSize(values map[string]string) error {
	_, err := EncodeValues(values, x.values.Limit(), x.values.Name())
	return err
}

// putValues writes the values of s to the value store as a new version and
// returns the index entry for s: a copy without values that points at that
// version.
func (x *indexed) putValues(ctx context.Context, s *secret.Secret) (*secret.Secret, error) {
	if err := x.checkSize(s.Values); err != nil {
		return nil, err
	}
	ref, err := x.values.Put(ctx, s.ID, s.Values)
	if err != nil {
		return nil, err
	}
	entry := s.Clone()
	entry.Values, entry.ValuesRef = nil, ref
	return entry, nil
}

func (x *indexed) Create(ctx context.Context, s *secret.Secret) error {
	entry, err := x.putValues(ctx, s)
	if err != nil {
		return err
	}
	if err := x.index.Create(ctx, entry); err != nil {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		if !x.indexRefused(cctx, s.ID, err) {
			// The index write may have landed (a timeout after the commit):
			// removing the values could leave an index entry without values,
			// so leave them to Sweep, which removes them only if no index
			// entry appears.
			return err
		}
		_ = x.values.Delete(cctx, s.ID) // best effort: Sweep removes what is left
		return err
	}
	return nil
}

// indexRefused reports whether the failed index create of id certainly
// stored nothing: the index refused it (already_exists, invalid_argument,
// too_large), or the entry is verifiably absent. An unavailable or internal
// error may come after the write landed.
func (x *indexed) indexRefused(ctx context.Context, id string, err error) bool {
	switch errcode.Of(err) {
	case errcode.AlreadyExists, errcode.InvalidArgument, errcode.TooLarge:
		return true
	}
	_, gerr := x.index.Get(ctx, id)
	return errcode.Is(gerr, errcode.NotFound)
}

// Get reads the index entry, then the values version it names. An update
// that lands between the two reads retires that version, so a version
// found missing is looked up again from the index: only a version the index
// still names is really missing (internal).
func (x *indexed) Get(ctx context.Context, id string) (*secret.Secret, error) {
	for attempt := 0; ; attempt++ {
		s, err := x.index.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		values, err := x.values.Get(ctx, id, s.ValuesRef)
		if errcode.Is(err, errcode.NotFound) {
			again, gerr := x.index.Get(ctx, id)
			if errcode.Is(gerr, errcode.NotFound) {
				return nil, gerr // deleted meanwhile
			}
			if gerr == nil && again.ValuesRef != s.ValuesRef && attempt < maxReadAttempts {
				continue // moved on by a concurrent update: read the new version
			}
			return nil, errcode.Wrap(errcode.Internal, err, "values of secret %s are missing from %s", id, x.values.Name())
		}
		if err != nil {
			return nil, err
		}
		s.Values = values
		return s, nil
	}
}

// maxReadAttempts bounds how often Get follows the index to a newer values
// version while updates keep landing.
const maxReadAttempts = 16

// GetMetadata implements backend.MetadataGetter: the index alone, without a
// call to the value store.
func (x *indexed) GetMetadata(ctx context.Context, id string) (*secret.Secret, error) {
	return x.index.Get(ctx, id)
}

func (x *indexed) List(ctx context.Context, q backend.Query) ([]*secret.Secret, error) {
	return x.index.List(ctx, q)
}

func (x *indexed) Update(ctx context.Context, s *secret.Secret, expectedVersion int64) error {
	entry, err := x.putValues(ctx, s)
	if err != nil {
		return err
	}
	if err := x.index.Update(ctx, entry, expectedVersion); err != nil {
		return err // the unused version is retired by the next successful update
	}
	_ = x.values.Retire(ctx, s.ID, entry.ValuesRef) // best effort
	return nil
}

func (x *indexed) Delete(ctx context.Context, id string, expectedVersion int64) error {
	if err := x.index.Delete(ctx, id, expectedVersion); err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	_ = x.values.Delete(cctx, id) // best effort: Sweep removes what is left
	return nil
}

// Idempotency implements backend.Backend: records live in the index, written
// with the index entry.
func (x *indexed) Idempotency(ctx context.Context, key string) (*secret.Idempotency, error) {
	return x.index.Idempotency(ctx, key)
}

func (x *indexed) Close() error {
	err := x.index.Close()
	if verr := x.values.Close(); err == nil {
		err = verr
	}
	return err
}
