// Package awssecretsmanager is a local AWS Secrets Manager for tests and
// local development: an http.Handler speaking the real AWS JSON 1.1 protocol
// (X-Amz-Target "secretsmanager.<Operation>", SigV4 Authorization header
// required but not verified) to the official aws-sdk-go-v2 secretsmanager
// client. Point the client at it with AWS_ENDPOINT_URL_SECRETS_MANAGER (or
// BaseEndpoint) and any static credentials.
//
// It implements, with AWS's behaviour and error types: CreateSecret,
// GetSecretValue, DescribeSecret, PutSecretValue, UpdateSecretVersionStage,
// ListSecretVersionIds, TagResource, UntagResource, DeleteSecret,
// RestoreSecret and ListSecrets. Secrets have realistic ARNs
// ("arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 chars>", the
// region taken from the request's SigV4 scope), versions with staging labels
// (AWSCURRENT moves to each new version and AWSPREVIOUS to the one it left;
// versions without labels are "deprecated" and stay readable by VersionId),
// ClientRequestToken idempotency (a repeated token with the same value is
// ignored, with another value it is ResourceExistsException), the 65,536-byte
// SecretString limit, deletion with a 7-30 day recovery window or forced,
// and ListSecrets filters (name, tag-key, tag-value, description, all;
// prefix matching, "!" negation) with MaxResults/NextToken paging.
//
// It holds any names and tags, so the legacy-migration tests use it to hold
// ZenML entries too. A Server is safe for concurrent use. Tests make it fail
// with InjectFault (throttling, outages) and count calls with Calls.
package awssecretsmanager

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lockwell/lockwell/localdev/awsjson"
)

// The service's limits, as AWS documents them.
const (
	MaxSecretStringBytes = 65536
	MaxTags              = 50
	maxVersions          = 100 // deprecated versions beyond this are removed (AWS: after 24 hours)
	DefaultRecoveryDays  = 30
	DefaultAccount       = "123456789012"
	DefaultRegion        = "us-east-1"
)

// Server is the local Secrets Manager. Create it with New.
type Server struct {
	*awsjson.Server
	Account string           // account id in ARNs; DefaultAccount unless changed before use
	Now     func() time.Time // the clock; time.Now unless changed before use

	mu      sync.Mutex
	secrets map[string]*secret // by name
}

type version struct {
	id      string
	str     *string
	bin     []byte
	stages  []string
	created time.Time
}

type secret struct {
	arn, name, description, kmsKeyID string
	tags                             []tag
	versions                         []*version // in creation order
	created, changed                 time.Time
	deletion                         *time.Time // scheduled deletion time
	deletedAt                        *time.Time // when DeleteSecret was called
}

type tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// New returns an empty Secrets Manager.
func New() *Server {
	s := &Server{
		Server:  awsjson.NewServer("secretsmanager", "1.1"),
		Account: DefaultAccount,
		Now:     time.Now,
		secrets: map[string]*secret{},
	}
	ops := map[string]func(*http.Request, []byte) (any, error){
		"CreateSecret":             s.createSecret,
		"GetSecretValue":           s.getSecretValue,
		"DescribeSecret":           s.describeSecret,
		"PutSecretValue":           s.putSecretValue,
		"UpdateSecretVersionStage": s.updateSecretVersionStage,
		"ListSecretVersionIds":     s.listSecretVersionIds,
		"TagResource":              s.tagResource,
		"UntagResource":            s.untagResource,
		"DeleteSecret":             s.deleteSecret,
		"RestoreSecret":            s.restoreSecret,
		"ListSecrets":              s.listSecrets,
	}
	for name, op := range ops {
		s.Handle(name, op)
	}
	return s
}

// Listen serves s on addr (use "127.0.0.1:0" for a free port) until the
// returned stop function is called, and returns the endpoint URL
// ("http://127.0.0.1:PORT").
func (s *Server) Listen(addr string) (endpoint string, stop func() error, err error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	return "http://" + l.Addr().String(), srv.Close, nil
}

