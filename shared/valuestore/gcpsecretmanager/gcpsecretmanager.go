// Package gcpsecretmanager keeps secret values in GCP Secret Manager. It
// registers the value-store URL scheme "gcpsecretmanager":
//
//	gcpsecretmanager://projects/PROJECT?prefix=lockwell&replication=automatic&old_versions=disable
//	gcpsecretmanager://projects/PROJECT?replication=user-managed&locations=europe-west1,europe-west4
//
// Parameters (all optional; unknown ones are invalid_argument):
//   - prefix: secret ids are "<prefix>-<secret uuid>" (default "lockwell";
//     letters, digits, '_' and '-', at most 200 characters).
//   - replication: "automatic" (default) or "user-managed", which needs
//     locations, a comma-separated list of GCP locations.
//   - old_versions: what Retire does to versions older than the oldest
//     version the index keeps (so no kept Lockwell version names them):
//     "disable" (default), "destroy" (irreversible) or "keep".
//
// Each secret id has one GCP secret, labelled lockwell-deployment and
// lockwell-secret-id; every Put adds a version and its ref is the version
// number. Labels must be lowercase and at most 63 characters, so a deployment
// id that is not already a valid label value is labelled "h-" followed by the
// first 40 hex digits of its SHA-256 (deterministic, so every function of a
// deployment computes the same label). A secret whose labels do not name this
// deployment and this secret id is foreign: it is never read, changed, listed
// or deleted, and Put over it is already_exists.
//
// Credentials come from Application Default Credentials. For a local server
// (localdev/gcpsecretmanager) set LOCKWELL_GCP_SECRETMANAGER_ENDPOINT to its
// loopback host:port: the store then connects in plaintext without
// credentials. The variable refuses non-loopback hosts, so it cannot send
// secret values unencrypted over a network.
//
// The payload is the JSON encoding of the values map, at most 65,536 bytes
// (64 KiB); Put checks that before any call. Throttling (ResourceExhausted)
// and server failures (Unavailable, Internal, DeadlineExceeded, Aborted) are
// retried through package retry; the client library's own retries are turned
// off so that there is one retry policy.
package gcpsecretmanager

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"net"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"

	secretmanager "cloud.google.com/go/secretmanager/apiv1"
	pb "cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/openurl"
	"github.com/lockwell/lockwell/shared/retry"
	"github.com/lockwell/lockwell/shared/secret"
	"github.com/lockwell/lockwell/shared/valuestore"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Scheme is the URL scheme this package registers.
const Scheme = "gcpsecretmanager"

// EndpointEnv names the variable that points the store at a local server
// (host:port on loopback, plaintext, no credentials).
const EndpointEnv = "LOCKWELL_GCP_SECRETMANAGER_ENDPOINT"

// Limit is the largest payload GCP Secret Manager accepts: 64 KiB.
const Limit = 65536

// The labels every Lockwell entry carries.
const (
	DeploymentLabel = "lockwell-deployment"
	SecretIDLabel   = "lockwell-secret-id"
)

const storeName = "GCP Secret Manager"

func init() { valuestore.Register(Scheme, openURL) }

// OldVersions says what Retire does with versions older than the kept one.
type OldVersions string

// The OldVersions settings.
const (
	KeepOldVersions    OldVersions = "keep"
	DisableOldVersions OldVersions = "disable"
	DestroyOldVersions OldVersions = "destroy"
)

// Config is a parsed store URL.
type Config struct {
	Project     string
	Prefix      string
	Locations   []string // user-managed replication when set; automatic otherwise
	OldVersions OldVersions
}

var (
	projectPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9.:-]{0,62}$`)
	prefixPattern  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,200}$`)
	locationPat    = regexp.MustCompile(`^[a-z][a-z0-9-]{1,62}$`)
	labelPattern   = regexp.MustCompile(`^[a-z0-9_-]{1,63}$`)
)

