// Package awskms wraps envelope data keys with an AWS KMS key
// (github.com/aws/aws-sdk-go-v2/service/kms): GenerateDataKey when a secret
// version is sealed, Decrypt when it is opened, Encrypt only when a caller
// wraps a key it made itself. The envelope's additional authenticated data
// (secret id and version) travels as the KMS encryption context, so KMS
// itself refuses to unwrap a data key for any other secret version, and
// CloudTrail records which secret version each call was for.
//
// It registers the key wrapper URL scheme "awskms":
//
//	awskms://alias/lockwell?region=eu-west-1
//	awskms://1234abcd-12ab-34cd-56ef-1234567890ab
//	awskms:///arn:aws:kms:eu-west-1:111122223333:key/1234abcd-...
//
// Parameters: region (else the SDK's default chain), cache_size (unwrapped
// data keys kept in memory, default 1000; 0 turns the cache off) and
// cache_ttl (how long each is kept, a Go duration, default 5m). Credentials
// come only from the SDK's default chain; the endpoint can be overridden with
// the SDK's standard AWS_ENDPOINT_URL_KMS (or AWS_ENDPOINT_URL), which is how
// tests and `make dev` reach the local KMS in localdev/kms.
//
// Throttling and transient failures are retried by the one retry policy
// (package retry) within the caller's deadline, then returned as
// unavailable; the SDK's own retryer is turned off so that there is one
// policy. Errors never contain key material.
package awskms

import (
	"context"
	"encoding/base64"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/lockwell/lockwell/shared/envelope"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/openurl"
	"github.com/lockwell/lockwell/shared/retry"
)

// API is the part of the KMS client the wrapper calls; *kms.Client
// implements it.
type API interface {
	GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, opts ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error)
	Encrypt(ctx context.Context, in *kms.EncryptInput, opts ...func(*kms.Options)) (*kms.EncryptOutput, error)
	Decrypt(ctx context.Context, in *kms.DecryptInput, opts ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

// Wrapper is an envelope.KeyWrapper and envelope.DataKeyGenerator over one
// KMS key. It keeps no key material itself; put an envelope.CachingWrapper in
// front of it (the URL opener does) to save Decrypt calls. Safe for
// concurrent use.
type Wrapper struct {
	client API
	keyID  string
	policy retry.Policy
}

var (
	_ envelope.KeyWrapper       = (*Wrapper)(nil)
	_ envelope.DataKeyGenerator = (*Wrapper)(nil)
)

// New returns a Wrapper for the key (key id, key ARN, alias name or alias
// ARN). Failed calls are retried with the policy (the zero Policy is
// retry.Default).
func New(client API, keyID string, policy retry.Policy) *Wrapper {
	return &Wrapper{client: client, keyID: keyID, policy: policy}
}

// The encryption context keys. The aad is ASCII in practice; anything else
// goes base64 under its own key, so the two can never be confused.
const (
	contextKey       = "lockwell-aad"
	contextKeyBase64 = "lockwell-aad-b64"
)

func encryptionContext(aad []byte) map[string]string {
	if utf8.Valid(aad) {
		return map[string]string{contextKey: string(aad)}
	}
	return map[string]string{contextKeyBase64: base64.StdEncoding.EncodeToString(aad)}
}

// GenerateDataKey implements envelope.DataKeyGenerator: one KMS
// GenerateDataKey (AES_256) call. Errors: unavailable (throttling, KMS
// trouble, deadline), internal (access denied, unknown or unusable key).
func (w *Wrapper) GenerateDataKey(ctx context.Context, aad []byte) (plain, wrapped []byte, err error) {
	err = retry.Do(ctx, w.policy, func(ctx context.Context) error {
		out, err := w.client.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{
			KeyId: aws.String(w.keyID), KeySpec: types.DataKeySpecAes256, EncryptionContext: encryptionContext(aad),
		})
		if err != nil {
			return classify(err, "generate a data key")
		}
		plain, wrapped = out.Plaintext, out.CiphertextBlob
		return nil
	})
	if err == nil && len(plain) != 32 {
		clear(plain)
		return nil, nil, errcode.New(errcode.Internal, "KMS returned a %d-byte data key, want 32", len(plain))
	}
	return plain, wrapped, err
}

// WrapKey implements envelope.KeyWrapper: one KMS Encrypt call. Errors as
// GenerateDataKey.
func (w *Wrapper) WrapKey(ctx context.Context, dataKey, aad []byte) ([]byte, error) {
	var wrapped []byte
	err := retry.Do(ctx, w.policy, func(ctx context.Context) error {
		out, err := w.client.Encrypt(ctx, &kms.EncryptInput{
			KeyId: aws.String(w.keyID), Plaintext: dataKey, EncryptionContext: encryptionContext(aad),
		})
		if err != nil {
			return classify(err, "wrap a data key")
		}
		wrapped = out.CiphertextBlob
		return nil
	})
	return wrapped, err
}

