package backend

import (
	"context"
	"fmt"
	"net/url"

	"github.com/lockwell/lockwell/shared/envelope"
	"github.com/lockwell/lockwell/shared/openurl"
)

// Options are what a backend may need beyond its URL. Credentials are never in
// the URL: openers read them from the environment or the SDKs' credential
// chains.
type Options struct {
	// Sealer encrypts values at rest. Backends that store values must refuse
	// to open without one.
	Sealer *envelope.Sealer
}

// Opener opens a backend from its URL. It must reject unknown query
// parameters (openurl.CheckParams).
type Opener func(ctx context.Context, u *url.URL, opts Options) (Backend, error)

var registry = openurl.NewRegistry[Opener]("store")

// Register makes a backend available under a URL scheme; call it from an
// init function. Backends are linked into a binary by importing their
// package, so each binary carries only the backends it uses.
func Register(scheme string, open Opener) { registry.Register(scheme, open) }

// Open opens the backend that rawURL names by its scheme, for example
// "sqlite:///var/lib/lockwell/lockwell.db" or "dynamodb://lockwell-secrets".
func Open(ctx context.Context, rawURL string, opts Options) (Backend, error) {
	open, u, err := registry.Lookup(rawURL)
	if err != nil {
		return nil, err
	}
	b, err := open(ctx, u, opts)
	if err != nil {
		return nil, fmt.Errorf("open %s store: %w", u.Scheme, err)
	}
	return b, nil
}

// Schemes lists the schemes linked into this binary.
func Schemes() []string { return registry.Schemes() }
