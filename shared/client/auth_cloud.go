//go:build !nocloud

package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"google.golang.org/api/idtoken"

	"github.com/lockwell/lockwell/shared/errcode"
)

// The authenticators that need a cloud SDK (AWS SigV4, Google ID tokens).
// A build with -tags nocloud leaves the SDKs out and has stubs that fail
// instead (auth_nocloud.go).

// GoogleIDToken authenticates with Google-signed ID tokens for audience
// (the Cloud Functions or Cloud Run URL), from Application Default
// Credentials or opts (idtoken.WithCredentialsFile, ...). Errors:
// unauthenticated when no credentials can mint ID tokens.
func GoogleIDToken(ctx context.Context, audience string, opts ...idtoken.ClientOption) (Authenticator, error) {
	if audience == "" {
		return nil, errcode.New(errcode.InvalidArgument, "a Google ID token needs an audience (the function's URL)")
	}
	ts, err := idtoken.NewTokenSource(ctx, audience, opts...)
	if err != nil {
		return nil, errcode.Wrap(errcode.Unauthenticated, err, "cannot create Google ID tokens from the application default credentials")
	}
	return TokenSource(ts), nil
}

// SigV4 signs requests with AWS Signature Version 4 for an API Gateway
// whose routes use IAM authorization (service "execute-api").
type SigV4 struct {
	creds  aws.CredentialsProvider
	region string
	signer *v4.Signer
	now    func() time.Time
}

// NewSigV4 signs with credentials from creds for region.
func NewSigV4(creds aws.CredentialsProvider, region string) *SigV4 {
	return &SigV4{creds: creds, region: region, signer: v4.NewSigner(), now: time.Now}
}

// DefaultSigV4 signs with the default AWS credential chain (environment,
// shared config and credentials files, SSO, web identity, container and
// instance roles). region may be empty to take it from AWS_REGION or the
// shared config. Errors: invalid_argument when no region is known.
func DefaultSigV4(ctx context.Context, region string) (*SigV4, error) {
	var opts []func(*awsconfig.LoadOptions) error
	if region != "" {
		opts = append(opts, awsconfig.WithRegion(region))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, errcode.Wrap(errcode.InvalidArgument, err, "cannot load the AWS configuration")
	}
	if cfg.Region == "" {
		return nil, errcode.New(errcode.InvalidArgument, "no AWS region: set --aws-region or AWS_REGION")
	}
	return NewSigV4(aws.NewCredentialsCache(cfg.Credentials), cfg.Region), nil
}

// Region returns the region requests are signed for.
func (s *SigV4) Region() string { return s.region }

// Authenticate signs req, including a hash of body.
func (s *SigV4) Authenticate(ctx context.Context, req *http.Request, body []byte) error {
	creds, err := s.creds.Retrieve(ctx)
	if err != nil {
		return errcode.Wrap(errcode.Unauthenticated, err, "cannot get AWS credentials from the default credential chain")
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	if err := s.signer.SignHTTP(ctx, creds, req, hash, "execute-api", s.region, s.now()); err != nil {
		return errcode.Wrap(errcode.Unauthenticated, err, "cannot sign the request")
	}
	return nil
}