// Start serves a new Server on a free 127.0.0.1 port for the duration of
// the test and returns it with its endpoint URL.
func Start(t testing.TB) (*Server, string) {
	t.Helper()
	s := New()
	endpoint, stop, err := s.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatalf("start local Secrets Manager: %v", err)
	}
	t.Cleanup(func() { _ = stop() })
	return s, endpoint
}

// Errors, as AWS names them.
func notFound() error {
	return awsjson.Errorf("ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
}

func markedForDeletion() error {
	return awsjson.Errorf("InvalidRequestException", "You can't perform this operation on the secret because it was marked for deletion.")
}

func invalidParam(format string, args ...any) error {
	return awsjson.Errorf("InvalidParameterException", format, args...)
}

func validation(format string, args ...any) error {
	return awsjson.Errorf("ValidationException", format, args...)
}

var (
	namePattern  = regexp.MustCompile(`^[A-Za-z0-9/_+=.@-]{1,512}$`)
	tokenPattern = regexp.MustCompile(`^[A-Za-z0-9-]{32,64}$`)
	scopeRegion  = regexp.MustCompile(`Credential=[^/]+/\d{8}/([a-z0-9-]+)/secretsmanager/aws4_request`)
)

func regionOf(r *http.Request) string {
	if m := scopeRegion.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		return m[1]
	}
	return DefaultRegion
}

const suffixAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func randomSuffix() string {
	b := make([]byte, 6)
	for i := range b {
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(suffixAlphabet))))
		b[i] = suffixAlphabet[n.Int64()]
	}
	return string(b)
}

func newVersionID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	const hex = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hex[c>>4], hex[c&0xf])
	}
	return string(out)
}

// purgeLocked removes secrets whose recovery window has passed.
func (s *Server) purgeLocked() {
	now := s.Now()
	for name, sec := range s.secrets {
		if sec.deletion != nil && !now.Before(*sec.deletion) {
			delete(s.secrets, name)
		}
	}
}

// findLocked resolves a SecretId: a name, a full ARN, or a partial ARN
// (without the random suffix).
func (s *Server) findLocked(id string) (*secret, error) {
	s.purgeLocked()
	if id == "" {
		return nil, validation("1 validation error detected: Value at 'secretId' failed to satisfy constraint: Member must have length greater than or equal to 1")
	}
	if sec, ok := s.secrets[id]; ok {
		return sec, nil
	}
	if strings.HasPrefix(id, "arn:") {
		for _, sec := range s.secrets {
			if sec.arn == id || strings.TrimSuffix(sec.arn, sec.arn[len(sec.arn)-7:]) == id {
				return sec, nil
			}
		}
	}
	return nil, notFound()
}

// findLiveLocked is findLocked for operations AWS refuses on a secret
// scheduled for deletion (InvalidRequestException).
func (s *Server) findLiveLocked(id string) (*secret, error) {
	sec, err := s.findLocked(id)
	if err != nil {
		return nil, err
	}
	if sec.deletion != nil {
		return nil, markedForDeletion()
	}
	return sec, nil
}

func (sec *secret) version(id string) *version {
	for _, v := range sec.versions {
		if v.id == id {
			return v
		}
	}
	return nil
}

func (sec *secret) staged(stage string) *version {
	for _, v := range sec.versions {
		if hasStage(v, stage) {
			return v
		}
	}
	return nil
}

func hasStage(v *version, stage string) bool {
	for _, st := range v.stages {
		if st == stage {
			return true
		}
	}
	return false
}

func removeStage(v *version, stage string) {
	out := v.stages[:0]
	for _, st := range v.stages {
		if st != stage {
			out = append(out, st)
		}
	}
	v.stages = out
}

