// Package awssecretsmanager is the AWS Secrets Manager value store, opened
// by URL:
//
//	awssecretsmanager://?region=eu-west-1&prefix=lockwell&recovery_window_days=7
//	awssecretsmanager://?prefix=lockwell&force_delete=true
//
// Parameters (all optional; any other is an error):
//   - region: the AWS region; default from AWS_REGION or the shared config.
//   - prefix: the entry name prefix, default "lockwell".
//   - recovery_window_days: 7-30; Delete schedules deletion with this window.
//     Without it and without force_delete, AWS's default window (30 days).
//   - force_delete=true: Delete removes the entry at once, without recovery
//     (as ZenML does). Not together with recovery_window_days.
//
// Credentials come only from the SDK's default chain (environment, shared
// files, SSO, the Lambda or ECS role, IMDS). The endpoint comes from the
// SDK's standard AWS_ENDPOINT_URL_SECRETS_MANAGER or AWS_ENDPOINT_URL
// variables, which tests and local development set to the local server
// (package localdev/awssecretsmanager).
//
// Each secret's values are one secret named "<prefix>/<secret id>", tagged
// lockwell_deployment=<deployment id> and lockwell_secret_id=<secret id>,
// whose SecretString is the JSON of the values. Put describes the entry,
// then creates it (CreateSecret) or adds a version (PutSecretValue). Each
// Put draws a fresh random ClientRequestToken, which AWS uses as the
// VersionId, and keeps it across its own retries, so a call retried after a
// lost response repeats the token and AWS answers with the same version
// instead of making another. Another Put, even of the same values, makes a
// new version: a ref names one write, and versions are created in the
// order of the writes (Retire relies on that). The ref of a Put is that
// VersionId. Versions are retired with staging labels (see Store.Retire).
//
// History: every Lockwell version the index keeps names one of these
// VersionIds, and Get reads any of them while AWS holds it. AWS keeps every
// version until a secret has more than 100, then removes the oldest
// unlabelled ("deprecated") ones that are over 24 hours old. Retire
// deprecates only versions older than the oldest version the index keeps,
// and pins that one with StageIndexed, so AWS removes those first: kept
// versions stay readable while LOCKWELL_KEEP_VERSIONS plus the versions
// racing writers leave behind stay under 100. Keep LOCKWELL_KEEP_VERSIONS
// at 80 or less with this store (the default is 20); beyond that, AWS may
// remove a kept version older than a day, and reading it answers
// not_found, as a pruned version.
//
// Minimal IAM policy: secretsmanager:CreateSecret, GetSecretValue,
// DescribeSecret, PutSecretValue, UpdateSecretVersionStage,
// ListSecretVersionIds, DeleteSecret and RestoreSecret on
// arn:aws:secretsmanager:<region>:<account>:secret:<prefix>/*, plus
// secretsmanager:ListSecrets (which takes no resource) for Entries, and
// secretsmanager:TagResource for CreateSecret with tags.
package awssecretsmanager

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/google/uuid"

	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/openurl"
	"github.com/lockwell/lockwell/shared/retry"
	"github.com/lockwell/lockwell/shared/secret"
	"github.com/lockwell/lockwell/shared/valuestore"
)

// Scheme is the URL scheme the store registers.
const Scheme = "awssecretsmanager"

// Limit is AWS Secrets Manager's limit on a SecretString: 65,536 bytes.
const Limit = 65536

// Tag keys on every entry.
const (
	TagDeployment = "lockwell_deployment"
	TagSecretID   = "lockwell_secret_id"
)

// StageIndexed is the staging label Retire attaches to the version it
// keeps (the oldest version the index keeps), so that AWS never removes it
// as deprecated and the versions it deprecates are the oldest.
const StageIndexed = "LOCKWELL_INDEXED"

const storeName = "AWS Secrets Manager"

func init() { valuestore.Register(Scheme, open) }

