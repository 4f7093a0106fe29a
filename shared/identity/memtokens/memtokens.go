// Package memtokens is an in-memory identity.TokenStore, for tests and
// single-process tools: tokens live as long as the Store does.
package memtokens

import (
	"context"
	"sort"
	"sync"

	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/secret"
)

// Store keeps tokens in a map keyed by hash. The zero value is not usable;
// call New. Safe for concurrent use.
type Store struct {
	mu     sync.Mutex
	tokens map[string]identity.TokenInfo // by hash
}

var _ identity.TokenStore = (*Store)(nil)

// New returns an empty store.
func New() *Store { return &Store{tokens: map[string]identity.TokenInfo{}} }

// SaveToken implements identity.TokenStore. Errors: invalid_argument for a
// hash that is not 32 bytes or a bad principal; already_exists for a hash
// already stored.
func (s *Store) SaveToken(_ context.Context, hash []byte, p identity.Principal) error {
	if len(hash) != 32 {
		return errcode.New(errcode.InvalidArgument, "token hash must be 32 bytes, got %d", len(hash))
	}
	if err := identity.ValidateName(p.Name); err != nil {
		return err
	}
	if _, err := identity.ParseRole(string(p.Role)); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.tokens[string(hash)]; ok {
		return errcode.New(errcode.AlreadyExists, "a token with this hash already exists")
	}
	s.tokens[string(hash)] = identity.TokenInfo{ID: identity.TokenID(hash), Principal: p, Created: secret.Now()}
	return nil
}

// TokenPrincipal implements identity.TokenStore. Errors: unauthenticated
// for an unknown token.
func (s *Store) TokenPrincipal(_ context.Context, hash []byte) (identity.Principal, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.tokens[string(hash)]
	if !ok {
		return identity.Principal{}, errcode.New(errcode.Unauthenticated, "unknown API token")
	}
	return in.Principal, nil
}

// ListTokens implements identity.TokenStore; it never fails.
func (s *Store) ListTokens(context.Context) ([]identity.TokenInfo, error) {
	s.mu.Lock()
	out := make([]identity.TokenInfo, 0, len(s.tokens))
	for _, in := range s.tokens {
		out = append(out, in)
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.Before(out[j].Created)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// RevokeToken implements identity.TokenStore. Errors: invalid_argument for
// a malformed id; not_found for an unknown one.
func (s *Store) RevokeToken(_ context.Context, id string) error {
	if err := identity.ValidateTokenID(id); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for hash, in := range s.tokens {
		if in.ID == id {
			delete(s.tokens, hash)
			return nil
		}
	}
	return errcode.New(errcode.NotFound, "no token has id %s", id)
}
