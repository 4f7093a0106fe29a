// Package memstore is an in-memory backend: the reference implementation of
// the backend contract, used by unit tests of the layers above backends. It
// passes the conformance suite like every other backend. Nothing is
// persisted and nothing is encrypted, so it is never offered by URL scheme
// to a deployment.
package memstore

import (
	"context"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/lockwell/lockwell/shared/backend"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/secret"
)

// Backend is an in-memory backend.Backend. Safe for concurrent use.
type Backend struct {
	mu      sync.RWMutex
	byID    map[string]*secret.Secret
	past    map[string][]*secret.Secret // past versions by secret id, oldest first
	records map[string]*secret.Idempotency
}

// New returns an empty Backend.
func New() *Backend {
	return &Backend{byID: map[string]*secret.Secret{}, past: map[string][]*secret.Secret{}, records: map[string]*secret.Idempotency{}}
}

var (
	_ backend.Backend  = (*Backend)(nil)
	_ backend.Modifier = (*Backend)(nil)
)

// recordTaken reports whether s's idempotency record would replace an
// unexpired one.
func (b *Backend) recordTaken(s *secret.Secret) error {
	if s.Idempotency == nil {
		return nil
	}
	if r, ok := b.records[s.Idempotency.Key]; ok && secret.Now().Before(r.Expires) {
		return errcode.Wrap(errcode.AlreadyExists, backend.ErrIdempotencyKeyUsed, "idempotency key already used")
	}
	return nil
}

// store keeps s and its record; the caller holds mu and checked both.
func (b *Backend) store(s *secret.Secret) {
	next := s.Clone()
	next.Idempotency, next.Keep = nil, nil
	b.byID[s.ID] = next
	if s.Idempotency != nil {
		b.records[s.Idempotency.Key] = s.Idempotency
	}
}

// Idempotency implements backend.Backend.
func (b *Backend) Idempotency(_ context.Context, key string) (*secret.Idempotency, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	r, ok := b.records[key]
	if !ok || !secret.Now().Before(r.Expires) {
		return nil, errcode.New(errcode.NotFound, "no idempotency record")
	}
	return r, nil
}

// Modify implements backend.Modifier: change runs under the write lock.
func (b *Backend) Modify(ctx context.Context, id string, change func(*secret.Secret) (*secret.Secret, error)) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	cur, ok := b.byID[id]
	if !ok {
		return errcode.New(errcode.NotFound, "secret %s not found", id)
	}
	next, err := change(cur.Clone())
	if err != nil {
		return err
	}
	return b.update(next, cur.Version)
}

// clash reports whether s would break a uniqueness rule, ignoring the secret
// with id except. Deleted secrets hold no name.
func (b *Backend) clash(s *secret.Secret, except string) bool {
	if s.IsDeleted() {
		return false
	}
	for id, o := range b.byID {
		if id != except && !o.IsDeleted() && o.Name == s.Name && o.Private == s.Private && (!s.Private || o.Owner == s.Owner) {
			return true
		}
	}
	return false
}

// Create implements backend.Backend.
func (b *Backend) Create(_ context.Context, s *secret.Secret) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.recordTaken(s); err != nil {
		return err
	}
	if _, dup := b.byID[s.ID]; dup || b.clash(s, "") {
		return errcode.New(errcode.AlreadyExists, "a secret named %q already exists", s.Name)
	}
	b.store(s)
	return nil
}

// Get implements backend.Backend.
func (b *Backend) Get(_ context.Context, id string) (*secret.Secret, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	s, ok := b.byID[id]
	if !ok {
		return nil, errcode.New(errcode.NotFound, "secret %s not found", id)
	}
	return s.Clone(), nil
}

// GetMetadata implements backend.MetadataGetter.
func (b *Backend) GetMetadata(ctx context.Context, id string) (*secret.Secret, error) {
	s, err := b.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.Metadata(), nil
}

// Update implements backend.Backend.
func (b *Backend) Update(_ context.Context, s *secret.Secret, expectedVersion int64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.update(s, expectedVersion)
}