// ParseURL checks a gcpsecretmanager URL. Errors are invalid_argument.
func ParseURL(u *url.URL) (Config, error) {
	if err := openurl.CheckParams(u, "prefix", "replication", "locations", "old_versions"); err != nil {
		return Config{}, err
	}
	project := strings.TrimPrefix(u.Path, "/")
	if u.Host != "projects" || !projectPattern.MatchString(project) {
		return Config{}, errcode.New(errcode.InvalidArgument, "a %s URL looks like %s://projects/PROJECT_ID", Scheme, Scheme)
	}
	q := u.Query()
	c := Config{Project: project, Prefix: "lockwell", OldVersions: DisableOldVersions}
	if p := q.Get("prefix"); q.Has("prefix") {
		if !prefixPattern.MatchString(p) {
			return Config{}, errcode.New(errcode.InvalidArgument, "%s prefix must be 1-200 letters, digits, '_' or '-'", Scheme)
		}
		c.Prefix = p
	}
	switch r := q.Get("replication"); r {
	case "", "automatic":
		if q.Has("locations") {
			return Config{}, errcode.New(errcode.InvalidArgument, "%s locations needs replication=user-managed", Scheme)
		}
	case "user-managed":
		for _, l := range strings.Split(q.Get("locations"), ",") {
			if !locationPat.MatchString(l) {
				return Config{}, errcode.New(errcode.InvalidArgument, "%s replication=user-managed needs locations=LOC1,LOC2 (GCP location names)", Scheme)
			}
			c.Locations = append(c.Locations, l)
		}
	default:
		return Config{}, errcode.New(errcode.InvalidArgument, "%s replication must be automatic or user-managed", Scheme)
	}
	switch o := OldVersions(q.Get("old_versions")); o {
	case "":
	case KeepOldVersions, DisableOldVersions, DestroyOldVersions:
		c.OldVersions = o
	default:
		return Config{}, errcode.New(errcode.InvalidArgument, "%s old_versions must be keep, disable or destroy", Scheme)
	}
	return c, nil
}

func openURL(ctx context.Context, u *url.URL, opts valuestore.Options) (valuestore.Store, error) {
	c, err := ParseURL(u)
	if err != nil {
		return nil, err
	}
	clientOpts, err := endpointOptions(os.Getenv(EndpointEnv))
	if err != nil {
		return nil, err
	}
	return Open(ctx, c, opts, clientOpts...)
}

// endpointOptions turns the endpoint override into client options: none
// (the real service with Application Default Credentials) when empty.
func endpointOptions(endpoint string) ([]option.ClientOption, error) {
	if endpoint == "" {
		return nil, nil
	}
	host, _, err := net.SplitHostPort(endpoint)
	ip := net.ParseIP(host)
	if err != nil || !(host == "localhost" || ip != nil && ip.IsLoopback()) {
		return nil, errcode.New(errcode.InvalidArgument, "%s must be a loopback host:port such as 127.0.0.1:8085 (it connects without TLS)", EndpointEnv)
	}
	return []option.ClientOption{
		option.WithEndpoint(endpoint),
		option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())),
	}, nil
}

// Store is the GCP Secret Manager value store. It is safe for concurrent use.
type Store struct {
	client     *secretmanager.Client
	cfg        Config
	deployment string // the deployment label value
	policy     retry.Policy
}

var _ valuestore.Store = (*Store)(nil)

// Open connects to Secret Manager with the client options given (none means
// the real service with Application Default Credentials). Errors:
// invalid_argument for a missing deployment id; unavailable when the client
// cannot be created.
func Open(ctx context.Context, c Config, opts valuestore.Options, clientOpts ...option.ClientOption) (*Store, error) {
	if opts.Deployment == "" {
		return nil, errcode.New(errcode.InvalidArgument, "%s needs the deployment id", storeName)
	}
	client, err := secretmanager.NewClient(ctx, clientOpts...)
	if err != nil {
		return nil, errcode.Wrap(errcode.Unavailable, errors.New(sanitize(err.Error())), "cannot create the %s client", storeName)
	}
	// One retry policy: ours. Deadlines come from the caller's context.
	client.CallOptions = &secretmanager.CallOptions{}
	return &Store{client: client, cfg: c, deployment: DeploymentLabelValue(opts.Deployment)}, nil
}

// DeploymentLabelValue is the label value for a deployment id: the id itself
// when it is a valid label value, otherwise "h-" and 40 hex digits of its
// SHA-256.
func DeploymentLabelValue(deployment string) string {
	if labelPattern.MatchString(deployment) {
		return deployment
	}
	sum := sha256.Sum256([]byte(deployment))
	return "h-" + hex.EncodeToString(sum[:20])
}

// Name implements valuestore.Store.
func (s *Store) Name() string { return storeName }

// Limit implements valuestore.Store.
func (s *Store) Limit() int { return Limit }

// Close implements valuestore.Store.
func (s *Store) Close() error { return s.client.Close() }

func (s *Store) parent() string { return "projects/" + s.cfg.Project }