// API lists the SDK calls the store makes; *secretsmanager.Client
// implements it.
type API interface {
	CreateSecret(context.Context, *secretsmanager.CreateSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error)
	GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	DescribeSecret(context.Context, *secretsmanager.DescribeSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
	PutSecretValue(context.Context, *secretsmanager.PutSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
	UpdateSecretVersionStage(context.Context, *secretsmanager.UpdateSecretVersionStageInput, ...func(*secretsmanager.Options)) (*secretsmanager.UpdateSecretVersionStageOutput, error)
	ListSecretVersionIds(context.Context, *secretsmanager.ListSecretVersionIdsInput, ...func(*secretsmanager.Options)) (*secretsmanager.ListSecretVersionIdsOutput, error)
	DeleteSecret(context.Context, *secretsmanager.DeleteSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.DeleteSecretOutput, error)
	RestoreSecret(context.Context, *secretsmanager.RestoreSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.RestoreSecretOutput, error)
	ListSecrets(context.Context, *secretsmanager.ListSecretsInput, ...func(*secretsmanager.Options)) (*secretsmanager.ListSecretsOutput, error)
}

// Config configures a Store.
type Config struct {
	Prefix     string
	Deployment string
	// RecoveryWindowDays (7-30) is the recovery window Delete asks for; 0
	// means AWS's default (30 days). Ignored when ForceDelete is set.
	RecoveryWindowDays int
	// ForceDelete makes Delete remove entries without a recovery window.
	ForceDelete bool
	// Retry is the retry policy; the zero value is retry.Default.
	Retry retry.Policy
	// PageSize is ListSecrets' MaxResults (1-100); 0 means 100.
	PageSize int
}

// Store is the AWS Secrets Manager value store. It is safe for concurrent
// use.
type Store struct {
	api API
	cfg Config
}

var prefixPattern = regexp.MustCompile(`^[A-Za-z0-9_+=.@-]{1,64}$`)

func open(ctx context.Context, u *url.URL, opts valuestore.Options) (valuestore.Store, error) {
	if err := openurl.CheckParams(u, "region", "prefix", "recovery_window_days", "force_delete"); err != nil {
		return nil, err
	}
	if u.Host != "" || (u.Path != "" && u.Path != "/") {
		return nil, errcode.New(errcode.InvalidArgument, "awssecretsmanager URL takes no host or path: awssecretsmanager://?region=R&prefix=P")
	}
	q := u.Query()
	cfg := Config{Prefix: q.Get("prefix"), Deployment: opts.Deployment}
	if cfg.Prefix == "" {
		cfg.Prefix = "lockwell"
	}
	if v := q.Get("recovery_window_days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 7 || n > 30 {
			return nil, errcode.New(errcode.InvalidArgument, "recovery_window_days must be a whole number of days from 7 to 30")
		}
		cfg.RecoveryWindowDays = n
	}
	if v := q.Get("force_delete"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, errcode.New(errcode.InvalidArgument, "force_delete must be true or false")
		}
		cfg.ForceDelete = b
	}
	if cfg.ForceDelete && cfg.RecoveryWindowDays != 0 {
		return nil, errcode.New(errcode.InvalidArgument, "use either force_delete=true or recovery_window_days, not both")
	}
	loadOpts := []func(*config.LoadOptions) error{
		// One retry policy: package retry, not the SDK's own retryer.
		config.WithRetryer(func() aws.Retryer { return aws.NopRetryer{} }),
	}
	if r := q.Get("region"); r != "" {
		loadOpts = append(loadOpts, config.WithRegion(r))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, errcode.Wrap(errcode.InvalidArgument, err, "cannot load the AWS configuration for %s", storeName)
	}
	if awsCfg.Region == "" {
		return nil, errcode.New(errcode.InvalidArgument, "%s needs a region: set region= in the URL or AWS_REGION", storeName)
	}
	return New(secretsmanager.NewFromConfig(awsCfg), cfg)
}

// New returns a store that calls api. Errors: invalid_argument for a bad
// prefix, recovery window or an empty deployment.
func New(api API, cfg Config) (*Store, error) {
	if !prefixPattern.MatchString(cfg.Prefix) {
		return nil, errcode.New(errcode.InvalidArgument, "%s prefix must be 1-64 letters, digits or _+=.@-", storeName)
	}
	if cfg.Deployment == "" || len(cfg.Deployment) > 256 {
		return nil, errcode.New(errcode.InvalidArgument, "value store needs a deployment id of at most 256 characters")
	}
	if cfg.RecoveryWindowDays != 0 && (cfg.RecoveryWindowDays < 7 || cfg.RecoveryWindowDays > 30) {
		return nil, errcode.New(errcode.InvalidArgument, "recovery window must be 7 to 30 days")
	}
	if cfg.PageSize == 0 {
		cfg.PageSize = 100
	}
	if cfg.PageSize < 1 || cfg.PageSize > 100 {
		return nil, errcode.New(errcode.InvalidArgument, "page size must be 1 to 100")
	}
	return &Store{api: api, cfg: cfg}, nil
}

// Name implements valuestore.Store.
func (s *Store) Name() string { return storeName }