// attach moves stage to v from whichever version holds it. Moving
// AWSCURRENT gives AWSPREVIOUS to the version it left, as AWS does.
func (sec *secret) attach(v *version, stage string) {
	if hasStage(v, stage) {
		return
	}
	if old := sec.staged(stage); old != nil {
		removeStage(old, stage)
		if stage == "AWSCURRENT" {
			if prev := sec.staged("AWSPREVIOUS"); prev != nil {
				removeStage(prev, "AWSPREVIOUS")
			}
			old.stages = append(old.stages, "AWSPREVIOUS")
		}
	}
	if stage == "AWSPREVIOUS" {
		// AWSPREVIOUS never sits on the same version as AWSCURRENT.
		removeStage(v, "AWSCURRENT")
	}
	v.stages = append(v.stages, stage)
}

func (s *Server) dropDeprecatedLocked(sec *secret) {
	if len(sec.versions) <= maxVersions {
		return
	}
	cutoff := s.Now().Add(-24 * time.Hour)
	kept := sec.versions[:0]
	excess := len(sec.versions) - maxVersions
	for _, v := range sec.versions {
		if excess > 0 && len(v.stages) == 0 && v.created.Before(cutoff) {
			excess--
			continue
		}
		kept = append(kept, v)
	}
	sec.versions = kept
}

func sameContent(v *version, str *string, bin []byte) bool {
	if (v.str == nil) != (str == nil) {
		return false
	}
	if str != nil && *v.str != *str {
		return false
	}
	return string(v.bin) == string(bin)
}

func checkValue(str *string, bin []byte) error {
	if str != nil && bin != nil {
		return invalidParam("You can't specify both a binary secret value and a string secret value in the same secret.")
	}
	if str != nil && len(*str) > MaxSecretStringBytes {
		return validation("1 validation error detected: Value at 'secretString' failed to satisfy constraint: Member must have length less than or equal to %d", MaxSecretStringBytes)
	}
	if len(bin) > MaxSecretStringBytes {
		return validation("1 validation error detected: Value at 'secretBinary' failed to satisfy constraint: Member must have length less than or equal to %d", MaxSecretStringBytes)
	}
	return nil
}

func checkToken(tok string) error {
	if tok != "" && !tokenPattern.MatchString(tok) {
		return validation("1 validation error detected: Value at 'clientRequestToken' failed to satisfy constraint: Member must have length between 32 and 64")
	}
	return nil
}

func checkTags(tags []tag) error {
	if len(tags) > MaxTags {
		return validation("1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to %d", MaxTags)
	}
	for _, t := range tags {
		if t.Key == "" || len(t.Key) > 128 || len(t.Value) > 256 || strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return validation("1 validation error detected: tag keys must be 1-128 characters, values at most 256, and keys must not start with aws:")
		}
	}
	return nil
}

func mergeTags(have, add []tag) []tag {
	for _, t := range add {
		replaced := false
		for i := range have {
			if have[i].Key == t.Key {
				have[i].Value, replaced = t.Value, true
			}
		}
		if !replaced {
			have = append(have, t)
		}
	}
	return have
}

type epoch time.Time

func (e epoch) MarshalJSON() ([]byte, error) {
	return json.Marshal(float64(time.Time(e).UnixMilli()) / 1000)
}

func ep(t time.Time) *epoch { e := epoch(t); return &e }

