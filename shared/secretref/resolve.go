package secretref

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/secret"
)

// Source finds the secret a reference names.
type Source interface {
	// LookupSecret returns the secret the caller sees under name: the
	// caller's private secret of that name first, then the public one. With
	// withValues false only metadata (Keys) is needed and Values may be nil.
	// Errors: not_found when neither exists; others as the store returns them.
	LookupSecret(ctx context.Context, name string, withValues bool) (*secret.Secret, error)
}

// Level is how thoroughly Check validates references, as ZenML's
// ZENML_SECRET_VALIDATION_LEVEL.
type Level string

// The validation levels.
const (
	CheckNone   Level = "none"   // parse only
	CheckSecret Level = "secret" // every referenced secret exists (SECRET_EXISTS)
	CheckKey    Level = "key"    // every referenced secret has the key (SECRET_AND_KEY_EXISTS)
)

// ParseLevel accepts none, secret and key.
func ParseLevel(s string) (Level, error) {
	switch Level(s) {
	case CheckNone, CheckSecret, CheckKey:
		return Level(s), nil
	}
	return "", errcode.New(errcode.InvalidArgument, "check level must be none, secret or key, got %q", s)
}

// Resolver resolves references against a Source, fetching each secret at
// most once. It is safe for concurrent use. Checks read only metadata (key
// names); values are fetched only by Value.
type Resolver struct {
	src Source

	mu    sync.Mutex
	cache map[string]*secret.Secret // by name; Values nil when only metadata was read
}

// NewResolver returns a Resolver reading from src.
func NewResolver(src Source) *Resolver {
	return &Resolver{src: src, cache: map[string]*secret.Secret{}}
}

func (r *Resolver) lookup(ctx context.Context, name string, withValues bool) (*secret.Secret, error) {
	r.mu.Lock()
	s, ok := r.cache[name]
	r.mu.Unlock()
	if ok && (!withValues || s.Values != nil) {
		return s, nil
	}
	s, err := r.src.LookupSecret(ctx, name, withValues)
	if err != nil {
		return nil, err // the Source words not_found (client.NotFoundError)
	}
	if withValues && s.Values == nil {
		s.Values = map[string]string{}
	}
	r.mu.Lock()
	r.cache[name] = s
	r.mu.Unlock()
	return s, nil
}

// Value returns the value ref names. Errors: not_found naming the missing
// secret, or the missing key with the keys the secret has; others from the
// Source.
func (r *Resolver) Value(ctx context.Context, ref Ref) (string, error) {
	s, err := r.lookup(ctx, ref.Name, true)
	if err != nil {
		return "", refError(ref, err)
	}
	v, ok := s.Values[ref.Key]
	if !ok {
		return "", refError(ref, missingKey(ref, secret.KeysOf(s.Values)))
	}
	return v, nil
}

// Check validates ref at level without reading any value. Errors as Value.
func (r *Resolver) Check(ctx context.Context, ref Ref, level Level) error {
	if level == CheckNone || level == "" {
		return nil
	}
	s, err := r.lookup(ctx, ref.Name, false)
	if err != nil {
		return refError(ref, err)
	}
	if level == CheckKey {
		keys := s.Keys
		if keys == nil && s.Values != nil {
			keys = secret.KeysOf(s.Values)
		}
		for _, k := range keys {
			if k == ref.Key {
				return nil
			}
		}
		return refError(ref, missingKey(ref, keys))
	}
	return nil
}

// Render resolves every reference in s (either form) and returns the result.
// A string without references is returned unchanged.
func (r *Resolver) Render(ctx context.Context, s string) (string, error) {
	t, err := ParseTemplate(s)
	if err != nil {
		return "", err
	}
	if !t.HasRefs() {
		return s, nil
	}
	return t.Render(func(ref Ref) (string, error) { return r.Value(ctx, ref) })
}

func missingKey(ref Ref, keys []string) error {
	avail := "none"
	if len(keys) > 0 {
		avail = strings.Join(keys, ", ")
	}
	return errcode.New(errcode.NotFound, "the secret %s does not contain a value for key %s. Available keys: %s", ref.Name, ref.Key, avail)
}

// refError prefixes err's message with the reference, keeping its code.
func refError(ref Ref, err error) error {
	return &errcode.Error{Code: errcode.Of(err), Message: fmt.Sprintf("secret reference %s: %s", ref, errcode.Message(err)), Err: unwrapped(err)}
}

func unwrapped(err error) error {
	if e, ok := err.(*errcode.Error); ok {
		return e.Err
	}
	return err
}
