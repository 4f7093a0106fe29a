// Package openurl is the registry behind every "open by URL scheme" in
// Lockwell (backends, value stores, legacy sources): drivers register an
// opener under a scheme, and a URL's scheme picks the driver. It also holds
// the two URL rules every opener follows: no credentials in URLs, and no
// unknown parameters.
package openurl

import (
	"net/url"
	"sort"
	"strings"
	"sync"

	"github.com/lockwell/lockwell/shared/errcode"
)

// Registry maps URL schemes to openers of type T. The zero value is ready to
// use and safe for concurrent use.
type Registry[T any] struct {
	kind    string // "backend", "value store", ...: used in messages
	mu      sync.RWMutex
	openers map[string]T
}

// NewRegistry returns a registry for the kind of thing named in its messages.
func NewRegistry[T any](kind string) *Registry[T] {
	return &Registry[T]{kind: kind, openers: map[string]T{}}
}

// Register adds an opener under scheme. It panics if the scheme is taken;
// call it from an init function.
func (r *Registry[T]) Register(scheme string, opener T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.openers[scheme]; dup {
		panic(r.kind + ": scheme registered twice: " + scheme)
	}
	r.openers[scheme] = opener
}

// Lookup parses rawURL and returns the opener for its scheme. Errors are
// invalid_argument: a malformed URL, credentials in the URL, or a scheme not
// linked into this binary.
func (r *Registry[T]) Lookup(rawURL string) (T, *url.URL, error) {
	var zero T
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme == "" {
		return zero, nil, errcode.New(errcode.InvalidArgument, "%s URL must look like SCHEME://...", r.kind)
	}
	if u.User != nil {
		return zero, nil, errcode.New(errcode.InvalidArgument, "%s URL must not contain credentials; they come from the environment", r.kind)
	}
	r.mu.RLock()
	opener, ok := r.openers[u.Scheme]
	r.mu.RUnlock()
	if !ok {
		return zero, nil, errcode.New(errcode.InvalidArgument, "no %s for scheme %q in this build; available: %s", r.kind, u.Scheme, strings.Join(r.Schemes(), ", "))
	}
	return opener, u, nil
}

// Schemes lists the registered schemes, sorted.
func (r *Registry[T]) Schemes() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s := make([]string, 0, len(r.openers))
	for k := range r.openers {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}

// CheckParams returns invalid_argument if u has a query parameter not in
// allowed. Every opener calls it, so that a typo is an error rather than a
// silently ignored setting.
func CheckParams(u *url.URL, allowed ...string) error {
	for name := range u.Query() {
		known := false
		for _, a := range allowed {
			known = known || name == a
		}
		if known {
			continue
		}
		if len(allowed) == 0 {
			return errcode.New(errcode.InvalidArgument, "%s URL takes no parameters, got %q", u.Scheme, name)
		}
		return errcode.New(errcode.InvalidArgument, "unknown %s URL parameter %q; known: %s", u.Scheme, name, strings.Join(allowed, ", "))
	}
	return nil
}