func (s *Store) secretName(secretID string) string {
	return s.parent() + "/secrets/" + s.cfg.Prefix + "-" + secretID
}

func (s *Store) labels(secretID string) map[string]string {
	return map[string]string{DeploymentLabel: s.deployment, SecretIDLabel: secretID}
}

func (s *Store) owns(sec *pb.Secret, secretID string) bool {
	l := sec.GetLabels()
	return l[DeploymentLabel] == s.deployment && l[SecretIDLabel] == secretID
}

// Put implements valuestore.Store. Errors: invalid_argument for a malformed
// secret id; too_large; already_exists when a foreign secret has the name;
// unavailable; permission_denied.
func (s *Store) Put(ctx context.Context, secretID string, values map[string]string) (string, error) {
	if err := secret.ValidateID(secretID); err != nil {
		return "", err
	}
	payload, err := valuestore.EncodeValues(values, Limit, storeName)
	if err != nil {
		return "", err
	}
	name := s.secretName(secretID)
	created := false
	sec, err := s.getSecret(ctx, name)
	switch {
	case errcode.Is(err, errcode.NotFound):
		err = s.call(ctx, "create the secret", func(ctx context.Context) error {
			_, err := s.client.CreateSecret(ctx, &pb.CreateSecretRequest{
				Parent:   s.parent(),
				SecretId: s.cfg.Prefix + "-" + secretID,
				Secret:   &pb.Secret{Replication: s.replication(), Labels: s.labels(secretID)},
			})
			return err
		})
		created = err == nil
		if errcode.Is(err, errcode.AlreadyExists) { // created concurrently: whose is it?
			sec, err = s.getSecret(ctx, name)
		}
	}
	if err != nil {
		return "", err
	}
	if !created && !s.owns(sec, secretID) {
		return "", errcode.New(errcode.AlreadyExists, "%s already has a secret named %s that is not this deployment's entry for secret %s", storeName, s.cfg.Prefix+"-"+secretID, secretID)
	}
	crc := int64(crc32.Checksum(payload, castagnoli))
	var v *pb.SecretVersion
	err = s.call(ctx, "add a secret version", func(ctx context.Context) error {
		var err error
		v, err = s.client.AddSecretVersion(ctx, &pb.AddSecretVersionRequest{
			Parent:  name,
			Payload: &pb.SecretPayload{Data: payload, DataCrc32C: &crc},
		})
		return err
	})
	if err != nil {
		if created { // leave no empty secret behind
			_ = s.call(context.WithoutCancel(ctx), "delete the secret", func(ctx context.Context) error {
				return s.client.DeleteSecret(ctx, &pb.DeleteSecretRequest{Name: name})
			})
		}
		return "", err
	}
	return v.GetName()[strings.LastIndex(v.GetName(), "/")+1:], nil
}

func (s *Store) replication() *pb.Replication {
	if len(s.cfg.Locations) == 0 {
		return &pb.Replication{Replication: &pb.Replication_Automatic_{Automatic: &pb.Replication_Automatic{}}}
	}
	um := &pb.Replication_UserManaged{}
	for _, l := range s.cfg.Locations {
		um.Replicas = append(um.Replicas, &pb.Replication_UserManaged_Replica{Location: l})
	}
	return &pb.Replication{Replication: &pb.Replication_UserManaged_{UserManaged: um}}
}

func (s *Store) getSecret(ctx context.Context, name string) (*pb.Secret, error) {
	var sec *pb.Secret
	err := s.call(ctx, "read the secret", func(ctx context.Context) error {
		var err error
		sec, err = s.client.GetSecret(ctx, &pb.GetSecretRequest{Name: name})
		return err
	})
	return sec, err
}

// ownedSecret returns the secret for secretID if it is this deployment's
// entry for it, and not_found otherwise.
func (s *Store) ownedSecret(ctx context.Context, secretID string) (*pb.Secret, error) {
	if secret.ValidateID(secretID) != nil {
		return nil, errcode.New(errcode.NotFound, "no %s entry for secret %q", storeName, secretID)
	}
	sec, err := s.getSecret(ctx, s.secretName(secretID))
	if err != nil {
		return nil, err
	}
	if !s.owns(sec, secretID) {
		return nil, errcode.New(errcode.NotFound, "no %s entry for secret %s", storeName, secretID)
	}
	return sec, nil
}