// Limit implements valuestore.Store.
func (s *Store) Limit() int { return Limit }

// Close implements valuestore.Store.
func (s *Store) Close() error { return nil }

func (s *Store) name(id string) string { return s.cfg.Prefix + "/" + id }

func notFound(id string) error {
	return errcode.New(errcode.NotFound, "no stored values for secret %s", id)
}

var refPattern = regexp.MustCompile(`^[A-Za-z0-9-]{32,64}$`)

// owns reports whether tags mark the entry as this deployment's entry for id.
func (s *Store) owns(tags []types.Tag, id string) bool {
	var dep, sid bool
	for _, t := range tags {
		switch aws.ToString(t.Key) {
		case TagDeployment:
			dep = aws.ToString(t.Value) == s.cfg.Deployment
		case TagSecretID:
			sid = aws.ToString(t.Value) == id
		}
	}
	return dep && sid
}

func (s *Store) do(ctx context.Context, op func(ctx context.Context) error) error {
	return retry.Do(ctx, s.cfg.Retry, op)
}

// describe returns the entry for id if it exists, is not scheduled for
// deletion and is this deployment's: not_found otherwise.
func (s *Store) describe(ctx context.Context, id string) (*secretsmanager.DescribeSecretOutput, error) {
	var out *secretsmanager.DescribeSecretOutput
	err := s.do(ctx, func(ctx context.Context) error {
		var err error
		out, err = s.api.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(s.name(id))})
		return classify(err, "describe")
	})
	if errcode.Is(err, errcode.NotFound) {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, err
	}
	if !s.owns(out.Tags, id) || out.DeletedDate != nil {
		return nil, notFound(id)
	}
	return out, nil
}

// Put implements valuestore.Store. Errors: invalid_argument (bad id),
// too_large (over 65,536 bytes, checked before anything is sent),
// already_exists when the entry's name is taken by an entry that is not
// this deployment's, permission_denied, unavailable.
func (s *Store) Put(ctx context.Context, id string, values map[string]string) (string, error) {
	if err := secret.ValidateID(id); err != nil {
		return "", err
	}
	if values == nil {
		values = map[string]string{}
	}
	payload, err := valuestore.EncodeValues(values, Limit, storeName)
	if err != nil {
		return "", err
	}
	str := string(payload)
	// One token per call for each request, repeated by the retries of that
	// request only.
	createToken, updateToken := uuid.NewString(), uuid.NewString()

	// Describe first: an update must not start with a CreateSecret, whose
	// token could repeat (and return) the entry's first version.
	describeRaw := func() (*secretsmanager.DescribeSecretOutput, error) {
		var desc *secretsmanager.DescribeSecretOutput
		err := s.do(ctx, func(ctx context.Context) error {
			var err error
			desc, err = s.api.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(s.name(id))})
			return classify(err, "describe")
		})
		return desc, err
	}
	desc, err := describeRaw()
	if errcode.Is(err, errcode.NotFound) {
		var created *secretsmanager.CreateSecretOutput
		err = s.do(ctx, func(ctx context.Context) error {
			var err error
			created, err = s.api.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
				Name:         aws.String(s.name(id)),
				SecretString: aws.String(str),
				// A retried CreateSecret (lost response) repeats this token
				// and AWS answers with the version it made the first time.
				ClientRequestToken: aws.String(createToken),
				Description:        aws.String("Lockwell secret values"),
				Tags: []types.Tag{
					{Key: aws.String(TagDeployment), Value: aws.String(s.cfg.Deployment)},
					{Key: aws.String(TagSecretID), Value: aws.String(id)},
				},
			})
			return classify(err, "create")
		})
		switch {
		case err == nil:
			return aws.ToString(created.VersionId), nil
		case errcode.Is(err, errcode.AlreadyExists), errcode.Is(err, errcode.NotFound):
			// Created concurrently (NotFound: and already scheduled for
			// deletion): update it if it is ours.
			desc, err = describeRaw()
		}
	}
	if err != nil {
		return "", err
	}
	if !s.owns(desc.Tags, id) {
		return "", errcode.New(errcode.AlreadyExists, "%s already holds an entry named %s that is not this deployment's", storeName, s.name(id))
	}
	if desc.DeletedDate != nil {
		// Ours, deleted within its recovery window: bring it back.
		err = s.do(ctx, func(ctx context.Context) error {
			_, err := s.api.RestoreSecret(ctx, &secretsmanager.RestoreSecretInput{SecretId: desc.ARN})
			return classify(err, "restore")
		})
		if err != nil {
			return "", err
		}
	}
	var put *secretsmanager.PutSecretValueOutput
	err = s.do(ctx, func(ctx context.Context) error {
		var err error
		put, err = s.api.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
			SecretId:           desc.ARN,
			SecretString:       aws.String(str),
			ClientRequestToken: aws.String(updateToken),
		})
		return classify(err, "update")
	})
	if err != nil {
		return "", err
	}
	// Without staging labels when concurrent writers have since added
	// versions; Retire labels it if this write wins the index.
	return aws.ToString(put.VersionId), nil
}

