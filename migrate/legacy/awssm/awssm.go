// Package awssm reads ZenML's AWS Secrets Manager secrets manager (flavor
// aws): one AWS secret per ZenML secret whose SecretString is the JSON
// payload. Unscoped entries are named S and carry no tags; scoped entries
// are named zenml/global/S, zenml/component/UUID/S or zenml/namespace/NS/S
// and tagged zenml_scope, zenml_secret_name, ... (reference §3.1).
//
// Source URL: zenml-aws://?region=R[&scope=...&component_uuid=...&namespace=...].
// Credentials and region fall back to the SDK's chain; the endpoint follows
// the SDK's AWS_ENDPOINT_URL_SECRETS_MANAGER (or AWS_ENDPOINT_URL).
package awssm

import (
	"context"
	"errors"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/lockwell/lockwell/migrate/legacy"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/openurl"
	"github.com/lockwell/lockwell/shared/retry"
)

func init() {
	legacy.Register(legacy.Flavor{Name: "aws", Scoped: true, Open: open, URLFromConfig: urlFromConfig})
}

// API is the part of the Secrets Manager client the reader calls.
type API interface {
	ListSecrets(ctx context.Context, in *secretsmanager.ListSecretsInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.ListSecretsOutput, error)
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	DescribeSecret(ctx context.Context, in *secretsmanager.DescribeSecretInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
	DeleteSecret(ctx context.Context, in *secretsmanager.DeleteSecretInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.DeleteSecretOutput, error)
}

func open(ctx context.Context, u *url.URL, d legacy.Descriptor) (legacy.Source, error) {
	if err := openurl.CheckParams(u, append([]string{"region"}, legacy.ScopeParams...)...); err != nil {
		return nil, err
	}
	if u.Host != "" || (u.Path != "" && u.Path != "/") {
		return nil, errcode.New(errcode.InvalidArgument, "zenml-aws URL must be zenml-aws://?region=REGION")
	}
	opts := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer { return aws.NopRetryer{} }), // one retry policy: package retry
	}
	if r := u.Query().Get("region"); r != "" {
		opts = append(opts, config.WithRegion(r))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, errcode.Wrap(errcode.InvalidArgument, err, "cannot load the AWS configuration")
	}
	if cfg.Region == "" {
		return nil, errcode.New(errcode.InvalidArgument, "zenml-aws needs a region: region= in the URL or AWS_REGION")
	}
	d.Location = cfg.Region
	return New(secretsmanager.NewFromConfig(cfg), d), nil
}

func urlFromConfig(cfg map[string]any, _ string) (string, error) {
	region, err := legacy.ConfigString(cfg, "aws", "region_name")
	if err != nil {
		return "", err
	}
	return "zenml-aws://?region=" + url.QueryEscape(region), nil
}

// Source reads one region and scope. Safe for concurrent use.
type Source struct {
	api  API
	desc legacy.Descriptor
}

// New returns a source over api for the descriptor (Location is the region).
func New(api API, d legacy.Descriptor) *Source { return &Source{api: api, desc: d} }

// Describe implements legacy.Source.
func (s *Source) Describe() legacy.Descriptor { return s.desc }

// Close implements legacy.Source.
func (s *Source) Close() error { return nil }

// List implements legacy.Source. It lists every secret in the region and
// keeps those of this scope as ZenML did: for scope none, untagged names
// without "/"; for other scopes, the scope tags and the exact scoped name.
// Centralized-store entries are reported as skipped.
func (s *Source) List(ctx context.Context) ([]legacy.Item, error) {
	var items []legacy.Item
	var token *string
	for {
		var out *secretsmanager.ListSecretsOutput
		err := retry.Do(ctx, retry.Default, func(ctx context.Context) (err error) {
			out, err = s.api.ListSecrets(ctx, &secretsmanager.ListSecretsInput{MaxResults: aws.Int32(100), NextToken: token})
			return classify(err, "list secrets")
		})
		if err != nil {
			return nil, err
		}
		for _, e := range out.SecretList {
			if item, ok := s.item(ctx, e); ok {
				items = append(items, item)
			}
		}
		if token = out.NextToken; token == nil {
			break
		}
	}
	return legacy.CompleteItems(ctx, s, items)
}

