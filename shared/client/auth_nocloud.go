//go:build nocloud

package client

import (
	"context"
	"net/http"

	"github.com/lockwell/lockwell/shared/errcode"
)

// errNoCloud is what the cloud authenticators return in a build with
// -tags nocloud, which leaves the AWS and Google SDKs out.
var errNoCloud = errcode.New(errcode.InvalidArgument, "this lockwell was built with -tags nocloud, without the AWS and Google SDKs; build it without the tag for --auth aws-sigv4 and google-idtoken")

// GoogleIDToken fails: see errNoCloud.
func GoogleIDToken(ctx context.Context, audience string, opts ...any) (Authenticator, error) {
	return nil, errNoCloud
}

// SigV4 is never built in a nocloud build: see errNoCloud.
type SigV4 struct{ region string }

// DefaultSigV4 fails: see errNoCloud.
func DefaultSigV4(ctx context.Context, region string) (*SigV4, error) { return nil, errNoCloud }

// Region returns the region requests are signed for.
func (s *SigV4) Region() string { return s.region }

// Authenticate fails: see errNoCloud.
func (s *SigV4) Authenticate(ctx context.Context, req *http.Request, body []byte) error {
	return errNoCloud
}