// UnwrapKey implements envelope.KeyWrapper: one KMS Decrypt call, pinned to
// the configured key. A blob for another key, another aad, or altered is
// internal. Other errors as GenerateDataKey.
func (w *Wrapper) UnwrapKey(ctx context.Context, wrapped, aad []byte) ([]byte, error) {
	var plain []byte
	err := retry.Do(ctx, w.policy, func(ctx context.Context) error {
		out, err := w.client.Decrypt(ctx, &kms.DecryptInput{
			KeyId: aws.String(w.keyID), CiphertextBlob: wrapped, EncryptionContext: encryptionContext(aad),
		})
		if err != nil {
			return classify(err, "unwrap a data key")
		}
		plain = out.Plaintext
		return nil
	})
	return plain, err
}

// errorCodes is the one table from KMS error codes to Lockwell's. Codes not
// listed are internal; failures without a service error code (network,
// timeouts) are unavailable.
var errorCodes = map[string]errcode.Code{
	"ThrottlingException":        errcode.Unavailable,
	"LimitExceededException":     errcode.Unavailable,
	"KMSInternalException":       errcode.Unavailable,
	"DependencyTimeoutException": errcode.Unavailable,
	"KeyUnavailableException":    errcode.Unavailable,
	"DisabledException":          errcode.Unavailable, // an operator disabled the key: nothing works until it is enabled
	"KMSInvalidStateException":   errcode.Unavailable, // pending deletion or import
	"InternalFailure":            errcode.Unavailable,
	"ServiceUnavailable":         errcode.Unavailable,
	"InvalidCiphertextException": errcode.Internal, // altered, or another secret version's key
	"IncorrectKeyException":      errcode.Internal,
	"NotFoundException":          errcode.Internal, // misconfigured key id
	"AccessDeniedException":      errcode.Internal, // misconfigured IAM
	"InvalidKeyUsageException":   errcode.Internal,
}

// classify maps a KMS client error to an errcode once. The message names the
// operation and the KMS error code, never key material.
func classify(err error, what string) error {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		code, ok := errorCodes[apiErr.ErrorCode()]
		var resp *smithyhttp.ResponseError
		if !ok && errors.As(err, &resp) && resp.HTTPStatusCode() >= 500 {
			code, ok = errcode.Unavailable, true
		}
		if !ok {
			code = errcode.Internal
		}
		return errcode.Wrap(code, err, "KMS could not %s: %s", what, apiErr.ErrorCode())
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return errcode.Wrap(errcode.Unavailable, err, "KMS could not %s in time", what)
	}
	return errcode.Wrap(errcode.Unavailable, err, "KMS could not %s: the service did not answer", what)
}

// Open opens a wrapper from an awskms URL (see the package doc) with the
// SDK's default configuration chain, with a CachingWrapper in front unless
// cache_size=0. Errors: invalid_argument for a bad URL.
func Open(ctx context.Context, u *url.URL) (envelope.KeyWrapper, error) {
	if err := openurl.CheckParams(u, "region", "cache_size", "cache_ttl"); err != nil {
		return nil, err
	}
	keyID := strings.TrimPrefix(u.Host+u.Path, "/")
	if keyID == "" {
		return nil, errcode.New(errcode.InvalidArgument, "awskms URL needs a key: awskms://alias/NAME, awskms://KEY_ID or awskms:///KEY_ARN")
	}
	q := u.Query()
	size, ttl := envelope.DefaultCacheSize, envelope.DefaultCacheTTL
	if v := q.Get("cache_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, errcode.New(errcode.InvalidArgument, "awskms cache_size must be a whole number of keys, 0 to turn the cache off")
		}
		size = n
	}
	if v := q.Get("cache_ttl"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return nil, errcode.New(errcode.InvalidArgument, "awskms cache_ttl must be a positive duration such as 5m")
		}
		ttl = d
	}
	var opts []func(*config.LoadOptions) error
	if r := q.Get("region"); r != "" {
		opts = append(opts, config.WithRegion(r))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, errcode.Wrap(errcode.Internal, err, "load AWS configuration")
	}
	client := kms.NewFromConfig(cfg, func(o *kms.Options) { o.Retryer = aws.NopRetryer{} })
	w := New(client, keyID, retry.Default)
	if size == 0 {
		return w, nil
	}
	return envelope.NewCachingWrapper(w, size, ttl), nil
}

func init() {
	envelope.RegisterWrapper("awskms", Open)
}