func (s *Source) item(ctx context.Context, e types.SecretListEntry) (legacy.Item, bool) {
	full := aws.ToString(e.Name)
	tags := map[string]string{}
	for _, t := range e.Tags {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	if e.DeletedDate != nil {
		return legacy.Item{}, false // scheduled for deletion: ZenML could not read it either
	}
	if legacy.IsCentralized(tags) { // zenml/<uuid>, listed in every scope
		return legacy.CentralizedItem(full, tags), true
	}
	if s.desc.Scope == legacy.ScopeNone {
		if _, scoped := tags["zenml_scope"]; scoped || strings.Contains(full, "/") {
			return legacy.Item{}, false // another scope's entry
		}
		return legacy.Item{Name: full, Location: full, Status: legacy.Migratable}, true
	}
	name := tags["zenml_secret_name"]
	if name == "" || !s.desc.MatchesScope(tags) || full != s.desc.FullName(name, "/") {
		return legacy.Item{}, false
	}
	return legacy.Item{Name: name, Location: full, Schema: tags["zenml_secret_schema"], Status: legacy.Migratable}, true
}

// Read implements legacy.Source.
func (s *Source) Read(ctx context.Context, name string) (*legacy.Entry, error) {
	if id, ok := legacy.CentralizedRef(name); ok {
		return s.readCentralized(ctx, id)
	}
	if strings.Contains(name, "/") {
		return nil, errcode.New(errcode.NotFound, "no secret %q in this scope", name)
	}
	full := s.desc.FullName(name, "/")
	var out *secretsmanager.GetSecretValueOutput
	err := retry.Do(ctx, retry.Default, func(ctx context.Context) (err error) {
		out, err = s.api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(full)})
		return classify(err, "read secret")
	})
	if errcode.Is(err, errcode.NotFound) || errcode.Is(err, errcode.FailedPrecondition) {
		return nil, errcode.New(errcode.NotFound, "no secret %q in this scope", name)
	}
	if err != nil {
		return nil, err
	}
	if out.SecretString == nil {
		return nil, errcode.New(errcode.FailedPrecondition, legacy.NotZenMLReason)
	}
	schema, values, ok := legacy.DecodeJSON([]byte(*out.SecretString))
	if !ok {
		return nil, errcode.New(errcode.FailedPrecondition, legacy.NotZenMLReason)
	}
	return &legacy.Entry{Name: name, Schema: schema, Values: values}, nil
}

// readCentralized reads the centralized-store secret zenml/<id>: its tags
// (DescribeSecret) and its values (GetSecretValue), as ZenML's AWS secrets
// store did.
func (s *Source) readCentralized(ctx context.Context, id string) (*legacy.Entry, error) {
	full := "zenml/" + id
	var desc *secretsmanager.DescribeSecretOutput
	var out *secretsmanager.GetSecretValueOutput
	err := retry.Do(ctx, retry.Default, func(ctx context.Context) (err error) {
		if desc, err = s.api.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(full)}); err != nil {
			return classify(err, "describe secret")
		}
		out, err = s.api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(full)})
		return classify(err, "read secret")
	})
	if errcode.Is(err, errcode.NotFound) || errcode.Is(err, errcode.FailedPrecondition) {
		return nil, errcode.New(errcode.NotFound, "no ZenML secret %s", id)
	}
	if err != nil {
		return nil, err
	}
	tags := map[string]string{}
	for _, t := range desc.Tags {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return legacy.DecodeCentralized(id, tags, []byte(aws.ToString(out.SecretString)))
}

// Delete implements legacy.Source: forced, without a recovery window, as
// ZenML deleted. Entries of the centralized store are never deleted.
func (s *Source) Delete(ctx context.Context, name string) error {
	if _, ok := legacy.CentralizedRef(name); ok {
		return errcode.New(errcode.FailedPrecondition, "entries of ZenML's centralized store are not deleted by the migration")
	}
	full := s.desc.FullName(name, "/")
	return retry.Do(ctx, retry.Default, func(ctx context.Context) error {
		_, err := s.api.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String(full), ForceDeleteWithoutRecovery: aws.Bool(true)})
		return classify(err, "delete secret")
	})
}

var errorCodes = map[string]errcode.Code{
	"ResourceNotFoundException":   errcode.NotFound,
	"InvalidRequestException":     errcode.FailedPrecondition, // e.g. marked for deletion
	"InvalidParameterException":   errcode.InvalidArgument,
	"ValidationException":         errcode.InvalidArgument,
	"InvalidNextTokenException":   errcode.InvalidArgument,
	"AccessDeniedException":       errcode.PermissionDenied,
	"DecryptionFailure":           errcode.PermissionDenied,
	"ThrottlingException":         errcode.Unavailable,
	"TooManyRequestsException":    errcode.Unavailable,
	"InternalServiceError":        errcode.Unavailable,
	"ServiceUnavailable":          errcode.Unavailable,
	"UnrecognizedClientException": errcode.Unauthenticated,
	"ExpiredTokenException":       errcode.Unavailable,
}

// classify maps an SDK error to an errcode by the exception's name only:
// provider messages may echo request content and are not copied.
func classify(err error, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return errcode.Wrap(errcode.Unavailable, err, "AWS Secrets Manager did not answer in time (%s)", what)
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code, ok := errorCodes[ae.ErrorCode()]
		if !ok {
			code = errcode.Internal
			var he *smithyhttp.ResponseError
			if errors.As(err, &he) && he.HTTPStatusCode() >= 500 {
				code = errcode.Unavailable
			}
		}
		return errcode.New(code, "AWS Secrets Manager: %s (%s)", ae.ErrorCode(), what)
	}
	return errcode.New(errcode.Unavailable, "AWS Secrets Manager is unreachable (%s)", what)
}