// Get implements valuestore.Store: it verifies the entry's tags, then reads
// exactly the version ref. Errors: not_found, permission_denied,
// unavailable; internal when the stored payload is not a JSON object of
// strings.
func (s *Store) Get(ctx context.Context, id, ref string) (map[string]string, error) {
	if secret.ValidateID(id) != nil {
		return nil, notFound(id)
	}
	if !refPattern.MatchString(ref) {
		return nil, errcode.New(errcode.NotFound, "no version %q of the values of secret %s", ref, id)
	}
	desc, err := s.describe(ctx, id)
	if err != nil {
		return nil, err
	}
	var out *secretsmanager.GetSecretValueOutput
	err = s.do(ctx, func(ctx context.Context) error {
		var err error
		out, err = s.api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: desc.ARN, VersionId: aws.String(ref)})
		return classify(err, "read")
	})
	if errcode.Is(err, errcode.NotFound) {
		return nil, errcode.New(errcode.NotFound, "no version %s of the values of secret %s", ref, id)
	}
	if err != nil {
		return nil, err
	}
	values := map[string]string{}
	if out.SecretString == nil || json.Unmarshal([]byte(*out.SecretString), &values) != nil {
		// No cause: a JSON error may quote the content.
		return nil, errcode.New(errcode.Internal, "version %s of the values of secret %s in %s is not a JSON object of strings", ref, id, storeName)
	}
	return values, nil
}

type versionInfo struct {
	id      string
	stages  []string
	created time.Time
}

func (s *Store) versions(ctx context.Context, arn *string) ([]versionInfo, error) {
	var all []versionInfo
	var next *string
	for {
		var out *secretsmanager.ListSecretVersionIdsOutput
		err := s.do(ctx, func(ctx context.Context) error {
			var err error
			out, err = s.api.ListSecretVersionIds(ctx, &secretsmanager.ListSecretVersionIdsInput{
				SecretId: arn, IncludeDeprecated: aws.Bool(true), MaxResults: aws.Int32(100), NextToken: next,
			})
			return classify(err, "list versions")
		})
		if err != nil {
			return nil, err
		}
		for _, v := range out.Versions {
			all = append(all, versionInfo{id: aws.ToString(v.VersionId), stages: v.VersionStages, created: aws.ToTime(v.CreatedDate)})
		}
		if next = out.NextToken; next == nil {
			return all, nil
		}
	}
}

func hasStage(stages []string, stage string) bool {
	for _, st := range stages {
		if st == stage {
			return true
		}
	}
	return false
}

