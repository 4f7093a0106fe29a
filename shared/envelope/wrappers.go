package envelope

import (
	"context"
	"fmt"
	"net/url"

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