func (s *Server) createSecret(r *http.Request, body []byte) (any, error) {
	var in struct {
		Name               string
		Description        string
		KmsKeyId           string
		SecretString       *string
		SecretBinary       []byte
		Tags               []tag
		ClientRequestToken string
	}
	if err := awsjson.Decode(body, &in); err != nil {
		return nil, err
	}
	if !namePattern.MatchString(in.Name) {
		return nil, validation("Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!")
	}
	if err := errorsJoin(checkValue(in.SecretString, in.SecretBinary), checkToken(in.ClientRequestToken), checkTags(in.Tags)); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.purgeLocked()
	if sec, ok := s.secrets[in.Name]; ok {
		if sec.deletion != nil {
			return nil, awsjson.Errorf("InvalidRequestException", "You can't create this secret because a secret with this name is already scheduled for deletion.")
		}
		// A retried CreateSecret (same token, same value) is ignored.
		if v := sec.version(in.ClientRequestToken); in.ClientRequestToken != "" && v != nil && sameContent(v, in.SecretString, in.SecretBinary) {
			return map[string]any{"ARN": sec.arn, "Name": sec.name, "VersionId": v.id}, nil
		}
		return nil, awsjson.Errorf("ResourceExistsException", "The operation failed because the secret %s already exists.", in.Name)
	}
	now := s.Now()
	sec := &secret{
		arn:         "arn:aws:secretsmanager:" + regionOf(r) + ":" + s.Account + ":secret:" + in.Name + "-" + randomSuffix(),
		name:        in.Name,
		description: in.Description,
		kmsKeyID:    in.KmsKeyId,
		tags:        mergeTags(nil, in.Tags),
		created:     now,
		changed:     now,
	}
	out := map[string]any{"ARN": sec.arn, "Name": sec.name}
	if in.SecretString != nil || in.SecretBinary != nil {
		id := in.ClientRequestToken
		if id == "" {
			id = newVersionID()
		}
		sec.versions = []*version{{id: id, str: in.SecretString, bin: in.SecretBinary, stages: []string{"AWSCURRENT"}, created: now}}
		out["VersionId"] = id
	}
	s.secrets[in.Name] = sec
	return out, nil
}

