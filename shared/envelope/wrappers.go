package envelope

import (
	"context"
	"fmt"
	"net/url"
	"os"

	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/openurl"
)

// WrapperOpener opens a key wrapper from its URL.
type WrapperOpener func(ctx context.Context, u *url.URL) (KeyWrapper, error)

var wrappers = openurl.NewRegistry[WrapperOpener]("key")

// RegisterWrapper makes a key wrapper available under a URL scheme, for
// example "awskms"; call it from an init function.
func RegisterWrapper(scheme string, open WrapperOpener) { wrappers.Register(scheme, open) }

// OpenWrapper opens the key wrapper that rawURL names:
//
//	localkey:///var/lib/lockwell/store.key   a key file (created on first use)
//	envkey://LOCKWELL_STORE_KEY              a base64 key in the named environment variable
//	                                         (for platforms that inject secrets as variables,
//	                                         such as Cloud Functions with Secret Manager)
//	awskms://alias/lockwell?region=eu-west-1  an AWS KMS key (package envelope/awskms)
func OpenWrapper(ctx context.Context, rawURL string) (KeyWrapper, error) {
	open, u, err := wrappers.Lookup(rawURL)
	if err != nil {
		return nil, err
	}
	w, err := open(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("open %s key: %w", u.Scheme, err)
	}
	return w, nil
}

func init() {
	RegisterWrapper("envkey", func(_ context.Context, u *url.URL) (KeyWrapper, error) {
		if err := openurl.CheckParams(u); err != nil {
			return nil, err
		}
		if u.Host == "" || u.Path != "" {
			return nil, errcode.New(errcode.InvalidArgument, "envkey URL names a variable: envkey://VARIABLE")
		}
		encoded, ok := os.LookupEnv(u.Host)
		if !ok {
			return nil, errcode.New(errcode.InvalidArgument, "envkey: the variable %s is not set", u.Host)
		}
		key, err := ParseKey(encoded)
		if err != nil {
			return nil, errcode.New(errcode.InvalidArgument, "envkey: the variable %s does not hold a store key: %d bytes in base64", u.Host, KeySize)
		}
		return NewLocalKey(key)
	})
	RegisterWrapper("localkey", func(_ context.Context, u *url.URL) (KeyWrapper, error) {
		if err := openurl.CheckParams(u); err != nil {
			return nil, err
		}
		if u.Path == "" {
			return nil, errcode.New(errcode.InvalidArgument, "localkey URL needs a path: localkey:///path/to/store.key")
		}
		key, _, err := LoadOrCreateKeyFile(u.Path)
		if err != nil {
			return nil, err
		}
		return NewLocalKey(key)
	})
}

// NoKey is the key wrapper of a deployment that keeps no values in its
// backend (an index paired with an external value store): it refuses to
// wrap or unwrap, so a value can never be stored unencrypted by mistake.
type NoKey struct{}

var errNoKey = errcode.New(errcode.Internal, "no store key is configured (LOCKWELL_KEY), so this backend cannot hold values; they belong in the external value store")

// WrapKey implements KeyWrapper by refusing.
func (NoKey) WrapKey(context.Context, []byte, []byte) ([]byte, error) { return nil, errNoKey }

// UnwrapKey implements KeyWrapper by refusing.
func (NoKey) UnwrapKey(context.Context, []byte, []byte) ([]byte, error) { return nil, errNoKey }