// Get implements valuestore.Store. Errors: not_found (also for a version
// that is disabled or destroyed); unavailable; permission_denied; internal
// when the stored payload is corrupt.
func (s *Store) Get(ctx context.Context, secretID, ref string) (map[string]string, error) {
	if n, err := strconv.ParseInt(ref, 10, 64); err != nil || n < 1 || strconv.FormatInt(n, 10) != ref {
		return nil, errcode.New(errcode.NotFound, "%s has no version %q of secret %s", storeName, ref, secretID)
	}
	sec, err := s.ownedSecret(ctx, secretID)
	if err != nil {
		return nil, err
	}
	var resp *pb.AccessSecretVersionResponse
	err = s.call(ctx, "read the secret version", func(ctx context.Context) error {
		var err error
		resp, err = s.client.AccessSecretVersion(ctx, &pb.AccessSecretVersionRequest{Name: sec.GetName() + "/versions/" + ref})
		return err
	})
	if err != nil {
		return nil, err
	}
	data := resp.GetPayload().GetData()
	if c := resp.GetPayload().DataCrc32C; c != nil && uint32(*c) != crc32.Checksum(data, castagnoli) {
		return nil, errcode.New(errcode.Unavailable, "%s returned a corrupted payload for secret %s; retry", storeName, secretID)
	}
	values := map[string]string{}
	if err := json.Unmarshal(data, &values); err != nil {
		return nil, errcode.New(errcode.Internal, "%s entry for secret %s version %s is not a JSON object of strings", storeName, secretID, ref)
	}
	return values, nil
}

// Retire implements valuestore.Store: versions numbered below keep (the
// oldest version the index keeps) are disabled or destroyed per
// old_versions; keep and newer ones, which the index's past versions may
// name and Get reads, are untouched.
// Errors: not_found for a foreign or missing entry; unavailable.
func (s *Store) Retire(ctx context.Context, secretID, keep string) error {
	if s.cfg.OldVersions == KeepOldVersions {
		return nil
	}
	keepN, err := strconv.ParseInt(keep, 10, 64)
	if err != nil || keepN < 1 {
		return errcode.New(errcode.InvalidArgument, "%q is not a %s version", keep, storeName)
	}
	sec, err := s.ownedSecret(ctx, secretID)
	if err != nil {
		return err
	}
	var old []*pb.SecretVersion
	err = s.call(ctx, "list secret versions", func(ctx context.Context) error {
		old = old[:0]
		it := s.client.ListSecretVersions(ctx, &pb.ListSecretVersionsRequest{Parent: sec.GetName(), PageSize: 100})
		for {
			v, err := it.Next()
			if errors.Is(err, iterator.Done) {
				return nil
			}
			if err != nil {
				return err
			}
			n, _ := strconv.ParseInt(v.GetName()[strings.LastIndex(v.GetName(), "/")+1:], 10, 64)
			if n < keepN && (v.GetState() == pb.SecretVersion_ENABLED ||
				s.cfg.OldVersions == DestroyOldVersions && v.GetState() == pb.SecretVersion_DISABLED) {
				old = append(old, v)
			}
		}
	})
	if err != nil {
		return err
	}
	for _, v := range old {
		err := s.call(ctx, string(s.cfg.OldVersions)+" an old version", func(ctx context.Context) error {
			var err error
			if s.cfg.OldVersions == DestroyOldVersions {
				_, err = s.client.DestroySecretVersion(ctx, &pb.DestroySecretVersionRequest{Name: v.GetName()})
			} else {
				_, err = s.client.DisableSecretVersion(ctx, &pb.DisableSecretVersionRequest{Name: v.GetName()})
			}
			return err
		})
		if err != nil && !errcode.Is(err, errcode.FailedPrecondition) { // already destroyed concurrently
			return err
		}
	}
	return nil
}

// Delete implements valuestore.Store: the secret goes with all its versions,
// if it is this deployment's entry (checked with its etag, so a secret
// re-created meanwhile is not deleted). Errors: not_found; unavailable.
func (s *Store) Delete(ctx context.Context, secretID string) error {
	for attempt := 1; ; attempt++ {
		sec, err := s.ownedSecret(ctx, secretID)
		if err != nil {
			return err
		}
		err = s.call(ctx, "delete the secret", func(ctx context.Context) error {
			return s.client.DeleteSecret(ctx, &pb.DeleteSecretRequest{Name: sec.GetName(), Etag: sec.GetEtag()})
		})
		if !isCode(err, codes.FailedPrecondition) || attempt == 3 {
			return err
		}
		// The secret changed since we read it: check its labels again.
	}
}