// Retire implements valuestore.Store. AWS Secrets Manager cannot delete a
// single version: a version without staging labels is "deprecated", stays
// readable by its VersionId, and AWS removes deprecated versions itself once
// a secret has more than 100 versions (and they are over 24 hours old).
// Retire therefore pins keep (the oldest version the index keeps) with the
// staging label StageIndexed (so AWS never removes it, even after later
// writers that lost their index update moved AWSCURRENT and AWSPREVIOUS
// on), and makes every version older than keep deprecated: it moves
// AWSCURRENT to keep if an older version holds it and removes AWSPREVIOUS
// from older versions. Versions newer than keep, and labels other tools
// attached, are left alone. A Retire that comes late, after a newer version
// was pinned, does nothing: moving the label back would unpin a version the
// index may still keep. Errors: not_found, permission_denied, unavailable.
func (s *Store) Retire(ctx context.Context, id, keep string) error {
	if secret.ValidateID(id) != nil {
		return notFound(id)
	}
	desc, err := s.describe(ctx, id)
	if err != nil {
		return err
	}
	vs, err := s.versions(ctx, desc.ARN)
	if err != nil {
		return err
	}
	var kept *versionInfo
	for i := range vs {
		if vs[i].id == keep {
			kept = &vs[i]
		}
	}
	if kept == nil {
		return errcode.New(errcode.NotFound, "no version %q of the values of secret %s", keep, id)
	}
	older := func(v versionInfo) bool { return v.id != keep && v.created.Before(kept.created) }
	if !hasStage(kept.stages, StageIndexed) {
		from := ""
		for _, v := range vs {
			if hasStage(v.stages, StageIndexed) {
				if v.created.After(kept.created) {
					return nil // late: a newer version is indexed and pinned
				}
				from = v.id
			}
		}
		if err := s.moveStage(ctx, desc.ARN, StageIndexed, keep, from); err != nil {
			return err
		}
	}
	for _, v := range vs {
		if hasStage(v.stages, "AWSCURRENT") && older(v) {
			if err := s.moveStage(ctx, desc.ARN, "AWSCURRENT", keep, v.id); err != nil {
				return err
			}
			// AWS has given AWSPREVIOUS to v; read the labels again.
			if vs, err = s.versions(ctx, desc.ARN); err != nil {
				return err
			}
			break
		}
	}
	for _, v := range vs {
		if hasStage(v.stages, "AWSPREVIOUS") && older(v) {
			if err := s.moveStage(ctx, desc.ARN, "AWSPREVIOUS", "", v.id); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Store) moveStage(ctx context.Context, arn *string, stage, to, from string) error {
	in := &secretsmanager.UpdateSecretVersionStageInput{SecretId: arn, VersionStage: aws.String(stage)}
	if from != "" {
		in.RemoveFromVersionId = aws.String(from)
	}
	if to != "" {
		in.MoveToVersionId = aws.String(to)
	}
	return s.do(ctx, func(ctx context.Context) error {
		_, err := s.api.UpdateSecretVersionStage(ctx, in)
		return classify(err, "retire versions")
	})
}

// Delete implements valuestore.Store: it deletes the entry with the
// configured recovery window, or at once with force_delete. An entry
// scheduled for deletion is not_found. Errors: not_found,
// permission_denied, unavailable.
func (s *Store) Delete(ctx context.Context, id string) error {
	if secret.ValidateID(id) != nil {
		return notFound(id)
	}
	desc, err := s.describe(ctx, id)
	if err != nil {
		return err
	}
	in := &secretsmanager.DeleteSecretInput{SecretId: desc.ARN}
	switch {
	case s.cfg.ForceDelete:
		in.ForceDeleteWithoutRecovery = aws.Bool(true)
	case s.cfg.RecoveryWindowDays != 0:
		in.RecoveryWindowInDays = aws.Int64(int64(s.cfg.RecoveryWindowDays))
	}
	err = s.do(ctx, func(ctx context.Context) error {
		_, err := s.api.DeleteSecret(ctx, in)
		return classify(err, "delete")
	})
	if errcode.Is(err, errcode.NotFound) {
		// Gone since describe, for example by an earlier attempt whose
		// answer was lost: deleted either way.
		return nil
	}
	return err
}

// Entries implements valuestore.Store: it lists secrets by this
// deployment's tag (ListSecrets filters match prefixes and any tag, so each
// entry's tags and name are checked again) and calls fn with each secret
// id. Entries scheduled for deletion are skipped.
func (s *Store) Entries(ctx context.Context, fn func(secretID string) error) error {
	filters := []types.Filter{
		{Key: types.FilterNameStringTypeName, Values: []string{s.cfg.Prefix + "/"}},
		{Key: types.FilterNameStringTypeTagKey, Values: []string{TagDeployment}},
		{Key: types.FilterNameStringTypeTagValue, Values: []string{s.cfg.Deployment}},
	}
	var next *string
	for {
		var out *secretsmanager.ListSecretsOutput
		err := s.do(ctx, func(ctx context.Context) error {
			var err error
			out, err = s.api.ListSecrets(ctx, &secretsmanager.ListSecretsInput{Filters: filters, MaxResults: aws.Int32(int32(s.cfg.PageSize)), NextToken: next})
			return classify(err, "list")
		})
		if err != nil {
			return err
		}
		for _, e := range out.SecretList {
			id, ok := strings.CutPrefix(aws.ToString(e.Name), s.cfg.Prefix+"/")
			if !ok || secret.ValidateID(id) != nil || !s.owns(e.Tags, id) || e.DeletedDate != nil {
				continue
			}
			if err := fn(id); err != nil {
				return err
			}
		}
		if next = out.NextToken; next == nil {
			return nil
		}
	}
}

// brokenConnection reports whether err comes from the network rather than
// from a response that was received whole.
func brokenConnection(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// errorCodeMap classifies AWS Secrets Manager's exception types.
var errorCodeMap = map[string]errcode.Code{
	"ResourceNotFoundException":           errcode.NotFound,
	"ResourceExistsException":             errcode.AlreadyExists,
	"InvalidParameterException":           errcode.InvalidArgument,
	"ValidationException":                 errcode.InvalidArgument,
	"InvalidNextTokenException":           errcode.InvalidArgument,
	"InvalidRequestException":             errcode.FailedPrecondition,
	"PreconditionNotMetException":         errcode.FailedPrecondition,
	"MalformedPolicyDocumentException":    errcode.InvalidArgument,
	"LimitExceededException":              errcode.TooLarge,
	"AccessDeniedException":               errcode.PermissionDenied,
	"AccessDenied":                        errcode.PermissionDenied,
	"DecryptionFailure":                   errcode.PermissionDenied, // the KMS key is not usable by this role
	"EncryptionFailure":                   errcode.PermissionDenied,
	"UnrecognizedClientException":         errcode.Internal, // the deployment's own credentials are wrong
	"InvalidSignatureException":           errcode.Internal,
	"IncompleteSignature":                 errcode.Internal,
	"MissingAuthenticationTokenException": errcode.Internal,
	"ExpiredTokenException":               errcode.Unavailable, // the chain refreshes it
	"ThrottlingException":                 errcode.Unavailable,
	"Throttling":                          errcode.Unavailable,
	"TooManyRequestsException":            errcode.Unavailable,
	"RequestLimitExceeded":                errcode.Unavailable,
	"InternalServiceError":                errcode.Unavailable,
	"InternalFailure":                     errcode.Unavailable,
	"ServiceUnavailable":                  errcode.Unavailable,
	"RequestTimeout":                      errcode.Unavailable,
}

// providerError is the sanitized cause kept for logs: the exception type,
// the HTTP status and the request id, never the provider's message, which
// may quote request content.
type providerError struct {
	code      string
	status    int
	requestID string
}

func (e *providerError) Error() string {
	return fmt.Sprintf("%s: %s (HTTP %d, request id %s)", storeName, e.code, e.status, e.requestID)
}

// Throttled implements retry.Throttler (for the value-store throttle count).
func (e *providerError) Throttled() bool {
	switch e.code {
	case "ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded":
		return true
	}
	return e.status == 429
}

// classify maps an SDK error to an errcode error whose message and cause
// carry no provider text. nil stays nil.
func classify(err error, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return errcode.Wrap(errcode.Unavailable, err, "%s did not answer in time (%s)", storeName, what)
	}
	cause := &providerError{}
	var re interface{ ServiceRequestID() string }
	if errors.As(err, &re) {
		cause.requestID = re.ServiceRequestID()
	}
	var he *smithyhttp.ResponseError
	if errors.As(err, &he) {
		cause.status = he.HTTPStatusCode()
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		if cause.status >= 500 || cause.status == 0 || brokenConnection(err) {
			// A 5xx without a known body, no response at all, or a
			// connection that broke while the response was read (the SDK
			// reports that as a deserialization error of an HTTP 200).
			cause.code = "no usable response"
			return errcode.Wrap(errcode.Unavailable, cause, "%s is unreachable (%s)", storeName, what)
		}
		cause.code = "unexpected response"
		return errcode.Wrap(errcode.Internal, cause, "%s gave an unexpected response (%s)", storeName, what)
	}
	cause.code = ae.ErrorCode()
	code, ok := errorCodeMap[cause.code]
	if !ok {
		code = errcode.Internal
		if cause.status >= 500 {
			code = errcode.Unavailable
		}
	}
	if cause.code == "InvalidRequestException" && strings.Contains(ae.ErrorMessage(), "deletion") {
		code = errcode.NotFound // marked or scheduled for deletion
	}
	switch code {
	case errcode.NotFound:
		return errcode.Wrap(code, cause, "%s has no such entry (%s)", storeName, what)
	case errcode.PermissionDenied:
		return errcode.Wrap(code, cause, "%s denied access (%s): %s; check the deployment's IAM policy", storeName, what, cause.code)
	case errcode.Unavailable:
		return errcode.Wrap(code, cause, "%s is throttling or unavailable (%s); retry later", storeName, what)
	case errcode.TooLarge:
		return errcode.Wrap(code, cause, "%s quota exceeded (%s)", storeName, what)
	default:
		return errcode.Wrap(code, cause, "%s refused the request (%s): %s", storeName, what, cause.code)
	}
}
