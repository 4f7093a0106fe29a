// Package secret defines the secret model and the rules every secret obeys:
// which names, keys and values are valid, and how large one secret may be.
// Every other package validates through this one, so the rules live in one
// place.
package secret

import (
	"sort"
	"time"

	"github.com/google/uuid"
)

// Secret is a named group of key/value pairs, private to its owner or public
// to every authenticated principal.
type Secret struct {
	ID      string            `json:"id"`
	Name    string            `json:"name"`
	Private bool              `json:"private"`
	Owner   string            `json:"owner"`
	Values  map[string]string `json:"values,omitempty"` // nil when only metadata was read
	Keys    []string          `json:"keys"`             // sorted names of Values' keys, always present
	Version int64             `json:"version"`          // 1 at creation, +1 on every change
	Created time.Time         `json:"created"`
	Updated time.Time         `json:"updated"`
	// Origin records where the secret came from when a tool (the migrator)
	// created it, for example "zenml-aws://eu-west-1#global/db". Empty for
	// secrets created by users.
	Origin string `json:"origin,omitempty"`
	// Deleted is when the secret was moved into the recovery window; zero
	// for a live secret. A deleted secret keeps its versions and values, but
	// holds no name: get and list do not show it, and its name may be taken
	// by another secret. PurgeAfter is when it may be destroyed.
	Deleted    time.Time `json:"deleted,omitzero"`
	PurgeAfter time.Time `json:"purge_after,omitzero"`
	// Change says who made this version and how (key names only). Shown
	// by the versions API, not with the secret itself.
	Change Change `json:"-"`

	// ValuesRef names the version of the values in an external value store;
	// backends that keep values themselves leave it empty. Never sent to
	// clients.
	ValuesRef string `json:"-"`
	// ChangeKey identifies the request that produced this version, so that a
	// retried request with the same Idempotency-Key can be answered with the
	// first result. Opaque to backends, which store and return it unchanged.
	ChangeKey string `json:"-"`
	// Idempotency, when set on a secret passed to a backend's Create or
	// Update, is the record of the request that makes this write; the
	// backend stores it atomically with the write (see Idempotency). Backends
	// never return it from Get or List.
	Idempotency *Idempotency `json:"-"`
	// Keep, when set on a secret passed to a backend's Update, makes the
	// backend keep the version it replaces as a past version (values and
	// all) and prune past versions Keep does not keep, in the same write.
	// Nil keeps no history: the replaced version is gone, as before
	// versions were kept. Backends never return it.
	Keep *Retention `json:"-"`
}

// Idempotency is the record of a write made with an Idempotency-Key: which
// request it was and what it returned. The store keeps one per (principal,
// key) for a retention period, written atomically with the write itself,
// and answers every retry within that period from it, whatever happened to
// the secret since (later changes, renames, deletion). It holds no secret
// value: Result is metadata, Request is a keyed MAC of the request body.
type Idempotency struct {
	// Key identifies the record: a hash of the principal and the
	// Idempotency-Key, never the raw key.
	Key string
	// Request is an HMAC of the request body keyed by the raw
	// Idempotency-Key (never stored), so a retry with another body is told
	// apart without a stored hash of values to brute-force.
	Request string
	// Operation is "create" or "update".
	Operation string
	// Result is the first response: the metadata of the version the write
	// made (Values nil).
	Result *Secret
	// Created is when the write was made; Expires is when the record may be
	// forgotten (a retry after that is a new request).
	Created, Expires time.Time
}

// NewID returns a new secret id: a UUID, version 7 (time-ordered) so that
// ids created together sort together in every index.
func NewID() string {
	id, err := uuid.NewV7()
	if err != nil { // only when the system's random source fails
		return uuid.NewString()
	}
	return id.String()
}

// KeysOf returns the sorted key names of values.
func KeysOf(values map[string]string) []string {
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func sortStrings(l []string) { sort.Strings(l) }

// Metadata returns a copy of s without its values: what lists and write
// responses show.
func (s *Secret) Metadata() *Secret {
	c := *s
	c.Values = nil
	c.Idempotency, c.Keep = nil, nil
	if c.Keys == nil {
		c.Keys = []string{}
	}
	return &c
}

// Clone returns a deep copy of s.
func (s *Secret) Clone() *Secret {
	c := *s
	if s.Values != nil {
		c.Values = make(map[string]string, len(s.Values))
		for k, v := range s.Values {
			c.Values[k] = v
		}
	}
	c.Keys = append([]string(nil), s.Keys...)
	c.Change.Added = append([]string(nil), s.Change.Added...)
	c.Change.Removed = append([]string(nil), s.Change.Removed...)
	c.Change.Changed = append([]string(nil), s.Change.Changed...)
	return &c
}

// IsDeleted reports whether s is in the recovery window.
func (s *Secret) IsDeleted() bool { return !s.Deleted.IsZero() }

// VisibleTo reports whether principal may see s: public secrets are visible
// to everyone, private ones only to their owner.
func (s *Secret) VisibleTo(principal string) bool {
	return !s.Private || s.Owner == principal
}

// Now returns the current time as stored: UTC, truncated to microseconds so
// that every backend (PostgreSQL keeps microseconds) round-trips it exactly.
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