// Entries implements valuestore.Store. It lists by label filter, 100 secrets
// a page, and yields only secrets whose name matches their secret-id label.
func (s *Store) Entries(ctx context.Context, fn func(secretID string) error) error {
	filter := fmt.Sprintf("labels.%s=%s AND labels.%s:* AND name:%s-", DeploymentLabel, s.deployment, SecretIDLabel, s.cfg.Prefix)
	token := ""
	for {
		var page []*pb.Secret
		var next string
		err := s.call(ctx, "list secrets", func(ctx context.Context) error {
			it := s.client.ListSecrets(ctx, &pb.ListSecretsRequest{Parent: s.parent(), Filter: filter})
			page = page[:0]
			var err error
			next, err = iterator.NewPager(it, 100, token).NextPage(&page)
			return err
		})
		if err != nil {
			return err
		}
		for _, sec := range page {
			id := sec.GetLabels()[SecretIDLabel]
			if secret.ValidateID(id) != nil || sec.GetName() != s.secretName(id) || !s.owns(sec, id) {
				continue
			}
			if err := fn(id); err != nil {
				return err
			}
		}
		if token = next; token == "" {
			return nil
		}
	}
}

// call runs one API call under the retry policy and classifies its error.
func (s *Store) call(ctx context.Context, what string, op func(ctx context.Context) error) error {
	return retry.Do(ctx, s.policy, func(ctx context.Context) error {
		if err := op(ctx); err != nil {
			return classify(err, what)
		}
		return nil
	})
}

// codeMap is the one table from gRPC codes to error codes.
var codeMap = map[codes.Code]errcode.Code{
	codes.NotFound:           errcode.NotFound,
	codes.AlreadyExists:      errcode.AlreadyExists,
	codes.PermissionDenied:   errcode.PermissionDenied,
	codes.Unauthenticated:    errcode.Internal, // the store refused Lockwell, not the API caller
	codes.InvalidArgument:    errcode.InvalidArgument,
	codes.OutOfRange:         errcode.InvalidArgument,
	codes.FailedPrecondition: errcode.NotFound, // a disabled or destroyed version cannot be read (Delete handles a stale etag itself)
	codes.ResourceExhausted:  errcode.Unavailable,
	codes.Unavailable:        errcode.Unavailable,
	codes.DeadlineExceeded:   errcode.Unavailable,
	codes.Aborted:            errcode.Unavailable,
	codes.Internal:           errcode.Unavailable,
	codes.Canceled:           errcode.Unavailable,
}

func classify(err error, what string) error {
	if _, ok := err.(*errcode.Error); ok {
		return err
	}
	st, ok := status.FromError(err)
	if !ok {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return errcode.Wrap(errcode.Unavailable, err, "%s did not answer in time", storeName)
		}
		return errcode.Wrap(errcode.Internal, errors.New(sanitize(err.Error())), "%s: cannot %s", storeName, what)
	}
	code, known := codeMap[st.Code()]
	if !known {
		code = errcode.Internal
	}
	cause := &grpcStatus{code: st.Code(), msg: sanitize(st.Message())}
	switch code {
	case errcode.NotFound:
		return errcode.Wrap(code, cause, "%s: not found", storeName)
	case errcode.Unavailable:
		return errcode.Wrap(code, cause, "%s is throttling or unavailable (%s); retry later", storeName, st.Code())
	}
	return errcode.Wrap(code, cause, "%s: cannot %s (%s)", storeName, what, st.Code())
}

// grpcStatus is the sanitized cause of a classified Secret Manager error.
type grpcStatus struct {
	code codes.Code
	msg  string
}

func (g *grpcStatus) Error() string { return fmt.Sprintf("grpc %s: %s", g.code, g.msg) }

// Throttled implements retry.Throttler (for the value-store throttle count).
func (g *grpcStatus) Throttled() bool { return g.code == codes.ResourceExhausted }

func isCode(err error, code codes.Code) bool {
	var g *grpcStatus
	return errors.As(err, &g) && g.code == code
}

var (
	bearerPattern = regexp.MustCompile(`(?i)(bearer|token|key|secret|password)([=: ]+)\S+`)
	googleTokens  = regexp.MustCompile(`ya29\.[0-9A-Za-z_.-]+`)
)

// sanitize keeps provider text fit for logs: no token-like words, no more
// than 200 characters.
func sanitize(msg string) string {
	msg = googleTokens.ReplaceAllString(msg, "[redacted]")
	msg = bearerPattern.ReplaceAllString(msg, "$1$2[redacted]")
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	return msg
}