// update is Update with mu held.
func (b *Backend) update(s *secret.Secret, expectedVersion int64) error {
	cur, ok := b.byID[s.ID]
	switch {
	case !ok:
		return errcode.New(errcode.NotFound, "secret %s not found", s.ID)
	case cur.Version != expectedVersion:
		return errcode.New(errcode.FailedPrecondition, "secret %s is at version %d, not %d", s.ID, cur.Version, expectedVersion)
	case b.clash(s, s.ID):
		return errcode.New(errcode.AlreadyExists, "a secret named %q already exists", s.Name)
	}
	if err := b.recordTaken(s); err != nil {
		return err
	}
	next := s.Clone()
	next.Owner, next.Created = cur.Owner, cur.Created
	if s.Keep != nil {
		kept := []*secret.Secret{}
		for _, p := range append(b.past[s.ID], cur) {
			if s.Keep.Keeps(next.Version, p.Version, p.Updated) {
				kept = append(kept, p)
			}
		}
		b.past[s.ID] = kept
	}
	b.store(next)
	return nil
}

// Versions implements backend.Backend.
func (b *Backend) Versions(_ context.Context, id string) ([]*secret.Secret, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	cur, ok := b.byID[id]
	if !ok {
		return nil, errcode.New(errcode.NotFound, "secret %s not found", id)
	}
	out := []*secret.Secret{cur.Metadata()}
	past := b.past[id]
	for i := len(past) - 1; i >= 0; i-- {
		out = append(out, past[i].Metadata())
	}
	return out, nil
}

// GetVersion implements backend.Backend.
func (b *Backend) GetVersion(_ context.Context, id string, version int64) (*secret.Secret, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	cur, ok := b.byID[id]
	if !ok {
		return nil, errcode.New(errcode.NotFound, "secret %s not found", id)
	}
	if cur.Version == version {
		return cur.Clone(), nil
	}
	for _, p := range b.past[id] {
		if p.Version == version {
			return p.Clone(), nil
		}
	}
	return nil, errcode.New(errcode.NotFound, "secret %s has no version %d", id, version)
}

// Expired implements backend.Backend.
func (b *Backend) Expired(_ context.Context, t time.Time, limit int) ([]*secret.Secret, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	var out []*secret.Secret
	for _, s := range b.byID {
		if len(out) < limit && s.IsDeleted() && s.PurgeAfter.Before(t) {
			out = append(out, s.Metadata())
		}
	}
	return out, nil
}

// Delete implements backend.Backend.
func (b *Backend) Delete(_ context.Context, id string, expectedVersion int64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	cur, ok := b.byID[id]
	switch {
	case !ok:
		return errcode.New(errcode.NotFound, "secret %s not found", id)
	case expectedVersion != 0 && cur.Version != expectedVersion:
		return errcode.New(errcode.FailedPrecondition, "secret %s is at version %d, not %d", id, cur.Version, expectedVersion)
	}
	delete(b.byID, id)
	delete(b.past, id)
	return nil
}

// List implements backend.Backend.
func (b *Backend) List(_ context.Context, q backend.Query) ([]*secret.Secret, error) {
	b.mu.RLock()
	var out []*secret.Secret
	for _, s := range b.byID {
		if matches(s, q) {
			out = append(out, s.Metadata())
		}
	}
	b.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return less(out[i], out[j], q.Sort) })
	if q.After != nil {
		pivot := &secret.Secret{ID: q.After.ID, Name: q.After.Name, Created: q.After.Time, Updated: q.After.Time}
		i := sort.Search(len(out), func(i int) bool { return less(pivot, out[i], q.Sort) })
		out = out[i:]
	}
	if len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

func matches(s *secret.Secret, q backend.Query) bool {
	return s.VisibleTo(q.Viewer) && s.IsDeleted() == q.Deleted &&
		(q.Name == "" || s.Name == q.Name) &&
		strings.HasPrefix(s.Name, q.NamePrefix) &&
		strings.Contains(s.Name, q.NameContains) &&
		(q.Private == nil || s.Private == *q.Private) &&
		(q.Owner == "" || s.Owner == q.Owner)
}

// less orders by the sort field, then by id, both in the sort's direction.
func less(a, b *secret.Secret, s backend.Sort) bool {
	c := 0
	switch s.Field {
	case backend.ByCreated:
		c = a.Created.Compare(b.Created)
	case backend.ByUpdated:
		c = a.Updated.Compare(b.Updated)
	default:
		c = strings.Compare(a.Name, b.Name)
	}
	if c == 0 {
		c = strings.Compare(a.ID, b.ID)
	}
	if s.Desc {
		return c > 0
	}
	return c < 0
}

// Close implements backend.Backend.
func (b *Backend) Close() error { return nil }