func errorsJoin(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) getSecretValue(_ *http.Request, body []byte) (any, error) {
	var in struct{ SecretId, VersionId, VersionStage string }
	if err := awsjson.Decode(body, &in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.findLiveLocked(in.SecretId)
	if err != nil {
		return nil, err
	}
	var v *version
	switch {
	case in.VersionId != "":
		if err := checkToken(in.VersionId); err != nil {
			return nil, err
		}
		v = sec.version(in.VersionId)
		if v != nil && in.VersionStage != "" && !hasStage(v, in.VersionStage) {
			v = nil
		}
	case in.VersionStage != "":
		v = sec.staged(in.VersionStage)
	default:
		v = sec.staged("AWSCURRENT")
	}
	if v == nil {
		return nil, awsjson.Errorf("ResourceNotFoundException", "Secrets Manager can't find the specified secret value for the requested version or staging label.")
	}
	out := map[string]any{
		"ARN": sec.arn, "Name": sec.name, "VersionId": v.id,
		"VersionStages": append([]string{}, v.stages...), "CreatedDate": ep(v.created),
	}
	if v.str != nil {
		out["SecretString"] = *v.str
	}
	if v.bin != nil {
		out["SecretBinary"] = v.bin
	}
	return out, nil
}

func stagesMap(sec *secret, includeDeprecated bool) map[string][]string {
	m := map[string][]string{}
	for _, v := range sec.versions {
		if len(v.stages) > 0 || includeDeprecated {
			m[v.id] = append([]string{}, v.stages...)
		}
	}
	return m
}

func describe(sec *secret) map[string]any {
	out := map[string]any{
		"ARN": sec.arn, "Name": sec.name, "CreatedDate": ep(sec.created), "LastChangedDate": ep(sec.changed),
		"Tags": append([]tag{}, sec.tags...), "VersionIdsToStages": stagesMap(sec, false),
	}
	if sec.description != "" {
		out["Description"] = sec.description
	}
	if sec.kmsKeyID != "" {
		out["KmsKeyId"] = sec.kmsKeyID
	}
	if sec.deletedAt != nil {
		out["DeletedDate"] = ep(*sec.deletedAt)
	}
	return out
}

func (s *Server) describeSecret(_ *http.Request, body []byte) (any, error) {
	var in struct{ SecretId string }
	if err := awsjson.Decode(body, &in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.findLocked(in.SecretId)
	if err != nil {
		return nil, err
	}
	return describe(sec), nil
}

func (s *Server) putSecretValue(_ *http.Request, body []byte) (any, error) {
	var in struct {
		SecretId           string
		ClientRequestToken string
		SecretString       *string
		SecretBinary       []byte
		VersionStages      []string
	}
	if err := awsjson.Decode(body, &in); err != nil {
		return nil, err
	}
	if in.SecretString == nil && in.SecretBinary == nil {
		return nil, invalidParam("You must provide either SecretString or SecretBinary.")
	}
	if err := errorsJoin(checkValue(in.SecretString, in.SecretBinary), checkToken(in.ClientRequestToken)); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.findLiveLocked(in.SecretId)
	if err != nil {
		return nil, err
	}
	if in.ClientRequestToken != "" {
		if v := sec.version(in.ClientRequestToken); v != nil {
			if !sameContent(v, in.SecretString, in.SecretBinary) {
				return nil, awsjson.Errorf("ResourceExistsException", "You can't modify an existing version, you can only create a new version.")
			}
			return map[string]any{"ARN": sec.arn, "Name": sec.name, "VersionId": v.id, "VersionStages": append([]string{}, v.stages...)}, nil
		}
	}
	id := in.ClientRequestToken
	if id == "" {
		id = newVersionID()
	}
	now := s.Now()
	v := &version{id: id, str: in.SecretString, bin: in.SecretBinary, created: now}
	sec.versions = append(sec.versions, v)
	stages := in.VersionStages
	if len(stages) == 0 {
		stages = []string{"AWSCURRENT"}
	}
	for _, st := range stages {
		sec.attach(v, st)
	}
	sec.changed = now
	s.dropDeprecatedLocked(sec)
	return map[string]any{"ARN": sec.arn, "Name": sec.name, "VersionId": v.id, "VersionStages": append([]string{}, v.stages...)}, nil
}

func (s *Server) updateSecretVersionStage(_ *http.Request, body []byte) (any, error) {
	var in struct{ SecretId, VersionStage, MoveToVersionId, RemoveFromVersionId string }
	if err := awsjson.Decode(body, &in); err != nil {
		return nil, err
	}
	if in.VersionStage == "" || len(in.VersionStage) > 256 {
		return nil, validation("1 validation error detected: Value at 'versionStage' failed to satisfy constraint: Member must have length between 1 and 256")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.findLiveLocked(in.SecretId)
	if err != nil {
		return nil, err
	}
	holder := sec.staged(in.VersionStage)
	if in.RemoveFromVersionId != "" {
		if sec.version(in.RemoveFromVersionId) == nil {
			return nil, awsjson.Errorf("ResourceNotFoundException", "Secrets Manager can't find the specified secret version.")
		}
		if holder == nil || holder.id != in.RemoveFromVersionId {
			return nil, invalidParam("The staging label %s is currently not attached to version %s.", in.VersionStage, in.RemoveFromVersionId)
		}
	}
	if in.MoveToVersionId == "" {
		if in.VersionStage == "AWSCURRENT" && in.RemoveFromVersionId != "" {
			return nil, invalidParam("You can only move staging label AWSCURRENT to a different secret version. It can't be completely removed.")
		}
		if holder != nil && in.RemoveFromVersionId != "" {
			removeStage(holder, in.VersionStage)
		}
	} else {
		target := sec.version(in.MoveToVersionId)
		if target == nil {
			return nil, awsjson.Errorf("ResourceNotFoundException", "Secrets Manager can't find the specified secret version.")
		}
		if holder != nil && holder != target && holder.id != in.RemoveFromVersionId {
			return nil, invalidParam("The staging label %s is currently attached to version %s, so you must explicitly reference that version in RemoveFromVersionId.", in.VersionStage, holder.id)
		}
		sec.attach(target, in.VersionStage)
	}
	sec.changed = s.Now()
	s.dropDeprecatedLocked(sec)
	return map[string]any{"ARN": sec.arn, "Name": sec.name}, nil
}

// pageToken encodes the position after which a listing continues.
func pageToken(after string) string { return base64.RawURLEncoding.EncodeToString([]byte(after)) }

func parsePageToken(tok string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return "", awsjson.Errorf("InvalidNextTokenException", "The NextToken value is invalid.")
	}
	return string(b), nil
}

func maxResults(p *int32) (int, error) {
	if p == nil {
		return 100, nil
	}
	if *p < 1 || *p > 100 {
		return 0, validation("1 validation error detected: Value at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 100")
	}
	return int(*p), nil
}

func (s *Server) listSecretVersionIds(_ *http.Request, body []byte) (any, error) {
	var in struct {
		SecretId          string
		IncludeDeprecated bool
		MaxResults        *int32
		NextToken         string
	}
	if err := awsjson.Decode(body, &in); err != nil {
		return nil, err
	}
	limit, err := maxResults(in.MaxResults)
	if err != nil {
		return nil, err
	}
	start := 0
	if in.NextToken != "" {
		pos, err := parsePageToken(in.NextToken)
		if err != nil {
			return nil, err
		}
		var n big.Int
		if _, ok := n.SetString(pos, 10); !ok {
			return nil, awsjson.Errorf("InvalidNextTokenException", "The NextToken value is invalid.")
		}
		start = int(n.Int64())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.findLocked(in.SecretId)
	if err != nil {
		return nil, err
	}
	var all []map[string]any
	for _, v := range sec.versions {
		if len(v.stages) > 0 || in.IncludeDeprecated {
			all = append(all, map[string]any{"VersionId": v.id, "VersionStages": append([]string{}, v.stages...), "CreatedDate": ep(v.created)})
		}
	}
	out := map[string]any{"ARN": sec.arn, "Name": sec.name}
	if start > len(all) {
		start = len(all)
	}
	end := min(start+limit, len(all))
	out["Versions"] = append([]map[string]any{}, all[start:end]...)
	if end < len(all) {
		out["NextToken"] = pageToken(big.NewInt(int64(end)).String())
	}
	return out, nil
}

func (s *Server) tagResource(_ *http.Request, body []byte) (any, error) {
	var in struct {
		SecretId string
		Tags     []tag
	}
	if err := awsjson.Decode(body, &in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.findLiveLocked(in.SecretId)
	if err != nil {
		return nil, err
	}
	merged := mergeTags(append([]tag{}, sec.tags...), in.Tags)
	if err := checkTags(merged); err != nil {
		return nil, err
	}
	sec.tags = merged
	return nil, nil
}

func (s *Server) untagResource(_ *http.Request, body []byte) (any, error) {
	var in struct {
		SecretId string
		TagKeys  []string
	}
	if err := awsjson.Decode(body, &in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.findLiveLocked(in.SecretId)
	if err != nil {
		return nil, err
	}
	kept := sec.tags[:0]
	for _, t := range sec.tags {
		drop := false
		for _, k := range in.TagKeys {
			drop = drop || t.Key == k
		}
		if !drop {
			kept = append(kept, t)
		}
	}
	sec.tags = kept
	return nil, nil
}

func (s *Server) deleteSecret(_ *http.Request, body []byte) (any, error) {
	var in struct {
		SecretId                   string
		RecoveryWindowInDays       *int64
		ForceDeleteWithoutRecovery *bool
	}
	if err := awsjson.Decode(body, &in); err != nil {
		return nil, err
	}
	force := in.ForceDeleteWithoutRecovery != nil && *in.ForceDeleteWithoutRecovery
	if force && in.RecoveryWindowInDays != nil {
		return nil, invalidParam("You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.")
	}
	days := int64(DefaultRecoveryDays)
	if in.RecoveryWindowInDays != nil {
		days = *in.RecoveryWindowInDays
		if days < 7 || days > 30 {
			return nil, invalidParam("The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.findLocked(in.SecretId)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	if force {
		delete(s.secrets, sec.name)
		return map[string]any{"ARN": sec.arn, "Name": sec.name, "DeletionDate": ep(now)}, nil
	}
	if sec.deletion != nil {
		return nil, awsjson.Errorf("InvalidRequestException", "You can't delete secret %s that is already scheduled for deletion.", sec.name)
	}
	when := now.Add(time.Duration(days) * 24 * time.Hour)
	sec.deletion, sec.deletedAt = &when, &now
	return map[string]any{"ARN": sec.arn, "Name": sec.name, "DeletionDate": ep(when)}, nil
}

func (s *Server) restoreSecret(_ *http.Request, body []byte) (any, error) {
	var in struct{ SecretId string }
	if err := awsjson.Decode(body, &in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.findLocked(in.SecretId)
	if err != nil {
		return nil, err
	}
	sec.deletion, sec.deletedAt = nil, nil
	return map[string]any{"ARN": sec.arn, "Name": sec.name}, nil
}

type filter struct {
	Key    string
	Values []string
}

// matches applies one ListSecrets filter: values are ORed prefix matches
// (name, tag-key, tag-value case-sensitive; description and all not), a
// leading "!" negates a value.
func (f filter) matches(sec *secret) bool {
	var candidates []string
	fold := false
	switch f.Key {
	case "name":
		candidates = []string{sec.name}
	case "description":
		candidates, fold = []string{sec.description}, true
	case "tag-key":
		for _, t := range sec.tags {
			candidates = append(candidates, t.Key)
		}
	case "tag-value":
		for _, t := range sec.tags {
			candidates = append(candidates, t.Value)
		}
	case "all":
		candidates, fold = []string{sec.name, sec.description}, true
		for _, t := range sec.tags {
			candidates = append(candidates, t.Key, t.Value)
		}
	}
	for _, want := range f.Values {
		neg := strings.HasPrefix(want, "!")
		want = strings.TrimPrefix(want, "!")
		hit := false
		for _, c := range candidates {
			if fold {
				hit = hit || strings.HasPrefix(strings.ToLower(c), strings.ToLower(want))
			} else {
				hit = hit || strings.HasPrefix(c, want)
			}
		}
		if hit != neg {
			return true
		}
	}
	return false
}

func (s *Server) listSecrets(_ *http.Request, body []byte) (any, error) {
	var in struct {
		Filters                []filter
		IncludePlannedDeletion bool
		MaxResults             *int32
		NextToken              string
		SortOrder              string
	}
	if err := awsjson.Decode(body, &in); err != nil {
		return nil, err
	}
	limit, err := maxResults(in.MaxResults)
	if err != nil {
		return nil, err
	}
	if len(in.Filters) > 10 {
		return nil, validation("1 validation error detected: Value at 'filters' failed to satisfy constraint: Member must have length less than or equal to 10")
	}
	for _, f := range in.Filters {
		switch f.Key {
		case "name", "description", "tag-key", "tag-value", "all":
		case "primary-region", "owning-service":
		default:
			return nil, validation("1 validation error detected: Value '%s' at 'filters.key' failed to satisfy enum value set", f.Key)
		}
		if len(f.Values) == 0 || len(f.Values) > 10 {
			return nil, validation("1 validation error detected: Value at 'filters.values' failed to satisfy constraint: Member must have length between 1 and 10")
		}
	}
	after := ""
	if in.NextToken != "" {
		if after, err = parsePageToken(in.NextToken); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.purgeLocked()
	names := make([]string, 0, len(s.secrets))
	for name := range s.secrets {
		names = append(names, name)
	}
	sort.Strings(names)
	list := []map[string]any{}
	next := ""
	for _, name := range names {
		if after != "" && name <= after {
			continue
		}
		sec := s.secrets[name]
		if sec.deletion != nil && !in.IncludePlannedDeletion {
			continue
		}
		ok := true
		for _, f := range in.Filters {
			ok = ok && f.matches(sec)
		}
		if !ok {
			continue
		}
		if len(list) == limit {
			next = pageToken(list[len(list)-1]["Name"].(string))
			break
		}
		entry := describe(sec)
		delete(entry, "VersionIdsToStages")
		entry["SecretVersionsToStages"] = stagesMap(sec, false)
		list = append(list, entry)
	}
	out := map[string]any{"SecretList": list}
	if next != "" {
		out["NextToken"] = next
	}
	return out, nil
}
